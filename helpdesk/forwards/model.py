"""What a forward and an auto-reply are, and the checks every write passes first."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from helpdesk.errors import PolicyError
from helpdesk.i18n import M, Text

MAX_TARGETS = 3
SUBJECT_MAX = 200
BODY_MAX = 4000
DAYS_RANGE = (1, 30)

# Plain addresses only: no quoted local parts, comments or display names. What Sieve, Exim and
# the customer's phone call all agree on.
_ADDRESS = re.compile(
    r"^[A-Za-z0-9._%+\-=]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9\-]{0,62}\.)+[A-Za-z]{2,63}$"
)


def _iso(when: datetime | None) -> str | None:
    return when.isoformat() + "Z" if when is not None else None


@dataclass(frozen=True)
class Forward:
    targets: tuple[str, ...]
    keep_copy: bool = True
    starts_at: datetime | None = None
    ends_at: datetime | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "targets": list(self.targets),
            "keep_copy": self.keep_copy,
            "starts_at": _iso(self.starts_at),
            "ends_at": _iso(self.ends_at),
        }


@dataclass(frozen=True)
class AutoReply:
    subject: str
    body: str
    days: int = 7
    starts_at: datetime | None = None
    ends_at: datetime | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "body": self.body,
            "days": self.days,
            "starts_at": _iso(self.starts_at),
            "ends_at": _iso(self.ends_at),
        }


def check_address(value: str) -> str:
    address = value.strip().lower()
    if not _ADDRESS.match(address) or ".." in address:
        raise PolicyError(M("not a mail address: {value!r}", value=value[:80]))
    return address


def check_window(starts_at: datetime | None, ends_at: datetime | None, now: datetime) -> None:
    if starts_at is not None and ends_at is not None and starts_at >= ends_at:
        raise PolicyError(M("the start must be before the end; nothing changed"))
    if ends_at is not None and ends_at <= now:
        raise PolicyError(M("the end is in the past; nothing changed"))


def check_forward(forward: Forward, own_address: str, now: datetime) -> Forward:
    """The forward with its addresses normalised; PolicyError naming the first problem."""
    targets = tuple(dict.fromkeys(check_address(t) for t in forward.targets))
    if not targets:
        raise PolicyError(M("a forward needs at least one target address"))
    if len(targets) > MAX_TARGETS:
        raise PolicyError(M("at most {n} forward targets", n=MAX_TARGETS))
    if own_address in targets:
        raise PolicyError(M("a mailbox cannot forward to itself"))
    check_window(forward.starts_at, forward.ends_at, now)
    return Forward(targets, forward.keep_copy, forward.starts_at, forward.ends_at)


def _check_text(value: str, *, what: Text, limit: int, one_line: bool) -> str:
    text = value.replace("\r\n", "\n").strip()
    if not text:
        raise PolicyError(M("the {what} is empty", what=what))
    if "${" in text:
        raise PolicyError(M("the {what} must not contain ${{", what=what))
    if one_line and "\n" in text:
        raise PolicyError(M("the {what} must be one line", what=what))
    if any(ord(c) < 32 and c not in "\n\t" for c in text):
        raise PolicyError(M("the {what} contains control characters", what=what))
    if len(text) > limit:
        raise PolicyError(M("the {what} is longer than {limit} characters", what=what, limit=limit))
    return text


def check_autoreply(reply: AutoReply, now: datetime) -> AutoReply:
    subject = _check_text(
        reply.subject, what=M("auto-reply subject"), limit=SUBJECT_MAX, one_line=True
    )
    body = _check_text(reply.body, what=M("auto-reply text"), limit=BODY_MAX, one_line=False)
    low, high = DAYS_RANGE
    if not isinstance(reply.days, int) or not low <= reply.days <= high:
        raise PolicyError(M("days must be a whole number from {low} to {high}", low=low, high=high))
    check_window(reply.starts_at, reply.ends_at, now)
    return AutoReply(subject, body, reply.days, reply.starts_at, reply.ends_at)
