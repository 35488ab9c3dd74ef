"""`helpdesk sieve ADDRESS` on the stack: the helpdesk's script, then the customer's own active
script read through the least-privilege wrapper (stack/sieve_rules.py); the customer's rules see
only what the helpdesk's part kept; deactivating it takes a ticket and leaves an audit row."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from helpdesk.mailcenter.schema import audit_log
from tests.conftest import run_cli
from tests.test_forward_stack import send
from tests.test_spam_stack import PASSWORD, folders_holding, set_ladder

pytestmark = pytest.mark.stack
WRAPPER = Path(__file__).resolve().parent.parent / "stack" / "sieve_rules.py"
CUSTOMER_SCRIPT = (
    'require ["fileinto", "mailbox"];\n'
    'if header :contains "subject" "forward test" { fileinto :create "Customer"; }\n'
)


@pytest.fixture
def config(stack):
    # The stack's own helpdesk.toml names the wrapper; the test runs on exactly what a demo gets.
    path = Path(stack.config_path)
    assert f'"{WRAPPER}"]' in path.read_text()
    return path


def put_customer_script(stack, address: str) -> None:
    conf = Path(stack.env["STACK_DIR"]) / "dovecot" / "dovecot.conf"
    done = subprocess.run(
        ["doveadm", "-c", str(conf), "sieve", "put", "-u", address, "-a", "own"],
        input=CUSTOMER_SCRIPT, capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def test_both_scripts_in_order_and_the_customer_only_sees_what_was_kept(stack, config):
    address = stack.add_mailbox(stack.unique_address("chain"), PASSWORD)
    set_ladder(stack, address, "--rule", "4:junk")
    put_customer_script(stack, address)
    out = run_cli("sieve", address, "--json", config=config)
    assert out.returncode == 0, out.stderr
    scripts = json.loads(out.stdout)["scripts"]
    assert [s["source"] for s in scripts] == ["helpdesk", "personal"]
    assert 'fileinto :create "Junk"' in scripts[0]["text"]
    assert scripts[1]["name"] == "own" and "Customer" in scripts[1]["text"]

    clean = send(stack, address, sender="a@sender.example")
    spam = send(stack, address, score=7, sender="b@sender.example")
    assert folders_holding_all(stack, address, clean) == {"Customer"}
    assert folders_holding(stack, address, spam) == {"Junk"}

    out = run_cli("sieve", address, "--deactivate", "--ticket", "T-6", config=config)
    assert out.returncode == 0, out.stderr
    out = run_cli("sieve", address, "--json", config=config)
    assert [s["source"] for s in json.loads(out.stdout)["scripts"]] == ["helpdesk"]
    with stack.db.connect() as conn:
        actions = (
            conn.execute(select(audit_log.c.action).where(audit_log.c.target == address))
            .scalars()
            .all()
        )
    assert "sieve.deactivate" in actions


def folders_holding_all(stack, address: str, mid: str) -> set[str]:
    import imaplib

    found = set()
    with imaplib.IMAP4("127.0.0.1", stack.imap_port) as imap:
        imap.login(address, PASSWORD)
        for folder in ("INBOX", "Junk", "Customer"):
            status, _ = imap.select(folder, readonly=True)
            if status != "OK":
                continue
            _, data = imap.search(None, "HEADER", "Message-ID", mid)
            if data and data[0].split():
                found.add(folder)
        imap.logout()
    return found
