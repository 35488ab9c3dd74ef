"""Per-file, per-5-minute results of the offender analysis, kept so that a second read skips
the rotated logs that did not change, whatever its `--since` (docs/sendlog.md, "Cache").

A rotated file is read in 5-minute segments (helpdesk/sendlog/segments.py), each into its
own scan. A segment's scan depends on the window only through where its lines fall: wholly
in the window, wholly in the baseline, or wholly before it. Each segment is kept under the
zone its lines lay in, and a later read with any window takes it from the cache when its
lines lie in the same zone for that window. A segment a window's or baseline's edge falls
inside, or one whose zone is not kept yet, is read again alone (its byte range; a
compressed file, which cannot be entered in the middle, is read again whole). The segments
and the files are folded in log order with the exact merge of the parallel read
(helpdesk/sendlog/merge.py), so the result is exactly what a read without the cache gives.

The newest file is the one Exim writes to: it is read every time and never kept. Memory: the
scans are folded as they come, in log order; a file's entry (its segments' scans, pickled)
is held while that file is read.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import secrets
from collections.abc import Callable
from typing import Any

from helpdesk.logs.files import Cancelled, LogFile, ReadState
from helpdesk.logs.timestamps import key_to_datetime
from helpdesk.sendlog import spans
from helpdesk.sendlog.cache_store import CacheStore, cache_dir, file_key, load
from helpdesk.sendlog.merge import merge_scans, merge_states
from helpdesk.sendlog.offenders import Analysis, _Scan
from helpdesk.sendlog.parallel import work_bytes
from helpdesk.sendlog.segments import PackedScan

BLOCK = 12  # segments (an hour) kept merged as well, so that a read loads a day in 24 pieces
VERSION = 3  # bump when _Scan, UserStats or the entry change: older entries are then ignored


class _Followed(Exception):  # noqa: N818 - not an error: one pass must read these files
    pass


class _File:
    """One file of the read: its entry as found, and as it will be kept. The entry is an
    index (the segments' borders and spans, and which scans are kept) under the file's
    name, and each kept scan under a name of its own, read only when its turn comes."""

    def __init__(self, cache: SendlogCache, lf: LogFile, name: str | None, key: Any) -> None:
        self.cache, self.lf, self.name, self.key = cache, lf, name, key
        entry = _load_entry(cache.get(name, key)) if name is not None else None
        self.entry = entry  # (generation, borders, spans) or None
        self.gen = entry[0] if entry is not None else secrets.token_hex(4)
        self.have: set[str] = set(entry[3]) if entry is not None else set()
        self.new: list[tuple] | None = None  # (start, end, span) of the segments of a whole read
        self.keep = name is not None  # False once anything makes the file's result uncertain
        self.changed = False
        self.tasks = 0
        self.wanted: list[tuple] | None = None  # (k, start, end, zone, kept) of a known file
        self.block: list | None = None  # [number, zone, merged scan, segments in it]
        self.whole = ""  # the zone all its segments lie in, if one
        self.whole_acc: list | None = None  # their merge, to keep as one

    def kept(self, what: str) -> bool:
        return what in self.have and self.cache.has(self.blob_name(what), self.key)

    def blob_name(self, what: str) -> str:
        return f"{self.name}.{self.gen}.{what}"

    def store(self, what: str, scan: _Scan) -> None:
        """A scan of this file kept at once (memory holds no file's scans while it is read)."""
        if self.keep:
            self.cache.put(self.blob_name(what), self.key, _dump(scan))
            self.have.add(what)
            self.changed = True

    def load(self, what: str) -> _Scan:
        blob = self.cache.get(self.blob_name(what), self.key)
        scan = _load_scan(blob) if blob is not None else None
        if scan is None:  # gone or broken since the read began: read as without the cache
            raise _Followed
        return scan


class SendlogCache(CacheStore):
    """The per-file cache that Analysis.read asks first (helpdesk/sendlog/offenders.py)."""

    def read(
        self,
        analysis: Analysis,
        files: list[LogFile],
        *,
        progress: Callable[[int, int], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
        workers: Any = None,
    ) -> bool:
        """See read_cached."""
        kw = {"progress": progress, "cancelled": cancelled, "workers": workers}
        return read_cached(analysis, files, self, **kw)


def default_cache(*, memory: bool = False) -> SendlogCache:
    """The cache on disk; memory=True (the TUI) keeps the session's entries in memory too."""
    return SendlogCache(cache_dir() / "sendlog", memory=memory)


def read_cached(
    analysis: Analysis,
    files: list[LogFile],
    cache: SendlogCache,
    *,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    workers: Any = None,
) -> bool:
    """Read the files into a fresh analysis, the unchanged 5-minute segments of rotated files
    from the cache, and keep what this read adds. False (nothing read) when no file can be
    cached or the files must be read in one pass: the caller reads as usual. Cancelled, what
    was read so far is ranked, as without the cache: the cached segments and the parts this
    read had finished (nothing of it is kept), and Cancelled goes on up."""
    cache.hits = cache.read_files = cache.reread_bytes = 0
    if len(files) < 2 or analysis.scan.lines or any(f.host is not None for f in files):
        return False
    scan = analysis.scan
    keys = (scan.start_key, scan.base_key, scan.newest)
    known = []
    for i, lf in enumerate(files):
        key = file_key(lf) if i + 1 < len(files) else None  # the live file is never kept
        name = _entry_name(lf, scan.infer) if key is not None else None
        known.append(_File(cache, lf, name, key))
    if not any(f.name is not None for f in known):
        return False
    need = 0  # bytes to read
    for f in known:
        if f.entry is not None:
            _gen, borders, seg_spans, _have = f.entry
            f.wanted = []
            for k, ((a, b), span) in enumerate(zip(borders, seg_spans, strict=True)):
                zone = spans.zone(span, keys) if span is not None else ""
                f.wanted.append((k, a, b, zone, bool(zone) and f.kept(f"{k}{zone}")))
            if f.lf.compressed and not all(w[4] for w in f.wanted):
                f.entry, f.wanted = None, None  # read whole again, kept anew
                f.gen, f.have = secrets.token_hex(4), set()
        if f.wanted is None:
            need += work_bytes(f.lf)
        else:
            need += sum(b - a for _k, a, b, _z, kept in f.wanted if not kept)
    use_workers = workers is not None and workers.processes >= 1 and need >= workers.min_bytes
    window = (key_to_datetime(scan.start_key), key_to_datetime(scan.base_key), scan.infer, scan.now)
    tasks: list[tuple] = []
    sizes: list[int] = []
    # in log order: ("blob", file, blob, segment or None for a block, zone) or
    # ("task", file, task number, segment or None for a part of a whole file, zone)
    pieces: list[tuple] = []
    for f in known:
        if f.wanted is not None:
            zones = {w[3] for w in f.wanted}
            if len(zones) == 1 and "" not in zones:  # the whole file in one zone
                f.whole = zones.pop()
                if f.kept(f"a{f.whole}"):
                    pieces.append(("blob", f, f"a{f.whole}", None, ""))
                    cache.hits += 1
                    continue
                f.whole_acc = [None, ReadState(broken=[])]
            k = 0
            while k < len(f.wanted):
                block = _block(f, k)
                if block is not None:
                    pieces.append(("blob", f, block, None, ""))
                    k += BLOCK
                    continue
                _k, a, b, zone, kept = f.wanted[k]
                if kept:
                    pieces.append(("blob", f, f"{k}{zone}", k, zone))
                else:
                    pieces.append(("task", f, len(tasks), k, zone))
                    tasks.append((len(tasks), f.lf, a, b, *window))
                    sizes.append(b - a)
                    cache.reread_bytes += b - a
                    f.tasks += 1
                k += 1
            cache.hits += not f.tasks
            continue
        parts = _parts(f.lf, workers) if use_workers else [(f.lf, 0, None)]
        for plf, a, b in parts:
            pieces.append(("task", f, len(tasks), None, None))
            tasks.append((len(tasks), plf, a, b, *window, "segments" if f.name else None))
            sizes.append(f.lf.size if b is None else b - a)
            f.tasks += 1
    cache.read_files = sum(1 for f in known if f.tasks)

    fresh = analysis.scan
    acc: list = [None, ReadState(broken=[])]  # the merged scan and state so far
    answers: dict[int, Any] = {}
    piece_of = {p[2]: n for n, p in enumerate(pieces) if p[0] == "task"}
    at = [0]  # the next piece to fold
    last: list = [None]  # the file of the last piece folded

    def fold(upto: int, *, skip_missing: bool = False) -> None:
        """Pieces in log order as far as their answers are there (skip_missing: all of them,
        those not read left out)."""
        while at[0] < upto:
            piece = pieces[at[0]]
            if last[0] is not None and last[0] is not piece[1]:
                _end(acc, last[0])
            last[0] = piece[1]
            if piece[0] == "blob":
                loaded = piece[1].load(piece[2])
                if piece[3] is None:
                    _flush(acc, piece[1])
                    _fold(_target(acc, piece[1]), loaded, ReadState(broken=[]))
                else:
                    _add_segment(acc, piece[1], piece[3], piece[4], loaded)
            elif piece[2] in answers:
                _take(acc, piece, answers.pop(piece[2]), keys)
            elif not skip_missing:
                return
            at[0] += 1

    def take(answer: Any) -> bool:
        """The next task's answer (they come in task order)."""
        n = answers_count[0]
        if _followed(answer):
            return False
        answers[n] = answer
        answers_count[0] += 1
        fold(piece_of[n] + 1)
        return True

    def emit_for(n: int) -> Callable[[tuple], None]:
        """Task n's segments folded as they are read (every earlier piece is folded first)."""
        fold(piece_of[n])
        f = pieces[piece_of[n]][1]
        if last[0] is not None and last[0] is not f:
            _end(acc, last[0])
        last[0] = f
        return lambda seg: _segment(acc, f, seg, keys)

    answers_count = [0]
    try:
        if use_workers:
            kw = {"progress": progress, "cancelled": cancelled, "emit_for": emit_for}
            workers.run(tasks, sizes, take=take, **kw)
        else:
            from helpdesk.sendlog.parallel import _work

            total, before = sum(sizes), 0
            for n, task in enumerate(tasks):

                def moved(d: int, base: int = before) -> None:
                    if progress is not None:
                        progress(min(base + d, total), total)

                emit = emit_for(n)  # all before this task folded: its segments as read
                if not take(_work(task, moved, cancelled, emit)):
                    break
                before += sizes[n]
        if answers_count[0] < len(tasks):
            raise _Followed
        fold(len(pieces))
        if last[0] is not None:
            _end(acc, last[0])
    except _Followed:
        return _give_up(analysis, fresh)
    except Cancelled:
        for f in known:
            f.keep = False  # what is folded now lacks what was not read: nothing is kept
        with contextlib.suppress(_Followed):
            fold(len(pieces), skip_missing=True)
        for f in known:
            _end(acc, f)
        _finish(analysis, files, acc, fresh, done=False)
        raise
    for f in known:
        _keep(f)
    cache.trim()
    _finish(analysis, files, acc, fresh, done=True)
    return True


def _parts(lf: LogFile, workers: Any) -> list[tuple]:
    from helpdesk.sendlog.parallel import plan

    return plan([lf], workers.parts, workers.min_bytes)[0]


def _followed(answer: Any) -> bool:
    first = answer[0]
    if isinstance(first, list):
        return any(seg[2].followed for seg in first)
    return first.followed


def _take(acc: list, piece: tuple, answer: Any, keys: tuple) -> None:
    """A read part's answer: kept for its file's entry (before merging changes it), folded."""
    _kind, f, _n, k, zone = piece
    result, state = answer
    if state.too_long or state.broken or state.damage:
        f.keep = False  # the file's offsets or contents are not what its segments say
    if isinstance(result, list):  # a whole file, or a part of one, in segments
        for seg in result:
            _segment(acc, f, seg, keys)
        merge_states(acc[1], state)
        f.changed = True
        return
    if k is not None:  # one segment of a known file, read again
        if zone:
            f.store(f"{k}{zone}", result)
        _add_segment(acc, f, k, zone, result)
        merge_states(acc[1], state)
        return
    _fold(acc, result, state)


def _segment(acc: list, f: _File, seg: tuple, keys: tuple) -> None:
    """A segment of a file read whole: kept under its zone, and folded."""
    a, b, scan, _too_long, span = seg
    if scan.followed:
        raise _Followed
    if isinstance(scan, PackedScan):
        scan = scan.unpack()
    span = spans.valid(span)
    zone = spans.zone(span, keys) if span is not None else ""
    if f.new is None:
        f.new = []
    if zone:
        f.store(f"{len(f.new)}{zone}", scan)
    f.new.append((a, b, span))
    _add_segment(acc, f, len(f.new) - 1, zone, scan)


def _block(f: _File, k: int) -> str | None:
    """The kept scan of the BLOCK segments from k on, when they all lie in one zone."""
    wanted = f.wanted or []
    if k % BLOCK or k + BLOCK > len(wanted):
        return None
    zone = wanted[k][3]
    if not zone or any(w[3] != zone for w in wanted[k : k + BLOCK]):
        return None
    what = f"h{k // BLOCK}{zone}"
    return what if f.kept(what) else None


def _add_segment(acc: list, f: _File, k: int, zone: str, scan: _Scan) -> None:
    """Segment k folded in log order; segments of one aligned block in one zone are merged
    first, and the block is kept, so that a later read loads it as one."""
    j = k // BLOCK
    block = f.block
    if block is not None and (block[0] != j or block[1] != zone):
        _flush(acc, f)
        block = None
    if block is None:
        if zone and k % BLOCK == 0:
            f.block = [j, zone, scan, 1]
        else:
            _fold(_target(acc, f), scan, ReadState(broken=[]))
        return
    merge_scans(block[2], scan)
    block[3] += 1
    if block[3] == BLOCK:
        f.store(f"h{j}{zone}", block[2])
        _flush(acc, f)


def _flush(acc: list, f: _File) -> None:
    """The block being merged, folded as far as it goes."""
    if f.block is not None:
        _fold(_target(acc, f), f.block[2], ReadState(broken=[]))
        f.block = None


def _target(acc: list, f: _File) -> list:
    """Where f's scans are folded: its own merge when the whole file lies in one zone (kept
    as one at its end), else the read's."""
    return f.whole_acc if f.whole_acc is not None else acc


def _end(acc: list, f: _File) -> None:
    """After f's last piece: the file in one zone kept as one scan, then folded."""
    _flush(acc, f)
    if f.whole_acc is not None:
        whole, f.whole_acc = f.whole_acc, None
        if whole[0] is not None:
            f.store(f"a{f.whole}", whole[0])
            _fold(acc, whole[0], whole[1])


def _fold(acc: list, scan: _Scan, state: ReadState) -> None:
    if acc[0] is None:
        acc[0] = scan
    else:
        merge_scans(acc[0], scan)
    merge_states(acc[1], state)


def _keep(f: _File) -> None:
    """The file's index as this read leaves it (its scans are kept already)."""
    if f.name is None or not f.keep or not f.changed:
        return
    if f.new is None and f.entry is None:
        return  # a file without lines
    if f.new is not None:
        borders = [(a, b) for a, b, _span in f.new]
        seg_spans = [span for _a, _b, span in f.new]
    else:
        _gen, borders, seg_spans, _have = f.entry
    entry = (VERSION, f.gen, borders, seg_spans, sorted(f.have))
    f.cache.put(f.name, f.key, pickle.dumps(entry, protocol=pickle.HIGHEST_PROTOCOL))


def _finish(analysis: Analysis, files: list[LogFile], acc: list, fresh: _Scan, *, done: bool):
    if acc[0] is not None:
        analysis.scan = _settle(acc[0], fresh)
    analysis.state = acc[1]
    analysis.state.total_bytes = sum(f.size for f in files)
    if done:
        analysis.state.done_bytes = analysis.state.total_bytes
    analysis.files.extend(str(f.path) for f in files)


def _entry_name(lf: LogFile, infer: bool) -> str:
    what = f"{VERSION}\0{os.path.realpath(lf.path)}\0{int(infer)}"
    return hashlib.sha256(what.encode("utf-8", "surrogateescape")).hexdigest()[:32]


def _load_entry(blob: bytes | None) -> tuple | None:
    """(generation, borders, spans, kept scans) of a file's index, or None for none or a
    broken one."""
    if blob is None:
        return None
    try:
        version, gen, borders, seg_spans, have = load(blob)
    except Exception:  # noqa: BLE001 - a broken or foreign entry is no entry
        return None
    if version != VERSION or not isinstance(gen, str) or not gen.isalnum():
        return None
    if not isinstance(have, list) or not all(isinstance(w, str) and w.isalnum() for w in have):
        return None
    if not isinstance(borders, list) or len(borders) != len(seg_spans):
        return None
    for (a, b), span in zip(borders, seg_spans, strict=True):
        if not (type(a) is int and type(b) is int and 0 <= a < b):
            return None
        if span is not None and not (
            isinstance(span, tuple) and len(span) == 2 and all(type(t) is bytes for t in span)
        ):
            return None
    return gen, borders, seg_spans, have


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


def _dump(scan: _Scan) -> bytes:
    keep = (scan.user_names, scan.by_auth, scan.domain_names, scan.pending)
    scan.user_names, scan.by_auth, scan.domain_names, scan.pending = {}, {}, {}, {}
    try:
        return pickle.dumps((VERSION, scan), protocol=pickle.HIGHEST_PROTOCOL)
    finally:
        scan.user_names, scan.by_auth, scan.domain_names, scan.pending = keep


def _load_scan(blob: bytes) -> _Scan | None:
    """A fresh copy of a segment's scan (merging changes it), or None for a broken one."""
    try:
        version, scan = load(blob)
    except Exception:  # noqa: BLE001 - a broken entry is no entry
        return None
    if version != VERSION or not isinstance(scan, _Scan):
        return None
    return scan


__all__ = ["SendlogCache", "cache_dir", "default_cache", "file_key", "read_cached"]
