"""Forwards and auto-replies through the real stack: Exim scores with rspamd, Dovecot runs the
mailbox's script (spam part, then forwards and auto-reply) from the database at LMTP delivery,
and what Dovecot sends leaves through Exim's Sieve relay port into .stack/capture."""

from __future__ import annotations

import email
import email.utils
import smtplib
import time
import uuid
from datetime import date, timedelta
from email.message import EmailMessage

import pytest
from sqlalchemy import insert, select

from tests.conftest import run_cli
from tests.test_spam_stack import PASSWORD, delivered, folders_holding, set_ladder

pytestmark = pytest.mark.stack


def send(stack, rcpt: str, *, score: float = 0, sender: str, to: str | None = None,
         headers: dict[str, str] | None = None) -> str:  # fmt: skip
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to or rcpt
    msg["Subject"] = f"forward test {score}"
    mid = f"{uuid.uuid4().hex}@stack-test.example"
    msg["Message-ID"] = f"<{mid}>"
    msg["Date"] = email.utils.formatdate()
    msg["X-Stack-Test-Score"] = str(score)
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content("Hello, this is a test message for forwards and auto-replies.\n")
    with smtplib.SMTP("127.0.0.1", stack.inbound_port, timeout=30) as smtp:
        smtp.send_message(msg, from_addr=sender, to_addrs=[rcpt])
    delivered(stack, mid)
    return mid


def captured(stack, mid: str, header: str = "Message-ID") -> list[email.message.Message]:
    found = []
    for raw in stack.captured():
        message = email.message_from_bytes(raw)
        if mid in str(message.get(header, "")):
            found.append(message)
    return found


def wait_captured(stack, mid: str, header: str = "Message-ID") -> list[email.message.Message]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = captured(stack, mid, header)
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"nothing captured with {header} {mid}")


def cli(stack, *args: str) -> None:
    out = run_cli(*args, "--ticket", "STACK-18", config=stack.config_path)
    assert out.returncode == 0, out.stderr


def sender() -> str:
    return f"s-{uuid.uuid4().hex[:8]}@sender.example"


def test_scheduled_forward_sends_inside_its_window_with_the_mailbox_as_envelope_sender(stack):
    address = stack.add_mailbox(stack.unique_address("sched"), PASSWORD)
    target = f"holiday-{uuid.uuid4().hex[:8]}@colleague.example"
    today = date.today()  # any zone's "now" lies between yesterday and tomorrow
    window = (str(today - timedelta(days=1)), str(today + timedelta(days=1)))
    cli(stack, "forward", "set", address, "--to", target, "--from", window[0], "--until", window[1])
    original_sender = sender()
    mid = send(stack, address, sender=original_sender)
    (copy,) = wait_captured(stack, mid)
    assert target in copy["Envelope-to"]
    # Rewritten envelope sender: the receiver checks SPF against this host, not sender.example.
    assert copy["Return-path"].strip("<> ") == address
    assert copy["From"] == original_sender
    assert folders_holding(stack, address, mid) == {"INBOX"}  # keep_copy by default

    # The same forward outside its window: nothing leaves, the mailbox keeps the message.
    later = (str(today + timedelta(days=2)), str(today + timedelta(days=3)))
    cli(stack, "forward", "set", address, "--to", target, "--no-copy",
        "--from", later[0], "--until", later[1])  # fmt: skip
    late = send(stack, address, sender=original_sender)
    control = send(stack, stack.add_mailbox(stack.unique_address("ctl"), PASSWORD),
                   sender=original_sender)  # fmt: skip
    assert folders_holding(stack, address, late) == {"INBOX"}
    assert control and captured(stack, late) == []

    # Inside its window without a copy: forwarded, and not kept.
    cli(stack, "forward", "set", address, "--to", target, "--no-copy")
    gone = send(stack, address, sender=original_sender)
    wait_captured(stack, gone)
    assert folders_holding(stack, address, gone) == set()


def test_spam_above_the_junk_threshold_is_neither_forwarded_nor_answered(stack):
    address = stack.add_mailbox(stack.unique_address("nospam"), PASSWORD)
    target = f"fwd-{uuid.uuid4().hex[:8]}@colleague.example"
    set_ladder(stack, address, "--rule", "4:junk", "--rule", "11:delete")
    cli(stack, "forward", "set", address, "--to", target)
    cli(stack, "autoreply", "set", address, "--lang", "en", "--days", "1")
    spammer, friend = sender(), sender()
    spam = send(stack, address, score=7, sender=spammer)
    deleted = send(stack, address, score=13, sender=spammer)
    # The control: a clean message from another sender is forwarded and answered.
    clean = send(stack, address, score=0, sender=friend)
    wait_captured(stack, clean)
    wait_captured(stack, clean, "In-Reply-To")
    assert folders_holding(stack, address, spam) == {"Junk"}
    for mid in (spam, deleted):
        assert captured(stack, mid) == []
        assert captured(stack, mid, "In-Reply-To") == []


def test_autoreply_answers_each_sender_once_also_via_an_alias_but_never_lists_or_bulk(stack):
    from helpdesk.mailcenter.schema import aliases, mailboxes

    address = stack.add_mailbox(stack.unique_address("away"), PASSWORD)
    alias = stack.unique_address("info")
    with stack.db.begin() as conn:
        domain_id = conn.execute(
            select(mailboxes.c.domain_id).where(mailboxes.c.address == address)
        ).scalar_one()
        conn.execute(insert(aliases).values(domain_id=domain_id, address=alias, target=address))
    cli(stack, "autoreply", "set", address, "--lang", "de", "--days", "3",
        "--subject", "Abwesend")  # fmt: skip
    first_sender, alias_sender = sender(), sender()
    first = send(stack, address, sender=first_sender)
    (reply,) = wait_captured(stack, first, "In-Reply-To")
    assert reply["Subject"] == "Abwesend"
    assert first_sender in reply["Envelope-to"]
    assert reply["Return-path"].strip("<> ") == ""  # a vacation reply never bounces
    assert "Vielen Dank für Ihre Nachricht" in reply.get_payload(decode=True).decode()

    again = send(stack, address, sender=first_sender)
    bulk = send(stack, address, sender=sender(), headers={"Precedence": "bulk"})
    listed = send(stack, address, sender=sender(), headers={"List-Id": "<news.sender.example>"})
    via_alias = send(stack, alias, sender=alias_sender, to=alias)
    wait_captured(stack, via_alias, "In-Reply-To")  # sent after the three above were handled
    for mid in (again, bulk, listed):
        assert captured(stack, mid, "In-Reply-To") == [], mid
