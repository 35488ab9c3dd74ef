"""A release passes exactly one message, once (issue 15): every test sends through the stack's
real Exim submission port, scanned by its real rspamd (two normal workers, two controllers),
and reads what the customer's mail program would see: 250 or 550."""

from __future__ import annotations

import json
import os
import threading
import time
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select

from helpdesk.config import load_config
from helpdesk.mailcenter.schema import outbound_releases
from helpdesk.rspamd.client import Cluster
from tests.conftest import run_cli
from tests.rspamd_tools import new_message_id
from tests.smtp_tools import message, submit

pytestmark = pytest.mark.stack
PASSWORD = "Kunden-Passwort-15!"
MAP_POLL = 0.1


def _cli(stack, *args: str):
    return run_cli(*args, config=stack.config_path)


def _customer(stack, prefix: str = "anna") -> str:
    return stack.add_mailbox(f"{prefix}.{os.urandom(4).hex()}@firma.test", PASSWORD)


def _spam(user: str, mid: str | None, tag: str, body: str = "Die Rechnung anbei.\n"):
    return message(user, mid, f"Rechnung {tag} HELPDESK-TEST-SPAM", body)


def _release(stack, user: str, mid: str, *extra: str) -> dict:
    out = _cli(stack, "release", f"<{mid}>", "--user", user, "--ticket", "T-15", *extra, "--json")
    assert out.returncode == 0, out.stderr
    # rspamd's workers poll file maps (the stack: every 0.1 s, stack/rspamd/local.d/options.inc);
    # a scan in the same instant as the save may still see the old map.
    time.sleep(MAP_POLL * 3)
    return json.loads(out.stdout)


def _row(stack, release_id: int):
    with stack.db.connect() as conn:
        return conn.execute(
            select(outbound_releases).where(outbound_releases.c.id == release_id)
        ).one()


def test_exactly_that_content_from_that_account_once(stack):
    a, b = _customer(stack, "anna"), _customer(stack, "bernd")
    tag = os.urandom(3).hex()
    mid = new_message_id("once")
    spam = _spam(a, mid, tag)
    assert submit(stack, a, PASSWORD, spam) == 550

    listed = json.loads(_cli(stack, "blocked", "--user", a, "--json").stdout)["blocked"]
    (entry,) = listed
    assert entry["message_id"] == mid and entry["user"] == a
    assert entry["subject"] == f"Rechnung {tag} HELPDESK-TEST-SPAM"  # from Exim's line
    assert len(entry["digest"]) == 32

    done = _release(stack, a, mid)
    assert (done["digest"], done["uses"], done["uses_left"]) == (entry["digest"], 1, 1)
    assert submit(stack, a, PASSWORD, spam) == 250  # at once: no sync, no timer between
    assert submit(stack, a, PASSWORD, spam) == 550  # the second copy
    other_body = _spam(a, mid, tag, body="Ganz andere Worte, billig, jetzt kaufen.\n")
    assert submit(stack, a, PASSWORD, other_body) == 550
    assert submit(stack, a, PASSWORD, _spam(a, mid.upper(), tag)) == 550
    assert submit(stack, a.upper(), PASSWORD, spam) == 550  # the login in capitals
    assert submit(stack, b, PASSWORD, _spam(b, mid, tag)) == 550  # B's copy

    row = _row(stack, done["id"])
    assert row.uses_left == 0 and row.used_at is not None
    shown = json.loads(_cli(stack, "releases", "--user", a, "--json").stdout)["releases"]
    assert [(r["id"], r["state"], r["used"]) for r in shown] == [(done["id"], "used", True)]
    refused = stack.wait_for_log(r"release=used-up id=\"?<" + mid.upper())
    assert refused, "the refusal of a used-up release is logged as such"


def test_a_resend_with_a_new_message_id_and_new_boundaries_passes(stack):
    """Mail programs that build the message again on "send" (new Message-ID, Date, MIME
    boundaries) send the same content: the digest is the same, so the release holds."""
    a = _customer(stack)
    tag = os.urandom(3).hex()
    first = _spam(a, new_message_id("tb1"), tag)
    first.add_attachment(b"%PDF-1.4 Rechnung", maintype="application", subtype="pdf")
    first.set_boundary("==first-attempt==")
    assert submit(stack, a, PASSWORD, first) == 550
    _release(stack, a, first["Message-ID"].strip("<>"))
    again = _spam(a, new_message_id("tb2"), tag)
    again.add_attachment(b"%PDF-1.4 Rechnung", maintype="application", subtype="pdf")
    again["Date"] = "Mon, 30 Nov 2026 23:59:00 +0100"
    again.set_boundary("==second-attempt==")
    assert submit(stack, a.upper(), PASSWORD, again) == 250  # a case variant: the same account
    assert submit(stack, a, PASSWORD, again) == 550  # ... and it used the one pass


def test_three_uses_give_exactly_three_passes_also_in_parallel(stack):
    a = _customer(stack)
    tag = os.urandom(3).hex()
    mid = new_message_id("three")
    spam = _spam(a, mid, tag)
    assert submit(stack, a, PASSWORD, spam) == 550
    done = _release(stack, a, mid, "--uses", "3")
    assert done["uses"] == 3

    codes: list[int] = []
    barrier = threading.Barrier(6)

    def send() -> None:
        copy = EmailMessage()
        for key, value in spam.items():
            copy[key] = value
        copy.set_content(spam.get_content())
        barrier.wait()
        codes.append(submit(stack, a, PASSWORD, copy))

    threads = [threading.Thread(target=send) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert sorted(codes) == [250, 250, 250, 550, 550, 550]
    assert _row(stack, done["id"]).uses_left == 0


def _rspamd_workers(stack) -> int:
    """Normal worker processes on the stack's worker port (rspamd puts it in their title)."""
    title = f"rspamd: normal process ({stack.worker_url.removeprefix('http://')})"
    count = 0
    for proc in Path("/proc").iterdir():
        try:
            if (proc / "cmdline").read_bytes().decode(errors="replace").startswith(title):
                count += 1
        except OSError:
            continue
    return count


def test_two_workers_and_two_controllers_hold_the_release(stack):
    config = load_config(stack.config_path)
    with Cluster.from_config(config) as cluster:
        assert len(cluster.controllers) == 2
    assert _rspamd_workers(stack) == 2
    a = _customer(stack)
    tag = os.urandom(3).hex()
    mid = new_message_id("two")
    spam = _spam(a, mid, tag)
    assert submit(stack, a, PASSWORD, spam) == 550
    done = _release(stack, a, mid, "--uses", "2")
    with Cluster.from_config(config) as cluster:
        for c in cluster.controllers:
            text = c.getmap(c.find_map(cluster.settings.release_map).id)
            assert f"{a}|{done['digest']}" in text
    # One after the other, each scanned by whichever worker takes it: two passes, no third.
    assert sorted(submit(stack, a, PASSWORD, spam) for _ in range(3)) == [250, 250, 550]
    synced = _cli(stack, "releases", "--sync")
    assert synced.returncode == 0, synced.stderr
    with Cluster.from_config(config) as cluster:
        for c in cluster.controllers:  # used up: gone from every controller
            assert done["digest"] not in c.getmap(c.find_map(cluster.settings.release_map).id)


def test_an_address_longer_than_31_bytes_is_released(stack):
    """rspamd's history cuts the user at 31 bytes; Exim's line has the whole login."""
    a = stack.add_mailbox(
        f"buchhaltung.mueller.{os.urandom(3).hex()}@sanitaer-mueller-und-soehne.test", PASSWORD
    )
    mid = new_message_id("long")
    spam = _spam(a, mid, os.urandom(3).hex())
    assert submit(stack, a, PASSWORD, spam) == 550
    (entry,) = json.loads(_cli(stack, "blocked", "--user", a, "--json").stdout)["blocked"]
    assert entry["user"] == a and not entry["user_truncated"]
    _release(stack, a, mid)
    assert submit(stack, a, PASSWORD, spam) == 250


def test_a_suspended_mailbox_cannot_be_released(stack):
    a = _customer(stack)
    mid = new_message_id("susp")
    assert submit(stack, a, PASSWORD, _spam(a, mid, "x")) == 550
    stack.add_mailbox(a, PASSWORD, smtp_enabled=False)
    out = _cli(stack, "release", mid, "--user", a, "--ticket", "T-15")
    assert out.returncode != 0
    assert out.stderr.strip().endswith("sending is suspended: reinstate first")
    assert out.stderr.count("\n") == 1
    listed = json.loads(_cli(stack, "releases", "--user", a, "--json").stdout)["releases"]
    assert listed == []


@pytest.mark.parametrize("uses", ["0", "11"])
def test_uses_out_of_range_are_refused(stack, uses):
    a = _customer(stack)
    out = _cli(stack, "release", "x@y.test", "--user", a, "--ticket", "T-1", "--uses", uses)
    assert out.returncode != 0 and "between 1 and 10" in out.stderr


@pytest.mark.parametrize("command", [["releases"], ["find", "mueller"], ["db", "init"]])
def test_release_ttl_above_three_days_is_refused_at_load(tmp_path, command):
    """At load: also a command that never asks rspamd stops, before it does anything."""
    config = tmp_path / "helpdesk.toml"
    db = tmp_path / "x.db"
    config.write_text(f'[database]\nurl = "sqlite:///{db}"\n[rspamd]\nrelease_ttl = "3d1h"\n')
    out = run_cli(*command, config=config)
    assert out.returncode != 0 and out.stderr.count("\n") == 1
    assert "release_ttl" in out.stderr and "3 days" in out.stderr
    assert not db.exists()
    config.write_text(f'[database]\nurl = "sqlite:///{db}"\n[rspamd]\nrelease_ttl = "3d"\n')
    assert run_cli("db", "init", config=config).returncode == 0
