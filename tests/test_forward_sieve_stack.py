"""`helpdesk sieve ADDRESS` on the stack: the helpdesk's script, then the customer's own active
script read through the least-privilege wrapper (stack/sieve_rules.py), its rules in plain words;
the customer's rules see only what the helpdesk's part kept; deactivating it takes a ticket and
leaves an audit row. With `[sieve] doveconf_command` the order comes from the stack's Dovecot."""

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
FILED_WORDS = "if the subject contains “forward test”: file into folder “Customer”"
UNKNOWN_TO_THE_PARSER = (
    'require ["fileinto", "mailbox"];\nif mailboxexists "Customer" { fileinto "Customer"; }\n'
)


@pytest.fixture
def config(stack):
    # The stack's own helpdesk.toml names the wrapper; the test runs on exactly what a demo gets.
    path = Path(stack.config_path)
    assert f'"{WRAPPER}"]' in path.read_text()
    return path


def put_customer_script(stack, address: str, script: str = CUSTOMER_SCRIPT) -> None:
    conf = Path(stack.env["STACK_DIR"]) / "dovecot" / "dovecot.conf"
    done = subprocess.run(
        ["doveadm", "-c", str(conf), "sieve", "put", "-u", address, "-a", "own"],
        input=script, capture_output=True, text=True, timeout=30, check=False,
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
    assert scripts[1]["understood"] is True
    assert [r["text"] for r in scripts[1]["rules"]] == [FILED_WORDS]
    assert scripts[1]["rules"][0]["actions"] == [
        {"action": "fileinto", "create": True, "mailbox": "Customer"}
    ]
    out = run_cli("sieve", address, config=config)
    assert out.returncode == 0, out.stderr
    assert f"  - {FILED_WORDS}\n" in out.stdout
    out = run_cli("--ui-language", "de", "sieve", address, config=config)
    assert (
        "  - wenn gilt: der Betreff enthält „forward test“ → in den Ordner „Customer“ ablegen\n"
        in (out.stdout)
    )

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


@pytest.fixture
def doveconf_config(stack, tmp_path):
    """The stack's helpdesk.toml with `doveconf_command` on the stack's own Dovecot config."""
    conf = Path(stack.env["STACK_DIR"]) / "dovecot" / "dovecot.conf"
    text = Path(stack.config_path).read_text()
    assert "\n[sieve]\n" in text
    if "\ndoveconf_command = " in text:
        return Path(stack.config_path)
    path = tmp_path / "helpdesk.toml"
    line = f'doveconf_command = ["doveconf", "-c", "{conf}"]'
    path.write_text(text.replace("\n[sieve]\n", f"\n[sieve]\n{line}\n"))
    return path


def test_order_from_dovecot_and_a_script_the_parser_cannot_read(stack, doveconf_config):
    address = stack.add_mailbox(stack.unique_address("chainconf"), PASSWORD)
    set_ladder(stack, address, "--rule", "4:junk")
    # Pigeonhole compiles it (doveadm sieve put checks), sievelib does not know `mailboxexists`.
    put_customer_script(stack, address, UNKNOWN_TO_THE_PARSER)
    out = run_cli("sieve", address, "--json", config=doveconf_config)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["global_scripts_read"] is True
    scripts = data["scripts"]
    assert [s["source"] for s in scripts] == ["helpdesk", "personal"]
    assert scripts[1]["understood"] is False and "mailboxexists" in scripts[1]["error"]
    assert scripts[1]["rules"] == []
    out = run_cli("sieve", address, config=doveconf_config)
    assert out.returncode == 0, out.stderr
    assert "## Not understood (line 2: unknown command 'mailboxexists')" in out.stdout
    assert 'if mailboxexists "Customer"' in out.stdout
    assert "sieve_before/sieve_after scripts not read" not in out.stdout


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
