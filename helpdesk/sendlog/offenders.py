"""Who is abusing the server: per authenticated user, what they sent in a time window, and why
that looks like a taken-over account.

One pass over the logs, oldest file first. Lines before the baseline period are dropped after a
glance at their time; lines in the baseline only record which client addresses each user used;
lines in the window feed the per-user totals. Memory grows with users, their addresses and
recipient domains, and the messages still in flight, never with the log's length.

Definitions (docs/sendlog.md says the same for operators):
- messages: submissions that reached the end of DATA: accepted (`<=` with A=) plus refused
  after DATA. `accepted` and `rejected` split them.
- recipients: recipients of accepted messages (from `for`, or from delivery lines when Exim does
  not log `+received_recipients`).
- peak_5min: most messages (accepted or refused) in any 5 minutes, a sliding window.
- auth_failures: `535` failed logins whose set_id is the user, in the window.
- no_tls: share of accepted messages submitted without TLS.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from helpdesk.logs.files import LogFile, ReadState, chunks
from helpdesk.sendlog.parser import (
    datetime_to_key,
    key_ok,
    key_seconds,
    newest_key,
    parse_auth_fail,
    parse_reject,
    seconds_to_datetime,
    split_id,
    split_line,
)
from helpdesk.sendlog.picking import FAILED, SUSPENDED, arrival, pick, read_chunk
from helpdesk.sendlog.report import Guesser, Report, UserStats
from helpdesk.sendlog.score import score_user
from helpdesk.sendlog.settings import SendlogSettings

_DELIVERY_TAGS = frozenset((b"=> ", b"-> ", b"*> ", b"** ", b"== "))
_SECONDS = frozenset(b"%02d" % n for n in range(60))
_PENDING_MAX = 200_000  # messages in flight we follow at most; the oldest are dropped beyond
_GUESS_USERS_MAX = 1000  # distinct user names kept per guessing address
_GUESSERS_MAX = 100_000  # guessing addresses kept one by one
_FAILED_ONLY_MAX = 200_000  # names with failed logins (and nothing sent yet) kept
_LIMITED_MAX = 100_000  # accounts refused by a sending limit kept
# The sending-limit refusal of the predata ACL (docs/limits.md): its A= is the account as the
# database has it, in the ACL's log_message, after "rejected" (Exim logs no A= before it there).
_LIMIT_LINE = re.compile(rb"helpdesk limit: (.{1,80}?) A=(\S+) action=")
# The MAIL refusal of a suspended mailbox (picking.SUSPENDED) ends with its login, which
# Exim's own refusal line lacks; anchored at the end, where nothing the client sent can stand.
_SUSPENDED_LINE = re.compile(
    rb" rejected MAIL .*: Sending is suspended for this mailbox "
    rb"\(A=[^:()\s]{0,64}:([^()\s]{1,320})\)\s*$"
)
LIMIT_RUN_GAP = 3600  # refusals less than an hour apart are one stretch over the limit


class _Scan:
    """The single pass. Kept as one method with local variables: this is the hot loop."""

    def __init__(self, start: datetime, baseline_start: datetime, infer: bool):
        self.start_key = datetime_to_key(start)
        self.base_key = datetime_to_key(baseline_start)
        self.users: dict[str, UserStats] = {}
        self.baseline_ips: dict[str, set[bytes]] = {}
        self.user_names: dict[bytes, str] = {}  # `A=` value -> user, decoded once
        self.by_auth: dict[bytes, UserStats] = {}  # `A=` value -> its totals in the window
        # one bytes object per recipient domain, shared by every user's counts (memory)
        self.domain_names: dict[bytes, bytes] = {}
        self.guessers: dict[str, Guesser] = {}
        # the names each guessing address tried, with their failures, first tried first: only
        # in a part of a parallel read, whose merge needs them to keep the names one process
        # keeps (helpdesk/sendlog/parallel.py); None when not wanted or past guess_room
        self.guess_names: dict[str, dict[str, int]] | None = None
        self.guess_room = 0
        self.pending: dict[bytes, list] = {}
        self.chunk_no = 0
        self.infer = infer
        self.inferred_local: set[str] = set()
        # the domains each `A=` value added to inferred_local, so that a parallel read can
        # merge them exactly (helpdesk/sendlog/parallel.py)
        self.first_domains: dict[bytes, tuple[str, str]] = {}
        self.followed = False  # recipients were taken from delivery lines
        # account -> [limit as logged, first refusal of the stretch, last one, refusals]
        self.limit_hits: dict[str, list] = {}
        self.lines = 0
        self.unreadable = 0
        self.earliest: bytes | None = None
        self.now = datetime.now()
        self.newest = newest_key(self.now)  # a line dated later cannot be true: unreadable

    def stats(self, user: str) -> UserStats:
        """The user's totals, created when they first send (with any failed logins so far)."""
        s = self.users.get(user)
        if s is None:
            s = self.users[user] = UserStats(user)
            failed = self.failed_only.pop(user, None)
            if failed:
                s.auth_failure_ips = failed
                s.auth_failures = sum(failed.values())
        return s

    def feed(self, lines: list[bytes]) -> None:  # noqa: C901 - one loop on purpose, see class
        base_key, start_key = self.base_key, self.start_key
        pending = self.pending
        delivery_tags = _DELIVERY_TAGS
        last_key, last_secs = b"", 0
        good_key, newest = b"", self.newest
        self.lines += len(lines)
        for line in lines:
            # Fast form: `YYYY-MM-DD HH:MM:SS 1abcDe-000123-Ab ...` (or the 23-character id)
            eid = None
            if len(line) > 40 and line[4] == 45 and line[19] == 32 and line[10] == 32:
                key = line[:19]
                if line[26] == 45:
                    if line[33] == 45 and line[36] == 32:
                        eid, tag, pos = line[20:36], line[37:40], 37
                    elif line[38] == 45 and line[43] == 32:
                        eid, tag, pos = line[20:43], line[44:47], 44
                if eid is None:
                    pos = 20
                    c = line[20]
                    if c == 43 or c == 45:  # a zone after the time
                        key = None
            else:
                key = None
            if eid is None:
                if key is None:
                    sp = split_line(line, self.now)
                    if sp is None:
                        if b" A=" in line or FAILED in line:
                            self.unreadable += 1  # a line the ranking needed
                        continue
                    key, pos = sp
                _pid, eid, pos = split_id(line, pos)
                tag = line[pos : pos + 3]
            if key != good_key:  # lines of one second share the check
                # and lines of one minute share all of it but the seconds
                if key[:17] == good_key[:17] and key[17:19] in _SECONDS and key <= newest:
                    good_key = key
                elif not key_ok(key, newest):
                    if b" A=" in line or FAILED in line:
                        self.unreadable += 1
                    continue
                good_key = key
            if self.earliest is None:
                self.earliest = key
            if tag == b"<= ":
                a = line.find(b" A=", pos)
                if a < 0 or key < base_key:
                    continue
                arrival(self, line, pos + 3, eid, key, key >= start_key, a)
            elif tag == b"Com":
                if pending:
                    pending.pop(eid, None)
            elif tag in delivery_tags:
                if pending and eid in pending:
                    self._delivery(line, pos + 3, eid)
            elif key < start_key:
                if key >= base_key and b" A=" in line and b"rejected " in line:
                    r = parse_reject(line[pos:])
                    if r and r.get("user") and r.get("ip"):
                        ips = self.baseline_ips.setdefault(r["user"].lower(), set())
                        ips.add(r["ip"].encode())
            elif b"rejected " in line:
                if b"helpdesk limit: " in line:
                    self._limit_hit(line, key)
                    continue
                if b" A=" not in line:
                    if SUSPENDED in line:
                        self._suspended_try(line)
                    continue
                r = parse_reject(line[pos:])
                if not r or not r.get("user"):
                    continue
                if key != last_key:
                    last_key, last_secs = key, key_seconds(key)
                s = self.stats(r["user"].lower())
                if r.get("ip"):
                    ip = r["ip"].encode()
                    s.ips[ip] = s.ips.get(ip, 0) + 1
                if r["stage"] == "DATA":
                    if not r["temporary"]:
                        s.rejected += 1
                        s._submitted(last_secs)
                elif not r["temporary"]:
                    s.rejected_rcpt += 1
            elif FAILED in line:
                f = parse_auth_fail(line[pos:])
                if f is None or f["code"] != "535":
                    continue
                if key != last_key:
                    last_key, last_secs = key, key_seconds(key)
                ip = f["ip"] or "?"
                g = self.guessers.get(ip)
                if g is None:
                    if len(self.guessers) >= _GUESSERS_MAX:
                        ip = "(more addresses)"  # a botnet: the rest counted together
                        g = self.guessers.get(ip)
                    if g is None:
                        g = self.guessers[ip] = Guesser(ip, first=last_secs)
                g.failures += 1
                g.last = last_secs
                user = (f["user"] or "").lower()
                if user:
                    if user in g.users or len(g.users) < _GUESS_USERS_MAX:
                        g.users.add(user)
                    else:
                        g.more_users += 1
                    if self.guess_names is not None:
                        names = self.guess_names.setdefault(ip, {})
                        if user in names:
                            names[user] += 1
                        elif self.guess_room > 0:
                            names[user] = 1
                            self.guess_room -= 1
                        else:
                            self.guess_names = None
                    s = self.users.get(user)
                    if s is not None:
                        s.auth_failures += 1
                        s.auth_failure_ips[ip] += 1
                    else:
                        # Failed logins alone do not make a sender: kept aside, small and
                        # capped (guessing bots try endless names), until the user sends.
                        f_only = self.failed_only.get(user)
                        if f_only is None and len(self.failed_only) < _FAILED_ONLY_MAX:
                            f_only = self.failed_only[user] = Counter()
                        if f_only is not None:
                            f_only[ip] += 1

    failed_only: dict[str, Counter]

    def _limit_hit(self, line: bytes, key: bytes) -> None:
        """A refusal by a sending limit: counted for the account's score, and kept for the
        outbound picture (helpdesk/watch/picture.py)."""
        m = _LIMIT_LINE.search(line)
        if m is None:
            return
        user = m.group(2).decode("utf-8", "replace").lower()
        self.stats(user).limit_refused += 1
        limit = m.group(1).decode("utf-8", "replace")
        secs = key_seconds(key)
        hit = self.limit_hits.get(user)
        if hit is not None and secs - hit[2] < LIMIT_RUN_GAP:
            hit[0], hit[2] = limit, secs
            hit[3] += 1
        elif hit is not None or len(self.limit_hits) < _LIMITED_MAX:
            self.limit_hits[user] = [limit, secs, secs, 1]

    def _suspended_try(self, line: bytes) -> None:
        """`rejected MAIL <…>: Sending is suspended for this mailbox (A=auth:user)`: Exim names
        no login on a MAIL refusal, so the stack's ACL puts it in brackets (docs/limits.md)."""
        m = _SUSPENDED_LINE.search(line)
        if m is not None:
            self.stats(m.group(1).decode("utf-8", "replace").lower()).suspended_tries += 1

    def feed_data(self, data: bytes) -> None:
        """A chunk of whole lines. Only lines holding ` A=` or a failed login matter to the
        analysis unless messages are being followed to their deliveries (no `for` in the
        arrival lines), so those are found with bytes.find and the rest is never looked at.
        "Unreadable" counts only such lines that have no usable time: a line the byte test
        skipped was never needed, so it cannot be unreadable."""
        self.newest = newest_key(self.now)
        if self.earliest is None:
            for line in data[:65536].split(b"\n"):
                sp = split_line(line, self.now)
                if sp is not None and key_ok(sp[0], self.newest):
                    self.earliest = sp[0]
                    break
        self.chunk_no += 1
        pending = self.pending
        # A message still open 16 MiB of log later (frozen, or its Completed line is in a file
        # not read) is let go: its recipients were counted when its delivery lines came.
        while pending and self.chunk_no - next(iter(pending.values()))[2] > 16:
            pending.pop(next(iter(pending)))
        if not self.pending and self.earliest is not None:
            read_chunk(self, data)
            return
        picked = None if self.pending else pick(data)
        if picked is None:  # messages followed to their deliveries: every line is read
            self.feed(data.split(b"\n"))
            return
        self.feed(picked)
        self.lines += data.count(b"\n") + 1 - len(picked)

    def _follow(self, eid: bytes, s: UserStats, seen: set | None) -> None:
        pending = self.pending
        self.followed = True
        if len(pending) >= _PENDING_MAX:
            pending.pop(next(iter(pending)))
        pending[eid] = [s, seen, self.chunk_no]

    def _delivery(self, line: bytes, r: int, eid: bytes) -> None:
        s, seen, _ = self.pending[eid]
        sp = line.find(b" ", r)
        addr = line[r:sp] if sp > 0 else line[r:]
        if addr.endswith(b":"):
            addr = addr[:-1]
        if sp > 0 and line[sp + 1 : sp + 2] == b"<" and b"@" not in addr:
            end = line.find(b">", sp)
            addr = line[sp + 2 : end]
        dom = addr[addr.rfind(b"@") + 1 :].lower()
        if addr.lower() not in seen:
            seen.add(addr.lower())
            s.recipients += 1
            s.domains[dom] = s.domains.get(dom, 0) + 1


class Analysis:
    """One offender analysis: read the files, then, for a follow mode, feed the lines Exim
    writes afterwards; `report()` ranks at any point. Not thread-safe: one reader at a time."""

    def __init__(
        self,
        settings: SendlogSettings,
        *,
        now: datetime | None = None,
        since: timedelta | None = None,
        local_domains: Iterable[str] | None = None,
    ) -> None:
        self.settings = settings
        self.now = now or datetime.now().replace(microsecond=0)
        self.since = since or settings.since
        self.start = self.now - self.since
        self.baseline_start = self.start - settings.baseline
        if settings.local_domains:
            self.local, self.source = {d.lower() for d in settings.local_domains}, "config"
        elif local_domains is not None:
            self.local, self.source = {d.lower() for d in local_domains}, "database"
        else:
            self.local, self.source = None, "log"
        self.scan = _Scan(self.start, self.baseline_start, self.local is None)
        self.scan.failed_only = {}
        self.scan.now = self.now
        self.state = ReadState()
        self.files: list[str] = []
        # per-file results of unchanged rotated logs (helpdesk/sendlog/cache.py); None: none
        self.cache: Any = None

    def read(
        self,
        files: list[LogFile],
        *,
        progress: Callable[[int, int], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
        workers: Any = None,  # a helpdesk.sendlog.parallel.LogWorkers
    ) -> None:
        """Read the files (oldest first). With workers, a large read is spread over them
        (helpdesk/sendlog/parallel.py) with the same result. Files labelled with their mail
        host are read in one time order over all hosts (helpdesk/sendlog/host_merge.py)."""
        if any(f.host is not None for f in files):
            from helpdesk.sendlog.host_merge import read_hosts

            read_hosts(self, files, progress=progress, cancelled=cancelled)
            return
        if self.cache is not None and self.cache.read(
            self, files, progress=progress, cancelled=cancelled, workers=workers
        ):
            return
        if workers is not None and workers.read(
            self, files, progress=progress, cancelled=cancelled
        ):
            return
        self.files.extend(str(f.path) for f in files)
        for _lf, _first, data in chunks(
            files, state=self.state, progress=progress, cancelled=cancelled, numbered=False
        ):
            self.scan.feed_data(data)

    def feed(self, data: bytes) -> None:
        """Whole lines joined by newlines, e.g. what logfiles.Follower.poll() returns."""
        if data:
            self.scan.feed_data(data.rstrip(b"\n"))

    def report(self) -> Report:
        scan = self.scan
        local = scan.inferred_local if self.local is None else self.local
        covered = scan.earliest is not None and scan.earliest < scan.start_key
        users = list(scan.users.values())
        for s in users:
            score_user(s, self.settings, local, scan.baseline_ips.get(s.user), covered, self.since)
        users.sort(key=lambda s: (-s.score, -s.messages, s.user))
        return Report(
            start=self.start,
            end=self.now,
            baseline_start=self.baseline_start,
            users=users,
            guessers=sorted(scan.guessers.values(), key=lambda g: (-g.failures, g.ip)),
            lines=scan.lines,
            unreadable=scan.unreadable,
            too_long=self.state.too_long,
            files=list(self.files),
            broken_files=list(self.state.broken or []),
            local_domains_source=self.source,
            baseline_covered=covered,
            damage=dict(self.state.damage),
            limit_hits={user: tuple(hit) for user, hit in scan.limit_hits.items()},
        )


def analyze(
    files: list[LogFile],
    settings: SendlogSettings,
    *,
    now: datetime | None = None,
    since: timedelta | None = None,
    local_domains: Iterable[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    workers: Any = None,  # a helpdesk.sendlog.parallel.LogWorkers
) -> Report:
    """Read the files once and rank every authenticated sender in the window, worst first.

    local_domains: the hoster's own domains (from the database); None takes the domains of
    the accounts that log in to send (docs/sendlog.md, "Local domains").
    """
    analysis = Analysis(settings, now=now, since=since, local_domains=local_domains)
    analysis.read(files, progress=progress, cancelled=cancelled, workers=workers)
    return analysis.report()


def activity_series(s: UserStats, start: datetime, end: datetime) -> list[tuple[datetime, int]]:
    """Messages per 5 minutes from start to end (zeros included), for a sparkline."""
    first = key_seconds(datetime_to_key(start)) // 300
    last = key_seconds(datetime_to_key(end)) // 300
    if last - first > 100_000:
        first = last - 100_000
    return [(seconds_to_datetime(b * 300), s.buckets.get(b, 0)) for b in range(first, last + 1)]


__all__ = [
    "Report",
    "UserStats",
    "Guesser",
    "analyze",
    "Analysis",
    "score_user",
    "activity_series",
]
