"""`helpdesk unban` refuses bad input in one line and changes nothing (the real fail2ban is in
tests/test_unban_stack.py)."""

from __future__ import annotations

import pytest

from helpdesk.logins.bans import read_bans
from tests.conftest import run_cli
from tests.test_logins_cli import _world

LOG = (
    "2026-11-30 22:30:00,123 fail2ban.actions        [99]: NOTICE  [dovecot] Ban 127.0.0.9\n"
    "2026-11-30 22:31:00,123 fail2ban.actions        [99]: NOTICE  [exim] Ban 127.0.0.15\n"
    "2026-11-30 22:32:00,123 fail2ban.actions        [99]: NOTICE  [exim] Unban 127.0.0.15\n"
    "2026-11-30 22:33:00,123 fail2ban.actions        [99]: NOTICE  [sshd] Ban 192.0.2.1\n"
    "2026-11-30 22:34:00,123 fail2ban.filter         [99]: INFO    [dovecot] Found 127.0.0.7\n"
)


def _config(tmp_path, command: str):
    config = _world(tmp_path)
    (tmp_path / "fail2ban.log").write_text(LOG)
    with config.open("a") as f:
        f.write(f"unban_command = {command}\n")
    return config


def test_read_bans_follows_ban_and_unban(tmp_path):
    path = tmp_path / "f.log"
    path.write_text(LOG)
    bans = read_bans(str(path), ("dovecot", "exim"))
    assert set(bans) == {"127.0.0.9"} and bans["127.0.0.9"][0] == "dovecot"
    assert set(read_bans(str(path))) == {"127.0.0.9", "192.0.2.1"}
    assert read_bans(str(tmp_path / "missing.log")) == {}


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["127.0.0.9", "--ticket", "nope"], "ticket"),
        (["not-an-ip", "--ticket", "T-1"], "not an IP address"),
        (["127.0.0.15", "--ticket", "T-1"], "not banned"),
    ],
)
def test_bad_input_changes_nothing(tmp_path, args, says):
    marker = tmp_path / "ran"
    config = _config(tmp_path, f'["touch", "{marker}"]')
    out = run_cli("unban", *args, config=config)
    assert out.returncode != 0 and out.stdout == ""
    assert len(out.stderr.strip().splitlines()) == 1 and says in out.stderr
    assert not marker.exists()
    audit = run_cli("audit", "--json", config=config)
    assert audit.returncode == 0 and '"unban"' not in audit.stdout


def test_a_failing_unban_command_leaves_no_audit_row(tmp_path):
    config = _config(tmp_path, '["false"]')
    out = run_cli("unban", "127.0.0.9", "--ticket", "T-1", config=config)
    assert out.returncode != 0 and "the unban command failed (exit 1)" in out.stderr
    assert '"unban"' not in run_cli("audit", "--json", config=config).stdout


def test_without_an_unban_command(tmp_path):
    config = _world(tmp_path)
    (tmp_path / "fail2ban.log").write_text(LOG)
    out = run_cli("unban", "127.0.0.9", "--ticket", "T-1", config=config)
    assert out.returncode != 0 and "unban_command" in out.stderr


@pytest.mark.parametrize("name", ["helpdesk-fail2ban-unban", "helpdesk-doveadm-kick"])
def test_the_documented_wrapper_is_the_one_the_stack_runs(name, tmp_path):
    from tests.conftest import ROOT, missing

    wrapper = ROOT / "stack" / "wrappers" / name
    assert wrapper.stat().st_mode & 0o111, "the wrapper must be executable"
    shown = "".join(
        "  " + line if line.strip() else line for line in wrapper.read_text().splitlines(True)
    )
    assert "  ```sh\n" + shown + "  ```\n" in (ROOT / "docs" / "logins.md").read_text()
    from stack import fail2ban, kick
    from stack.settings import Settings

    if not fail2ban.available():
        missing("fail2ban is not installed (make stack-packages)")
    settings = Settings.from_env({"STACK_DIR": str(tmp_path)})
    helpdesk_toml = "\n".join(kick.config_lines(settings) + fail2ban.config_lines(settings))
    assert f'"{wrapper}"]' in helpdesk_toml


def test_the_systems_fail2ban_stays_off_after_the_install():
    # Debian's postinst enables the service for the next boot (an sshd jail banning with
    # iptables); the stack's install disables it again. Enabling only links a unit file.
    import os
    import shutil
    import subprocess
    from pathlib import Path

    from stack import fail2ban
    from tests.conftest import missing

    unit = Path("/lib/systemd/system/fail2ban.service")
    if os.geteuid() != 0 or shutil.which("systemctl") is None or not unit.exists():
        missing("needs root, systemctl and Debian's fail2ban package")
    wants = Path("/etc/systemd/system/multi-user.target.wants/fail2ban.service")
    subprocess.run(["systemctl", "enable", "fail2ban.service"], capture_output=True, timeout=60)
    try:
        assert wants.is_symlink()  # as apt-get leaves it
        fail2ban.keep_system_service_off()
        assert not wants.is_symlink()
    finally:
        subprocess.run(
            ["systemctl", "disable", "fail2ban.service"], capture_output=True, timeout=60
        )
