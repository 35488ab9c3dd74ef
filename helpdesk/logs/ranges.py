"""A plain log file in byte ranges that start at line starts: what a parallel read gives each
worker (helpdesk/sendlog/parallel.py). Compressed files cannot be cut; they are read whole."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

from helpdesk.errors import HelpdeskError
from helpdesk.i18n import M
from helpdesk.logs.files import (
    CHUNK,
    MAX_LINE,
    Cancelled,
    LogFile,
    ReadState,
    _unreadable,
    open_regular,
)


def line_borders(path: str | os.PathLike[str], size: int, parts: int) -> list[tuple[int, int]]:
    """A plain file cut into at most `parts` byte ranges that each start at a line's start:
    the pieces a parallel read hands to its workers (each line is in exactly one range)."""
    cuts = [0]
    with open_regular(path) as f:
        for k in range(1, parts):
            pos = max(size * k // parts, cuts[-1])
            f.seek(pos)
            while True:  # to just after the next newline
                block = f.read(CHUNK)
                if not block:
                    pos = size
                    break
                nl = block.find(b"\n")
                if nl >= 0:
                    pos += nl + 1
                    break
                pos += len(block)
            if pos >= size:
                break
            if pos > cuts[-1]:
                cuts.append(pos)
    cuts.append(size)
    return [(a, b) for a, b in zip(cuts, cuts[1:], strict=False) if b > a]


def range_chunks(
    lf: LogFile,
    start: int,
    end: int,
    *,
    state: ReadState,
    cancelled: Callable[[], bool] | None = None,
    progress: Callable[[int], None] | None = None,
) -> Iterator[bytes]:
    """Whole lines of bytes start..end of a plain file, like chunks() (over-long lines are
    dropped and counted in state.too_long). `progress(bytes read so far)` after each chunk."""
    with open_regular(lf.path) as f:
        f.seek(start)
        pos, carry, skipping = start, b"", False
        while pos < end:
            if cancelled is not None and cancelled():
                raise Cancelled(M("reading the log was cancelled"))
            try:
                chunk = f.read(min(CHUNK, end - pos))
            except OSError as exc:
                raise HelpdeskError(_unreadable(lf.path, exc)) from None
            if not chunk:
                break
            pos += len(chunk)
            last = chunk.rfind(b"\n")
            if last < 0:
                if not skipping:
                    carry += chunk
                    if len(carry) > MAX_LINE:
                        carry, skipping = b"", True
                continue
            if skipping:
                first = chunk.find(b"\n")
                state.too_long += 1
                skipping = False
                data = chunk[first + 1 : last]
                carry = chunk[last + 1 :]
                if first == last:
                    continue
            else:
                data = carry + chunk[:last] if carry else chunk[:last]
                carry = chunk[last + 1 :]
            yield data
            if progress is not None:
                progress(pos - start)
        if skipping:
            state.too_long += 1
        elif carry:
            yield carry
