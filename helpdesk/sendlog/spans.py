"""The earliest and the latest time the lines of a log file start with, found in the pass
that reads it: the per-file cache (helpdesk/sendlog/cache.py) keeps a file's result only for
windows that put every line of it on the same side of their edges."""

from __future__ import annotations

import re

_TIME = re.compile(rb"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")


def widen(span: list, data: bytes) -> None:
    """span ([] or [earliest, latest]) widened by the whole lines of data. The smallest and
    the largest line start with the smallest and the largest time when every line starts
    with one; any other line gives a start that is no time, and valid() then says no."""
    lines = data.split(b"\n")
    if lines and not lines[-1]:
        lines.pop()
    if not lines:
        return
    lo, hi = min(lines)[:19], max(lines)[:19]
    if not span:
        span.extend((lo, hi))
        return
    if lo < span[0]:
        span[0] = lo
    if hi > span[1]:
        span[1] = hi


def join(a: list, b: list) -> list:
    """The span of two parts of one file."""
    if not a or not b:
        return a or b
    return [min(a[0], b[0]), max(a[1], b[1])]


def valid(span: list) -> tuple[bytes, bytes] | None:
    """(earliest, latest) when both are times, else None (the file is not kept)."""
    if len(span) == 2 and _TIME.fullmatch(span[0]) and _TIME.fullmatch(span[1]):
        return span[0], span[1]
    return None


def zone(span: tuple, keys: tuple) -> str:
    """The first letter of the zone the lines of span lie in for a read whose keys are
    (window start, baseline start, newest): "w" window, "b" baseline, "e" earlier, "" none
    (an edge falls inside it, or a line is dated later than can be true)."""
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
