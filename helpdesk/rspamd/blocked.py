"""Blocked outbound mail: what rspamd refused from authenticated senders.

Two sources, merged: rspamd's history (score, symbols, Message-ID; the user possibly cut at
31 bytes) and Exim's mainlog `rejected after DATA` lines with `A=` (the full login, the
customer's text, but no Message-ID). A log line and a scan of the same user within a few
seconds are one event; repeated attempts to send the same message are one entry. Exim's
lines are read in helpdesk/rspamd/exim_rejects.py.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from helpdesk.i18n import M, Text
from helpdesk.rspamd.client import HistoryRow, Symbol, user_matches
from helpdesk.rspamd.exim_rejects import EximReject, read_exim_rejects
from helpdesk.rspamd.symbols import explanations

# Exim and rspamd log the same event within a second or two; clocks are the same host's.
MATCH_WINDOW = timedelta(seconds=10)

# --------------------------------------------------------------------------- merged view


@dataclass(frozen=True)
class BlockedMessage:
    time: datetime  # the newest attempt
    user: str  # the full address where a source had it
    user_truncated: bool
    message_id: str
    action: str
    score: float | None
    required_score: float | None
    symbols: tuple[Symbol, ...] = ()
    ip: str = ""
    subject: str = ""
    sender: str = ""
    recipients: tuple[str, ...] = ()
    controller: str = ""
    exim_text: str = ""
    exim_id: str = ""
    sources: tuple[str, ...] = ()
    attempts: int = 1
    release_state: str = ""  # "", or the label of a release for this user and content
    release_id: int | None = None
    reasons: tuple[str, ...] = field(default=())
    digest: str = ""  # rspamd's content digest, from Exim's reject line
    release_used_up: bool = False

    @property
    def releasable(self) -> bool:
        # The release is bound to the full login and the content digest: both come from
        # Exim's line (rspamd's built-in history cuts the user and has no digest).
        return bool(self.digest) and bool(self.user) and not self.user_truncated

    @property
    def key(self) -> tuple[str, str]:
        return (self.user.casefold(), self.digest or self.message_id.casefold())

    def as_json(self) -> dict[str, Any]:
        return {
            "time": self.time.isoformat() + "Z",
            "user": self.user,
            "user_truncated": self.user_truncated,
            "message_id": self.message_id or None,
            "action": self.action,
            "score": self.score,
            "required_score": self.required_score,
            "symbols": [{"name": s.name, "score": s.score} for s in self.symbols],
            "reasons": list(self.reasons),
            "ip": self.ip or None,
            "subject": self.subject or None,
            "sender": self.sender or None,
            "recipients": list(self.recipients),
            "controller": self.controller or None,
            "exim_text": self.exim_text or None,
            "exim_id": self.exim_id or None,
            "sources": list(self.sources),
            "attempts": self.attempts,
            "release": self.release_state or None,
            "release_id": self.release_id,
            "digest": self.digest or None,
            "release_used_up": self.release_used_up,
        }


def _from_history(row: HistoryRow) -> BlockedMessage:
    return BlockedMessage(
        time=row.time,
        user=row.user,
        user_truncated=row.user_truncated,
        message_id=row.message_id,
        action=row.action,
        score=row.score,
        required_score=row.required_score,
        symbols=row.symbols,
        ip=row.ip,
        subject=row.subject,
        sender=row.sender,
        recipients=row.recipients,
        controller=row.controller,
        sources=("rspamd",),
        reasons=tuple(explanations(row.symbols)),
        digest=row.digest,
    )


def _from_exim(entry: EximReject) -> BlockedMessage:
    return BlockedMessage(
        time=entry.time,
        user=entry.user,
        user_truncated=False,
        message_id=entry.message_id,
        action="soft reject" if entry.temporary else "reject",
        score=None,
        required_score=None,
        ip=entry.ip,
        sender=entry.sender,
        subject=entry.subject,
        exim_text=entry.text,
        exim_id=entry.exim_id,
        sources=("exim",),
        digest=entry.digest,
        release_used_up=entry.release_used_up,
    )


def merge_blocked(
    rows: Iterable[HistoryRow],
    exim: Iterable[EximReject] = (),
    *,
    user: str | None = None,
    since: datetime | None = None,
) -> list[BlockedMessage]:
    """Authenticated rejects from rspamd, joined with Exim's lines; newest first."""
    scans = [
        _from_history(r)
        for r in _one_per_scan(rows)
        if r.authenticated
        and r.rejected
        and (since is None or r.time >= since)
        and (not user or r.user_matches(user))
    ]
    scans.sort(key=lambda b: b.time)
    # Per reported user, the scans' positions and times in time order: a log line is then
    # matched by a bisect over its own user's scans, not by a pass over all of them.
    by_user: dict[str, tuple[list[int], list[datetime]]] = {}
    for i, scan in enumerate(scans):
        positions, times = by_user.setdefault(scan.user, ([], []))
        positions.append(i)
        times.append(scan.time)
    users_for: dict[str, list[str]] = {}
    used = [False] * len(scans)
    merged: list[BlockedMessage] = []
    for entry in sorted(exim, key=lambda e: e.time):
        if since is not None and entry.time < since:
            continue
        if user and entry.user.casefold() != user.strip().casefold():
            continue
        if entry.user not in users_for:
            users_for[entry.user] = [u for u in by_user if user_matches(u, entry.user)]
        best = None
        candidates = []
        for reported in users_for[entry.user]:
            positions, times = by_user[reported]
            first = bisect_left(times, entry.time - MATCH_WINDOW)
            last = bisect_right(times, entry.time + MATCH_WINDOW)
            candidates.extend(positions[first:last])
        for i in candidates:
            scan = scans[i]
            if used[i]:
                continue
            if entry.message_id and scan.message_id.casefold() != entry.message_id.casefold():
                continue
            gap = abs(scan.time - entry.time)
            if gap <= MATCH_WINDOW and (best is None or gap < abs(scans[best].time - entry.time)):
                best = i
        if best is None:
            merged.append(_from_exim(entry))
            continue
        used[best] = True
        scan = scans[best]
        scans[best] = replace(
            scan,
            user=entry.user,  # Exim has the whole login, rspamd may have cut it
            user_truncated=False,
            sender=scan.sender or entry.sender,
            ip=scan.ip or entry.ip,
            subject=scan.subject or entry.subject,
            exim_text=entry.text,
            exim_id=entry.exim_id,
            sources=("rspamd", "exim"),
            digest=entry.digest or scan.digest,
            release_used_up=entry.release_used_up,
        )
    merged.extend(scans)
    return _collapse(merged)


def _one_per_scan(rows: Iterable[HistoryRow]) -> list[HistoryRow]:
    """Controllers of one rspamd share its history: the same scan, to the microsecond, seen
    through two of them is one scan (not a second attempt)."""
    seen: set[tuple] = set()
    unique = []
    for r in rows:
        key = (r.time, r.message_id, r.user, r.action, r.score, r.ip)
        if key not in seen:
            seen.add(key)
            unique.append(r)
    return unique


def _collapse(items: list[BlockedMessage]) -> list[BlockedMessage]:
    """One entry per user and Message-ID: the customer pressing "send" again is one case. (A
    mail program that builds the message again sends a new Message-ID with the same content:
    that is a new entry with the same digest, and one release covers both.)

    An attempt whose user rspamd cut at 31 bytes joins the entry with the full address.
    """
    groups: dict[str, list[BlockedMessage]] = {}
    loose: dict[tuple[str, str, str], BlockedMessage] = {}
    # Entries with a full address first, so that cut ones find them.
    for item in sorted(items, key=lambda i: i.user_truncated):
        key = item.message_id.casefold() or item.digest
        if not key:
            # Exim lines whose scan rspamd no longer remembers and that name neither Message-ID
            # nor digest cannot be told apart nor released: one entry per user and refusal
            # text, with a count.
            loose_key = (item.user.casefold(), item.exim_text, item.action)
            loose[loose_key] = _combine(loose[loose_key], item) if loose_key in loose else item
            continue
        bucket = groups.setdefault(key, [])
        for index, seen in enumerate(bucket):
            if seen.user.casefold() == item.user.casefold() or user_matches(item.user, seen.user):
                bucket[index] = _combine(seen, item)
                break
        else:
            bucket.append(item)
    out = [item for bucket in groups.values() for item in bucket] + list(loose.values())
    out.sort(key=lambda b: b.time, reverse=True)
    return out


def _combine(seen: BlockedMessage, item: BlockedMessage) -> BlockedMessage:
    newer, older = (item, seen) if item.time >= seen.time else (seen, item)
    full = seen if not seen.user_truncated else item
    return replace(
        newer,
        user=full.user,
        user_truncated=full.user_truncated,
        attempts=seen.attempts + item.attempts,
        exim_text=newer.exim_text or older.exim_text,
        exim_id=newer.exim_id or older.exim_id,
        subject=newer.subject or older.subject,
        message_id=newer.message_id or older.message_id,
        digest=newer.digest or older.digest,
        release_used_up=newer.release_used_up,
        sources=tuple(sorted(set(newer.sources) | set(older.sources))),
    )


def attach_releases(items: list[BlockedMessage], releases: Iterable[Any]) -> list[BlockedMessage]:
    """Mark entries that have a release (newest release wins) with its state label: by
    account and digest; releases from before digests by account and Message-ID."""
    latest: dict[tuple[str, str], Any] = {}
    for r in releases:
        key = (r.address.casefold(), r.digest or r.message_id.casefold())
        if key not in latest or r.id > latest[key].id:
            latest[key] = r
    out = []
    for item in items:
        release = latest.get(item.key)
        if release is None and item.message_id:
            release = latest.get((item.user.casefold(), item.message_id.casefold()))
            release = release if release is not None and not release.digest else None
        if release is None and item.user_truncated:
            release = next(
                (
                    r
                    for (addr, what), r in latest.items()
                    if what in (item.digest, item.message_id.casefold())
                    and user_matches(item.user, addr)
                ),
                None,
            )
        if release is not None:
            item = replace(item, release_state=release.label(), release_id=release.id)
        out.append(item)
    return out


# ------------------------------------------------------------------ one call for CLI and UI


@dataclass
class BlockedReport:
    items: list[BlockedMessage]
    # Controllers or logs that could not be read (the rest is shown): texts in any language.
    warnings: list[str | Text]


def collect_blocked(
    cluster: Any,
    db: Any | None,
    *,
    user: str | None = None,
    since: datetime | None = None,
    logs: Iterable[str | Path] = (),
    recent_only: bool = False,
) -> BlockedReport:
    """History of every controller, Exim's lines, and the releases recorded for them.

    Raises RspamdError only when no controller answered and no log was given: an empty
    list must never stand for "rspamd could not be asked".
    """
    from helpdesk.errors import HelpdeskError
    from helpdesk.rspamd.client import RspamdError

    warnings: list[str | Text] = []
    rows: list[HistoryRow] = []
    logs = list(logs)
    try:
        rows, failed = cluster.history()
        warnings.extend(failed)
    except RspamdError as exc:
        if not logs:
            raise
        warnings.append(exc.message)
    exim: list[EximReject] = []
    if logs:
        try:
            exim = read_exim_rejects(logs, since, recent_only=recent_only)
        except HelpdeskError as exc:
            warnings.append(M("Exim log not read: {error}", error=exc.message))
        except OSError as exc:
            warnings.append(M("Exim log not read: {error}", error=exc.strerror or str(exc)))
    items = merge_blocked(rows, exim, user=user, since=since)
    if db is not None:
        from helpdesk.rspamd.releases import list_releases, mark_used

        try:
            with db.begin() as conn:
                known = list_releases(conn, limit=1000)
                if mark_used(conn, known, rows):
                    known = list_releases(conn, limit=1000)
            items = attach_releases(items, known)
        except HelpdeskError as exc:
            warnings.append(M("releases not shown: {error}", error=exc.message))
    return BlockedReport(items, warnings)
