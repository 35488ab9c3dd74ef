"""The offender analysis on every core: the logs cut into parts, one worker process per part,
the per-user statistics merged in time order into exactly what one process would find.

Plain files are cut at line starts into byte ranges (helpdesk/logs/ranges.py); a compressed
file cannot be cut and is one part. Workers are started with the `spawn` context (forking a
process that has threads, such as the TUI, is unsafe) by a LogWorkers pool that a caller keeps
for as long as it likes (the TUI: one per session). Progress comes back through a queue;
cancelling ends the workers at once (LogWorkers.stop) and the next read starts new ones.

Exactness: every total is a sum, the busiest 5 minutes are found again across each border
from the submissions of the first 5 minutes of the later part and the last 5 minutes of the
earlier one, and failed logins before a user's first message are handed on. Two cases go back
to one process: a log without `for` on its arrival lines (recipients then come from delivery
lines, which may be in the next part) and a read too small to be worth the workers. Beyond the
caps of offenders.py (100,000 guessing addresses, 1,000 names per address) the merged counts
can differ from one process's in which names are kept, not in the failure totals.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection as mp_connection
import os
import pickle
import threading
from array import array
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any

from helpdesk.errors import HelpdeskError
from helpdesk.i18n import M
from helpdesk.logs.files import Cancelled, LogFile, ReadState, chunks
from helpdesk.logs.ranges import line_borders, range_chunks
from helpdesk.sendlog.offenders import (
    _FAILED_ONLY_MAX,
    _GUESS_USERS_MAX,
    _GUESSERS_MAX,
    _LIMITED_MAX,
    LIMIT_RUN_GAP,
    Analysis,
    _Scan,
)
from helpdesk.sendlog.report import Buckets, Guesser, UserStats
from helpdesk.sendlog.spans import widen

PARALLEL_MIN_BYTES = 32 << 20
# names kept with their failures per part for an exact merge of the guessing addresses
# (about 100 bytes each): beyond, which names an address keeps may differ from one process's
_GUESS_NAMES_MAX = 100_000  # below this, starting workers costs more than it saves
_POLL = 0.05  # seconds between looks at the progress queue and the cancel flag


def worker_count() -> int:
    """The cores this process may run on (at most 8: more rarely help a disk-bound read)."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    return max(1, min(n, 8))


def idle_readers() -> int:
    """How many processes may read at once without taking a core from other work: the idle
    cores (the cores less the load average) and the caller's own. With every core busy a
    worker only adds its start-up and the merge (measured: bench/sendlog.py)."""
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = 0.0
    cores = worker_count()
    return max(1, min(cores, int(cores - load + 1)))


def _serve(conn: Any) -> None:
    """A worker's life: parts from its pipe until None (or the reader is gone), each answered
    on the same pipe. A pipe, not a queue: no lock, so no resource-tracker process either."""
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        part = task[0]
        try:
            answer = _work(task, lambda done, part=part: conn.send(("progress", part, done)))
        except BaseException as exc:  # noqa: BLE001 - every failure goes back to the reader
            try:
                pickle.dumps(exc)
            except Exception:  # noqa: BLE001
                detail = type(exc).__name__ + ": " + str(exc)
                exc = HelpdeskError(M("a log reading process failed: {error}", error=detail))
            conn.send(("error", part, exc))
        else:
            conn.send(("done", part, answer))
            del answer


def _work(task: tuple, progress: Callable[[int], None]) -> tuple:
    """One part: (number, file, start, end or None for the whole file, window start,
    baseline start, infer local domains, now)."""
    _part, lf, start, end, window_start, baseline_start, infer, now = task[:8]
    # a ninth item asks for the part's time span too (helpdesk/sendlog/spans.py)
    span = [] if len(task) > 8 and task[8] else None
    scan = _Scan(window_start, baseline_start, infer)
    scan.failed_only = {}
    scan.now = now
    scan.guess_names, scan.guess_room = {}, _GUESS_NAMES_MAX
    state = ReadState(broken=[])
    if end is None:
        read = chunks([lf], state=state, progress=lambda d, _t: progress(d), numbered=False)
        for _lf, _first, data in read:
            scan.feed_data(data)
            if span is not None:
                widen(span, data)
    else:
        for data in range_chunks(lf, start, end, state=state, progress=progress):
            scan.feed_data(data)
            if span is not None:
                widen(span, data)
    scan.user_names = {}  # caches; not worth sending back
    scan.by_auth = {}
    scan.domain_names = {}
    scan.pending = {}
    return (scan, state) if span is None else (scan, state, span)


class LogWorkers:
    """Log-reading processes, started on first use and kept until stop() (the TUI keeps
    them for the session). Thread-safe for one read at a time."""

    def __init__(
        self,
        processes: int | None = None,
        *,
        parts: int | None = None,
        min_bytes: int = PARALLEL_MIN_BYTES,
        keep: bool = True,
        local: bool | None = None,
    ) -> None:
        # local (default: not keep, i.e. one command): the caller's process reads parts too,
        # so one process fewer is started for the same cores: its start-up, its memory and
        # the sending of its answers are saved. The TUI's reader thread only waits.
        self.local = not keep if local is None else local
        if processes is None and self.local:
            processes = idle_readers() - 1  # 0: the caller reads alone
        self.processes = max(1, worker_count() - self.local) if processes is None else processes
        # byte ranges per plain file: more than readers, so that one that finishes early
        # takes the next part (the window's end of a log costs more than its baseline)
        self.parts = parts or 4 * (self.processes + self.local)
        self.min_bytes = min_bytes  # a smaller read is done in the caller's process
        # keep=False (one command): a worker ends as soon as no part is left for it, so its
        # memory is gone while the others finish and the caller merges and ranks
        self.keep = keep
        self._ctx = multiprocessing.get_context("spawn")
        self._procs: list = []
        self._conns: list = []  # the reader's end of each worker's pipe
        self._lock = threading.Lock()

    def _ensure(self) -> None:
        with self._lock:
            if not self._procs:
                for _ in range(self.processes):
                    mine, theirs = self._ctx.Pipe()
                    proc = self._ctx.Process(target=_serve, args=(theirs,), daemon=True)
                    proc.start()
                    theirs.close()
                    self._procs.append(proc)
                    self._conns.append(mine)

    def read(
        self,
        analysis: Analysis,
        files: list[LogFile],
        *,
        progress: Callable[[int, int], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> bool:
        """Analysis.read(workers=self) calls this: see read_parallel."""
        return read_parallel(analysis, files, self, progress=progress, cancelled=cancelled)

    def pids(self) -> list[int]:
        """The worker processes alive now (none before the first read and after stop)."""
        return [p.pid for p in list(self._procs) if p.is_alive()]

    def stop(self) -> None:
        """End every worker now (cancel, quit): a part being read is not waited for."""
        with self._lock:
            procs, self._procs = self._procs, []
            conns, self._conns = self._conns, []
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.join(0.5)
            if proc.is_alive():
                proc.kill()
                proc.join(0.5)
        for conn in conns:
            conn.close()

    def run(
        self,
        tasks: list[tuple],
        sizes: list[int],
        *,
        progress: Callable[[int, int], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
        take: Callable[[Any], bool] | None = None,
    ) -> list:
        """Run the parts; answers in the order of tasks. Cancelled (or a worker that dies)
        ends all workers at once; the next read starts new ones.

        With take, each answer is handed to it as soon as all earlier ones were (and not
        kept): memory then holds the answers that came early, not all of them. take returning
        False ends the run (the workers too) and run returns []."""
        self._ensure()
        conns = list(self._conns)
        todo = list(range(len(tasks)))
        todo.reverse()  # popped from the end: in time order
        busy: dict[Any, int] = {}  # pipe -> the part its worker reads

        def hand_out(conn: Any) -> None:
            if todo:
                k = todo.pop()
                conn.send(tasks[k])
                busy[conn] = k
            elif not self.keep:
                conn.send(None)  # ends the worker: its memory is gone before the merge

        answers: dict[int, Any] = {}
        handed = 0  # answers given to take so far
        done = [0] * len(tasks)
        total = sum(sizes)

        def check() -> None:
            if cancelled is not None and cancelled():
                raise Cancelled(M("reading the log was cancelled"))

        def hand_on() -> None:
            """Answers to take in time order, as soon as all earlier ones are there."""
            nonlocal handed
            while take is not None and handed in answers:
                if not take(answers.pop(handed)):
                    raise _Enough
                handed += 1

        def poll(timeout: float) -> None:
            ready = mp_connection.wait(list(busy), timeout=timeout)
            if not ready and any(p.exitcode not in (None, 0) for p in self._procs):
                raise HelpdeskError(M("a log reading process ended unexpectedly"))
            for conn in ready:
                try:
                    kind, part, value = conn.recv()
                except (EOFError, OSError):
                    raise HelpdeskError(M("a log reading process ended unexpectedly")) from None
                if kind == "progress":
                    done[part] = value
                    if progress is not None:
                        progress(min(sum(done), total), total)
                    continue
                if kind == "error":
                    raise value
                del busy[conn]
                answers[part] = value
                del value
                done[part] = sizes[part]
                hand_out(conn)
                hand_on()

        def read_here(k: int) -> None:
            """A part read in this process; the workers are looked after between chunks."""

            def between(d: int) -> None:
                done[k] = d
                if progress is not None:
                    progress(min(sum(done), total), total)
                check()
                poll(0)

            answers[k] = _work(tasks[k], between)
            done[k] = sizes[k]
            hand_on()

        try:
            for conn in conns:
                hand_out(conn)
            while len(answers) + handed < len(tasks):
                check()
                if self.local and todo:
                    read_here(todo.pop())
                else:
                    poll(_POLL)
        except _Enough:
            self.stop()
            return []
        except BaseException:
            self.stop()
            raise
        if not self.keep:
            self.stop()
        if progress is not None:
            progress(total, total)
        return [answers[k] for k in range(handed, len(tasks))]


class _Enough(Exception):  # noqa: N818 - not an error: take() wants no more answers
    pass


def plan(
    files: list[LogFile], parts_per_file: int, min_bytes: int
) -> tuple[list[tuple[LogFile, int, int | None]], list[int]]:
    """Parts in time order: (file, start, end) with end None for a whole (compressed) file."""
    parts, sizes = [], []
    for lf in files:
        if lf.compressed or lf.size < min_bytes // 4:
            parts.append((lf, 0, None))
            sizes.append(lf.size)
            continue
        for a, b in line_borders(lf.path, lf.size, parts_per_file):
            parts.append((lf, a, b))
            sizes.append(b - a)
    return parts, sizes


def read_parallel(
    analysis: Analysis,
    files: list[LogFile],
    workers: LogWorkers,
    *,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> bool:
    """Read the files into a fresh analysis with the workers. False (nothing read) when one
    process is the better or the only exact choice: then the caller reads them itself."""
    if (
        sum(f.size for f in files) < workers.min_bytes
        or analysis.scan.lines
        or workers.processes < 1
    ):
        return False
    parts, sizes = plan(files, workers.parts, workers.min_bytes)
    if len(parts) < 2:
        return False
    scan = analysis.scan
    tasks = [
        (k, lf, a, b, _key_dt(scan.start_key), _key_dt(scan.base_key), scan.infer, scan.now)
        for k, (lf, a, b) in enumerate(parts)
    ]
    merged: list = []
    followed: list[bool] = []

    def take(answer: tuple[_Scan, ReadState]) -> bool:
        if answer[0].followed:
            followed.append(True)
            return False  # recipients from delivery lines that may sit in the next part
        if not merged:
            merged.extend(answer)
        else:
            merge_scans(merged[0], answer[0])
            merge_states(merged[1], answer[1])
        return True

    try:
        workers.run(tasks, sizes, progress=progress, cancelled=cancelled, take=take)
    except Cancelled:
        if merged and not followed:  # what was read so far, from the start: still ranked
            analysis.scan, analysis.state = merged
            analysis.files.extend(str(f.path) for f in files)
        raise
    if followed or len(merged) != 2:
        return False
    scan_done, state = merged
    scan_done.user_names = {}
    merged = scan_done
    analysis.scan = merged
    analysis.state = state
    analysis.state.total_bytes = analysis.state.done_bytes = sum(sizes)
    analysis.files.extend(str(f.path) for f in files)
    return True


def _key_dt(key: bytes) -> datetime:
    return datetime.strptime(key.decode(), "%Y-%m-%d %H:%M:%S")


def merge_states(a: ReadState, b: ReadState) -> None:
    a.too_long += b.too_long
    for path in b.broken or []:
        if path not in (a.broken or []):
            (a.broken if a.broken is not None else []).append(path)
    a.damage.update(b.damage)


def merge_scans(a: _Scan, b: _Scan) -> None:
    """Fold b (the later part) into a (the earlier one), as if one process had read both."""
    a.lines += b.lines
    a.unreadable += b.unreadable
    if a.earliest is None:
        a.earliest = b.earliest
    names = a.domain_names  # one bytes object per domain here too
    for user, sb in b.users.items():
        sa = a.users.get(user)
        if sa is None:
            sb.domains = {names.setdefault(d, d): n for d, n in sb.domains.items()}
            before = a.failed_only.pop(user, None)
            if before:  # failed logins in a, before the first message in b
                ips = Counter(before)
                ips.update(sb.auth_failure_ips)
                sb.auth_failure_ips = ips
                sb.auth_failures += sum(before.values())
            a.users[user] = sb
        else:
            merge_stats(sa, sb, names)
    for user, fails in b.failed_only.items():
        sa = a.users.get(user)
        if sa is not None:
            sa.auth_failures += sum(fails.values())
            sa.auth_failure_ips.update(fails)
        elif user in a.failed_only:
            a.failed_only[user].update(fails)
        elif len(a.failed_only) < _FAILED_ONLY_MAX:
            a.failed_only[user] = fails
    for user, ips in b.baseline_ips.items():
        a.baseline_ips.setdefault(user, set()).update(ips)
    if (
        a.guess_names is not None
        and b.guess_names is not None
        and len(a.guessers) + len(b.guessers) < _GUESSERS_MAX
    ):
        _merge_guessers_exactly(a, b)
    else:
        _merge_guessers(a.guessers, b.guessers)
        a.guess_names = None
    _merge_limit_hits(a.limit_hits, b.limit_hits)
    if a.infer:
        if len(a.first_domains) < 100_000 and len(b.first_domains) < 100_000:
            for auth, doms in b.first_domains.items():
                if auth not in a.first_domains and len(a.first_domains) < 100_000:
                    a.first_domains[auth] = doms
            a.inferred_local = {d for doms in a.first_domains.values() for d in doms}
        else:
            a.inferred_local |= b.inferred_local


def _merge_limit_hits(a: dict[str, list], b: dict[str, list]) -> None:
    """b's stretch continues a's when it began within the gap after a's last refusal."""
    for user, hb in b.items():
        ha = a.get(user)
        if ha is not None and hb[1] - ha[2] < LIMIT_RUN_GAP:
            ha[0], ha[2] = hb[0], hb[2]
            ha[3] += hb[3]
        elif ha is not None or len(a) < _LIMITED_MAX:
            a[user] = hb


def _merge_guessers_exactly(a: _Scan, b: _Scan) -> None:
    """The guessing addresses as one process counts them: the first 1,000 names an address
    tried are its names, every failure with any later name counts as one more. Each part
    kept all its names in the order first tried, with their failures, so the names of both
    parts in that order decide which are the first 1,000."""
    room = a.guess_room
    for ip, gb in b.guessers.items():
        ga = a.guessers.get(ip)
        nb = b.guess_names.get(ip, {})
        if ga is None:
            a.guessers[ip] = gb
            a.guess_names[ip] = nb
            room -= len(nb)
            continue
        ga.failures += gb.failures
        ga.last = gb.last
        na = a.guess_names.setdefault(ip, {})
        for user, n in nb.items():
            if user in na:
                na[user] += n
            else:
                na[user] = n
                room -= 1
        names = list(na)
        ga.users = set(names[:_GUESS_USERS_MAX])
        ga.more_users = sum(na[user] for user in names[_GUESS_USERS_MAX:])
    a.guess_room = room
    if room < 0:  # later merges keep names as _merge_guessers does
        a.guess_names = None


def _merge_guessers(a: dict[str, Guesser], b: dict[str, Guesser]) -> None:
    for ip, gb in b.items():
        ga = a.get(ip)
        if ga is None and len(a) >= _GUESSERS_MAX:
            ip = "(more addresses)"
            ga = a.get(ip)
        if ga is None:
            a[ip] = gb
            continue
        ga.failures += gb.failures
        ga.last = gb.last
        ga.more_users += gb.more_users
        for user in gb.users:
            if user in ga.users or len(ga.users) < _GUESS_USERS_MAX:
                ga.users.add(user)
            else:
                ga.more_users += 1


def _add(a: dict, b: dict) -> None:
    for k, n in b.items():
        a[k] = a.get(k, 0) + n


def _merge_buckets(a: Buckets, b: Buckets) -> None:
    """b's 5-minute counts added to a's. Parts come in time order, so b's run starts where
    a's ends (or shares its last bucket): the counts are appended as a whole."""
    if b.base is None:
        return
    if a.base is None or b.base < a.base:  # nothing yet, or lines out of order
        a.merge(b)
        return
    counts, more = a.counts, b.counts
    end = a.base + len(counts)
    off = b.base - a.base
    both = min(len(more), max(0, end - b.base))  # buckets of b that a has too
    for i in range(both):
        counts[off + i] += more[i]
    if both < len(more):
        gap = b.base + both - end
        if gap > 0:
            counts.extend(array("I", bytes(4 * gap)))
        counts.extend(more[both:])


def merge_stats(sa: UserStats, sb: UserStats, names: dict | None = None) -> None:
    """One user's totals of two consecutive parts (names: shared domain objects)."""
    sa.accepted += sb.accepted
    sa.rejected += sb.rejected
    sa.rejected_rcpt += sb.rejected_rcpt
    sa.limit_refused += sb.limit_refused
    sa.suspended_tries += sb.suspended_tries
    sa.recipients += sb.recipients
    sa.no_tls += sb.no_tls
    sa.auth_failures += sb.auth_failures
    sa.auth_failure_ips.update(sb.auth_failure_ips)
    doms = sa.domains
    for d, n in sb.domains.items():
        if d in doms:
            doms[d] += n
        else:
            doms[names.setdefault(d, d) if names is not None else d] = n
    _add(sa.ips, sb.ips)
    _merge_buckets(sa.buckets, sb.buckets)
    if sb.first is None:
        return
    # The busiest 5 minutes, in the order one process meets its windows: a's, then those
    # ending in b's first 5 minutes (which may reach back into a), then b's later ones.
    tail = list(sa._recent)
    peak, peak_at = sa.peak_5min, sa.peak_at
    lo = 0
    for i, secs in enumerate(sb._head):
        while lo < len(tail) and secs - tail[lo] >= 300:
            lo += 1
        n = len(tail) - lo + i + 1
        if n > peak:
            peak, peak_at = n, tail[lo] if lo < len(tail) else sb._head[0]
    if sb.peak_5min > peak:
        peak, peak_at = sb.peak_5min, sb.peak_at
    sa.peak_5min, sa.peak_at = peak, peak_at
    last = sb.last
    recent = [x for x in tail if last - x < 300]
    recent.extend(sb._recent)
    sa._recent.clear()
    sa._recent.extend(recent)
    if sa.first is None:
        sa.first, sa._head = sb.first, list(sb._head)
    else:
        sa._head.extend(x for x in sb._head if x - sa.first < 300)
    sa.last = last
