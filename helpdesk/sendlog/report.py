"""What the offender analysis found: per-user totals, password-guessing addresses, and the
report that ranks them (helpdesk/sendlog/offenders.py fills them in one pass over the logs)."""

from __future__ import annotations

from array import array
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from helpdesk.i18n import Text
from helpdesk.logs.timestamps import json_time
from helpdesk.sendlog.parser import seconds_to_datetime


class Buckets:
    """Messages per 5-minute bucket, as a run of counts from the first bucket seen: 4 bytes a
    bucket instead of a dict entry (a 3 GB log has about a million user-buckets in 24 hours).
    Reads like the dict it replaces: get(bucket, 0), items(), len()."""

    __slots__ = ("base", "counts")

    def __init__(self) -> None:
        self.base: int | None = None
        self.counts = array("I")

    def add(self, bucket: int, n: int = 1) -> None:
        if self.base is None:
            self.base = bucket
        i = bucket - self.base
        if i < 0:  # a line out of time order
            self.counts[0:0] = array("I", bytes(4 * -i))
            self.base, i = bucket, 0
        elif i >= len(self.counts):
            self.counts.extend(array("I", bytes(4 * (i + 1 - len(self.counts)))))
        self.counts[i] += n

    def get(self, bucket: int, default: int = 0) -> int:
        if self.base is None:
            return default
        i = bucket - self.base
        if 0 <= i < len(self.counts) and self.counts[i]:
            return self.counts[i]
        return default

    def items(self) -> Iterator[tuple[int, int]]:
        base = self.base or 0
        return ((base + i, n) for i, n in enumerate(self.counts) if n)

    def merge(self, other: Buckets) -> None:
        for bucket, n in other.items():
            self.add(bucket, n)

    def __len__(self) -> int:
        return sum(1 for n in self.counts if n)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Buckets | dict):
            return dict(self.items()) == dict(other.items())
        return NotImplemented


@dataclass
class UserStats:
    user: str
    accepted: int = 0
    rejected: int = 0  # refused after DATA (spam)
    rejected_rcpt: int = 0  # refused at MAIL/RCPT (e.g. relay denied)
    # refused by a sending limit (the predata ACL's `helpdesk limit:` line, docs/limits.md)
    limit_refused: int = 0
    # tries to send while sending is suspended (`Sending is suspended … (A=auth:user)`)
    suspended_tries: int = 0
    recipients: int = 0
    # bytes keys, decoded only for output: the hot loop never decodes a domain or address
    domains: dict = field(default_factory=dict)
    ips: dict = field(default_factory=dict)
    no_tls: int = 0
    peak_5min: int = 0
    peak_at: int = 0  # seconds (naive local) of the start of the busiest 5 minutes
    auth_failures: int = 0
    auth_failure_ips: Counter = field(default_factory=Counter)
    first: int | None = None
    last: int | None = None
    buckets: Buckets = field(default_factory=Buckets)  # 5-minute bucket -> messages
    _recent: deque = field(default_factory=deque, repr=False)
    # submissions in the first 5 minutes after `first`: a parallel read needs them to find
    # the busiest 5 minutes across the border of two parts (helpdesk/sendlog/parallel.py)
    _head: list = field(default_factory=list, repr=False)
    # labels of the mail hosts whose logs show the user sending (several hosts configured)
    hosts: set = field(default_factory=set)
    # filled by score()
    score: int = 0
    reasons: list[Text] = field(default_factory=list)  # in words, each in any language
    new_ips: list[str] = field(default_factory=list)
    external_share: float = 0.0

    @property
    def messages(self) -> int:
        return self.accepted + self.rejected

    @property
    def domain_counts(self) -> dict[str, int]:
        return {d.decode("utf-8", "replace"): n for d, n in self.domains.items()}

    @property
    def ip_counts(self) -> dict[str, int]:
        """Client addresses, most used first."""
        ranked = sorted(self.ips.items(), key=lambda kv: (-kv[1], kv[0]))
        return {ip.decode("ascii", "replace"): n for ip, n in ranked}

    def _submitted(self, secs: int) -> None:
        q = self._recent
        q.append(secs)
        while secs - q[0] >= 300:
            q.popleft()
        n = len(q)
        if n > self.peak_5min:
            self.peak_5min = n
            self.peak_at = q[0]
        self.buckets.add(secs // 300)
        if self.first is None:
            self.first = secs
        if secs - self.first < 300:
            self._head.append(secs)
        self.last = secs  # lines come in time order

    def as_dict(self) -> dict:
        total_tls = self.accepted
        return {
            "user": self.user,
            "score": self.score,
            "reasons": [r.english() for r in self.reasons],
            "reasons_message": [r.as_json() for r in self.reasons],
            "messages": self.messages,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "rejected_rcpt": self.rejected_rcpt,
            "limit_refused": self.limit_refused,
            "suspended_tries": self.suspended_tries,
            "recipients": self.recipients,
            "recipient_domains": len(self.domains),
            "external_share": round(self.external_share, 3),
            "peak_5min": self.peak_5min,
            "peak_5min_start": _iso(self.peak_at) if self.peak_5min else None,
            "client_ips": list(self.ip_counts),
            "new_client_ips": list(self.new_ips),
            "auth_failures": self.auth_failures,
            "auth_failure_ips": dict(self.auth_failure_ips.most_common()),
            "no_tls": round(self.no_tls / total_tls, 3) if total_tls else 0.0,
            "first_seen": _iso(self.first),
            "last_seen": _iso(self.last),
            "hosts": sorted(self.hosts),
        }


@dataclass
class Guesser:
    """A client address with failed logins, across accounts."""

    ip: str
    failures: int = 0
    users: set = field(default_factory=set)
    more_users: int = 0
    first: int = 0
    last: int = 0

    def as_dict(self) -> dict:
        return {
            "ip": self.ip,
            "failures": self.failures,
            "users": len(self.users) + self.more_users,
            "sample_users": sorted(self.users)[:10],
            "first": _iso(self.first),
            "last": _iso(self.last),
        }


@dataclass
class Report:
    start: datetime
    end: datetime
    baseline_start: datetime
    users: list[UserStats]
    guessers: list[Guesser]
    lines: int
    unreadable: int
    too_long: int
    files: list[str]
    broken_files: list[str]
    local_domains_source: str
    baseline_covered: bool
    damage: dict[str, Text] = field(default_factory=dict)  # damaged file -> what was lost
    # account -> (limit as logged, first and last refusal of its latest stretch, refusals)
    limit_hits: dict[str, tuple[str, int, int, int]] = field(default_factory=dict)

    def offenders_json(self) -> list[dict]:
        return [u.as_dict() for u in self.users]

    def guessing_json(self, top: int | None = None) -> list[dict]:
        return [g.as_dict() for g in self.guessers[: top or None]]

    def user(self, name: str) -> UserStats | None:
        name = name.lower()
        return next((u for u in self.users if u.user.lower() == name), None)


def _iso(secs: int | None) -> str | None:
    # The ranking's clock is this machine's local time; --json keeps UTC.
    return None if secs is None else json_time(seconds_to_datetime(secs))
