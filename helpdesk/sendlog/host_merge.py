"""The offender analysis over the logs of several mail hosts, in one time order.

Each host's lines are brought to one scale (hosts.HostClock: UTC for the order, naive local
time of this machine for the scan) and merged; one scan per host reads them in that order, so
the messages in flight are kept per host (Exim ids are unique on one host only) while every
user's totals, the baseline addresses and the password guessers are shared: a user's busiest
5 minutes counts the messages of all hosts together. The hosts are read by one process.

Only the lines the ranking needs are merged (picking.pick, as _Scan.feed_data): the lines with
` A=` or a failed login; a host whose arrivals carry no recipients (no `+received_recipients`)
has all its lines merged from then on, for its delivery lines.
"""

from __future__ import annotations

import copy
import heapq
from collections.abc import Callable, Iterator
from operator import itemgetter
from types import MethodType
from typing import Any

from helpdesk.logs.files import LogFile, ReadState, chunks
from helpdesk.logs.timestamps import key_ok, newest_key
from helpdesk.sendlog import host_cache
from helpdesk.sendlog.hosts import HostClock, by_host
from helpdesk.sendlog.picking import FAILED, pick
from helpdesk.sendlog.report import UserStats

_BATCH = 4096  # lines of one host handed to its scan at once

# The scans are offenders._Scan objects (this module does not import offenders, which hands
# labelled files to read_hosts): a host's scan is a copy of the analysis's that keeps its own
# messages in flight and counts, with stats() of its own; the analysis's scan gets a
# feed_data() of its own for the follow mode.


def host_scan(primary: Any, host: str) -> Any:
    """The scan of one host's lines. Its `users` are the users seen on this host, the same
    objects as the analysis's (`all_users`), which also holds those of the other hosts.
    What it keeps per message (`pending`) and its counts are its own; everything else
    (baseline addresses, guessers, caches) is the analysis's, shared by all hosts."""
    scan = copy.copy(primary)
    scan.pending = {}
    scan.chunk_no = 0
    scan.followed = False
    scan.lines = scan.unreadable = 0
    scan.earliest = None
    scan.host = host
    scan.all_users = primary.users
    scan.users = {}
    # a scan may keep `A=` value -> totals as a shortcut past stats(): per host too
    scan.by_auth = {}
    scan.stats = MethodType(_host_stats, scan)
    return scan


def _host_stats(self: Any, user: str) -> UserStats:
    """The user's totals, shared with the other hosts; failed logins kept aside on any host
    until the user sent from this one are added now."""
    s = self.users.get(user)
    if s is None:
        s = self.all_users.get(user)
        if s is None:
            s = self.all_users[user] = UserStats(user)
        failed = self.failed_only.pop(user, None)
        if failed:
            s.auth_failure_ips.update(failed)
            s.auth_failures += sum(failed.values())
        s.hosts.add(self.host)
        self.users[user] = s
    return s


def _merged_feed_data(self: Any, data: bytes) -> None:
    """New lines (the screen's follow mode, Analysis.feed) are those of the host of the last
    file, the one the follower watches: they go to that host's scan on its clock."""
    scan, clock = self.host_scans[self.follow], self.clocks[self.follow]
    lines, unreadable = scan.lines, scan.unreadable
    converted = []
    for line in data.split(b"\n"):
        c = clock.convert(line)
        if c is not None:
            converted.append(c[1])
            continue
        scan.lines += 1
        if b" A=" in line or FAILED in line:
            scan.unreadable += 1
    if converted:
        scan.feed_data(b"\n".join(converted))
    self.lines += scan.lines - lines
    self.unreadable += scan.unreadable - unreadable


def follow_lines(analysis: Any, data: bytes) -> list[bytes]:
    """New lines as the ranking sees them: with several hosts, on this machine's clock (the
    followed host's zone converted), so that what the screen lists next to the ranking agrees
    with it; lines without a usable time are left out."""
    scan = analysis.scan
    clocks = getattr(scan, "clocks", None)
    lines = data.split(b"\n")
    if not clocks:
        return lines
    clock = clocks[scan.follow]
    return [c[1] for c in map(clock.convert, lines) if c is not None]


def read_hosts(
    analysis: Any,  # offenders.Analysis
    files: list[LogFile],
    *,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> None:
    """Read host-labelled files (hosts.host_files) into the analysis, all hosts in one time
    order. A cancel keeps what was read so far, ranked like a finished read."""
    primary = analysis.scan
    groups = by_host(files)
    if analysis.cache is not None:
        analysis.cache.hits = analysis.cache.read_files = analysis.cache.reread_bytes = 0
    total = sum(f.size for f in files)
    done = [0] * len(groups)

    def report(k: int) -> Callable[[int, int], None]:
        def tell(d: int, _t: int) -> None:
            done[k] = d
            if progress is not None:
                progress(min(sum(done), total), total)

        return tell

    scans: list[Any] = []
    clocks: list[HostClock] = []
    states: list[ReadState] = []
    streams = []
    for k, (host, host_files) in enumerate(groups):
        scan = host_scan(primary, host or "")
        state = ReadState(broken=[])
        clock = HostClock(host_files[0].zone, analysis.now)
        scans.append(scan)
        clocks.append(clock)
        states.append(state)
        streams.append(
            _lines(k, scan, clock, host_files, state, report(k), cancelled, analysis.cache)
        )
    primary.host_scans, primary.clocks = scans, clocks
    primary.follow = len(groups) - 1 if files else 0
    primary.feed_data = MethodType(_merged_feed_data, primary)
    analysis.files.extend(str(f.path) for f in files)
    try:
        cur, batch = -1, []
        for _utc, k, line in heapq.merge(*streams, key=itemgetter(0)):
            if k != cur or len(batch) >= _BATCH:
                if batch:
                    scans[cur].feed(batch)
                cur, batch = k, []
            batch.append(line)
        if batch:
            scans[cur].feed(batch)
    finally:
        _finish(analysis, scans, states, total)


def _finish(analysis: Any, scans: list[Any], states: list[ReadState], total: int) -> None:
    primary = analysis.scan
    primary.lines += sum(s.lines for s in scans)
    primary.unreadable += sum(s.unreadable for s in scans)
    primary.followed = primary.followed or any(s.followed for s in scans)
    # The log covers the baseline only if every host's log reaches back before the window.
    starts = [s.earliest for s in scans if s.earliest is not None]
    if starts:
        primary.earliest = max(starts)
    # Failed logins on a host where the user never sent, of a user who sent on another one.
    for user in [u for u in primary.failed_only if u in primary.users]:
        failed = primary.failed_only.pop(user)
        s = primary.users[user]
        s.auth_failure_ips.update(failed)
        s.auth_failures += sum(failed.values())
    state = analysis.state
    if state.broken is None:
        state.broken = []
    for st in states:
        state.too_long += st.too_long
        state.broken.extend(st.broken or [])
        state.damage.update(st.damage)
    state.total_bytes = total
    state.done_bytes = sum(st.done_bytes for st in states)


def _lines(
    k: int,
    scan: Any,
    clock: HostClock,
    files: list[LogFile],
    state: ReadState,
    progress: Callable[[int, int], None],
    cancelled: Callable[[], bool] | None,
    cache: Any = None,
) -> Iterator[tuple[bytes, int, bytes]]:
    """(UTC key, host number, converted line) of the lines of one host the ranking needs. With
    a cache, a rotated file's lines come from it when kept (helpdesk/sendlog/host_cache.py)."""
    full = False
    base = 0
    for i, lf in enumerate(files):
        rec = None
        if cache is not None and i + 1 < len(files) and not full:
            name, key, kept = host_cache.entry(cache, lf, scan.host, lf.zone or "")
            if kept is not None and (
                scan.earliest is not None
                or host_cache.first_usable(kept, newest_key(scan.now)) is not None
            ):
                cache.hits += 1
                yield from _replay(k, scan, kept)
                base += lf.size
                progress(base, 0)
                continue
            if name:
                rec = host_cache.Recorder(cache, name, key)
        if cache is not None:
            cache.read_files += 1
        too_long = state.too_long
        broken = len(state.broken or [])

        def moved(d: int, _t: int, base: int = base) -> None:
            progress(base + d, 0)

        read = chunks([lf], state=state, progress=moved, cancelled=cancelled)
        for first, (_lf, _first, data) in enumerate(read):
            early = None
            if rec is not None and first == 0:
                early = rec.early(data, clock, newest_key(scan.now))
            out: list = []
            before = (scan.lines, scan.unreadable)
            full = _chunk(k, scan, clock, data, full, out, rec)
            if rec is not None:
                rec.chunk(early, scan.lines - before[0], scan.unreadable - before[1], out)
            yield from out
        base += lf.size
        state.done_bytes = base
        clean = state.too_long == too_long and len(state.broken or []) == broken
        if rec is not None and not full and clean:
            rec.keep()


def _chunk(
    k: int, scan: Any, clock: HostClock, data: bytes, full: bool, out: list, rec: Any
) -> bool:
    """One chunk's lines the ranking needs, converted, into out; True once every line of
    this host is needed (recipients from delivery lines)."""
    scan.chunk_no += 1
    scan.newest = newest_key(scan.now)
    pending = scan.pending
    # as _Scan.feed_data: a message open 16 MiB of this host's log later is let go
    while pending and scan.chunk_no - next(iter(pending.values()))[2] > 16:
        pending.pop(next(iter(pending)))
    if scan.earliest is None:
        for line in data[:65536].split(b"\n"):
            c = clock.convert(line)
            if c is not None and key_ok(c[1][:19], scan.newest):
                scan.earliest = c[1][:19]
                break
    nlines = data.count(b"\n") + 1
    lines = None if full else pick(data)
    if lines is None:
        full = True  # recipients come from delivery lines: this host's lines, all
        lines = data.split(b"\n")
        if rec is not None:
            rec.ok = False
    scan.lines += nlines - len(lines)  # the scan counts the lines it is given
    for line in lines:
        if rec is not None and not host_cache.fast(line):
            rec.ok = False  # its time may depend on today's date: not kept
        c = clock.convert(line)
        if c is None:
            scan.lines += 1
            if b" A=" in line or FAILED in line:
                scan.unreadable += 1  # a line the ranking needed
            continue
        out.append((c[0], k, c[1]))
    return full


def _replay(k: int, scan: Any, kept: list) -> Iterator[tuple[bytes, int, bytes]]:
    """A kept file's chunks, as _chunk gave them when the file was read."""
    for early, lines, unreadable, out in kept:
        scan.chunk_no += 1
        scan.newest = newest_key(scan.now)
        if scan.earliest is None and early:
            for key in early:
                if key_ok(key, scan.newest):
                    scan.earliest = key
                    break
        scan.lines += lines
        scan.unreadable += unreadable
        for utc, _k, line in out:
            yield utc, k, line
