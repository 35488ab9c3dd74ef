"""After a reset, an attacker's open IMAP session logged in with the old password is ended
(`doveadm kick` through the stack's wrapper), counted and audited."""

from __future__ import annotations

import contextlib
import imaplib
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from helpdesk.config import load_config
from helpdesk.logins.kick import DovecotSettings, kick_and_record, kick_sessions
from helpdesk.mailcenter.operator import current_operator
from helpdesk.mailcenter.schema import audit_log
from stack.login_clients import imap_session
from tests.conftest import ROOT

pytestmark = pytest.mark.stack

OLD = "Altes-Passwort-vom-Angreifer-1"
NEW = "Neues-Passwort-nach-Reset-2"


WRAPPER = ROOT / "stack" / "wrappers" / "helpdesk-doveadm-kick"


def _conf(stack) -> Path:
    return Path(stack.env["STACK_DIR"]) / "dovecot" / "dovecot.conf"


def _config(stack, tmp_path: Path) -> Path:
    path = tmp_path / "helpdesk.toml"
    text = stack.config_path.read_text().split("[dovecot]")[0]
    path.write_text(
        text
        + '\n[dovecot]\nhosts = ["localhost"]\n'
        + f'kick_command = ["/usr/bin/env", "HELPDESK_DOVECOT_CONF={_conf(stack)}", "{WRAPPER}"]\n'
    )
    return path


def test_reset_ends_the_old_session(stack, tmp_path):
    address = stack.add_mailbox(stack.unique_address("kick"), OLD)
    attacker = imap_session(stack.imap_port, address, OLD)
    attacker.noop()
    stack.add_mailbox(address, NEW)  # the reset: a new hash
    config = load_config(_config(stack, tmp_path))
    result = kick_and_record(stack.db, config, address, ticket="T-1", operator=current_operator())
    assert result.sessions == 1 and result.hosts == ["localhost"] and not result.failed
    assert result.text().english() == "1 open IMAP/POP3 session ended"
    with pytest.raises((imaplib.IMAP4.abort, OSError)):
        attacker.noop()
    with stack.db.connect() as conn:
        row = conn.execute(
            select(audit_log.c.action, audit_log.c.after).where(audit_log.c.target == address)
        ).one()
    assert row.action == "kick_sessions" and '"sessions": 1' in row.after
    assert not stack.imap_login(address, OLD)


def test_nothing_to_kick_and_a_failing_host(stack, tmp_path):
    address = stack.add_mailbox(stack.unique_address("kick"), OLD)
    settings = DovecotSettings(
        hosts=("localhost",),
        kick_command=("/usr/bin/env", f"HELPDESK_DOVECOT_CONF={_conf(stack)}", str(WRAPPER)),
    )
    assert kick_sessions(settings, address).sessions == 0
    broken = DovecotSettings(hosts=("imap9",), kick_command=("false",))
    result = kick_sessions(broken, address)
    assert result.failed == {"imap9": "exit 1"}
    assert "not asked: imap9" in result.text().english()
    assert not kick_sessions(DovecotSettings(), address).configured


def test_the_wrapper_ends_one_mailbox_never_a_wildcard(stack):
    address = stack.add_mailbox(stack.unique_address("kick"), OLD)
    session = imap_session(stack.imap_port, address, OLD)
    try:
        env = {"PATH": "/usr/bin:/bin", "HELPDESK_DOVECOT_CONF": str(_conf(stack))}
        domain = address.split("@")[1]
        for arg in (f"*@{domain}", f"kick-?{address[6:]}", f"{address}\n*@{domain}", domain):
            out = subprocess.run(
                [WRAPPER, arg], capture_output=True, text=True, env=env, timeout=30
            )
            assert out.returncode == 2 and "not a mail address" in out.stderr, arg
        session.noop()  # still open
        # Under sudo the config cannot be chosen: the system's Dovecot is asked (none runs here).
        sudo = subprocess.run(
            [WRAPPER, address],
            capture_output=True,
            text=True,
            env={**env, "SUDO_USER": "operator"},
            timeout=30,
        )
        assert sudo.returncode != 0
        session.noop()
    finally:
        with contextlib.suppress(imaplib.IMAP4.error, OSError):
            session.logout()
