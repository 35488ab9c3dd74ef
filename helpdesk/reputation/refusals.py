"""The share of deliveries each big provider refused or deferred with a block code, from the
Exim mainlog (read with the shared log reader, helpdesk/logs).

A delivery is one recipient of one message (`exim id` + address) that Exim tried to deliver to
the provider in the window: delivered (`=>`, `->`), bounced (`**`) or deferred (`==`). It counts
as blocked when one of its attempts got a block reply; a message deferred five times counts once.
Only lines naming the server talked to (`H=`) count: a local delivery or a "retry time not
reached" note is no delivery to a provider.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from helpdesk.i18n import Text
from helpdesk.logs.files import LogFile, chunks, expand
from helpdesk.logs.timestamps import datetime_to_key, key_ok, newest_key, split_line
from helpdesk.reputation.providers import PROVIDERS, explain, provider_of
from helpdesk.sendlog.parser import parse_delivery, split_id

_TAGS = {b"=> ": "delivered", b"-> ": "delivered", b"** ": "refused", b"== ": "deferred"}
# The remote server's reply in a `**` or `==` line, after Exim's own words about the stage.
_REPLY = re.compile(
    r"(?:SMTP error from remote mail server after [^:]*?(?::<[^>]*>)?: |"
    r"host \S+ \[[^\]]*\]: |said: )([245]\d\d[ -].*)$"
)
_MAX_KEYS = (
    500_000  # deliveries remembered; beyond that new ones are counted without de-duplication
)


@dataclass
class ProviderCount:
    key: str
    name: str
    deliveries: int = 0
    delivered: int = 0
    refused: int = 0  # blocked for good (5xx)
    deferred: int = 0  # blocked for now (4xx), not delivered later in the window
    codes: Counter = field(default_factory=Counter)
    meanings: dict[str, Text] = field(default_factory=dict)
    example: str = ""  # one block reply as the provider wrote it (outside text)

    @property
    def blocked(self) -> int:
        return self.refused + self.deferred

    @property
    def share(self) -> float:
        return self.blocked / self.deliveries if self.deliveries else 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "provider": self.key,
            "name": self.name,
            "deliveries": self.deliveries,
            "delivered": self.delivered,
            "refused": self.refused,
            "deferred": self.deferred,
            "blocked_share": round(self.share, 4),
            "codes": [
                {
                    "code": code,
                    "count": n,
                    "meaning": self.meanings[code].english(),
                    "meaning_message": self.meanings[code].as_json(),
                }
                for code, n in self.codes.most_common()
            ],
            "example": self.example or None,
        }


@dataclass
class Refusals:
    start: datetime  # naive local, as the log
    end: datetime
    providers: list[ProviderCount]
    files: list[str]
    lines: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(timespec="seconds"),
            "end": self.end.isoformat(timespec="seconds"),
            "providers": [p.as_json() for p in self.providers],
            "files": self.files,
        }


def reply_of(reason: str) -> str | None:
    """The remote server's reply in a bounce or defer reason, with Exim's `\\n` kept."""
    m = _REPLY.search(reason)
    return m.group(1) if m else None


def count_refusals(
    paths: tuple[str, ...] | list[str],
    *,
    window: timedelta = timedelta(hours=1),
    now: datetime | None = None,
) -> Refusals:
    """Read the logs' last `window` (naive local times, as Exim writes them)."""
    now = now or datetime.now().replace(microsecond=0)
    start = now - window
    files = [f for f in expand(paths) if _may_hold(f, start)]
    return _count(files, start, now)


def _may_hold(lf: LogFile, start: datetime) -> bool:
    """A rotated file last written before the window cannot hold a line of it."""
    try:
        return datetime.fromtimestamp(os.stat(lf.path).st_mtime) >= start
    except OSError:
        return True


def _count(files: list[LogFile], start: datetime, end: datetime) -> Refusals:
    counts = {p.key: ProviderCount(p.key, p.name) for p in PROVIDERS}
    start_key, end_key = datetime_to_key(start), datetime_to_key(end)
    newest = newest_key(end)
    # (exim id, address) -> [provider key, outcome]; outcome: delivered / refused / deferred / ""
    seen: dict[tuple[bytes, str], list[str]] = {}
    lines = 0
    for _lf, _first, data in chunks(files):
        for line in data.split(b"\n"):
            lines += 1
            if b"> " not in line and b"** " not in line and b"== " not in line:
                continue
            found = split_line(line, end)
            if found is None:
                continue
            key, pos = found
            if key < start_key or key > end_key or not key_ok(key, newest):
                continue
            _pid, eid, pos = split_id(line, pos)
            outcome = _TAGS.get(line[pos : pos + 3])
            if outcome is None or eid is None:
                continue
            fields = parse_delivery(line[pos + 3 :])
            if not (fields.get("ip") or fields.get("host")):
                continue  # no SMTP server was talked to: a local delivery, a capture, a retry note
            address = fields.get("address") or ""
            provider = provider_of(fields.get("host"), address.rpartition("@")[2])
            if provider is None:
                continue
            c = counts[provider.key]
            ident = (eid, address.lower())
            state = seen.get(ident)
            if state is None:
                state = [provider.key, ""]
                if len(seen) < _MAX_KEYS:
                    seen[ident] = state
                c.deliveries += 1
            if outcome == "delivered":
                if state[1] == "deferred":
                    c.deferred -= 1  # delivered in the end: it was slowed, not blocked
                if state[1] not in ("refused", "delivered"):
                    state[1] = "delivered"
                    c.delivered += 1
                continue
            reply = reply_of(fields.get("reason") or "")
            block = explain(provider.key, reply) if reply else None
            if block is None:
                continue
            c.codes[block.code] += 1
            c.meanings.setdefault(block.code, block.meaning)
            if not c.example:
                c.example = reply[:300]
            if outcome == "refused" and state[1] != "refused":
                if state[1] == "deferred":
                    c.deferred -= 1
                state[1] = "refused"
                c.refused += 1
            elif outcome == "deferred" and state[1] == "":
                state[1] = "deferred"
                c.deferred += 1
    providers = sorted(
        (c for c in counts.values() if c.deliveries),
        key=lambda c: (-c.share, -c.deliveries, c.name),
    )
    return Refusals(start, end, providers, [str(f.path) for f in files], lines)
