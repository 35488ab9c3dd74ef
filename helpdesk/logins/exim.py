"""Exim's mainlog lines about SMTP logins, as LoginEvents.

    … <= kunde@example.org H=(iphone) [198.51.100.7]:44461 I=[…]:587 P=esmtpsa X=TLS1.3:…
        A=dovecot_plain:kunde@example.org …
    sql_plain authenticator failed for (outlook-pc) [198.51.100.8]:59117 I=[…]:587:
        535 Incorrect authentication data (set_id=kunde@example.org)
    SMTP protocol error in "AUTH CRAM-MD5" H=(iphone) [198.51.100.7]:41883 I=[…]:587
        CRAM-MD5 authentication mechanism not supported

Exim logs a successful AUTH only with the message it allowed (`A=` on `<=` and rejection
lines); a failed one as a 535 line, where it cannot say whether TLS was on (tls None) nor tell a
wrong password from an unknown user; a refused mechanism only with `+smtp_protocol_error`, and
without a user name. The authenticator's driver name ends in its mechanism (`…_plain`).
"""

from __future__ import annotations

import re
from datetime import datetime

from helpdesk.logins.events import LoginEvent
from helpdesk.logs.mask import mask_credentials_bytes

_HOST = re.compile(
    rb"H=(?:(?P<name>[^\s(\[]\S*) )?(?:\((?P<helo>[^)]*)\) )?\[(?P<ip>[^\]]+)\](?::(?P<port>\d+))?"
)
_AUTH_ID = re.compile(rb"\bA=(?P<auth>[\w-]+):(?P<user>[^\s)]+)")
_FAILED = re.compile(
    rb"^(?P<auth>[\w-]+) authenticator failed for "
    rb"(?:(?P<name>[^\s(\[]\S*) )?(?:\((?P<helo>[^)]*)\) )?"
    rb"\[(?P<ip>[^\]]+)\](?::(?P<port>\d+))?.*?: 535 .*?(?:\(set_id=(?P<user>[^)]*)\))?$"
)
_PROTOCOL_ERROR = re.compile(rb'^SMTP protocol error in "AUTH (?P<mech>[\w-]+)[^"]*" ')
_TLS = re.compile(rb" X=\S+| P=e?smtps")


def _mechanism(driver: bytes) -> str:
    """`sql_plain` -> PLAIN, `dovecot_login` -> LOGIN, `cram` -> CRAM."""
    name = driver.decode("ascii", "replace").rsplit("_", 1)[-1].upper()
    return {"CRAM": "CRAM-MD5", "MD5": "CRAM-MD5"}.get(name, name)


def _helo(m: re.Match[bytes]) -> str:
    name = m.group("helo") or m.group("name") or b""
    return name.decode("utf-8", "replace")


def parse_exim(when: datetime, text: bytes) -> LoginEvent | None:
    """The login this line tells of, if any. `text` is the line after its time."""
    if b"authenticator failed" in text:
        m = _FAILED.search(text)
        if m is None:
            return None
        return LoginEvent(
            time=when,
            source="exim",
            protocol="smtp",
            ok=False,
            user=(m.group("user") or b"").decode("utf-8", "replace"),
            ip=m.group("ip").decode("ascii", "replace"),
            tls=None,
            mechanism=_mechanism(m.group("auth")),
            client=_helo(m),
            reason="wrong_password_or_user",
        )
    if text.startswith(b'SMTP protocol error in "AUTH'):
        text = mask_credentials_bytes(text)
        m = _PROTOCOL_ERROR.match(text)
        host = _HOST.search(text)
        if m is None or host is None:
            return None
        return LoginEvent(
            time=when,
            source="exim",
            protocol="smtp",
            ok=False,
            user="",
            ip=host.group("ip").decode("ascii", "replace"),
            tls=None,
            mechanism=m.group("mech").decode("ascii", "replace").upper(),
            client=_helo(host),
            reason="mechanism_not_offered",
        )
    if b" A=" in text and (b" <= " in text or b"rejected" in text):
        auth = _AUTH_ID.search(text)
        host = _HOST.search(text)
        if auth is None or host is None:
            return None
        return LoginEvent(
            time=when,
            source="exim",
            protocol="smtp",
            ok=True,
            user=auth.group("user").decode("utf-8", "replace"),
            ip=host.group("ip").decode("ascii", "replace"),
            # an arrival names its TLS cipher (X=) when there was one; a rejection may not
            tls=True if _TLS.search(text) else (False if b" <= " in text else None),
            mechanism=_mechanism(auth.group("auth")),
            client=_helo(host),
        )
    return None
