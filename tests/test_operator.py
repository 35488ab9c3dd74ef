"""Who did it: the audit row names the user the kernel knows, not what the environment claims.

The parent "sudo" here is a root-owned copy of the Python interpreter under that name: to the
check it is what sudo is (a root process running a root-owned file called sudo), and the test
needs no sudo installed. A copy owned by someone else, or under another name, must not count.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpdesk.mailcenter.db import Database
from helpdesk.mailcenter.mailboxes import create_mailbox
from tests.conftest import HELPDESK_BIN, run_cli

ME = pwd.getpwuid(os.getuid()).pw_name
# Runs its arguments as a child and waits for it: the child's parent is this interpreter.
_SPAWN = "import subprocess, sys; sys.exit(subprocess.run(sys.argv[1:]).returncode)"
_SPAWN_AS_NOBODY = (
    "import subprocess, sys; "
    "sys.exit(subprocess.run(sys.argv[1:], user='nobody', group='nogroup', "
    "extra_groups=[]).returncode)"
)
_PRINT_OPERATOR = (
    "from helpdesk.mailcenter.operator import current_operator; print(current_operator().user)"
)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    db = Database(f"sqlite:///{tmp_path / 'mailcenter.sqlite'}")
    db.create_schema()
    with db.begin() as conn:
        create_mailbox(conn, "anna@example.de", realname="Anna")
    db.dispose()
    path = tmp_path / "helpdesk.toml"
    path.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "mailcenter.sqlite"}"\n')
    path.chmod(0o600)
    return path


def _interpreter_named(folder: Path, name: str, owner: str = "root") -> Path:
    if os.geteuid() != 0:
        pytest.skip("needs root to make a root-owned (and a foreign-owned) stand-in for sudo")
    folder.mkdir(exist_ok=True)
    copy = folder / name
    shutil.copy2(os.path.realpath(sys.executable), copy)
    entry = pwd.getpwnam(owner)
    os.chown(copy, entry.pw_uid, entry.pw_gid)
    copy.chmod(0o755)
    return copy


def _suspend_under(parent: Path | None, config: Path, env: dict[str, str]) -> dict:
    command = [str(HELPDESK_BIN), "--config", str(config), "suspend", "anna@example.de"]
    command += ["--ticket", "T-1", "--json"]
    if parent is not None:
        command = [str(parent), "-c", _SPAWN, *command]
    full_env = {**os.environ, **env}
    out = subprocess.run(command, capture_output=True, text=True, env=full_env, timeout=60)
    assert out.returncode == 0, out.stderr
    [entry] = json.loads(run_cli("audit", "--json", config=config).stdout)
    return entry


def test_logname_and_user_cannot_forge_the_operator(config):
    entry = _suspend_under(None, config, {"LOGNAME": "mallory", "USER": "mallory"})
    assert entry["operator"] == ME


def test_sudo_user_without_sudo_as_parent_is_ignored(config):
    entry = _suspend_under(None, config, {"SUDO_USER": "maria", "SUDO_UID": "1000"})
    assert entry["operator"] == ME


def test_sudo_user_counts_under_a_root_owned_sudo(config, tmp_path):
    sudo = _interpreter_named(tmp_path / "bin", "sudo")
    entry = _suspend_under(sudo, config, {"SUDO_USER": "maria", "SUDO_UID": "1000"})
    assert entry["operator"] == "maria"


def test_sudo_user_needs_sudo_uid_too(config, tmp_path):
    sudo = _interpreter_named(tmp_path / "bin", "sudo")
    env = {**os.environ, "SUDO_USER": "maria"}
    env.pop("SUDO_UID", None)
    entry = _suspend_under(sudo, config, env)
    assert entry["operator"] == ME


@pytest.mark.parametrize(
    ("name", "owner"), [("sudo", "nobody"), ("sudoku", "root")], ids=["not-root-owned", "renamed"]
)
def test_a_parent_that_is_not_sudo_does_not_count(config, tmp_path, name, owner):
    parent = _interpreter_named(tmp_path / "bin", name, owner)
    entry = _suspend_under(parent, config, {"SUDO_USER": "maria", "SUDO_UID": "1000"})
    assert entry["operator"] == ME


def _operator_as_nobody(parent: Path) -> str:
    env = {
        **os.environ,
        "SUDO_USER": "maria",
        "SUDO_UID": "1000",
        "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
    }
    # The child runs as nobody: an interpreter outside root's home, the module by path.
    system_python = shutil.which("python3", path="/usr/bin:/bin")
    if system_python is None:
        pytest.skip("no system python3 that an unprivileged user can run")
    out = subprocess.run(
        [str(parent), "-c", _SPAWN_AS_NOBODY, system_python, "-c", _PRINT_OPERATOR],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        cwd="/",
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_sudo_to_another_user_still_names_who_ran_it(tmp_path):
    """`sudo -u helpdesk`: the child may not read root's /proc/PID/exe, and still knows."""
    folder = tmp_path / "bin"
    sudo = _interpreter_named(folder, "sudo")
    assert _operator_as_nobody(sudo) == "maria"
    other = _interpreter_named(folder, "sudoku")
    assert _operator_as_nobody(other) == "nobody"


def test_ssh_client_is_kept_as_a_claim(config):
    entry = _suspend_under(None, config, {"SSH_CONNECTION": "2001:db8::7 5022 10.0.0.1 22"})
    assert entry["client_addr"] == "2001:db8::7 (claimed)"


def test_a_hostile_ssh_connection_is_not_stored(config):
    entry = _suspend_under(None, config, {"SSH_CONNECTION": "\x1b]52;c;ZXZpbA==\x07 1 2 3"})
    assert entry["client_addr"] is None
