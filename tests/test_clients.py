"""`helpdesk clients` (the fleet view) and `helpdesk client-settings` (the card), on the captured
stack lines (tests/data/dovecot) and a database of their own."""

from __future__ import annotations

import csv
import io
import json

import pytest

from helpdesk.i18n import LANGUAGES
from tests.conftest import run_cli
from tests.hostile import VALUES, assert_clean
from tests.test_logins_cli import ADDRESS, _world


def test_fleet_lists_each_finding(tmp_path):
    out = run_cli("clients", "--json", config=_world(tmp_path))
    assert out.returncode == 0, out.stderr
    [box] = json.loads(out.stdout)["mailboxes"]
    assert box["address"] == ADDRESS and box["realname"] == "Erika Kunde"
    assert set(box["findings"]) == {"pop3", "no_tls", "cram_md5"}
    # two CRAM-MD5 attempts without a user (IMAP and SMTP), attributed by address
    assert box["findings"]["cram_md5"] == 2
    assert box["findings"]["pop3"] == 1


def test_fleet_csv_has_the_columns_a_hoster_needs(tmp_path):
    out = run_cli("clients", "--csv", config=_world(tmp_path))
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert {r["finding"] for r in rows} == {"pop3", "no_tls", "cram_md5"}
    assert {r["address"] for r in rows} == {ADDRESS}
    assert rows[0]["realname"] == "Erika Kunde"


def test_fleet_human_and_german(tmp_path):
    config = _world(tmp_path)
    en = run_cli("clients", config=config)
    assert "still uses POP3" in en.stdout
    de = run_cli("--ui-language", "de", "clients", config=config)
    assert "nutzt noch POP3" in de.stdout


def test_fleet_without_findings(tmp_path):
    config = _world(tmp_path)
    (tmp_path / "dovecot.log").write_text("")
    (tmp_path / "mainlog").write_text("")
    out = run_cli("clients", config=config)
    assert out.returncode == 0 and "none:" in out.stdout


def test_csv_cells_never_start_a_formula(tmp_path):
    from helpdesk.logins.fleet import Finding, Fleet

    f = Finding("a@b.example", {"pop3": 1}, None, "=HYPERLINK(1)", "+49")
    text = Fleet(None, None, [f], [], 0).csv()  # type: ignore[arg-type]
    row = list(csv.reader(io.StringIO(text)))[1]
    assert row[1] == "'=HYPERLINK(1)" and row[2] == "'+49"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_card_in_the_customers_language(tmp_path, lang):
    config = _world(tmp_path)
    with config.open("a") as f:
        f.write(
            '[client]\nimap_host = "imap.hoster.example"\nimap_port = 143\n'
            'imap_security = "starttls"\nsmtp_host = "smtp.hoster.example"\nsmtp_port = 587\n'
            'smtp_security = "starttls"\nsupport = "0800 123 456"\n'
        )
    out = run_cli("client-settings", ADDRESS, "--lang", lang, config=config)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "imap.hoster.example" in text and "smtp.hoster.example" in text
    assert "587" in text and "STARTTLS" in text and ADDRESS in text and "0800 123 456" in text
    if lang == "de":
        assert "Passwort, normal" in text and "Sie" in text and "Posteingang" in text
    else:
        assert "normal password" in text and "Incoming mail" in text
    data = json.loads(run_cli("client-settings", ADDRESS, "--json", config=config).stdout)
    assert data["imap"] == {"host": "imap.hoster.example", "port": 143, "security": "starttls"}


def test_card_refuses_a_bad_config_in_one_line(tmp_path):
    config = _world(tmp_path)
    with config.open("a") as f:
        f.write('[client]\nimap_security = "none"\n')
    out = run_cli("client-settings", ADDRESS, config=config)
    assert out.returncode != 0 and out.stdout == ""
    assert len(out.stderr.strip().splitlines()) == 1 and "imap_security" in out.stderr


def test_card_for_an_unknown_mailbox(tmp_path):
    out = run_cli("client-settings", "nobody@capture.example", config=_world(tmp_path))
    assert out.returncode != 0 and "nobody@capture.example" in out.stderr


def test_hostile_real_names_in_the_fleet(tmp_path):
    from sqlalchemy import update

    from helpdesk.mailcenter.db import Database
    from helpdesk.mailcenter.schema import mailboxes

    config = _world(tmp_path)
    db = Database(f"sqlite:///{tmp_path / 'mailcenter.sqlite'}")
    hostile = " ".join(VALUES.values())
    with db.begin() as conn:
        conn.execute(
            update(mailboxes)
            .where(mailboxes.c.address == ADDRESS)
            .values(realname=hostile[:200], customer_ref=VALUES["osc52"][:30])
        )
    db.dispose()
    out = run_cli("clients", config=config)
    assert out.returncode == 0
    assert_clean(out.stdout, where="clients")


def test_csv_names_the_customer_and_pop3_comes_from_last_login_too(tmp_path):
    # "neu@" has no line in the logs: Dovecot's last_login table alone says it uses POP3.
    import time

    from sqlalchemy import update

    from helpdesk.logins.lastlogin import last_login
    from helpdesk.mailcenter.db import Database
    from helpdesk.mailcenter.schema import mailboxes

    config = _world(tmp_path)
    db = Database(f"sqlite:///{tmp_path / 'mailcenter.sqlite'}")
    with db.begin() as conn:
        conn.execute(update(mailboxes).values(customer_ref="K-10042"))
        conn.execute(
            last_login.insert(),
            {"username": "neu@capture.example", "service": "pop3", "last_login": int(time.time())},
        )
    db.dispose()
    out = run_cli("clients", "--csv", config=config)
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert list(rows[0]) == ["address", "realname", "customer_ref", "finding", "count", "last"]
    assert {r["customer_ref"] for r in rows} == {"K-10042"}
    assert ("neu@capture.example", "pop3") in {(r["address"], r["finding"]) for r in rows}


def test_a_full_fleet_table_says_so(tmp_path, monkeypatch):
    # The limit made small: the captured logs have findings for one login name only.
    from helpdesk.config import load_config
    from helpdesk.logins import fleet
    from helpdesk.logins.settings import LoginSettings
    from helpdesk.mailcenter.db import Database

    config = load_config(_world(tmp_path))
    db = Database(f"sqlite:///{tmp_path / 'mailcenter.sqlite'}")
    full = fleet.fleet(LoginSettings.from_config(config), db)
    assert [f.address for f in full.findings] == [ADDRESS] and not full.warnings
    monkeypatch.setattr(fleet, "MAX_ADDRESSES", 0)
    capped = fleet.fleet(LoginSettings.from_config(config), db)
    db.dispose()
    assert [w.english() for w in capped.warnings] == [
        "more than 0 login names had a finding: later ones were not counted "
        "(a shorter --since reads fewer)"
    ]
