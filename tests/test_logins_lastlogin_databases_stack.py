"""Dovecot's last_login plugin writes its rows itself on PostgreSQL and MariaDB too (the shared
stack runs on SQLite): a second stack on each server, one IMAP and one POP3 login, an LMTP
delivery that must not count, and `helpdesk show` reading the rows back.

The second stack has its own STACK_DIR and ports (the shared one's plus 400, stack/README.md);
its folder is kept between runs for rspamd's compiled cache, and it is stopped at the end.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import smtplib
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from helpdesk.mailcenter.db import Database
from helpdesk.mailcenter.mailboxes import create_mailbox
from helpdesk.mailcenter.schema import last_login
from helpdesk.passwords.policy import PasswordSettings, hash_password
from stack.login_clients import imap_login, pop3_login
from tests.conftest import ROOT, missing, run_cli
from tests.stack_fixture import _unavailable

pytestmark = pytest.mark.stack

PASSWORD = "Zuletzt-Angemeldet-2026"
ADDRESS = "letzte.anmeldung@stack-test.example"
PORTS = {
    "STACK_SUBMISSION_PORT": "2987",
    "STACK_INBOUND_PORT": "2925",
    "STACK_IMAP_PORT": "2543",
    "STACK_POP3_PORT": "2510",
    "STACK_LMTP_PORT": "2824",
    "STACK_RSPAMD_WORKER_PORT": "11933",
    "STACK_RSPAMD_CONTROLLER_PORT": "11934",
    "STACK_RSPAMD_CONTROLLER2_PORT": "11935",
    "STACK_DNS_PORT": "2953",
    "STACK_SIEVE_RELAY_PORT": "2926",
    "STACK_PROVIDERS_PORT": "2935",
}
STATE = Path(tempfile.gettempdir()) / (
    "helpdesk-lastlogin-stack-" + hashlib.sha256(str(ROOT).encode()).hexdigest()[:8]
)


def _environ(url: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("STACK_") and k not in ("DATABASE_URL", "HELPDESK_CONFIG")
    }
    return {**env, **PORTS, "STACK_DIR": str(STATE), "DATABASE_URL": url}


def _launcher(action: str, url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stack.launcher", action, "--no-install"],
        cwd=ROOT,
        env=_environ(url),
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module", params=["postgresql", "mariadb"])
def second_stack(request, db_servers) -> Iterator[tuple[dict[str, str], Database]]:
    if os.geteuid() != 0:
        _unavailable("needs root (rspamd, Dovecot and Exim switch to their own users)")
    if shutil.which("exim") is None:
        _unavailable("Exim is not installed (make stack-packages)")
    server = db_servers[request.param]
    if server.error:
        missing(server.error)
    name = server.create()
    url = server.url(name)
    db = Database(url)
    db.create_schema()
    settings = PasswordSettings(scheme="SHA512-CRYPT", rounds=5000, prefix=False)
    with db.begin() as conn:
        create_mailbox(conn, ADDRESS, password_hash=hash_password(PASSWORD, settings))
    _launcher("down", url)  # one left by an interrupted run
    try:
        out = _launcher("up", url)
        if out.returncode != 0:
            _unavailable((out.stderr or out.stdout).strip().splitlines()[-1])
        from stack.settings import read_env

        yield read_env(STATE / "env"), db
    finally:
        _launcher("down", url)
        db.dispose()
        server.drop(name)


def _rows(db: Database) -> dict[str, int]:
    with db.connect() as conn:
        rows = conn.execute(
            select(last_login.c.service, last_login.c.last_login).where(
                last_login.c.username == ADDRESS
            )
        )
        return {service: seconds for service, seconds in rows}


def _wait_rows(db: Database, services: set[str]) -> dict[str, int]:
    deadline = time.monotonic() + 10
    while True:
        rows = _rows(db)
        if services <= set(rows) or time.monotonic() > deadline:
            return rows
        time.sleep(0.1)


def test_dovecot_writes_last_login_on_this_database(second_stack):
    env, db = second_stack
    before = int(time.time()) - 1
    with smtplib.SMTP("127.0.0.1", int(env["INBOUND_PORT"]), timeout=30) as smtp:
        smtp.sendmail("someone@example.net", [ADDRESS], "Subject: hi\r\n\r\nhello\r\n")
    deadline = time.monotonic() + 20
    maildir = Path(env["MAIL_DIR"]) / "stack-test.example" / "letzte.anmeldung" / "Maildir"
    while not list(maildir.glob("new/*")) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert list(maildir.glob("new/*")), "the LMTP delivery did not arrive"
    assert _rows(db) == {}, "an LMTP delivery must not count as a login"

    assert imap_login(int(env["IMAP_PORT"]), ADDRESS, PASSWORD)
    first = _wait_rows(db, {"imap"})
    assert set(first) == {"imap"} and first["imap"] >= before
    assert pop3_login(int(env["POP3_PORT"]), ADDRESS, PASSWORD)
    rows = _wait_rows(db, {"imap", "pop3"})
    assert set(rows) == {"imap", "pop3"} and rows["pop3"] >= rows["imap"]
    time.sleep(1.1)  # a second login a second later: the row is updated, not added
    assert imap_login(int(env["IMAP_PORT"]), ADDRESS, PASSWORD)
    deadline = time.monotonic() + 10
    while _rows(db)["imap"] == first["imap"] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _rows(db)["imap"] > first["imap"]
    with db.connect() as conn:
        count = conn.execute(select(last_login.c.service).where(last_login.c.username == ADDRESS))
        assert sorted(r.service for r in count) == ["imap", "pop3"]

    shown = run_cli("show", ADDRESS, "--json", config=env["HELPDESK_CONFIG"])
    assert shown.returncode == 0, shown.stderr
    assert set(json.loads(shown.stdout)["last_login"]) == {"imap", "pop3"}
