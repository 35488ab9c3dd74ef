"""A log file cut into 5-minute segments for the per-file cache (helpdesk/sendlog/cache.py).

A segment is a byte range of the file that starts at a line start: a new one begins at the
first line whose time reaches the next 5-minute boundary (lines are in time order but for
the few that concurrent Exim processes write a little late, which stay in the segment they
were written in). Each segment is read into its own scan; a window or a baseline edge then
falls between segments or inside one, and only a segment it falls inside has to be read again.
The segments of a file are folded in file order with the exact merge of the parallel read
(helpdesk/sendlog/merge.py), so the result is what one pass over the file gives.

The border is found by bisecting the chunk on its line times: it costs a few comparisons per
segment, not a look at every line. Which lines a segment holds does not matter for exactness
(each segment's time span is measured over all its lines and decides its zone); the borders
found when a file is first read are kept with its entry, so a later read cuts it the same way.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from helpdesk.sendlog import spans

SEGMENT = timedelta(minutes=5)


class PackedScan:
    """A finished segment's scan, pickled at once, for a part whose segments are held until
    the reader folds them. A segment in the window holds per-account dicts and lists, which
    take about ten times their pickled size: a 3-hour part of the benchmark's rotated log
    held 22 MiB of them and 2 MiB pickled, in the worker while it read on and in the reader
    while the part waited for its turn."""

    __slots__ = ("blob", "followed")

    def __init__(self, scan: Any) -> None:
        self.blob = pickle.dumps(scan, protocol=pickle.HIGHEST_PROTOCOL)
        self.followed = scan.followed  # read before unpacking (cache.py gives up on it)

    def unpack(self) -> Any:
        return pickle.loads(self.blob)  # noqa: S301 - this session's own worker wrote it


def bucket_end(key: bytes) -> bytes | None:
    """The time key of the 5-minute boundary after key's (None: key is no time).

    Lines carry local time; every zone in use is offset from UTC by a multiple of 15 minutes,
    so a local 5-minute boundary is a UTC one too."""
    try:
        at = datetime.strptime(key[:16].decode("ascii"), "%Y-%m-%d %H:%M")
    except (UnicodeDecodeError, ValueError):
        return None
    at = at.replace(minute=at.minute - at.minute % 5) + SEGMENT
    return at.strftime("%Y-%m-%d %H:%M:%S").encode()


def first_at_or_after(data: bytes, lo: int, key: bytes) -> int:
    """The first line start at or after lo whose line starts with a time >= key, found by
    bisection (len(data) when none): lo must be a line start, data whole lines joined by
    newlines. Lines out of order make it one of the borders, never a cut inside a line."""
    hi = len(data)
    while lo < hi:
        mid = (lo + hi) // 2
        s = data.rfind(b"\n", lo, mid) + 1
        if s <= lo:
            s = lo
        if data[s : s + 19] >= key:
            hi = s
        else:
            nl = data.find(b"\n", s)
            lo = len(data) if nl < 0 else nl + 1
    return lo


class Segmenter:
    """Whole-line chunks of one file (or of one byte range of it) fed to one scan per
    segment. done holds (start, end, scan, too_long, span) of each finished segment, offsets
    in the file (a compressed file: in its decompressed bytes)."""

    def __init__(
        self,
        make_scan: Callable[[], object],
        offset: int,
        emit: Callable[[tuple], None] | None = None,
    ) -> None:
        self.make_scan = make_scan
        self.emit = emit  # given: each finished segment goes there at once, not into done
        self.done: list[tuple] = []
        self.pos = offset
        self._scan: object | None = None
        self._start = offset
        self._span: list = []
        self._end_key: bytes | None = None

    def feed(self, data: bytes) -> None:
        if not data:  # one empty line
            self._open(data)
            self._take(data)
            return
        n = len(data)
        i = 0
        while i < n:
            if self._scan is None:
                self._open(data[i : i + 19])
            elif self._end_key is None:  # no time at the segment's start: it runs on
                self._end_key = bucket_end(data[i : i + 19])
            j = n if self._end_key is None else first_at_or_after(data, i, self._end_key)
            if j == i:
                if self.pos > self._start:  # the border falls between two chunks
                    self.close()
                    continue
                j = data.find(b"\n", i)  # a segment holds one line at least
                j = n if j < 0 else j + 1
            self._take(data[i : j - 1] if j < n else data[i:])
            if j < n:
                self.close()
            i = j

    def _open(self, head: bytes) -> None:
        if self._scan is None:
            self._scan, self._start, self._span = self.make_scan(), self.pos, []
            self._end_key = bucket_end(head)

    def _take(self, piece: bytes) -> None:
        self._scan.feed_data(piece)  # type: ignore[union-attr]
        spans.widen(self._span, piece)
        self.pos += len(piece) + 1

    def close(self, too_long: int = 0) -> None:
        """The segment being read ends here (the end of a range, or a border)."""
        if self._scan is not None:
            seg = (self._start, self.pos, self._scan, too_long, self._span)
            self._scan = None
            if self.emit is not None:
                self.emit(seg)
            else:
                self.done.append(seg)

    def finish(self, end: int, too_long: int) -> list[tuple]:
        """The segments, the last one ending at end (the range's end: the last line may
        have had no newline)."""
        self.pos = end
        self.close(too_long)
        return self.done
