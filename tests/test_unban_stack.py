"""fail2ban on the stack bans a guessing address after its threshold; the helpdesk shows the
ban in the timeline and lifts it through the wrapper, with a ticket and an audit row."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stack.login_clients import imap_login
from tests.conftest import ROOT, run_cli

pytestmark = pytest.mark.stack

PASSWORD = "Ganz-Richtiges-Passwort-7"


def _status(jail: str) -> str:
    out = subprocess.run(
        [sys.executable, str(ROOT / "stack" / "fail2ban.py"), "status", jail],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def _banned(jail: str) -> list[str]:
    for line in _status(jail).splitlines():
        if "Banned IP list:" in line:
            return line.split(":", 1)[1].split()
    return []


def _wait(condition, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.3)
    return False


@pytest.fixture
def fail2ban(stack):
    if not (Path(stack.env["STACK_DIR"]) / "fail2ban" / "fail2ban.sock").exists():
        pytest.fail("the stack runs no fail2ban (package fail2ban missing?)")
    return stack


def test_guessing_address_is_banned_shown_and_lifted(fail2ban):
    stack = fail2ban
    address = stack.add_mailbox(stack.unique_address("ban"), PASSWORD)
    guesser = f"127.0.0.{random.randint(100, 250)}"
    assert imap_login(stack.imap_port, address, PASSWORD, source=guesser)
    for _ in range(6):
        assert not imap_login(stack.imap_port, address, "Passwort-von-gestern", source=guesser)
    assert _wait(lambda: guesser in _banned("dovecot")), _status("dovecot")
    config = stack.config_path

    def shown() -> dict:
        out = run_cli("logins", address, "--json", "--since", "1h", config=config)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    assert _wait(lambda: any(d["code"] == "banned" for d in shown()["diagnoses"]))
    data = shown()
    assert any(e["banned"] and e["ip"] == guesser for e in data["events"])
    [ban] = [d["text"] for d in data["diagnoses"] if d["code"] == "banned"]
    assert guesser in ban

    refused = run_cli("unban", guesser, "--ticket", "nope", config=config)
    assert refused.returncode != 0 and "ticket" in refused.stderr
    assert guesser in _banned("dovecot")

    out = run_cli("unban", guesser, "--ticket", "T-4711", "--reason", "old phone", config=config)
    assert out.returncode == 0, out.stderr
    assert guesser not in _banned("dovecot")
    audit = run_cli("audit", "--target", guesser, "--json", config=config)
    rows = json.loads(audit.stdout)
    assert rows and rows[0]["action"] == "unban" and rows[0]["ticket"] == "T-4711"
    assert rows[0]["before"]["jail"] == "dovecot"
    assert rows[0]["before"]["banned_since"].endswith("Z")  # UTC, as the database keeps times

    again = run_cli("unban", guesser, "--ticket", "T-4711", config=config)
    assert again.returncode != 0 and "not banned" in again.stderr


WRAPPER = ROOT / "stack" / "wrappers" / "helpdesk-fail2ban-unban"


def test_wrapper_accepts_only_a_jail_and_an_address(fail2ban):
    socket = Path(fail2ban.env["STACK_DIR"]) / "fail2ban" / "fail2ban.sock"
    env = {"PATH": "/usr/bin:/bin", "HELPDESK_FAIL2BAN_SOCKET": str(socket)}
    for args in (
        ["sshd", "127.0.0.2"],
        ["dovecot", "127.0.0.2; reboot"],
        ["dovecot", "127.0.0.2", "--extra"],
        ["set", "dovecot", "unbanip", "127.0.0.2"],
        ["dovecot"],
    ):
        out = subprocess.run([WRAPPER, *args], capture_output=True, text=True, env=env, timeout=30)
        assert out.returncode == 2 and "fail2ban" not in out.stdout, args
    ok = subprocess.run(
        [WRAPPER, "dovecot", "127.0.0.251"], capture_output=True, text=True, env=env, timeout=30
    )
    assert ok.returncode == 0, ok.stderr
    # Under sudo the socket cannot be chosen: the system's fail2ban is asked (none runs here).
    sudo = subprocess.run(
        [WRAPPER, "dovecot", "127.0.0.251"],
        capture_output=True,
        text=True,
        env={**env, "SUDO_USER": "operator"},
        timeout=30,
    )
    assert sudo.returncode != 0 and str(socket) not in sudo.stderr
    assert "/var/run/fail2ban/fail2ban.sock" in sudo.stderr
