"""Convergence from one place (docs/rspamd.md): the systemd units and the cron line in docs/ are
valid, run every minute, and the command they run, as written, takes expired and revoked
releases off every controller of the stack's rspamd when nobody else writes."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from helpdesk.config import load_config
from helpdesk.mailcenter.audit import utcnow
from helpdesk.mailcenter.schema import outbound_releases
from helpdesk.rspamd.client import Cluster
from tests.conftest import ROOT, missing, run_cli
from tests.rspamd_tools import new_message_id
from tests.smtp_tools import message, submit

DOCS = ROOT / "docs"
SERVICE = DOCS / "helpdesk-releases-sync.service"
TIMER = DOCS / "helpdesk-releases-sync.timer"
CRON = DOCS / "helpdesk-releases-sync.cron"
INSTALLED = "/usr/local/bin/helpdesk"  # where the units expect the command
HELPDESK = str(Path(ROOT / ".venv" / "bin" / "helpdesk"))
PASSWORD = "Kunden-Passwort-15!"


def _unit_value(path: Path, key: str) -> str:
    (value,) = [
        line.split("=", 1)[1] for line in path.read_text().splitlines() if line.startswith(key)
    ]
    return value


def _cron_entry() -> tuple[list[str], str, str]:
    """The time fields, the user and the command of the cron file's one entry."""
    (entry,) = [
        line
        for line in CRON.read_text().splitlines()
        if line.strip() and not line.startswith("#") and "=" not in line.split()[0]
    ]
    fields = entry.split(None, 6)
    return fields[:5], fields[5], fields[6]


def test_the_timer_and_the_cron_line_run_every_minute(tmp_path):
    assert _unit_value(TIMER, "OnCalendar") == "*-*-* *:*:00"
    times, user, command = _cron_entry()
    assert times == ["*"] * 5 and user == _unit_value(SERVICE, "User")
    assert command.startswith(f"{INSTALLED} releases --sync")
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        missing("systemd-analyze is not installed")
    for unit in (SERVICE, TIMER):  # as installed, the command where the units expect it
        (tmp_path / unit.name).write_text(unit.read_text().replace(INSTALLED, HELPDESK))
    out = subprocess.run(
        [analyze, "verify", str(tmp_path / TIMER.name), str(tmp_path / SERVICE.name)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0 and not out.stderr.strip(), out.stderr


def _released(stack, user: str) -> dict:
    import json

    mid = new_message_id("sync")
    spam = message(user, mid, f"Rechnung {os.urandom(3).hex()} HELPDESK-TEST-SPAM")
    assert submit(stack, user, PASSWORD, spam) == 550
    out = run_cli(
        "release", mid, "--user", user, "--ticket", "T-15", "--json", config=stack.config_path
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def _maps(stack) -> list[str]:
    config = load_config(stack.config_path)
    with Cluster.from_config(config) as cluster:
        return [c.getmap(c.find_map(cluster.settings.release_map).id) for c in cluster.controllers]


@pytest.mark.stack
@pytest.mark.parametrize("how", ["systemd", "cron"])
def test_the_documented_command_takes_expired_and_revoked_releases_off(stack, how):
    user = stack.add_mailbox(f"sync.{os.urandom(4).hex()}@firma.test", PASSWORD)
    expired, revoked = _released(stack, user), _released(stack, user)
    # Changed in the database alone, as when a revocation's push failed or time ran out.
    with stack.db.begin() as conn:
        table = outbound_releases
        now = utcnow()
        conn.execute(
            update(table)
            .where(table.c.id == expired["id"])
            .values(expires_at=now - timedelta(seconds=1))
        )
        conn.execute(update(table).where(table.c.id == revoked["id"]).values(revoked_at=now))
    for text in _maps(stack):
        assert expired["digest"] in text and revoked["digest"] in text

    if how == "systemd":
        command = _unit_value(SERVICE, "ExecStart")
        env_key, env_value = _unit_value(SERVICE, "Environment").split("=", 1)
    else:
        command = _cron_entry()[2]
        env_key = "HELPDESK_CONFIG"
    assert env_key == "HELPDESK_CONFIG"
    env = {**os.environ, "HELPDESK_CONFIG": str(stack.config_path)}
    out = subprocess.run(
        ["sh", "-c", command.replace(INSTALLED, shlex.quote(HELPDESK))],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert out.returncode == 0, out.stderr
    # Cron mails any output, the journal keeps it: nothing when all went well.
    assert (out.stdout, out.stderr) == ("", "")
    for text in _maps(stack):
        assert expired["digest"] not in text and revoked["digest"] not in text
