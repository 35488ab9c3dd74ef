"""Following messages through the log: every line of one message (like exigrep), and one
user's recent messages with their recipients and what became of each.

Both read chunk by chunk and skip, at C speed, every chunk that does not mention what is
sought; only chunks that do are split into lines.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from helpdesk.errors import HelpdeskError
from helpdesk.i18n import M
from helpdesk.logs.files import LogFile, chunks
from helpdesk.logs.mask import mask_credentials_bytes
from helpdesk.logs.timestamps import json_time
from helpdesk.sendlog.hosts import HostClock, by_host, split_host_id
from helpdesk.sendlog.parser import (
    ARRIVAL,
    BOUNCE,
    COMPLETED,
    DEFER,
    DELIVERY,
    REJECT,
    Event,
    parse_line,
)

EXIM_ID = re.compile(
    r"^[0-9A-Za-z]{6}-(?:[0-9A-Za-z]{6}-[0-9A-Za-z]{2}|[0-9A-Za-z]{11}-[0-9A-Za-z]{4})$"
)
_ID_IN_LINE = re.compile(
    rb"\b([0-9A-Za-z]{6}-(?:[0-9A-Za-z]{11}-[0-9A-Za-z]{4}|[0-9A-Za-z]{6}-[0-9A-Za-z]{2}))\b"
)
TRAIL_MAX_LINES = 10_000


@dataclass(slots=True)
class TrailLine:
    file: str
    line_no: int
    time: datetime | None
    text: str
    host: str | None = None  # the mail host's label, when the config names hosts

    def as_dict(self) -> dict:
        out = {
            "file": self.file,
            "line_no": self.line_no,
            "time": json_time(self.time),
            "text": self.text,
        }
        if self.host is not None:  # the logs of several hosts: ids repeat across them
            out["host"] = self.host
        return out


def _line_id(line: bytes) -> bytes | None:
    ev = parse_line(line)
    if ev is None or ev.exim_id is None:
        return None
    return ev.exim_id.encode()


def trail(
    files: list[LogFile],
    ident: str,
    *,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> list[TrailLine]:
    """Every line of one message, by Exim id or Message-ID, across the files, in order.

    For a Message-ID, the Exim ids of the lines naming it are followed too (a message that
    passed through twice has two). Lines of such an id written before the one naming the
    Message-ID are found in the same and the previous chunk (about 1 MB back).

    Files labelled with their mail host (hosts.host_files) are searched host by host, since
    an Exim id names a message on one host only: `HOST:ID` searches that host's files, a
    bare id or Message-ID every host's, each line saying its host."""
    host, ident = split_host_id(ident, files)
    groups = by_host([lf for lf in files if host is None or lf.host == host])
    if len(groups) == 1 and groups[0][0] is None:
        return _trail(files, ident, progress, cancelled)
    total = sum(f.size for f in files)
    done = 0
    out: list[TrailLine] = []
    for name, group in groups:
        size = sum(f.size for f in group)

        def tell(d: int, _t: int, before: int = done) -> None:
            if progress is not None:
                progress(before + d, total)

        clock = HostClock(group[0].zone)
        for t in _trail(group, ident, tell, cancelled):
            t.host = name
            t.time = clock.local_time(t.text.encode("utf-8", "surrogateescape")) or t.time
            out.append(t)
        done += size
    return out


def _trail(
    files: list[LogFile],
    ident: str,
    progress: Callable[[int, int], None] | None,
    cancelled: Callable[[], bool] | None,
) -> list[TrailLine]:
    """The lines of one message in the files of one host."""
    ident = ident.strip()
    if ident.startswith("<") and ident.endswith(">"):
        ident = ident[1:-1]
    if len(ident) < 6 or " " in ident:
        raise HelpdeskError(M("not an Exim id or Message-ID: {ident!r}", ident=ident))
    needle = ident.encode("utf-8", "surrogateescape")
    by_exim_id = bool(EXIM_ID.match(ident))
    ids: set[bytes] = {needle} if by_exim_id else set()
    found: dict[tuple[int, int], TrailLine] = {}
    order = {lf.path: i for i, lf in enumerate(files)}
    prev: tuple[LogFile, int, bytes] | None = None  # the chunk before, split only if needed

    def keep(lf: LogFile, no: int, line: bytes) -> None:
        k = (order[lf.path], no)
        if k not in found:
            if len(found) >= TRAIL_MAX_LINES:
                raise HelpdeskError(
                    M(
                        "more than {limit} lines match {ident!r}: "
                        "give a whole Exim id or Message-ID",
                        limit=TRAIL_MAX_LINES,
                        ident=ident,
                    )
                )
            ev = parse_line(line)
            text = mask_credentials_bytes(line).decode("utf-8", "replace")
            found[k] = TrailLine(str(lf.path), no, ev.time if ev else None, text)

    for lf, first, data in chunks(files, progress=progress, cancelled=cancelled):
        wanted = [needle, *ids]
        if not any(w in data for w in wanted):
            prev = (lf, first, data) if not by_exim_id else None
            continue
        lines = data.split(b"\n")
        for i, line in enumerate(lines):
            if needle in line:
                keep(lf, first + i, line)
                if not by_exim_id:
                    eid = _line_id(line)
                    if eid is not None and eid not in ids:
                        ids.add(eid)
                        # earlier lines of this message: this chunk, then the previous one
                        for j in range(i):
                            if eid in lines[j]:
                                keep(lf, first + j, lines[j])
                        if prev is not None and eid in prev[2]:
                            plf, pfirst, pdata = prev
                            for j, pl in enumerate(pdata.split(b"\n")):
                                if eid in pl:
                                    keep(plf, pfirst + j, pl)
            elif ids and any(e in line for e in ids):
                keep(lf, first + i, line)
        prev = (lf, first, data) if not by_exim_id else None
    return [found[k] for k in sorted(found)]


# --- one user's messages ----------------------------------------------------------------


@dataclass
class RecipientFate:
    address: str
    fate: str = "pending"  # delivered, deferred, bounced, suppressed, pending
    detail: str | None = None
    time: datetime | None = None


@dataclass
class SentMessage:
    exim_id: str | None
    time: datetime
    user: str
    sender: str | None = None
    message_id: str | None = None
    subject: str | None = None
    ip: str | None = None
    tls: bool = False
    refused: str | None = None  # the reason, when refused after DATA
    completed: bool = False
    recipients: dict[str, RecipientFate] = field(default_factory=dict)
    host: str | None = None  # the mail host's label, when the config names hosts

    @property
    def fate(self) -> str:
        """One word for the whole message."""
        if self.refused is not None:
            return "refused"
        fates = {r.fate for r in self.recipients.values()}
        if not fates:
            return "completed" if self.completed else "pending"
        if fates == {"delivered"} or fates == {"delivered", "suppressed"}:
            return "delivered"
        if "bounced" in fates:
            return "bounced" if fates == {"bounced"} else "partly bounced"
        if "deferred" in fates:
            return "deferred"
        return "pending" if "pending" in fates else "delivered"

    def as_dict(self) -> dict:
        return {
            "exim_id": self.exim_id,
            "time": json_time(self.time),
            "user": self.user,
            "sender": self.sender,
            "message_id": self.message_id,
            "subject": self.subject,
            "ip": self.ip,
            "tls": self.tls,
            "fate": self.fate,
            "refused": self.refused,
            "host": self.host,
            "recipients": [
                {"address": r.address, "fate": r.fate, "detail": r.detail}
                for r in self.recipients.values()
            ],
        }


_FATES = {
    "=>": "delivered",
    "->": "delivered",
    "*>": "suppressed",
    "**": "bounced",
    "==": "deferred",
}


def user_messages(events: Iterable[Event], user: str, *, limit: int = 50) -> list[SentMessage]:
    """The user's last `limit` messages (accepted or refused), newest first, with the fate of
    each recipient as far as the events tell."""
    user_l = user.lower()
    msgs: OrderedDict[str, SentMessage] = OrderedDict()
    refused: list[SentMessage] = []
    keep = max(limit, 1) * 4  # deliveries come later: keep a margin of older messages open

    for ev in events:
        if ev.kind == ARRIVAL:
            if ev.user is None or ev.user.lower() != user_l or ev.exim_id is None:
                continue
            m = SentMessage(
                ev.exim_id,
                ev.time,
                ev.user,
                ev.sender,
                ev.message_id,
                ev.subject,
                ev.ip,
                ev.tls is not None,
            )
            for r in ev.recipients:
                m.recipients[r.lower()] = RecipientFate(r)
            msgs[ev.exim_id] = m
            if len(msgs) > keep:
                msgs.popitem(last=False)
        elif ev.kind in (DELIVERY, DEFER, BOUNCE):
            m = msgs.get(ev.exim_id or "")
            if m is None or not ev.address:
                continue
            fate = _FATES.get(ev.mark or "=>", "delivered")
            rf = m.recipients.setdefault(ev.address.lower(), RecipientFate(ev.address))
            if rf.fate == "delivered" and fate == "deferred":
                continue
            rf.fate, rf.detail, rf.time = fate, ev.reason, ev.time
        elif ev.kind == COMPLETED:
            m = msgs.get(ev.exim_id or "")
            if m is not None:
                m.completed = True
        elif (
            ev.kind == REJECT
            and ev.stage == "DATA"
            and not ev.temporary
            and ev.user
            and ev.user.lower() == user_l
        ):
            refused.append(
                SentMessage(
                    ev.exim_id, ev.time, ev.user, ev.sender, ip=ev.ip, refused=ev.reason or ""
                )
            )
            if len(refused) > keep:
                del refused[: len(refused) - keep]
    out = sorted([*msgs.values(), *refused], key=lambda m: m.time, reverse=True)
    return out[:limit]


def user_activity(
    events: Iterable[Event],
    user: str,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    bucket: timedelta = timedelta(minutes=5),
) -> list[tuple[datetime, int]]:
    """Messages (accepted or refused after DATA) per bucket, zeros included, for a sparkline."""
    user_l = user.lower()
    size = int(bucket.total_seconds())
    epoch = datetime(1970, 1, 1)
    counts: dict[int, int] = {}
    for ev in events:
        if ev.kind == ARRIVAL or (ev.kind == REJECT and ev.stage == "DATA" and not ev.temporary):
            if ev.user is None or ev.user.lower() != user_l:
                continue
            if (start and ev.time < start) or (end and ev.time > end):
                continue
            b = int((ev.time - epoch).total_seconds()) // size
            counts[b] = counts.get(b, 0) + 1
    if not counts and (start is None or end is None):
        return []
    lo = int(((start or epoch) - epoch).total_seconds()) // size if start else min(counts)
    hi = int(((end or epoch) - epoch).total_seconds()) // size if end else max(counts)
    lo = max(lo, hi - 100_000)
    return [(epoch + timedelta(seconds=b * size), counts.get(b, 0)) for b in range(lo, hi + 1)]


@dataclass
class UserDetail:
    user: str
    activity: list[tuple[datetime, int]]
    messages: list[SentMessage]


def user_events(
    files: list[LogFile],
    user: str,
    *,
    since: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> Iterable[Event]:
    """Events of the user's own lines and of the lines of their messages, read fast: a chunk
    that neither names the user nor holds one of their open messages is skipped whole."""
    ub = user.lower().encode("utf-8", "surrogateescape")
    open_ids: set[bytes] = set()
    for _lf, _first, data in chunks(files, progress=progress, cancelled=cancelled):
        if ub not in data.lower() and not open_ids:
            continue
        for line in data.split(b"\n"):
            hit = ub in line.lower()
            if not hit and open_ids:
                hit = (
                    any(e in line for e in open_ids)
                    if len(open_ids) < 64
                    else (
                        line[20:36] in open_ids
                        or line[20:43] in open_ids
                        or _slow_has(line, open_ids)
                    )
                )
            if not hit:
                continue
            ev = parse_line(line)
            if ev is None or (since is not None and ev.time < since):
                continue
            if ev.kind == ARRIVAL and ev.exim_id and ev.user and ev.user.lower().encode() == ub:
                open_ids.add(ev.exim_id.encode())
            elif ev.kind == COMPLETED and ev.exim_id:
                open_ids.discard(ev.exim_id.encode())
            yield ev


def _slow_has(line: bytes, ids: set[bytes]) -> bool:
    m = _ID_IN_LINE.search(line[:80])
    return m is not None and m.group(1) in ids


def user_detail(
    files: list[LogFile],
    user: str,
    *,
    start: datetime,
    end: datetime,
    limit: int = 50,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> UserDetail:
    """What the send-log screen shows for one user: activity per 5 minutes and recent messages.

    Over several hosts' files, each host is read on its own (Exim ids are per host), its
    times converted (hosts.HostClock), and the messages of all hosts put in one order."""
    groups = by_host(files)
    if len(groups) == 1 and groups[0][0] is None:
        events = list(user_events(files, user, since=start, progress=progress, cancelled=cancelled))
        return UserDetail(
            user,
            user_activity(events, user, start=start, end=end),
            user_messages(events, user, limit=limit),
        )
    everything: list[Event] = []
    messages: list[SentMessage] = []
    for name, group in groups:
        clock = HostClock(group[0].zone)
        events = []
        for ev in user_events(group, user, progress=progress, cancelled=cancelled):
            ev.time = clock.local_time(ev.text.encode("utf-8", "surrogateescape")) or ev.time
            if ev.time >= start:
                events.append(ev)
        for m in user_messages(events, user, limit=limit):
            m.host = name
            messages.append(m)
        everything.extend(events)
    messages.sort(key=lambda m: m.time, reverse=True)
    return UserDetail(user, user_activity(everything, user, start=start, end=end), messages[:limit])
