"""One login attempt as the logs tell it, and the reasons a login fails, in words."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from helpdesk.i18n import M, Text
from helpdesk.logs.timestamps import json_time

# reason code -> words (the codes are what --json keeps)
REASONS: dict[str, Text] = {
    "wrong_password": M("wrong password"),
    "unknown_user": M("unknown user"),
    "wrong_password_or_user": M("wrong password or unknown user"),
    "login_disabled": M("login disabled"),
    "plaintext_refused": M("plaintext login without TLS refused"),
    "mechanism_not_offered": M("mechanism not offered"),
    "too_many_connections": M("too many connections"),
    "banned": M("banned"),
    "temporary_failure": M("temporary failure on the server (not the customer's settings)"),
    "failed": M("login failed"),
}

PROTOCOLS = ("imap", "pop3", "smtp", "submission", "managesieve")


@dataclass(slots=True)
class LoginEvent:
    """A login or a failed attempt. `tls` is None where the log cannot say (an Exim 535)."""

    time: datetime  # naive local time, as the logs write it
    source: str  # "dovecot" | "exim"
    protocol: str  # imap, pop3, smtp, ...
    ok: bool
    user: str  # as the client typed it; "" when the log has none
    ip: str
    tls: bool | None = None
    mechanism: str = ""  # PLAIN, LOGIN, CRAM-MD5, ...
    client: str = ""  # client program (IMAP ID) or SMTP HELO name
    reason: str = ""  # a key of REASONS for failures
    attempts: int = 1
    last: datetime | None = None  # the last of several alike events merged into this one
    # set by the timeline: how the event belongs to the mailbox
    match: str = "user"  # user | attributed | near_miss
    banned: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def reason_text(self) -> Text | None:
        return REASONS.get(self.reason) if self.reason else None

    @property
    def group_key(self) -> tuple[str, str, str]:
        return (self.client, self.protocol, self.mechanism)

    def as_json(self) -> dict[str, Any]:
        text = self.reason_text
        return {
            "time": json_time(self.time),
            "source": self.source,
            "protocol": self.protocol,
            "ok": self.ok,
            "user": self.user,
            "ip": self.ip,
            "tls": self.tls,
            "mechanism": self.mechanism,
            "client": self.client,
            "reason": self.reason or None,
            "reason_text": text.english() if text else None,
            "reason_text_message": text.as_json() if text else None,
            "attempts": self.attempts,
            "last": json_time(self.last),
            "match": self.match,
            "banned": self.banned,
        }
