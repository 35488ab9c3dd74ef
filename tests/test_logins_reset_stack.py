"""The whole path an operator takes after a takeover, on the stack's real Dovecot and Exim:
a suspension of sending leaves the attacker's IMAP session open and says so; `helpdesk passwd`
ends it (through the stack's kick wrapper), says how many, and audits it. CRAM-MD5 is offered
neither by IMAP nor by SMTP."""

from __future__ import annotations

import contextlib
import imaplib
import json
import smtplib

import pytest
from sqlalchemy import select

from helpdesk.mailcenter.schema import audit_log
from stack.login_clients import IMAP, TIMEOUT, _tls, imap_session
from tests.conftest import run_cli

pytestmark = pytest.mark.stack

OLD = "Vom-Angreifer-Erraten-2026"


def test_suspension_keeps_the_session_the_reset_ends_it(stack):
    address = stack.add_mailbox(stack.unique_address("takeover"), OLD)
    attacker = imap_session(stack.imap_port, address, OLD, source="127.0.0.30")
    try:
        suspended = run_cli("suspend", address, "--ticket", "T-70", config=stack.config_path)
        assert suspended.returncode == 0, suspended.stderr
        assert "keeps IMAP/POP3 access until it is reset" in suspended.stdout
        attacker.noop()  # a suspension ends nothing

        reset = run_cli(
            "passwd", address, "--generate", "--ticket", "T-71", "--json",
            config=stack.config_path,
        )  # fmt: skip
        assert reset.returncode == 0, reset.stderr
        sessions = json.loads(reset.stdout)["sessions"]
        assert (sessions["sessions"], sessions["hosts"], sessions["failed"]) == (
            1,
            ["localhost"],
            {},
        )
        assert sessions["text"] == "1 open IMAP/POP3 session ended"
        with pytest.raises((imaplib.IMAP4.abort, OSError)):
            attacker.noop()
    finally:
        with contextlib.suppress(imaplib.IMAP4.error, OSError):
            attacker.logout()
    assert not stack.imap_login(address, OLD)
    with stack.db.connect() as conn:
        rows = conn.execute(
            select(audit_log.c.action, audit_log.c.ticket, audit_log.c.after)
            .where(audit_log.c.target == address)
            .order_by(audit_log.c.id)
        ).all()
    kicks = [r for r in rows if r.action == "kick_sessions"]
    assert [(r.ticket, json.loads(r.after)["sessions"]) for r in kicks] == [("T-71", 1)]
    assert [r.ticket for r in rows] == ["T-70", "T-71", "T-71"]


def test_cram_md5_is_never_advertised(stack):
    imap = IMAP(stack.imap_port)
    try:
        before = " ".join(imap.capabilities)
        imap.starttls(_tls())
        after = " ".join(imap.capabilities)
    finally:
        imap.logout()
    assert "AUTH=PLAIN" in after
    assert "CRAM-MD5" not in before and "CRAM-MD5" not in after
    with smtplib.SMTP("127.0.0.1", stack.submission_port, timeout=TIMEOUT) as smtp:
        smtp.starttls(context=_tls())
        smtp.ehlo("laptop")
        offered = smtp.esmtp_features.get("auth", "").upper().split()
    assert "PLAIN" in offered and "CRAM-MD5" not in offered
