"""Spam ladders through the real stack: Exim scores with rspamd, Dovecot runs the mailbox's
script from the database at LMTP delivery; where each message lands is checked over IMAP."""

from __future__ import annotations

import email.utils
import imaplib
import re
import smtplib
import uuid
from email.message import EmailMessage
from pathlib import Path

import pytest

from helpdesk.spam.ladder import effective_action, parse_rule, placement
from tests.conftest import run_cli

pytestmark = pytest.mark.stack
PASSWORD = "Ladder-Pass-73"


@pytest.fixture(scope="module")
def spam_stack(stack):
    """The stack with the spam-ladder Dovecot config in place (stack/README.md, "Sieve")."""
    state = Path(stack.env["STACK_DIR"])
    for name in ("dovecot-sieve-spam.conf", "dovecot-sieve-dict.conf.ext"):
        assert (state / name).exists(), (
            f"{state / name} missing: the launcher renders every stack/dovecot/sieve*.in"
        )
    return stack


def send(stack, rcpt: str, score: float, sender: str = "news@sender.example") -> str:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = rcpt
    msg["Subject"] = f"ladder test {score}"
    mid = f"{uuid.uuid4().hex}@stack-test.example"
    msg["Message-ID"] = f"<{mid}>"
    msg["Date"] = email.utils.formatdate()
    msg["X-Stack-Test-Score"] = str(score)
    msg.set_content("Hello, this is a test message for the spam ladder.\n")
    with smtplib.SMTP("127.0.0.1", stack.inbound_port, timeout=30) as smtp:
        smtp.send_message(msg, from_addr=sender, to_addrs=[rcpt])
    return mid


def delivered(stack, mid: str) -> tuple[str, float]:
    """Wait until Exim has finished the message; its Exim id and the score rspamd gave it."""
    arrival = stack.wait_for_log(rf" <= .* id={re.escape(mid)} ", timeout=20)
    assert arrival, f"no arrival line for {mid}"
    exim_id = arrival[0].split()[2]
    assert stack.wait_for_log(rf"{exim_id} Completed", timeout=30), f"{exim_id} not completed"
    score_line = stack.wait_for_log(rf"{exim_id} spam-score=")
    return exim_id, float(score_line[0].split("spam-score=")[1].split()[0])


def folders_holding(stack, address: str, mid: str) -> set[str]:
    found = set()
    with imaplib.IMAP4("127.0.0.1", stack.imap_port) as imap:
        imap.login(address, PASSWORD)
        for folder in ("INBOX", "Junk"):
            status, _ = imap.select(folder, readonly=True)
            assert status == "OK", folder
            status, data = imap.search(None, "HEADER", "Message-ID", mid)
            if data and data[0].split():
                found.add(folder)
        imap.logout()
    return found


def set_ladder(stack, address: str, *args: str) -> None:
    out = run_cli("spam", "set", address, *args, "--ticket", "STACK-1", config=stack.config_path)
    assert out.returncode == 0, out.stderr


EXPECTED_FOLDERS = {"inbox": {"INBOX"}, "marked": {"INBOX"}, "junk": {"Junk"}, "nowhere": set()}


def test_inbound_mail_lands_where_the_ladder_says_and_follows_a_change(spam_stack):
    stack = spam_stack
    address = stack.add_mailbox(stack.unique_address("ladder"), PASSWORD)
    rules = ("4:junk", "11:delete")
    set_ladder(stack, address, *[a for r in rules for a in ("--rule", r)])
    ladder = tuple(parse_rule(r) for r in rules)
    outcomes = []
    for requested in (0, 6, 12):
        mid = send(stack, address, requested)
        _, score = delivered(stack, mid)
        rule = effective_action(ladder, round(score * 10))
        where = placement(ladder, rule) if rule else "inbox"
        assert folders_holding(stack, address, mid) == EXPECTED_FOLDERS[where], (score, where)
        outcomes.append(where)
    # The requested scores were chosen to hit each step; rspamd's other rules add little.
    assert outcomes == ["inbox", "junk", "nowhere"]

    # A new ladder decides the very next delivery: nothing is restarted.
    set_ladder(stack, address, "--rule", "13:junk")
    mid = send(stack, address, 6)
    delivered(stack, mid)
    assert folders_holding(stack, address, mid) == {"INBOX"}


def test_allowed_sender_reaches_the_inbox_and_blocked_sender_goes_to_junk(spam_stack):
    stack = spam_stack
    address = stack.add_mailbox(stack.unique_address("senders"), PASSWORD)
    set_ladder(stack, address, "--rule", "4:junk", "--allow", "@friends.example",
               "--block", "pest@sender.example")  # fmt: skip
    mid = send(stack, address, 9, sender="anna@friends.example")
    delivered(stack, mid)
    assert folders_holding(stack, address, mid) == {"INBOX"}
    mid = send(stack, address, 0, sender="pest@sender.example")
    delivered(stack, mid)
    assert folders_holding(stack, address, mid) == {"Junk"}


def test_domain_default_applies_until_the_mailbox_has_its_own(spam_stack):
    stack = spam_stack
    # A domain of its own: a default on the shared test domain would reach other tests' mail.
    domain = f"@ladder-{uuid.uuid4().hex[:8]}.example"
    address = stack.add_mailbox(f"inherit{domain}", PASSWORD)
    set_ladder(stack, domain, "--rule", "5:junk")
    mid = send(stack, address, 7)
    delivered(stack, mid)
    assert folders_holding(stack, address, mid) == {"Junk"}
    set_ladder(stack, address, "--rule", "13:junk")
    mid = send(stack, address, 7)
    delivered(stack, mid)
    assert folders_holding(stack, address, mid) == {"INBOX"}
    set_ladder(stack, address, "--inherit")
    mid = send(stack, address, 7)
    delivered(stack, mid)
    assert folders_holding(stack, address, mid) == {"Junk"}


def test_forward_sends_a_copy_and_keeps_the_message_where_the_rule_below_puts_it(spam_stack):
    stack = spam_stack
    address = stack.add_mailbox(stack.unique_address("fwd"), PASSWORD)
    colleague = stack.add_mailbox(stack.unique_address("copy"), PASSWORD)
    set_ladder(stack, address, "--rule", "4:junk", "--rule", f"8:forward:{colleague}")
    mid = send(stack, address, 9)
    delivered(stack, mid)
    assert folders_holding(stack, address, mid) == {"Junk"}
    # The copy is a new SMTP transaction through Exim: wait for it to arrive.
    copy = stack.wait_for_messages(colleague, timeout=30)
    assert any(mid.encode() in m for m in copy)


def test_the_largest_allowed_sender_lists_work_at_delivery(spam_stack):
    # At the limits (docs/spam.md, "Limits"): 10 rules, 100 entries of 100 characters. Dovecot
    # fetches and compiles the script at each delivery; far larger ones defer every message.
    stack = spam_stack
    address = stack.add_mailbox(stack.unique_address("limits"), PASSWORD)

    def entry(n: int) -> str:
        local = f"s{n:03d}" + "x" * 60
        return f"{local}@" + "d" * (100 - len(local) - 9) + ".example"

    rules = [a for n in range(10) for a in ("--rule", f"{4 + n}:junk")]
    allow = [a for n in range(50) for a in ("--allow", entry(n))]
    block = [a for n in range(50, 100) for a in ("--block", entry(n))]
    set_ladder(stack, address, *rules, *allow, *block)
    script = run_cli("spam", "sieve", address, config=stack.config_path).stdout
    assert 20_000 < len(script.encode()) < 34_000
    mid = send(stack, address, 9, sender=entry(7))
    delivered(stack, mid)
    assert folders_holding(stack, address, mid) == {"INBOX"}
    mid = send(stack, address, 0, sender=entry(77))
    delivered(stack, mid)
    assert folders_holding(stack, address, mid) == {"Junk"}
