"""Where the per-file results of the offender analysis are kept (helpdesk/sendlog/cache.py
says what they are): in memory for the TUI session and on disk under $XDG_CACHE_HOME/helpdesk
(0700, files 0600: they hold addresses and client IPs), keyed by device, inode, size, mtime
and a hash of the first and last 4 KiB. A disk entry is read with an unpickler that builds
only the analysis's own types, and used only when its stored key equals the file's.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

from helpdesk.logs.files import LogFile

DISK_CAP = 256 << 20  # bytes of entries on disk; the least recently used go first
MEMORY_CAP = 64 << 20  # bytes of entries kept in memory (the TUI); the rest is read from disk
_EDGE = 4096

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
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, digest)


def load(blob: bytes) -> Any:
    """An entry's contents, built only from the analysis's own types (raises on others)."""
    return _Unpickler(io.BytesIO(blob)).load()


class CacheStore:
    """Entries in memory and, unless disk is None, in that directory (the reading that uses
    them is helpdesk.sendlog.cache.SendlogCache)."""

    def __init__(self, disk: Path | None = None, *, memory: bool = True) -> None:
        self.disk = disk
        # memory=False (one command): nothing is kept in memory, which then holds only what
        # the read needs at a time; the TUI keeps its session's entries (up to MEMORY_CAP)
        self.keep_in_memory = memory or disk is None
        self.memory: dict[str, tuple[tuple, bytes]] = {}
        self._memory_bytes = 0
        # what the last read did (for tests and the bench): rotated files taken wholly from
        # the cache, files read (wholly or in part), and bytes of 5-minute segments of cached
        # files read again because a window's edge fell inside them or their zone changed
        self.hits = 0
        self.read_files = 0
        self.reread_bytes = 0

    def get(self, name: str, key: tuple) -> bytes | None:
        entry = self.memory.pop(name, None)
        if entry is not None:
            self.memory[name] = entry  # recently used: kept longest
            if entry[0] == key:
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

    def has(self, name: str, key: tuple) -> bool:
        """Whether get may find the entry (on disk: its file is there, not yet read)."""
        entry = self.memory.get(name)
        if entry is not None and entry[0] == key:
            return True
        return self.disk is not None and (self.disk / name).is_file()

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
        except OSError:
            return  # a cache that cannot be written is no cache: the read stays right

    def _remember(self, name: str, key: tuple, blob: bytes) -> None:
        if not self.keep_in_memory:
            return
        old = self.memory.pop(name, None)
        if old is not None:
            self._memory_bytes -= len(old[1])
        self.memory[name] = (key, blob)
        self._memory_bytes += len(blob)
        while self._memory_bytes > MEMORY_CAP and len(self.memory) > 1:
            gone = next(iter(self.memory))
            self._memory_bytes -= len(self.memory.pop(gone)[1])

    def trim(self) -> None:
        """Entries on disk over the cap go, least recently used first (after a read)."""
        if self.disk is None or not self.disk.is_dir():
            return
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
