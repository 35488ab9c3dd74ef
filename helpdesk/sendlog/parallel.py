"""The offender analysis on every core: the logs cut into parts, one worker process per part,
the per-user statistics merged in time order into exactly what one process would find.

Plain files are cut at line starts into byte ranges (helpdesk/logs/ranges.py); a compressed
file cannot be cut and is one part. Workers are started with the `spawn` context (forking a
process that has threads, such as the TUI, is unsafe) by a LogWorkers pool that a caller keeps
for as long as it likes (the TUI: one per session). Progress comes back through a queue;
cancelling ends the workers at once (LogWorkers.stop) and the next read starts new ones.

Exactness (helpdesk/sendlog/merge.py): every total is a sum, the busiest 5 minutes are found
again across each border from the submissions of the first 5 minutes of the later part and the
last 5 minutes of the earlier one, and failed logins before a user's first message are handed
on. Two cases go back to one process: a log without `for` on its arrival lines (recipients then
come from delivery lines, which may be in the next part) and a read too small to be worth the
workers. Beyond the caps of offenders.py (100,000 guessing addresses, 1,000 names per address)
the merged counts can differ from one process's in which names are kept, not in the failure
totals.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection as mp_connection
import os
import pickle
import threading
import time
from collections.abc import Callable
from typing import Any

from helpdesk.errors import HelpdeskError
from helpdesk.i18n import M
from helpdesk.logs.files import Cancelled, LogFile, ReadState, chunks
from helpdesk.logs.ranges import line_borders, range_chunks
from helpdesk.logs.timestamps import key_to_datetime
from helpdesk.sendlog.merge import merge_scans, merge_states
from helpdesk.sendlog.offenders import (
    Analysis,
    _Scan,
)
from helpdesk.sendlog.segments import PackedScan, Segmenter

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


def busy_cores() -> int:
    """How many other processes want a core now: the runnable count of /proc/loadavg less
    this process, the least of a few looks 2 ms apart (one that wakes for a moment is not
    counted). Not the load average: it lags by a minute, so a core that a command left a
    moment ago still counts as busy (bench/sendlog.py read its 3 GB log alone so)."""
    least = None
    try:
        for k in range(5):
            if k:
                time.sleep(0.002)
            with open("/proc/loadavg", "rb") as f:
                running = int(f.read().split()[3].split(b"/")[0])
            least = running if least is None else min(least, running)
    except (OSError, ValueError, IndexError):
        try:
            return round(os.getloadavg()[0])
        except OSError:
            return 0
    return max(0, (least or 1) - 1)


def idle_readers() -> int:
    """How many processes may read at once without taking a core from other work: the idle
    cores, the caller's own among them. With every core busy a worker only adds its start-up
    and the merge (measured: bench/sendlog.py)."""
    cores = worker_count()
    return max(1, min(cores, cores - busy_cores()))


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
            # pickled here, so that the reader holds an answer that came early in that form
            # (a tenth of its objects' memory) until its turn to be merged
            blob = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
            del answer
            conn.send(("done", part, blob))
            del blob


def _work(
    task: tuple,
    progress: Callable[[int], None],
    cancelled: Callable[[], bool] | None = None,
    emit: Callable[[tuple], None] | None = None,
) -> tuple:
    """One part: (number, file, start, end or None for the whole file, window start,
    baseline start, infer local domains, now). A ninth item "segments" reads it in 5-minute
    segments (helpdesk/sendlog/segments.py) and answers (segments, state); with emit, each
    segment goes there as soon as it is read (the segments answered are then none)."""
    _part, lf, start, end, window_start, baseline_start, infer, now = task[:8]
    segmented = len(task) > 8 and task[8] == "segments"

    def make_scan() -> _Scan:
        scan = _Scan(window_start, baseline_start, infer)
        scan.failed_only = {}
        scan.now = now
        scan.guess_names, scan.guess_room = {}, _GUESS_NAMES_MAX
        return scan

    scan = make_scan()
    state = ReadState(broken=[])
    packed: list[tuple] = []

    def pack(seg: tuple) -> None:
        _drop_caches(seg[2])
        packed.append((seg[0], seg[1], PackedScan(seg[2]), *seg[3:]))

    cut = Segmenter(make_scan, start, emit or pack) if segmented else None
    feed = cut.feed if cut is not None else scan.feed_data
    if end is None:
        read = chunks(
            [lf],
            state=state,
            progress=lambda d, _t: progress(d),
            cancelled=cancelled,
            numbered=False,
        )
        for _lf, _first, data in read:
            feed(data)
    else:
        kw = {"state": state, "progress": progress, "cancelled": cancelled}
        for data in range_chunks(lf, start, end, **kw):
            feed(data)
    if cut is None:
        _drop_caches(scan)
        return scan, state
    cut.finish(end if end is not None else lf.size if not lf.compressed else cut.pos, 0)
    return packed, state


def _drop_caches(scan: _Scan) -> None:
    """What speeds up a read but is not worth sending back."""
    scan.user_names = {}
    scan.by_auth = {}
    scan.domain_names = {}
    scan.pending = {}


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
        self.ahead_seen = 0

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
        emit_for: Callable[[int], Callable[[tuple], None]] | None = None,
    ) -> list:
        """Run the parts; answers in the order of tasks. Cancelled (or a worker that dies)
        ends all workers at once; the next read starts new ones.

        With emit_for (and take), a part that this process reads when every earlier answer
        was taken hands each of its 5-minute segments to emit_for(part) as soon as it is read
        (see _work); a first part that is a whole (compressed) file is read here so, while
        the workers start on the parts after it. A day's segments are then never held at once.

        With take, each answer is handed to it as soon as all earlier ones were (and not
        kept): memory then holds the answers that came early, not all of them. take returning
        False ends the run (the workers too) and run returns []."""
        self._ensure()
        conns = list(self._conns)
        todo = list(range(len(tasks)))
        todo.reverse()  # popped from the end: in time order
        busy: dict[Any, int] = {}  # pipe -> the part its worker reads
        idle: list[Any] = []  # workers waiting for room (see room)
        # With take, no part is started while this many are started and not yet taken: a long
        # first part (a compressed file read whole) no longer lets the others read the whole
        # log ahead and hold every answer (a rotated 300 MB set: 193 MiB in this process).
        ahead = len(conns) + self.local + 1 if take is not None else len(tasks)

        self.ahead_seen = 0  # the most parts started and not yet taken (the tests read it)

        def room() -> bool:
            started = len(tasks) - len(todo) - handed
            self.ahead_seen = max(self.ahead_seen, started)
            return started < ahead

        def hand_out(conn: Any) -> None:
            if todo and room():
                k = todo.pop()
                conn.send(tasks[k])
                busy[conn] = k
            elif todo:
                idle.append(conn)
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
                if not take(_unpacked(answers.pop(handed))):
                    raise _Enough
                handed += 1
            while idle and room():
                hand_out(idle.pop())

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

            emit = emit_for(k) if emit_for is not None and k == handed else None
            answers[k] = _work(tasks[k], between, None, emit)
            done[k] = sizes[k]
            hand_on()

        try:
            first = None
            if self.local and emit_for is not None and todo and tasks[todo[-1]][3] is None:
                first = todo.pop()
            for conn in conns:
                hand_out(conn)
            if first is not None:
                read_here(first)
            while len(answers) + handed < len(tasks):
                check()
                if self.local and todo and room():
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
        return [_unpacked(answers[k]) for k in range(handed, len(tasks))]


def _unpacked(answer: Any) -> Any:
    """An answer as a worker sent it (pickled) or as this process read it."""
    if isinstance(answer, bytes):
        return pickle.loads(answer)  # noqa: S301 - this session's own worker wrote it
    return answer


class _Enough(Exception):  # noqa: N818 - not an error: take() wants no more answers
    pass


def work_bytes(lf: LogFile) -> int:
    """About how many bytes of log a file holds: a compressed one some five times its size
    (gzip on Exim logs, measured: 5.5), so that a few compressed files go to the workers."""
    return lf.size * 5 if lf.compressed else lf.size


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
        sum(work_bytes(f) for f in files) < workers.min_bytes
        or analysis.scan.lines
        or workers.processes < 1
    ):
        return False
    parts, sizes = plan(files, workers.parts, workers.min_bytes)
    if len(parts) < 2:
        return False
    scan = analysis.scan
    window = (key_to_datetime(scan.start_key), key_to_datetime(scan.base_key))
    tasks = [(k, lf, a, b, *window, scan.infer, scan.now) for k, (lf, a, b) in enumerate(parts)]
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
