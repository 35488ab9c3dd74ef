"""Sending through the stack's Exim submission port, as a customer's mail program does."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage


def message(
    user: str, mid: str | None, subject: str, body: str = "Guten Tag,\nanbei die Unterlagen.\n"
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = user
    msg["To"] = "kunde@example.net"
    msg["Subject"] = subject
    if mid is not None:
        msg["Message-ID"] = f"<{mid}>"
    msg.set_content(body)
    return msg


def submit(stack, login: str, password: str, msg: EmailMessage) -> int:
    """Send one message with STARTTLS and AUTH; Exim's answer to DATA (250, 550, 451 ...)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with smtplib.SMTP("127.0.0.1", stack.submission_port, timeout=30) as smtp:
        smtp.starttls(context=context)
        smtp.login(login, password)
        try:
            smtp.send_message(msg)
        except smtplib.SMTPDataError as exc:
            return exc.smtp_code
        except smtplib.SMTPSenderRefused as exc:
            return exc.smtp_code
        return 250
