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
from collections.abc import Callable
from datetime import datetime
from typing import Any

from helpdesk.logs.files import Cancelled, LogFile, ReadState
from helpdesk.sendlog import spans
from helpdesk.sendlog.cache_store import SendlogCache, cache_dir, default_cache, file_key, load
from helpdesk.sendlog.merge import merge_scans, merge_states
from helpdesk.sendlog.offenders import Analysis, _Scan

VERSION = 2  # bump when _Scan, UserStats or the entry change: older entries are then ignored


class _Followed(Exception):  # noqa: N818 - not an error: one pass must read these files
    pass


class _File:
    """One file of the read: its entry as found, and as it will be kept."""

    def __init__(self, lf: LogFile, name: str | None, key: tuple | None, entry: Any) -> None:
        self.lf, self.name, self.key = lf, name, key
        self.entry = entry  # (borders, spans, blobs) or None
        self.new: list[tuple] | None = None  # (start, end, span) of the segments of a whole read
        self.blobs: dict[str, bytes] = dict(entry[2]) if entry is not None else {}
        self.keep = name is not None  # False once anything makes the file's result uncertain
        self.changed = False
        self.tasks = 0
        self.wanted: list[tuple] | None = None  # (k, start, end, zone, blob) of a known file


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
    known = [_file(cache, lf, scan.infer, rotated=i + 1 < len(files)) for i, lf in enumerate(files)]
    if not any(f.name is not None for f in known):
        return False
    need = 0  # bytes to read
    for f in known:
        if f.entry is not None:
            borders, seg_spans, _blobs = f.entry
            f.wanted = []
            for k, ((a, b), span) in enumerate(zip(borders, seg_spans, strict=True)):
                zone = _zone_of_keys(span, keys) if span is not None else ""
                blob = f.blobs.get(f"{k}{zone}") if zone else None
                f.wanted.append((k, a, b, zone, blob))
            if f.lf.compressed and any(w[4] is None for w in f.wanted):
                f.entry, f.blobs, f.wanted = None, {}, None  # read whole again
        if f.wanted is None:
            need += f.lf.size
        else:
            need += sum(b - a for _k, a, b, _z, blob in f.wanted if blob is None)
    use_workers = workers is not None and workers.processes >= 1 and need >= workers.min_bytes
    window = (_key_dt(scan.start_key), _key_dt(scan.base_key), scan.infer, scan.now)
    tasks: list[tuple] = []
    sizes: list[int] = []
    pieces: list[tuple] = []  # in log order: ("blob", file, blob) or ("task", file, n, k, zone)
    for f in known:
        if f.wanted is not None:
            for k, a, b, zone, blob in f.wanted:
                if blob is not None:
                    pieces.append(("blob", f, blob))
                    continue
                pieces.append(("task", f, len(tasks), k, zone))
                tasks.append((len(tasks), f.lf, a, b, *window))
                sizes.append(b - a)
                cache.reread_bytes += b - a
                f.tasks += 1
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
    acc: list = []  # the merged [scan, state] so far
    answers: dict[int, Any] = {}
    piece_of = {p[2]: n for n, p in enumerate(pieces) if p[0] == "task"}
    at = [0]  # the next piece to fold

    def fold(upto: int, *, skip_missing: bool = False) -> None:
        """Pieces in log order as far as their answers are there (skip_missing: all of them,
        those not read left out)."""
        while at[0] < upto:
            piece = pieces[at[0]]
            if piece[0] == "blob":
                loaded = _load_scan(piece[2])
                if loaded is None:  # a broken entry: read as without the cache
                    raise _Followed
                _fold(acc, loaded, ReadState(broken=[]))
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

    answers_count = [0]
    try:
        if use_workers:
            workers.run(tasks, sizes, progress=progress, cancelled=cancelled, take=take)
        else:
            from helpdesk.sendlog.parallel import _work

            total, before = sum(sizes), 0
            for n, task in enumerate(tasks):

                def moved(d: int, base: int = before) -> None:
                    if progress is not None:
                        progress(min(base + d, total), total)

                if not take(_work(task, moved, cancelled)):
                    break
                before += sizes[n]
        if answers_count[0] < len(tasks):
            raise _Followed
        fold(len(pieces))
    except _Followed:
        return _give_up(analysis, fresh)
    except Cancelled:
        with contextlib.suppress(_Followed):
            fold(len(pieces), skip_missing=True)
        _finish(analysis, files, acc, fresh, done=False)
        raise
    for f in known:
        _keep(cache, f)
    _finish(analysis, files, acc, fresh, done=True)
    return True


def _file(cache: SendlogCache, lf: LogFile, infer: bool, *, rotated: bool) -> _File:
    """The file with its entry, when it is a rotated file that can be kept."""
    key = file_key(lf) if rotated else None
    if key is None:
        return _File(lf, None, None, None)
    name = _entry_name(lf, infer)
    return _File(lf, name, key, _load_entry(cache.get(name, key)))


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
        if f.new is None:
            f.new = []
        for a, b, seg, _too_long, span in result:
            span = spans.valid(span)
            zone = _zone_of_keys(span, keys) if span is not None else ""
            if f.keep and zone:
                f.blobs[f"{len(f.new)}{zone}"] = _dump(seg)
            f.new.append((a, b, span))
            _fold(acc, seg, ReadState(broken=[]))
        if acc:
            merge_states(acc[1], state)
        f.changed = True
        return
    if k is not None and f.keep and zone:  # one segment of a known file, read again
        f.blobs[f"{k}{zone}"] = _dump(result)
        f.changed = True
    _fold(acc, result, state)


def _fold(acc: list, scan: _Scan, state: ReadState) -> None:
    if not acc:
        acc.extend((scan, state))
    else:
        merge_scans(acc[0], scan)
        merge_states(acc[1], state)


def _keep(cache: SendlogCache, f: _File) -> None:
    """The file's entry as this read leaves it: the segments' borders and spans, and each
    segment's scan under the zones it was read in."""
    if f.name is None or f.key is None or not f.keep or not f.changed:
        return
    if f.new is not None:
        borders = [(a, b) for a, b, _span in f.new]
        seg_spans = [span for _a, _b, span in f.new]
    else:
        borders, seg_spans, _old = f.entry
    entry = (VERSION, borders, seg_spans, f.blobs)
    cache.put(f.name, f.key, pickle.dumps(entry, protocol=pickle.HIGHEST_PROTOCOL))


def _finish(analysis: Analysis, files: list[LogFile], acc: list, fresh: _Scan, *, done: bool):
    if acc:
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
    """(borders, spans, blobs) of a file's entry, or None for none or a broken one."""
    if blob is None:
        return None
    try:
        version, borders, seg_spans, blobs = load(blob)
    except Exception:  # noqa: BLE001 - a broken or foreign entry is no entry
        return None
    if version != VERSION or not isinstance(blobs, dict) or len(borders) != len(seg_spans):
        return None
    for (a, b), span in zip(borders, seg_spans, strict=True):
        if not (type(a) is int and type(b) is int and 0 <= a < b):
            return None
        if span is not None and not (
            isinstance(span, tuple) and len(span) == 2 and all(type(t) is bytes for t in span)
        ):
            return None
    if not all(isinstance(k, str) and isinstance(v, bytes) for k, v in blobs.items()):
        return None
    return borders, seg_spans, blobs


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
    scan = analysis.scan
    return _zone_of_keys(span, (scan.start_key, scan.base_key, scan.newest))


def _zone_of_keys(span: tuple, keys: tuple) -> str:
    lo, hi = span
    start, base, newest = keys
    if hi > newest:
        return ""
    if lo >= start:
        return "w"
    if lo >= base and hi < start:
        return "b"
    if hi < base:
        return "e"
    return ""


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
