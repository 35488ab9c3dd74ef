"""What counts towards a hard line, read from the mainlog's lines, and the windows per account.

A mail program retries a refused message by itself: refusals as spam count once per distinct
message, by rspamd's content digest (which the stack's Exim logs), else by Message-ID. Limit
refusals are logged before DATA, when no Message-ID is known: each one counts.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from helpdesk.i18n import M, Text
from helpdesk.sendlog.parser import REJECT, parse_line
from helpdesk.watch.settings import WatchSettings

_DIGEST = re.compile(r"\bdigest=([0-9a-f]{32})\b")
_MESSAGE_ID = re.compile(r'\bid="?<([^>]{1,500})>')
_LIMIT = re.compile(r"helpdesk limit: (.{1,80}?) A=(\S+) action=")


@dataclass(frozen=True)
class Hit:
    kind: str  # "spam" or "limit"
    address: str
    time: datetime
    key: str  # the distinct message (spam) or the limit that was hit
    line: str


def hit_of(line: bytes) -> Hit | None:
    """The spam refusal or limit refusal on this line, or None."""
    if b"rejected" not in line:
        return None
    ev = parse_line(line)
    # "rejected after DATA" (the spam check) or "rejected DATA:" (the limits, before DATA).
    if ev is None or ev.kind != REJECT or (ev.stage or "").rstrip(":") != "DATA":
        return None
    text = ev.text
    limit = _LIMIT.search(text)
    if limit is not None:
        if " via=forward" in text:
            return None  # a forward refused: suspending the mailbox's sending would not stop it
        return Hit("limit", limit.group(2).lower(), ev.time, limit.group(1), text)
    if not ev.user or "after DATA" not in text or "digest=" not in text:
        return None
    digest = _DIGEST.search(text)
    mid = _MESSAGE_ID.search(text)
    key = digest.group(1) if digest else (f"<{mid.group(1)}>" if mid else text)
    return Hit("spam", ev.user.lower(), ev.time, key, text)


@dataclass
class _Window:
    spam: dict[str, Hit] = field(default_factory=dict)  # distinct message -> its first hit
    limits: deque[Hit] = field(default_factory=deque)


@dataclass(frozen=True)
class Crossing:
    address: str
    reason: Text
    evidence: tuple[Hit, ...]


class Tracker:
    """The hits of each account within the policy's windows, by the log's own times."""

    def __init__(self, settings: WatchSettings) -> None:
        self.settings = settings
        self._windows: dict[str, _Window] = {}

    def forget(self, address: str) -> None:
        self._windows.pop(address, None)

    def add(self, hit: Hit) -> Crossing | None:
        s = self.settings
        window = self._windows.setdefault(hit.address, _Window())
        if hit.kind == "spam":
            start = hit.time - timedelta(minutes=s.spam_minutes)
            window.spam = {k: h for k, h in window.spam.items() if h.time >= start}
            window.spam.setdefault(hit.key, hit)
            if len(window.spam) >= s.spam_messages:
                return Crossing(
                    hit.address,
                    M(
                        "{n} distinct messages refused as spam within {minutes} minutes",
                        n=len(window.spam),
                        minutes=s.spam_minutes,
                    ),
                    tuple(window.spam.values()),
                )
        else:
            start = hit.time - timedelta(minutes=s.limit_minutes)
            window.limits.append(hit)
            while window.limits and window.limits[0].time < start:
                window.limits.popleft()
            if len(window.limits) >= s.limit_hits:
                return Crossing(
                    hit.address,
                    M(
                        "{n} messages refused by the sending limits within {minutes} minutes",
                        n=len(window.limits),
                        minutes=s.limit_minutes,
                    ),
                    tuple(window.limits),
                )
        return None
