"""Real clients against the stack's Dovecot and Exim, then `helpdesk logins --json`: each case
shows with the right protocol, TLS flag, mechanism, client program and reason, and the
diagnoses name each problem."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from stack.login_clients import (
    imap_cram_md5,
    imap_login,
    pop3_login,
    smtp_cram_md5,
    smtp_login,
)
from tests.conftest import run_cli

pytestmark = pytest.mark.stack

PASSWORD = "Richtig-Gutes-Passwort-42"
THUNDERBIRD = {"name": "Thunderbird", "version": "128.5.0", "os": "Linux"}


def _pop3_port(stack) -> int:
    return int(stack.env.get("POP3_PORT") or os.environ.get("STACK_POP3_PORT") or 2110)


def _config(stack, tmp_path: Path) -> Path:
    """The stack's own helpdesk.toml: its [logins] section names the stack's Dovecot log."""
    assert "[logins]" in stack.config_path.read_text(), "the stack's helpdesk.toml lacks [logins]"
    return stack.config_path


def _timeline(config: Path, address: str, want: int) -> dict:
    """`helpdesk logins --json` once the logs hold `want` events (Exim writes as it goes)."""
    deadline = time.monotonic() + 20
    while True:
        out = run_cli("logins", address, "--json", "--since", "1h", config=config)
        assert out.returncode == 0, out.stderr
        data = json.loads(out.stdout)
        if len(data["events"]) >= want or time.monotonic() > deadline:
            return data
        time.sleep(0.3)


def test_every_client_case_on_the_stack(stack, tmp_path):
    address = stack.add_mailbox(stack.unique_address("login"), PASSWORD, realname="Olga Login")
    local = address.split("@")[0]
    imap, pop3, smtp = stack.imap_port, _pop3_port(stack), stack.submission_port

    assert imap_login(imap, address, PASSWORD, source="127.0.0.20", client_id=THUNDERBIRD)
    assert pop3_login(pop3, address, PASSWORD, source="127.0.0.21", tls=False)
    assert not imap_login(imap, address, PASSWORD, source="127.0.0.66", tls=False)
    for _ in range(3):
        assert not imap_login(imap, address, "altes-Passwort-1", source="127.0.0.9")
    assert imap_login(imap, address, PASSWORD, source="127.0.0.22")
    assert not imap_cram_md5(imap, address, PASSWORD, source="127.0.0.22")
    assert not imap_login(imap, local, PASSWORD, source="127.0.0.22")
    assert not smtp_login(smtp, address, "altes-Passwort-1", source="127.0.0.23", helo="outlook")
    assert smtp_login(smtp, address, PASSWORD, source="127.0.0.24", helo="phone", send_to=address)
    assert smtp_cram_md5(smtp, address, source="127.0.0.24", helo="phone") >= 500

    data = _timeline(_config(stack, tmp_path), address, want=10)
    by = {}
    for e in data["events"]:
        by.setdefault((e["protocol"], e["ip"], e["ok"]), e)

    good = by[("imap", "127.0.0.20", True)]
    assert (good["tls"], good["mechanism"]) == (True, "PLAIN")
    assert good["client"] == "Thunderbird (Linux)"
    pop = by[("pop3", "127.0.0.21", True)]
    assert pop["tls"] is False
    refused = by[("imap", "127.0.0.66", False)]
    assert (refused["reason"], refused["tls"]) == ("plaintext_refused", False)
    guess = by[("imap", "127.0.0.9", False)]
    assert (guess["reason"], guess["attempts"], guess["tls"]) == ("wrong_password", 3, True)
    cram = by[("imap", "127.0.0.22", False)]
    cram_events = [
        e for e in data["events"] if e["mechanism"] == "CRAM-MD5" and e["protocol"] == "imap"
    ]
    assert cram_events and cram_events[0]["match"] == "attributed"
    assert cram_events[0]["reason"] == "mechanism_not_offered"
    bare = [e for e in data["events"] if e["match"] == "near_miss"]
    assert [(e["user"], e["ip"], e["reason"]) for e in bare] == [
        (local, "127.0.0.22", "unknown_user")
    ]
    assert cram is not None
    smtp_fail = by[("smtp", "127.0.0.23", False)]
    assert smtp_fail["tls"] is None and smtp_fail["client"] == "outlook"
    assert smtp_fail["reason"] == "wrong_password_or_user"
    sent = by[("smtp", "127.0.0.24", True)]
    assert (sent["tls"], sent["mechanism"], sent["client"]) == (True, "PLAIN", "phone")
    smtp_cram = [
        e for e in data["events"] if e["mechanism"] == "CRAM-MD5" and e["protocol"] == "smtp"
    ]
    assert smtp_cram and smtp_cram[0]["match"] == "attributed"

    codes = {d["code"]: d["text"] for d in data["diagnoses"]}
    assert "password transfer" in codes["cram_md5"]
    assert "127.0.0.66" in codes["no_tls"] and "127.0.0.21" in codes["no_tls"]
    assert "switch to IMAP" in codes["pop3"]
    assert "127.0.0.9" in codes["old_password"] and "127.0.0.23" in codes["old_password"]
    assert "full address" in codes["login_name"]
    assert set(data["last_success"]) == {"imap", "pop3", "smtp"}

    human = run_cli("logins", address, config=_config(stack, tmp_path))
    assert human.returncode == 0
    assert "What to tell the customer:" in human.stdout
    assert "Thunderbird (Linux)" in human.stdout
