"""Finding and opening Exim log files: plain, gzip, bzip2 or xz, globs, rotated sets in time order.

Lines come out in batches (lists of bytes without the newline) read in large chunks: that keeps
the per-line cost of the readers low and memory bounded by the chunk size, whatever the log's
size. A line longer than MAX_LINE is dropped and counted, so one runaway line (binary garbage
without a newline) cannot grow memory either.

A log path is whatever the config or the operator named, so it may be anything: every file is
opened through open_regular(), which follows symlinks, opens without blocking and refuses what
is not a regular file (a FIFO would block the reader for ever). Compressed files are
decompressed here, chunk by chunk, so that a truncated or corrupt one gives what it holds up to
the damage instead of nothing.
"""

from __future__ import annotations

import bz2
import glob
import grp
import lzma
import os
import re
import stat
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from helpdesk.errors import HelpdeskError, NotFound
from helpdesk.i18n import M, Text

CHUNK = 1 << 20
MAX_LINE = 1 << 20
# Compressed input is fed in pieces this size: a cancel is noticed after at most one of them.
_RAW_PIECE = 1 << 16
# Compression is recognised by the first bytes, not by the name (logrotate's own choice).
_MAGIC = ((b"\x1f\x8b", "gzip"), (b"BZh", "bzip2"), (b"\xfd7zXZ\x00", "xz"))
_DECOMPRESSORS: dict[str, Callable[[], object]] = {
    "gzip": lambda: zlib.decompressobj(wbits=31),
    "bzip2": bz2.BZ2Decompressor,
    "xz": lzma.LZMADecompressor,
}
_BROKEN = (EOFError, OSError, zlib.error, lzma.LZMAError, ValueError)
_KINDS = (
    (stat.S_ISFIFO, M("a FIFO")),
    (stat.S_ISSOCK, M("a socket")),
    (stat.S_ISCHR, M("a character device")),
    (stat.S_ISBLK, M("a block device")),
    (stat.S_ISDIR, M("a folder")),
)


def _compression(head: bytes) -> str | None:
    return next((kind for magic, kind in _MAGIC if head.startswith(magic)), None)


_ROTATION = re.compile(r"\.(\d+)(?:\.(?:gz|bz2|xz))?$")
_FIRST_TIME = re.compile(rb"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)")


class Cancelled(HelpdeskError):
    """Reading was stopped by the caller (the UI's cancel key)."""


@dataclass(slots=True)
class LogFile:
    path: Path
    size: int  # bytes on disk (compressed size for .gz): what progress is measured in
    compression: str | None = None  # gzip, bzip2, xz
    # the mail host that wrote it and that host's zone ("" the system's), when the config
    # names several hosts (helpdesk/sendlog/hosts.py); None: this machine's log
    host: str | None = None
    zone: str = ""

    @property
    def compressed(self) -> bool:
        return self.compression is not None


# --------------------------------------------------------------------------- opening


def _group_hint(path: Path) -> Text | str:
    """`; members of group adm may read it` for the nearest existing part of the path."""
    for candidate in (path, *path.parents):
        try:
            gid = os.stat(candidate).st_gid
        except OSError:
            continue
        try:
            name = grp.getgrgid(gid).gr_name
        except KeyError:
            name = str(gid)
        if gid == 0:
            return ""
        return M(" (group {group} may read it: ask to be added to that group)", group=name)
    return ""


def permission_denied(path: str | os.PathLike[str]) -> HelpdeskError:
    """The one line for a log the operator may not read, naming the group that would help."""
    p = Path(path)
    blocked = p
    for parent in reversed(p.parents):  # the first folder that cannot be entered, if any
        if not os.access(parent, os.X_OK):
            blocked = parent
            break
    inside = "" if blocked == p else M(" (in {folder})", folder=str(blocked))
    return HelpdeskError(
        M(
            "cannot read {path}{inside}: permission denied{hint}",
            path=str(p),
            inside=inside,
            hint=_group_hint(blocked),
        )
    )


def _unreadable(path: object, exc: OSError) -> Text:
    # The system's own words for the error (strerror) stay as the system gives them.
    return M("cannot read {path}: {error}", path=str(path), error=exc.strerror or str(exc))


def open_regular(path: str | os.PathLike[str]) -> BinaryIO:
    """The file at path, opened for reading, if it is a regular file; else one clear error.

    Symlinks are followed first; the file is opened with O_NONBLOCK (a FIFO would otherwise
    block the open itself) and its type is checked on the opened descriptor, so a path swapped
    for something else between a check and the open is caught too.
    """
    shown = str(path)
    real = os.path.realpath(path)
    try:
        fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
    except PermissionError:
        raise permission_denied(real) from None
    except FileNotFoundError:
        raise NotFound(M("log file not found: {path}", path=shown)) from None
    except OSError as exc:
        raise HelpdeskError(_unreadable(shown, exc)) from None
    try:
        mode = os.fstat(fd).st_mode
    except OSError as exc:
        os.close(fd)
        raise HelpdeskError(_unreadable(shown, exc)) from None
    if not stat.S_ISREG(mode):
        os.close(fd)
        kind = next((name for test, name in _KINDS if test(mode)), M("not a regular file"))
        raise HelpdeskError(M("{path} is {kind}, not a log file", path=shown, kind=kind))
    return os.fdopen(fd, "rb")


class _Decompressed:
    """read(n) over a compressed file that survives damage: what decompresses is returned,
    and at a truncated end or a corrupt block the stream just ends, with `error` saying why.
    Concatenated members (gzip, bzip2, xz all allow them) are read one after the other."""

    def __init__(self, raw: BinaryIO, kind: str) -> None:
        self.raw = raw
        self.kind = kind
        self.dec = _DECOMPRESSORS[kind]()
        self.buf = b""
        self.done = False
        self.error: Text | None = None
        self.good_raw = 0  # compressed bytes that decompressed without error

    def _finished_member(self) -> bool:
        return bool(getattr(self.dec, "eof", False))

    def read(self, n: int) -> bytes:
        while len(self.buf) < n and not self.done:
            piece = self.raw.read(_RAW_PIECE)
            if not piece:
                self.done = True
                if not self._finished_member() and self.error is None:
                    self.error = M("the compressed data ends early (truncated)")
                break
            self._feed(piece)
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _feed(self, data: bytes) -> None:
        while data:
            try:
                self.buf += self.dec.decompress(data)
            except _BROKEN:
                self.error = M("the compressed data is corrupt")
                self.done = True
                return
            if not self._finished_member():
                self.good_raw += len(data)
                return
            rest = self.dec.unused_data
            self.good_raw += len(data) - len(rest)
            data = rest
            if data.strip(b"\x00"):  # another member follows (trailing zeros are padding)
                self.dec = _DECOMPRESSORS[self.kind]()
            else:
                self.good_raw += len(data)
                data = b""

    def tell(self) -> int:
        return self.raw.tell()


def open_log(path: str | os.PathLike[str]) -> BinaryIO | _Decompressed:
    """A binary reader with read(n), decompressing if the content is compressed."""
    f = open_regular(path)
    kind = _compression(f.read(6) or b"")
    f.seek(0)
    return f if kind is None else _Decompressed(f, kind)


def first_time(path: Path) -> datetime | None:
    """The first `YYYY-MM-DD HH:MM:SS` in the file's first 64 kB, if any."""
    try:
        f = open_log(path)
    except HelpdeskError:
        return None
    try:
        head = f.read(65536) or b""  # None: a file that would block
    except _BROKEN:
        return None
    finally:
        (f.raw if isinstance(f, _Decompressed) else f).close()
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
        except (OSError, ValueError, OverflowError):
            start = datetime.min
    m = _ROTATION.search(path.name)
    # Same first second: mainlog.2.gz is older than mainlog.1, which is older than mainlog.
    return (start, -(int(m.group(1)) if m else -1), path.name)


def _glob(text: str) -> list[Path]:
    matches = sorted(glob.glob(text))
    if matches:  # a dangling symlink in a rotated set is no file; a FIFO is refused later
        return [Path(p) for p in matches if os.path.exists(p) and not os.path.isdir(p)]
    # glob says nothing about folders it may not read: say so instead of "no file matches"
    folder = Path(text)
    while glob.has_magic(str(folder)) and folder != folder.parent:
        folder = folder.parent
    for part in (*reversed(folder.parents), folder):
        need = os.R_OK | os.X_OK if part == folder else os.X_OK
        if os.path.exists(part) and not os.access(part, need):
            raise HelpdeskError(
                M(
                    "cannot list {folder}: permission denied{hint}",
                    folder=str(folder),
                    hint=_group_hint(part),
                )
            )
    return []


def expand(patterns: Iterable[str | os.PathLike[str]]) -> list[LogFile]:
    """Paths and globs -> readable regular files, oldest first. Anything else is one clear
    error: nothing found, permission denied, a folder, a FIFO or another non-file."""
    seen: set[str] = set()
    found: list[Path] = []
    for pattern in patterns:
        text = os.path.expanduser(str(pattern))
        if glob.has_magic(text):
            matches = _glob(text)
            if not matches:
                raise NotFound(M("no log file matches {pattern}", pattern=text))
        else:
            p = Path(text)
            try:
                st = p.stat()
            except PermissionError:
                raise permission_denied(p) from None
            except FileNotFoundError:
                raise NotFound(M("log file not found: {path}", path=text)) from None
            except OSError as exc:
                raise HelpdeskError(_unreadable(text, exc)) from None
            if stat.S_ISDIR(st.st_mode):
                raise HelpdeskError(
                    M("{path} is a folder; name the log files (a glob works)", path=text)
                )
            matches = [p]
        for p in matches:
            real = os.path.realpath(p)
            if real not in seen:
                seen.add(real)
                found.append(p)
    out = []
    for p in found:
        with open_regular(p) as f:  # refuses FIFOs and the like before anything reads them
            kind = _compression(f.read(6) or b"")
            size = os.fstat(f.fileno()).st_size
        out.append(LogFile(p, size, kind))
    order = {lf.path: _order_key(lf.path) for lf in out}
    out.sort(key=lambda lf: order[lf.path])
    return out


# --------------------------------------------------------------------------- reading


@dataclass(slots=True)
class ReadState:
    """Where a read is, for progress bars: bytes of the current file and of all files."""

    total_bytes: int = 0
    done_bytes: int = 0
    file: str = ""
    too_long: int = 0
    broken: list[str] | None = None
    # per damaged compressed file: what was wrong and how much of it could not be read
    damage: dict[str, Text] = field(default_factory=dict)


def _damage(lf: LogFile, reader: _Decompressed) -> Text:
    lost = max(lf.size - reader.good_raw, 0)
    if lost:
        return M(
            "{error}: {lost} of {size} compressed bytes unreadable",
            error=reader.error,
            lost=lost,
            size=lf.size,
        )
    return M("{error}: the end of the file is missing", error=reader.error)


def chunks(
    files: list[LogFile],
    *,
    state: ReadState | None = None,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    numbered: bool = True,
) -> Iterator[tuple[LogFile, int, bytes]]:
    """(file, number of the first line, data) where data is whole lines joined by newlines.

    A truncated or corrupt compressed file is read up to the damage and then ends its own read
    (it is named in state.broken, with what was lost in state.damage); the next files are still
    read. `cancelled()` is asked before every read and raises Cancelled. numbered=False: the
    line numbers are not counted (every number is 1), for a reader that counts lines itself:
    counting newlines costs half as much as finding what the offender read needs.
    """
    state = state if state is not None else ReadState()
    if state.broken is None:
        state.broken = []
    state.total_bytes = sum(f.size for f in files)
    base = 0

    def check() -> None:
        if cancelled is not None and cancelled():
            raise Cancelled(M("reading the log was cancelled"))

    for lf in files:
        check()
        state.file = str(lf.path)
        line_no = 1
        raw = open_regular(lf.path)
        with raw:
            stream = _Decompressed(raw, lf.compression) if lf.compression else raw
            carry = b""
            skipping = False  # inside an over-long line: drop until the next newline
            while True:
                check()
                try:
                    chunk = stream.read(CHUNK)
                except OSError as exc:
                    raise HelpdeskError(_unreadable(lf.path, exc)) from None
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
                    # one copy of the chunk, not two
                    data = carry + memoryview(chunk)[:last] if carry else chunk[:last]
                carry = chunk[last + 1 :]
                yield lf, line_no, data
                if numbered:
                    line_no += data.count(b"\n") + 1
                state.done_bytes = base + raw.tell()
                if progress is not None:
                    progress(state.done_bytes, state.total_bytes)
            if isinstance(stream, _Decompressed) and stream.error is not None:
                state.broken.append(str(lf.path))
                state.damage[str(lf.path)] = _damage(lf, stream)
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
        with open_regular(self.path) as f:
            f.seek(self.offset)
            data = f.read(min(st.st_size - self.offset, CHUNK * 8))
        last = data.rfind(b"\n")
        if last < 0:
            if len(data) >= MAX_LINE:  # a runaway line: skip it
                self.offset += len(data)
            return b""
        self.offset += last + 1
        return data[:last]
