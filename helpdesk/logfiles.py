"""Finding and opening Exim log files: plain, gzip, bzip2 or xz, globs, rotated sets in time order.

Lines come out in batches (lists of bytes without the newline) read in large chunks: that keeps
the per-line cost of the readers low and memory bounded by the chunk size, whatever the log's
size. A line longer than MAX_LINE is dropped and counted, so one runaway line (binary garbage
without a newline) cannot grow memory either.
"""

from __future__ import annotations

import bz2
import glob
import gzip
import lzma
import os
import re
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from helpdesk.errors import HelpdeskError, NotFound

CHUNK = 1 << 20
MAX_LINE = 1 << 20
# Compression is recognised by the first bytes, not by the name (logrotate's own choice).
_MAGIC = ((b"\x1f\x8b", "gzip"), (b"BZh", "bzip2"), (b"\xfd7zXZ\x00", "xz"))
_OPENERS = {
    "gzip": lambda raw: gzip.GzipFile(fileobj=raw, mode="rb"),
    "bzip2": lambda raw: bz2.BZ2File(raw, "rb"),
    "xz": lambda raw: lzma.LZMAFile(raw, "rb"),  # noqa: SIM115 - closed with the raw file
}


def _compression(head: bytes) -> str | None:
    return next((kind for magic, kind in _MAGIC if head.startswith(magic)), None)


_ROTATION = re.compile(r"\.(\d+)(?:\.gz)?$")
_FIRST_TIME = re.compile(rb"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)")


class Cancelled(HelpdeskError):
    """Reading was stopped by the caller (the UI's cancel key)."""


@dataclass(slots=True)
class LogFile:
    path: Path
    size: int  # bytes on disk (compressed size for .gz): what progress is measured in
    compression: str | None = None  # gzip, bzip2, xz

    @property
    def compressed(self) -> bool:
        return self.compression is not None


def _has_magic(pattern: str) -> bool:
    return glob.has_magic(pattern)


def first_time(path: Path) -> datetime | None:
    """The first `YYYY-MM-DD HH:MM:SS` in the file's first 64 kB, if any."""
    try:
        with open_log(path) as f:
            head = f.read(65536)
    except (OSError, EOFError, zlib.error, lzma.LZMAError):
        return None
    m = _FIRST_TIME.search(head)
    if m is None:
        return None
    try:
        return datetime.strptime(m.group(1).decode(), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None


def _order_key(path: Path) -> tuple:
    start = first_time(path)
    if start is None:
        try:
            start = datetime.fromtimestamp(path.stat().st_mtime)
        except OSError:
            start = datetime.min
    m = _ROTATION.search(path.name)
    # Same first second: mainlog.2.gz is older than mainlog.1, which is older than mainlog.
    return (start, -(int(m.group(1)) if m else -1), path.name)


def expand(patterns: Iterable[str | os.PathLike[str]]) -> list[LogFile]:
    """Paths and globs -> existing files, oldest first. Nothing found is a clear error."""
    seen: set[Path] = set()
    found: list[Path] = []
    for pattern in patterns:
        text = os.path.expanduser(str(pattern))
        if _has_magic(text):
            matches = [Path(p) for p in sorted(glob.glob(text)) if os.path.isfile(p)]
            if not matches:
                raise NotFound(f"no log file matches {text}")
        else:
            p = Path(text)
            if not p.exists():
                raise NotFound(f"log file not found: {text}")
            if p.is_dir():
                raise HelpdeskError(f"{text} is a folder; name the log files (a glob works)")
            matches = [p]
        for p in matches:
            real = p.resolve()
            if real not in seen:
                seen.add(real)
                found.append(p)
    found.sort(key=_order_key)
    out = []
    for p in found:
        try:
            with open(p, "rb") as f:
                kind = _compression(f.read(6))
            out.append(LogFile(p, p.stat().st_size, kind))
        except PermissionError:
            raise HelpdeskError(f"cannot read {p}: permission denied") from None
    return out


def open_log(path: Path):
    """A binary file object, decompressing if the content is compressed."""
    f = open(path, "rb")  # noqa: SIM115 - returned to the caller, who closes it
    kind = _compression(f.read(6))
    if kind is None:
        f.seek(0)
        return f
    f.close()
    return {"gzip": gzip.open, "bzip2": bz2.open, "xz": lzma.open}[kind](path, "rb")


@dataclass(slots=True)
class ReadState:
    """Where a read is, for progress bars: bytes of the current file and of all files."""

    total_bytes: int = 0
    done_bytes: int = 0
    file: str = ""
    too_long: int = 0
    broken: list[str] | None = None


def chunks(
    files: list[LogFile],
    *,
    state: ReadState | None = None,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> Iterator[tuple[LogFile, int, bytes]]:
    """(file, number of the first line, data) where data is whole lines joined by newlines.

    A truncated or corrupt gzip file ends its own read (it is named in state.broken); the
    next files are still read. `cancelled()` is asked between chunks and raises Cancelled.
    """
    state = state if state is not None else ReadState()
    if state.broken is None:
        state.broken = []
    state.total_bytes = sum(f.size for f in files)
    base = 0
    for lf in files:
        state.file = str(lf.path)
        line_no = 1
        try:
            raw = open(lf.path, "rb")  # noqa: SIM115 - closed by the with below
        except OSError as exc:
            raise HelpdeskError(f"cannot read {lf.path}: {exc.strerror}") from None
        with raw:
            stream = _OPENERS[lf.compression](raw) if lf.compression else raw
            carry = b""
            skipping = False  # inside an over-long line: drop until the next newline
            while True:
                if cancelled is not None and cancelled():
                    raise Cancelled("reading the log was cancelled")
                try:
                    chunk = stream.read(CHUNK)
                except (EOFError, OSError, zlib.error, lzma.LZMAError, ValueError):
                    state.broken.append(str(lf.path))
                    chunk = b""
                if not chunk:
                    break
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
                    line_no += 1
                    skipping = False
                    data = chunk[first + 1 : last]
                    if first == last:
                        carry = chunk[last + 1 :]
                        continue
                else:
                    data = carry + chunk[:last] if carry else chunk[:last]
                carry = chunk[last + 1 :]
                yield lf, line_no, data
                line_no += data.count(b"\n") + 1
                state.done_bytes = base + raw.tell()
                if progress is not None:
                    progress(state.done_bytes, state.total_bytes)
            if skipping:
                state.too_long += 1
            elif carry:
                # A last line without its newline: Exim writes whole lines, so this one was cut
                # off (a crash, a full disk, or a write in progress). It is read as far as it goes.
                yield lf, line_no, carry
        base += lf.size
        state.done_bytes = base
        if progress is not None:
            progress(state.done_bytes, state.total_bytes)


def line_batches(files: list[LogFile], **kwargs) -> Iterator[tuple[LogFile, int, list[bytes]]]:
    """(file, number of the first line, lines) in batches of about CHUNK bytes."""
    for lf, first, data in chunks(files, **kwargs):
        yield lf, first, data.split(b"\n")


def iter_lines(files: list[LogFile], **kwargs) -> Iterator[tuple[LogFile, int, bytes]]:
    """(file, line number, line) one at a time: for callers that need numbers (trail)."""
    for lf, first, lines in line_batches(files, **kwargs):
        for i, line in enumerate(lines):
            yield lf, first + i, line


class Follower:
    """New whole lines of a growing log, as Exim writes them (the screen's follow mode).

    Starts at the end of the file (or at `offset`). A file that was rotated away (another inode
    at the path) or truncated is read again from its start. A last line without its newline
    is left for the next poll, and a poll returns at most CHUNK * 8 bytes.
    """

    def __init__(self, path: str | os.PathLike[str], offset: int | None = None) -> None:
        self.path = Path(path)
        st = self.path.stat()
        self.inode = st.st_ino
        self.offset = st.st_size if offset is None else offset

    def poll(self) -> bytes:
        """Whole new lines joined by newlines (b"" when there is nothing new)."""
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return b""  # between rotation and the new file
        if st.st_ino != self.inode or st.st_size < self.offset:
            self.inode, self.offset = st.st_ino, 0
        if st.st_size == self.offset:
            return b""
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            data = f.read(min(st.st_size - self.offset, CHUNK * 8))
        last = data.rfind(b"\n")
        if last < 0:
            if len(data) >= MAX_LINE:  # a runaway line: skip it
                self.offset += len(data)
            return b""
        self.offset += last + 1
        return data[:last]
