"""Helpers for tests that drive the stack's rspamd worker directly (/checkv2)."""

from __future__ import annotations

import uuid

import httpx


def new_message_id(tag: str = "t") -> str:
    return f"{tag}-{uuid.uuid4().hex[:12]}@helpdesk.test"


def message(message_id: str, *, subject: str, sender: str, to: str = "kunde@example.net") -> bytes:
    return (
        f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\n"
        f"Message-ID: <{message_id}>\r\nDate: Fri, 27 Nov 2026 21:00:00 +0000\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        "Guten Tag,\r\nanbei die Unterlagen.\r\nViele Gruesse\r\n"
    ).encode()


def scan(stack, body: bytes, *, user: str | None, sender: str, rcpt: str = "kunde@example.net"):
    """One scan as Exim would ask for it; returns rspamd's reply (action, score, symbols)."""
    headers = {"From": sender, "Rcpt": rcpt, "IP": "192.0.2.44", "Helo": "client.test"}
    if user:
        headers["User"] = user
    reply = httpx.post(f"{stack.worker_url}/checkv2", content=body, headers=headers, timeout=10)
    reply.raise_for_status()
    return reply.json()


def spam_from(
    stack, user: str, message_id: str, *, sender: str | None = None, subject: str = "Angebot"
):
    body = message(message_id, subject=f"{subject} HELPDESK-TEST-SPAM", sender=sender or user)
    return scan(stack, body, user=user, sender=sender or user)
