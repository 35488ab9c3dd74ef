"""`helpdesk passwd` and `helpdesk passwd campaign` through the real console script."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from sqlalchemy import update

from helpdesk.mailcenter.audit import read
from helpdesk.mailcenter.mailboxes import create_mailbox, get_mailbox, password_hash
from helpdesk.mailcenter.schema import mailboxes
from helpdesk.passwords.policy import PasswordSettings, hash_password, verify_password
from helpdesk.passwords.spelling import spell
from tests.conftest import run_cli

FAST = PasswordSettings(rounds=5_000)
ADDRESS = "erika.mustermann@gaertnerei-sonnenschein.de"
OLD = "Alt-Passwort-Birne-77"
STRONG = "Nordwand-Kaffeetasse-Pirol-83"


@pytest.fixture
def setup(db, config_file):
    with config_file.open("a") as fh:
        fh.write("[passwords]\nrounds = 5000\n")
    with db.begin() as conn:
        create_mailbox(
            conn,
            ADDRESS,
            realname="Erika Mustermann",
            customer_ref="KD-100200",
            password_hash=hash_password(OLD, FAST),
            password_changed_at=datetime(2020, 5, 1),
        )
        create_mailbox(
            conn,
            "max@gaertnerei-sonnenschein.de",
            realname="Max Mustermann",
            password_hash=hash_password(OLD, FAST),
            password_changed_at=datetime(2019, 1, 1),
        )
        create_mailbox(
            conn,
            "neu@andere-firma.de",
            password_hash=hash_password(OLD, FAST),
            password_changed_at=datetime(2026, 1, 10),
        )
    return db, config_file


def stored(db, address=ADDRESS) -> str:
    with db.connect() as conn:
        return password_hash(conn, get_mailbox(conn, address))


def test_generate_prints_password_once_with_spelling_and_it_is_nowhere_else(setup):
    db, cfg = setup
    done = run_cli("passwd", ADDRESS, "--generate", "--ticket", "T-1", "--json", config=cfg)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    password = out["password"]
    assert out["address"] == ADDRESS and out["must_change_password"] is True
    assert len(out["spelling"]) == len(password) and "Bindestrich" in out["spelling"]
    assert verify_password(password, stored(db))
    assert password not in done.stderr

    text = run_cli("passwd", ADDRESS, "--generate", "--ticket", "T-2", "--lang", "de", config=cfg)
    assert text.returncode == 0, text.stderr
    second = text.stdout.split("shown once):", 1)[1].split()[0]
    assert verify_password(second, stored(db)) and not verify_password(password, stored(db))
    assert "Spelling (DIN 5009), the parts joined by - (Bindestrich):" in text.stdout
    first = second.split("-")[0]
    assert f"    {first}: " + " ".join(spell(first)) in text.stdout

    # Every other view of the mailbox: the new password (and its hash) never shows.
    hashed = stored(db)
    others = [
        run_cli("show", ADDRESS, "--json", config=cfg),
        run_cli("audit", "--target", ADDRESS, "--json", config=cfg),
        run_cli("find", "mustermann", "--json", config=cfg),
        run_cli("passwd", "campaign", "--before", "2099-01-01", "--json", config=cfg),
        run_cli("passwd", "campaign", "--progress", "--json", config=cfg),
    ]
    for done_other in others:
        assert done_other.returncode == 0, done_other.stderr
        for secret in (password, second, hashed):
            assert secret not in done_other.stdout and secret not in done_other.stderr
    audit = json.loads(others[1].stdout)
    rows = audit if isinstance(audit, list) else audit["entries"]
    assert [r["action"] for r in rows] == ["passwd", "passwd"]
    assert {r["ticket"] for r in rows} == {"T-1", "T-2"}


@pytest.mark.parametrize("weak", ["Sommer2016!", "Mustermann2024", OLD])
def test_weak_stdin_password_is_refused_and_nothing_changes(setup, weak):
    db, cfg = setup
    before = stored(db)
    done = run_cli("passwd", ADDRESS, "--password-stdin", "--ticket", "T-3", config=cfg,
                   stdin=weak + "\n")  # fmt: skip
    assert done.returncode == 1
    assert done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1
    assert weak.strip() == "" or weak not in done.stderr
    assert stored(db) == before
    with db.connect() as conn:
        assert read(conn, target=ADDRESS) == []


def test_stdin_password_prints_nothing_secret(setup):
    db, cfg = setup
    done = run_cli(
        "passwd", ADDRESS, "--password-stdin", "--no-force-change", "--ticket", "T-4", "--json",
        config=cfg, stdin=STRONG + "\n",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert "password" not in out and "spelling" not in out
    assert out["must_change_password"] is False
    assert STRONG not in done.stdout + done.stderr
    assert verify_password(STRONG, stored(db))
    plain = run_cli("passwd", ADDRESS, "--password-stdin", "--ticket", "T-5", config=cfg,
                    stdin=STRONG + "-Eule\n")  # fmt: skip
    assert plain.returncode == 0 and plain.stdout == ""
    assert "must change it" in plain.stderr and STRONG not in plain.stderr


def test_ticket_and_method_are_required_and_unknown_mailbox_is_clear(setup):
    db, cfg = setup
    before = stored(db)
    no_ticket = run_cli("passwd", ADDRESS, "--generate", config=cfg)
    assert no_ticket.returncode != 0 and "ticket" in no_ticket.stderr
    no_method = run_cli("passwd", ADDRESS, "--ticket", "T-6", config=cfg)
    assert no_method.returncode != 0 and "--generate" in no_method.stderr
    unknown = run_cli("passwd", "nobody@nowhere.de", "--generate", "--ticket", "T-7", config=cfg)
    assert unknown.returncode != 0 and "no mailbox" in unknown.stderr
    assert unknown.stdout == ""
    assert stored(db) == before


def test_campaign_lists_applies_and_tracks_progress(setup):
    db, cfg = setup
    listed = run_cli("passwd", "campaign", "--before", "2025-01-01", "--json", config=cfg)
    assert listed.returncode == 0, listed.stderr
    data = json.loads(listed.stdout)
    assert data["count"] == 2
    assert [m["address"] for m in data["mailboxes"]] == [ADDRESS, "max@gaertnerei-sonnenschein.de"]
    one_domain = run_cli(
        "passwd", "campaign", "--domain", "andere-firma.de", "--before", "2099-01-01", "--json",
        config=cfg,
    )  # fmt: skip
    assert [m["address"] for m in json.loads(one_domain.stdout)["mailboxes"]] == [
        "neu@andere-firma.de"
    ]
    no_ticket = run_cli("passwd", "campaign", "--before", "2025-01-01", "--apply", config=cfg)
    assert no_ticket.returncode != 0 and "ticket" in no_ticket.stderr

    applied = run_cli(
        "passwd", "campaign", "--before", "2025-01-01", "--apply", "--ticket", "C-1", "--json",
        config=cfg,
    )  # fmt: skip
    assert applied.returncode == 0, applied.stderr
    result = json.loads(applied.stdout)
    assert result["flagged"] == 2 and result["already_flagged"] == 0
    with db.connect() as conn:
        assert get_mailbox(conn, ADDRESS).must_change_password is True
        assert get_mailbox(conn, "neu@andere-firma.de").must_change_password is False
        entries = read(conn, action="passwd.campaign")
    assert len(entries) == 2
    assert all(e.after == {"must_change_password": True, "campaign": result["campaign"]}
               for e in entries)  # fmt: skip

    # the customer sets a new password (as a webmail would: a later password_changed_at)
    with db.begin() as conn:
        conn.execute(
            update(mailboxes)
            .where(mailboxes.c.address == ADDRESS)
            .values(password_changed_at=datetime(2099, 1, 1), must_change_password=False)
        )
    progress = run_cli("passwd", "campaign", "--progress", "--json", config=cfg)
    (row,) = json.loads(progress.stdout)
    assert row["campaign"] == result["campaign"] and row["ticket"] == "C-1"
    assert (row["flagged"], row["changed"], row["pending"]) == (2, 1, 1)
    again = run_cli(
        "passwd", "campaign", "--before", "2025-01-01", "--apply", "--ticket", "C-2", "--json",
        config=cfg,
    )  # fmt: skip
    assert json.loads(again.stdout)["flagged"] == 0  # max is flagged already, erika changed
    bad = run_cli("passwd", "campaign", "--before", "soon", config=cfg)
    assert bad.returncode != 0 and "--before" in bad.stderr


@pytest.mark.parametrize("before", ["2024-13-45", "2024-02-30", "100000000d", "9999999w"])
def test_campaign_before_that_cannot_be_a_date_is_one_line(setup, before):
    _db, cfg = setup
    result = run_cli("passwd", "campaign", "--before", before, config=cfg)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        f"helpdesk: --before: not a date or an age: {before!r} (use 2024-01-01 or 365d)"
    ]
