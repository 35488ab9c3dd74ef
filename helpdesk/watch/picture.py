"""The outbound picture (issue 17, item 5): server-wide authenticated messages per hour, the
accounts over a sending limit now, and the watcher's recent actions.

The log part comes from the send-log screen's own read (helpdesk.sendlog.offenders keeps each
sender's messages per 5 minutes and each account's limit refusals), so the log is read once;
the watcher's actions are the audit rows `helpdesk watch` writes with each suspension.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.engine import Connection

from helpdesk.i18n import M, Mn, Text
from helpdesk.localtime import SHORT, time_text
from helpdesk.mailcenter.schema import audit_log
from helpdesk.plaintext import clip_middle, printable
from helpdesk.sendlog.parser import datetime_to_key, key_seconds, seconds_to_datetime
from helpdesk.sendlog.report import Report

BARS = "▁▂▃▄▅▆▇█"
HOURS = 8
BUCKET = 300  # the ranking's buckets: 5 minutes
PER_HOUR = 3600 // BUCKET
# An account refused by a limit in the last hour is over it now: Exim's rate falls by a
# factor of e per hour of silence, so an hour without a refusal means it sends again.
OVER_FOR = timedelta(hours=1)
# So that the whole line fits 80 columns in both languages.
ADDRESS_WIDTH = 14
# The reason `helpdesk watch` writes into its audit rows (helpdesk/watch/store.py).
WATCH_REASON = "helpdesk watch: "
ACTIONS = 50


@dataclass(frozen=True)
class Hour:
    start: datetime  # naive local, as the log's times
    end: datetime
    messages: int


@dataclass(frozen=True)
class OverLimit:
    address: str  # as the database has it (the ACL logs that)
    limit: str  # as Exim logged it: "10 messages per hour"
    since: datetime  # first refusal of this stretch (naive local)
    last: datetime
    refusals: int


@dataclass(frozen=True)
class LogPicture:
    hours: list[Hour]  # oldest first; the last one ends now
    over: list[OverLimit]  # latest refusal first


@dataclass(frozen=True)
class WatchAction:
    at: datetime  # naive UTC, as stored
    address: str
    ticket: str | None
    reason: str
    evidence: list[dict]


def sparkline(counts: list[int]) -> str:
    top = max(counts, default=0)
    if top == 0:
        return BARS[0] * len(counts)
    return "".join(BARS[min(len(BARS) - 1, c * (len(BARS) - 1) // top)] for c in counts)


def log_picture(report: Report, hours: int = HOURS, now: datetime | None = None) -> LogPicture:
    """The hourly counts and the accounts over a limit, from a ranking's report.

    Each hour is a sliding one ending with the 5 minutes of `now` (default: the report's end;
    a follow mode keeps feeding the report after it), counted as the ranking counts messages
    (accepted, or refused after DATA); hours before the report's window are left out rather
    than shown as empty."""
    end = max(report.end, now) if now is not None else report.end
    end_bucket = key_seconds(datetime_to_key(end)) // BUCKET + 1
    start_bucket = -(-key_seconds(datetime_to_key(report.start)) // BUCKET)
    shown = max(1, min(hours, (end_bucket - start_bucket) // PER_HOUR))
    first = end_bucket - shown * PER_HOUR
    counts = [0] * shown
    for user in report.users:
        # Slices of each sender's run of counts: a follow tick with many senders stays short.
        base, run = user.buckets.base, user.buckets.counts
        if base is None:
            continue
        for i in range(shown):
            lo = max(0, first + i * PER_HOUR - base)
            hi = first + (i + 1) * PER_HOUR - base
            if hi > 0 and lo < len(run):
                counts[i] += sum(run[lo:hi])
    table = [
        Hour(
            seconds_to_datetime((first + i * PER_HOUR) * BUCKET),
            seconds_to_datetime((first + (i + 1) * PER_HOUR) * BUCKET),
            n,
        )
        for i, n in enumerate(counts)
    ]
    recent = key_seconds(datetime_to_key(end)) - int(OVER_FOR.total_seconds())
    over = [
        OverLimit(user, limit, seconds_to_datetime(since), seconds_to_datetime(last), n)
        for user, (limit, since, last, n) in report.limit_hits.items()
        if last >= recent
    ]
    over.sort(key=lambda o: (-o.last.timestamp(), o.address))
    return LogPicture(table, over)


def watch_actions(conn: Connection, limit: int = ACTIONS) -> list[WatchAction]:
    """The watcher's latest suspensions, newest first (its audit rows)."""
    rows = conn.execute(
        select(
            audit_log.c.at,
            audit_log.c.target,
            audit_log.c.ticket,
            audit_log.c.reason,
            audit_log.c.after,
        )
        .where(audit_log.c.action == "suspend", audit_log.c.reason.like(f"{WATCH_REASON}%"))
        .order_by(audit_log.c.at.desc(), audit_log.c.id.desc())
        .limit(limit)
    ).all()
    return [
        WatchAction(
            row.at,
            row.target,
            row.ticket,
            (row.reason or "")[len(WATCH_REASON) :],
            _evidence(row.after),
        )
        for row in rows
    ]


def _evidence(after: str | None) -> list[dict]:
    try:
        found = json.loads(after or "{}").get("evidence", [])
    except (ValueError, AttributeError):
        return []
    return [e for e in found if isinstance(e, dict)] if isinstance(found, list) else []


def limit_text(limit: str) -> Text | str:
    """A limit as the ACL logs it, short: "10 messages per hour" -> "10 msgs/h"."""
    words = limit.split()
    if len(words) == 4 and words[0].isdigit() and words[2] == "per":
        n = int(words[0])
        kind = (words[1], words[3])
        if kind == ("messages", "hour"):
            return M("{n} msgs/h", n=n)
        if kind == ("recipients", "hour"):
            return M("{n} rcpts/h", n=n)
        if kind == ("recipients", "message"):
            return M("{n} rcpts/msg", n=n)
    return printable(limit)


def evidence_summary(evidence: list[dict]) -> list[Text]:
    """What the watcher acted on, counted by kind: "4 spam refusals", "2 limit refusals"."""
    kinds: dict[str, int] = {}
    for hit in evidence:
        kind = str(hit.get("kind", ""))
        kinds[kind] = kinds.get(kind, 0) + 1
    parts: list[Text] = []
    for kind, n in sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0])):
        if kind == "spam":
            parts.append(Mn("{n} spam refusal", "{n} spam refusals", n))
        elif kind == "limit":
            parts.append(Mn("{n} limit refusal", "{n} limit refusals", n))
        else:
            parts.append(M("{n} × {kind}", n=n, kind=printable(kind)))
    return parts or [M("no evidence stored")]


def outbound_text(picture: LogPicture, last: WatchAction | None, *, unknown: bool = False) -> Text:
    """The line itself: `Out/h ▁▂▃▅▅▆▇█ 412 · 2 over limit · stopped anna@… 11-30 14:02`;
    `unknown`: the watcher's actions could not be read."""
    counts = [h.messages for h in picture.hours]
    if unknown:
        action = M("watch: not readable")
    elif last is None:
        action = M("watch: no action yet")
    else:
        action = M(
            "stopped {address} {when}",
            address=clip_middle(last.address, ADDRESS_WIDTH),
            when=time_text(last.at, SHORT),
        )
    return M(
        "Out/h {spark} {count} · {over} · {action}",
        spark=sparkline(counts),
        count=counts[-1] if counts else 0,
        over=M("{n} over limit", n=len(picture.over)),
        action=action,
    )
