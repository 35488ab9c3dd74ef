"""Dovecot's last_login plugin on the stack writes the last IMAP and POP3 login per mailbox
into the database (never on an LMTP delivery), and the timeline shows it."""

from __future__ import annotations

import json
import smtplib
import time

import pytest
from sqlalchemy import select

from helpdesk.logins.lastlogin import last_login
from stack.login_clients import imap_login, pop3_login
from tests.conftest import run_cli

pytestmark = pytest.mark.stack

PASSWORD = "Zuletzt-Angemeldet-2026"


def _rows(stack, address: str) -> dict[str, int]:
    with stack.db.connect() as conn:
        rows = conn.execute(
            select(last_login.c.service, last_login.c.last_login).where(
                last_login.c.username == address
            )
        )
        return {service: seconds for service, seconds in rows}


def _wait_rows(stack, address: str, services: set[str]) -> dict[str, int]:
    deadline = time.monotonic() + 10
    while True:
        rows = _rows(stack, address)
        if services <= set(rows) or time.monotonic() > deadline:
            return rows
        time.sleep(0.1)


def test_imap_and_pop3_logins_are_recorded_deliveries_are_not(stack):
    # The table as helpdesk.logins.lastlogin defines it (db init creates it once the schema
    # module takes it in; see docs/logins.md).
    with stack.db.begin() as conn:
        last_login.create(conn, checkfirst=True)
    address = stack.add_mailbox(stack.unique_address("last"), PASSWORD)
    before = int(time.time()) - 1

    with smtplib.SMTP("127.0.0.1", stack.inbound_port, timeout=30) as smtp:
        smtp.sendmail("someone@example.net", [address], "Subject: hi\r\n\r\nhello\r\n")
    stack.wait_for_messages(address)
    assert _rows(stack, address) == {}, "an LMTP delivery must not count as a login"

    assert imap_login(stack.imap_port, address, PASSWORD)
    rows = _wait_rows(stack, address, {"imap"})
    assert set(rows) == {"imap"} and rows["imap"] >= before
    port = int(stack.env.get("POP3_PORT") or 2110)
    assert pop3_login(port, address, PASSWORD)
    rows = _wait_rows(stack, address, {"imap", "pop3"})
    assert set(rows) == {"imap", "pop3"} and rows["pop3"] >= rows["imap"]

    out = run_cli("logins", address, "--json", "--since", "1h", config=stack.config_path)
    assert out.returncode == 0, out.stderr
    assert set(json.loads(out.stdout)["last_login"]) == {"imap", "pop3"}
    fleet = run_cli("clients", "--json", "--since", "1h", config=stack.config_path)
    found = {m["address"]: m for m in json.loads(fleet.stdout)["mailboxes"]}
    assert "pop3" in found[address]["findings"]
