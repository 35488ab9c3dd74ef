"""Real mail clients from a chosen 127.0.0.x address, for the login cases the timeline must
explain: the traffic round's client kinds (stack/login_traffic.py) and the tests
(tests/test_logins_stack.py, tests/data/dovecot/capture.py, which made the captured log lines).
"""

from __future__ import annotations

import contextlib
import imaplib
import poplib
import smtplib
import socket
import ssl

TIMEOUT = 20.0


def _tls() -> ssl.SSLContext:
    # The stack's certificate is self-signed: the client checks nothing (loopback only).
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class IMAP(imaplib.IMAP4):
    """IMAP4 from a chosen source address."""

    def __init__(self, port: int, source: str = "127.0.0.1") -> None:
        self.source = source
        super().__init__("127.0.0.1", port, timeout=TIMEOUT)

    def _create_socket(self, timeout):  # noqa: ANN001 - imaplib's signature
        return socket.create_connection(
            (self.host, self.port), timeout, source_address=(self.source, 0)
        )


class POP3(poplib.POP3):
    """POP3 from a chosen source address."""

    def __init__(self, port: int, source: str = "127.0.0.1") -> None:
        self.source = source
        super().__init__("127.0.0.1", port, timeout=TIMEOUT)

    def _create_socket(self, timeout):  # noqa: ANN001 - poplib's signature
        return socket.create_connection(
            (self.host, self.port), timeout, source_address=(self.source, 0)
        )


def imap_login(
    port: int,
    user: str,
    password: str,
    *,
    source: str = "127.0.0.1",
    tls: bool = True,
    client_id: dict[str, str] | None = None,
) -> bool:
    """LOGIN (after STARTTLS unless tls=False), with an IMAP ID first when client_id is given."""
    imap = IMAP(port, source)
    try:
        if tls:
            imap.starttls(_tls())
        if client_id:
            fields = " ".join(f'"{k}" "{v}"' for k, v in client_id.items())
            imap.xatom("ID", f"({fields})")
        try:
            imap.login(user, password)
        except imaplib.IMAP4.error:  # refused (abort, its subclass: the server hung up)
            return False
        return True
    finally:
        # The server may already have closed the connection (a refused or limited login).
        with contextlib.suppress(imaplib.IMAP4.error, OSError):
            imap.logout()


def imap_session(port: int, user: str, password: str, *, source: str = "127.0.0.1") -> IMAP:
    """A logged-in IMAP session over STARTTLS, left open (the caller logs out)."""
    imap = IMAP(port, source)
    imap.starttls(_tls())
    imap.login(user, password)
    imap.select("INBOX")
    return imap


def imap_cram_md5(port: int, user: str, password: str, *, source: str = "127.0.0.1") -> bool:
    """AUTHENTICATE CRAM-MD5, which the stack never offers."""
    with IMAP(port, source) as imap:
        imap.starttls(_tls())
        try:
            imap.login_cram_md5(user, password)
        except imaplib.IMAP4.error:
            return False
        return True


def pop3_login(
    port: int, user: str, password: str, *, source: str = "127.0.0.1", tls: bool = True
) -> bool:
    pop = POP3(port, source)
    try:
        if tls:
            pop.stls(_tls())
        try:
            pop.user(user)
            pop.pass_(password)
        except poplib.error_proto:
            return False
        pop.stat()
        return True
    finally:
        try:
            pop.quit()
        except (poplib.error_proto, OSError):
            pop.close()


def smtp_login(
    port: int,
    user: str,
    password: str,
    *,
    source: str = "127.0.0.1",
    tls: bool = True,
    helo: str = "laptop",
    send_to: str | None = None,
) -> bool:
    """SMTP AUTH (PLAIN) on the submission port; with send_to, a message follows, so that
    Exim logs the successful login on its `<=` line."""
    with smtplib.SMTP(
        "127.0.0.1", port, local_hostname=helo, timeout=TIMEOUT, source_address=(source, 0)
    ) as smtp:
        if tls:
            smtp.starttls(context=_tls())
        try:
            smtp.login(user, password)
        except smtplib.SMTPAuthenticationError:
            return False
        if send_to:
            smtp.sendmail(user, [send_to], f"From: {user}\r\nSubject: hello\r\n\r\nhello\r\n")
        return True


def smtp_cram_md5(port: int, user: str, *, source: str = "127.0.0.1", helo: str = "laptop") -> int:
    """AUTH CRAM-MD5 on the submission port (never advertised): the reply code."""
    with smtplib.SMTP(
        "127.0.0.1", port, local_hostname=helo, timeout=TIMEOUT, source_address=(source, 0)
    ) as smtp:
        smtp.starttls(context=_tls())
        smtp.ehlo(helo)
        code, _ = smtp.docmd("AUTH", "CRAM-MD5")
        if code == 334:
            smtp.docmd("*")
        return code
