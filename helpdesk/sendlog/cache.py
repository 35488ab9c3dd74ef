"""Per-file results of the offender analysis, kept so that a second read skips the rotated
logs that did not change (docs/sendlog.md, "Cache").

A file's result depends on the window only through where its lines fall: wholly in the
window, wholly in the baseline, or wholly before it. A rotated file whose lines all fall in
one of these zones is stored under that zone; a later read with any `--since` that puts the
file in the same zone takes it from the cache, and the per-file results are folded together
with the exact merge of the parallel read (helpdesk/sendlog/parallel.py). A file the window
edge cuts is read again (never stored): the result stays exactly what a read without the
cache gives. The zone of a file comes from its first time and the next file's first time,
with a margin for lines that concurrent Exim processes write a little out of order.

Entries are keyed by device, inode, size, mtime and a hash of the first and last 4 KiB, and
kept in memory (the TUI session) and on disk under $XDG_CACHE_HOME/helpdesk (0700, files
0600: they hold addresses and client IPs). A disk entry is read with an unpickler that builds
only the analysis's own types, and used only when its stored key equals the file's.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import pickle
import re
import tempfile
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from helpdesk.logs.files import Cancelled, LogFile, ReadState, chunks, first_time
from helpdesk.sendlog import spans
from helpdesk.sendlog.offenders import Analysis, _Scan

VERSION = 1  # bump when _Scan or UserStats change: older entries are then ignored
MARGIN = timedelta(minutes=5)  # how far out of order lines of one file may be
DISK_CAP = 256 << 20  # bytes of entries on disk; the least recently used go first
MEMORY_CAP = 256 << 20  # bytes of entries kept in memory
_EDGE = 4096
_TIMES = re.compile(rb"(?m)^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)")

# what an entry may hold: the scan's own types and the builtins they are made of
_ALLOWED = {
    ("helpdesk.sendlog.offenders", "_Scan"),
    ("helpdesk.sendlog.report", "UserStats"),
    ("helpdesk.sendlog.report", "Buckets"),
    ("helpdesk.sendlog.report", "Guesser"),
    ("collections", "Counter"),
    ("collections", "deque"),
    ("array", "array"),
    ("array", "_array_reconstructor"),
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("builtins", "dict"),
    ("builtins", "list"),
    ("builtins", "object"),
    ("copyreg", "_reconstructor"),
    ("datetime", "datetime"),
}


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"{module}.{name}")
        return super().find_class(module, name)


def cache_dir() -> Path:
    """$XDG_CACHE_HOME/helpdesk, or ~/.cache/helpdesk."""
    base = os.environ.get("XDG_CACHE_HOME") or ""
    root = Path(base) if base and os.path.isabs(base) else Path.home() / ".cache"
    return root / "helpdesk"


def file_key(lf: LogFile) -> tuple | None:
    """(device, inode, size, mtime in ns, hash of the first and last 4 KiB) as read now;
    None when the file cannot be looked at."""
    probe = _probe(lf)
    return None if probe is None else probe[0]


def _probe(lf: LogFile) -> tuple[tuple, datetime | None] | None:
    """The file's key, and the time of the last line of a plain file."""
    try:
        with open(lf.path, "rb") as f:
            st = os.fstat(f.fileno())
            head = f.read(_EDGE)
            if st.st_size > _EDGE:
                f.seek(max(_EDGE, st.st_size - _EDGE))
                tail = f.read(_EDGE)
            else:
                tail = b""
    except OSError:
        return None
    digest = hashlib.sha256(head + b"\0" + tail).hexdigest()
    last = None
    if not lf.compressed:
        times = _TIMES.findall((head + tail)[-_EDGE:] if tail else head)
        with contextlib.suppress(ValueError):
            last = datetime.strptime(max(times).decode(), "%Y-%m-%d %H:%M:%S") if times else None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, digest), last


class SendlogCache:
    """Entries in memory and, unless disk is None, in that directory."""

    def __init__(self, disk: Path | None = None) -> None:
        self.disk = disk
        self.memory: dict[str, tuple[tuple, bytes]] = {}
        self.hits = 0  # files taken from the cache by the last read (for tests and the bench)
        self.read_files = 0  # files read by the last read

    def read(
        self,
        analysis: Analysis,
        files: list[LogFile],
        *,
        progress: Callable[[int, int], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
        workers: Any = None,
    ) -> bool:
        """Analysis.read calls this: see read_cached."""
        kw = {"progress": progress, "cancelled": cancelled, "workers": workers}
        return read_cached(analysis, files, self, **kw)

    def get(self, name: str, key: tuple) -> bytes | None:
        entry = self.memory.get(name)
        if entry is not None and entry[0] == key:
            return entry[1]
        if self.disk is None:
            return None
        path = self.disk / name
        try:
            with open(path, "rb") as f:
                st = os.fstat(f.fileno())
                if st.st_uid != os.getuid() or st.st_mode & 0o077:
                    return None  # not ours, or readable by others: not trusted
                stored_key, blob = _Unpickler(io.BytesIO(f.read())).load()
        except Exception:  # noqa: BLE001 - a broken or foreign entry is no entry
            return None
        if stored_key != key or not isinstance(blob, bytes):
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # recently used: kept longest
        self._remember(name, key, blob)
        return blob

    def put(self, name: str, key: tuple, blob: bytes) -> None:
        self._remember(name, key, blob)
        if self.disk is None:
            return
        try:
            self.disk.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(self.disk, 0o700)
            fd, tmp = tempfile.mkstemp(dir=self.disk, prefix=".tmp-")  # mode 0600
            try:
                with os.fdopen(fd, "wb") as f:
                    pickle.dump((key, blob), f, protocol=pickle.HIGHEST_PROTOCOL)
                os.replace(tmp, self.disk / name)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
            self._trim()
        except OSError:
            return  # a cache that cannot be written is no cache: the read stays right

    def _remember(self, name: str, key: tuple, blob: bytes) -> None:
        self.memory[name] = (key, blob)
        total = sum(len(b) for _k, b in self.memory.values())
        while total > MEMORY_CAP and len(self.memory) > 1:
            old = next(iter(self.memory))
            total -= len(self.memory.pop(old)[1])

    def _trim(self) -> None:
        """Entries over the cap go, least recently used first."""
        assert self.disk is not None
        entries = []
        for p in self.disk.iterdir():
            with contextlib.suppress(OSError):
                st = p.stat()
                entries.append((st.st_mtime, st.st_size, p))
        entries.sort()
        total = sum(size for _m, size, _p in entries)
        for _m, size, p in entries:
            if total <= DISK_CAP:
                break
            with contextlib.suppress(OSError):
                p.unlink()
                total -= size


def default_cache() -> SendlogCache:
    return SendlogCache(cache_dir() / "sendlog")


def _zone(lo: datetime, hi: datetime, start: datetime, base: datetime, now: datetime) -> str:
    if hi > now:
        return ""
    if lo >= start:
        return "window"
    if lo >= base and hi < start:
        return "baseline"
    if hi < base:
        return "earlier"
    return ""  # the window's or the baseline's edge cuts the file: read it again


def _entry_name(lf: LogFile, zone: str, infer: bool) -> str:
    what = f"{VERSION}\0{os.path.realpath(lf.path)}\0{zone}\0{int(infer)}"
    return hashlib.sha256(what.encode("utf-8", "surrogateescape")).hexdigest()[:32]


def read_cached(
    analysis: Analysis,
    files: list[LogFile],
    cache: SendlogCache,
    *,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    workers: Any = None,
) -> bool:
    """Read the files into a fresh analysis, the unchanged rotated ones from the cache, and
    keep the result of each rotated file that lies wholly in one zone. False (nothing read)
    when no file can be cached or the files must be read in one pass: the caller reads as
    usual. Cancelled, what was read so far is ranked, as without the cache: the cached files
    and what this read had reached (nothing of it is kept), and Cancelled goes on up."""

    cache.hits = cache.read_files = 0
    if len(files) < 2 or analysis.scan.lines or any(f.host is not None for f in files):
        return False
    starts = [first_time(f.path) for f in files]
    infer = analysis.scan.infer
    plan: list[tuple[str, tuple] | None] = []
    for i, lf in enumerate(files):
        # the newest file is the one Exim writes to: never kept
        probe = _probe(lf) if i + 1 < len(files) and starts[i] is not None else None
        slot = None
        if probe is not None:
            key, last = probe
            # the zone is guessed from the first time and the last line's (a compressed
            # file: the next file's first), and checked over every line before it is kept
            hi = last if last is not None else starts[i + 1]
            zone = ""
            if hi is not None:
                zone = _zone(
                    starts[i] - MARGIN,
                    hi + MARGIN,
                    analysis.start,
                    analysis.baseline_start,
                    analysis.now,
                )
            if zone:
                slot = (_entry_name(lf, zone, infer) + zone[0], key)
        plan.append(slot)
    if not any(plan):
        return False

    fresh = analysis.scan
    results: dict[int, tuple] = {}  # file -> (scan, state) of the cache or of this read
    for i, slot in enumerate(plan):
        loaded = _load(cache.get(*slot)) if slot is not None else None
        if loaded is not None and _zone_of(loaded[2], analysis) == slot[0][-1]:
            results[i] = loaded[:2]
            cache.hits += 1
    todo = [i for i in range(len(files)) if i not in results]
    cache.read_files = len(todo)
    size = sum(files[i].size for i in todo)
    found: list = []  # per file to read, in todo's order, filled as the read goes
    try:
        if workers is not None and workers.processes >= 1 and size >= workers.min_bytes:
            _read_with(workers, analysis, [files[i] for i in todo], progress, cancelled, found)
        else:
            _read_here(analysis, [files[i] for i in todo], progress, cancelled, found)
    except _Followed:
        return _give_up(analysis, fresh)
    except Cancelled:
        for i, got in zip(todo, found, strict=False):
            if got is not None:
                results[i] = got[0], got[1]
        _merge_into(analysis, files, results, fresh)
        raise
    for i, (scan, state, span) in zip(todo, found, strict=True):
        results[i] = scan, state
        slot = plan[i]
        if slot is None or state.broken or state.damage or scan.followed:
            continue
        span = spans.valid(span) if span is not None else None
        if span is not None and _zone_of(span, analysis) == slot[0][-1]:
            cache.put(*slot, _dump(scan, state, span))
    _merge_into(analysis, files, results, fresh)
    return True


def _merge_into(analysis: Analysis, files: list[LogFile], results: dict, fresh: _Scan) -> None:
    """The files' results, in file order, as the analysis's scan (a cancelled read: those
    there are)."""
    from helpdesk.sendlog.merge import merge_scans, merge_states

    merged: list = []
    for i in range(len(files)):
        if i not in results:
            continue
        scan, state = results[i]
        if not merged:
            merged = [scan, state]
        else:
            merge_scans(merged[0], scan)
            merge_states(merged[1], state)
    if merged:
        analysis.scan = _settle(merged[0], fresh)
        analysis.state = merged[1]
    analysis.state.total_bytes = sum(f.size for f in files)
    analysis.state.done_bytes = sum(files[i].size for i in results)
    analysis.files.extend(str(f.path) for f in files)


class _Followed(Exception):  # noqa: N818 - not an error: one pass must read these files
    pass


def _read_here(
    analysis: Analysis,
    files: list[LogFile],
    progress: Callable[[int, int], None] | None,
    cancelled: Callable[[], bool] | None,
    found: list,
) -> None:
    """Each file read in this process into found, its times looked at in the same pass."""
    from helpdesk.sendlog.parallel import _GUESS_NAMES_MAX

    total = sum(f.size for f in files)
    done = 0
    for lf in files:
        part = _part(analysis)
        part.scan.guess_names, part.scan.guess_room = {}, _GUESS_NAMES_MAX

        def moved(d: int, _t: int, base: int = done) -> None:
            if progress is not None:
                progress(min(base + d, total), total)

        span: list = []
        found.append((part.scan, part.state, span))  # a cancel ranks what it holds so far
        read = chunks([lf], state=part.state, progress=moved, cancelled=cancelled, numbered=False)
        for _lf, _first, data in read:
            part.scan.feed_data(data)
            spans.widen(span, data)
        if part.scan.followed:
            raise _Followed
        done += lf.size


def _read_with(
    workers: Any,
    analysis: Analysis,
    files: list[LogFile],
    progress: Callable[[int, int], None] | None,
    cancelled: Callable[[], bool] | None,
    found: list,
) -> None:
    """The files read by the workers in parts (helpdesk/sendlog/parallel.py) into found, the
    parts of each file merged into that file's result."""
    from helpdesk.sendlog.merge import merge_scans, merge_states
    from helpdesk.sendlog.parallel import plan as plan_parts

    parts, sizes = plan_parts(files, workers.parts, workers.min_bytes)
    scan = analysis.scan
    window = (_key_dt(scan.start_key), _key_dt(scan.base_key), scan.infer, scan.now)
    tasks = [(k, lf, a, b, *window, True) for k, (lf, a, b) in enumerate(parts)]
    index = {id(lf): n for n, lf in enumerate(files)}
    found[:] = [None] * len(files)

    def take(answer: tuple) -> bool:
        part_scan, state, span = answer
        if part_scan.followed:
            return False
        n = index[id(current[0])]
        current.pop(0)
        if found[n] is None:
            found[n] = [part_scan, state, span]
        else:
            merge_scans(found[n][0], part_scan)
            merge_states(found[n][1], state)
            found[n][2] = spans.join(found[n][2], span)
        return True

    current = [lf for lf, _a, _b in parts]  # the file of each answer, in order
    workers.run(tasks, sizes, progress=progress, cancelled=cancelled, take=take)
    if current or any(f is None for f in found):
        raise _Followed
    found[:] = [tuple(f) for f in found]


def _part(analysis: Analysis) -> Analysis:
    return Analysis(
        analysis.settings, now=analysis.now, since=analysis.since, local_domains=analysis.local
    )


def _key_dt(key: bytes) -> datetime:
    return datetime.strptime(key.decode(), "%Y-%m-%d %H:%M:%S")


def _give_up(analysis: Analysis, fresh: _Scan) -> bool:
    """Recipients come from delivery lines that may sit in the next file: one pass only."""
    analysis.scan = fresh
    analysis.state = ReadState()
    return False


def _settle(scan: _Scan, fresh: _Scan) -> _Scan:
    """The merged scan with this read's window, for what a follow mode feeds later."""
    scan.start_key, scan.base_key = fresh.start_key, fresh.base_key
    scan.now, scan.newest = fresh.now, fresh.newest
    scan.user_names, scan.by_auth, scan.domain_names = {}, {}, {}
    scan.pending = {}
    scan.guess_names = None
    return scan


def _zone_of(span: tuple, analysis: Analysis) -> str:
    """The first letter of the zone the lines of span lie in for this read ("" none)."""
    lo, hi = span
    if hi > analysis.scan.newest:
        return ""
    start, base = analysis.scan.start_key, analysis.scan.base_key
    if lo >= start:
        return "w"
    if lo >= base and hi < start:
        return "b"
    if hi < base:
        return "e"
    return ""


def _dump(scan: _Scan, state: ReadState, span: tuple) -> bytes:
    keep = (scan.user_names, scan.by_auth, scan.domain_names, scan.pending)
    scan.user_names, scan.by_auth, scan.domain_names, scan.pending = {}, {}, {}, {}
    try:
        what = (VERSION, scan, state.too_long, span)
        return pickle.dumps(what, protocol=pickle.HIGHEST_PROTOCOL)
    finally:
        scan.user_names, scan.by_auth, scan.domain_names, scan.pending = keep


def _load(blob: bytes | None) -> tuple[_Scan, ReadState, tuple] | None:
    """A fresh copy of an entry's scan (merging changes it), or None for a broken one."""
    if blob is None:
        return None
    try:
        version, scan, too_long, span = _Unpickler(io.BytesIO(blob)).load()
    except Exception:  # noqa: BLE001 - a broken entry is no entry
        return None
    if version != VERSION or not isinstance(scan, _Scan) or not isinstance(too_long, int):
        return None
    if not (isinstance(span, tuple) and len(span) == 2 and all(type(t) is bytes for t in span)):
        return None
    return scan, ReadState(too_long=too_long, broken=[]), span


__all__ = ["SendlogCache", "cache_dir", "default_cache", "file_key", "read_cached"]
