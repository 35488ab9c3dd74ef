"""Host-labelled logs in the per-file cache (helpdesk/sendlog/cache.py, docs/sendlog.md).

Lines of several hosts are merged in one time order before they are counted, so per-file
results cannot be folded together exactly (a user's busiest 5 minutes can take messages of
two hosts in the same seconds). What is kept instead is what reading a rotated file gives
the merge: the lines the ranking needs (` A=` or a failed login), already on the common
clock, with the counts of the lines left out. A second read replays them into the same merge
instead of reading, picking and converting the file: the result is the same to the byte.

Kept only when it cannot depend on the read: every line looked at is in Exim's own form (its
time needs no guess from today's date), no message had to be followed to its deliveries, and
the file was read without damage. The key is the file's (device, inode, size, mtime, hash of
the first and last 4 KiB); the entry's name also holds the host, its zone and this machine's.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import time
import zlib
from typing import Any

from helpdesk.logs.files import LogFile
from helpdesk.logs.timestamps import key_ok
from helpdesk.sendlog.cache_store import file_key, load

VERSION = 1
_EARLY = 65536  # the bytes of a chunk the read looks at for the log's earliest time


def fast(line: bytes) -> bool:
    """Exim's own form, which HostClock.convert reads without today's date."""
    return len(line) > 20 and line[4] == 45 and line[10] == 32 and line[19] == 32


class Recorder:
    """What one read of a file gives the merge, chunk by chunk, to keep."""

    def __init__(self, cache: Any, name: str, key: tuple) -> None:
        self.cache, self.name, self.key = cache, name, key
        self.chunks: list[tuple] = []
        self.ok = True

    def early(self, data: bytes, clock: Any, newest: bytes) -> list[bytes] | None:
        """The converted times of the chunk's first lines, up to the first one the read takes
        for the earliest (as the read looks for it)."""
        keys = []
        for line in data[:_EARLY].split(b"\n"):
            if not fast(line):
                self.ok = False
                return None
            c = clock.convert(line)
            if c is not None:
                keys.append(c[1][:19])
                if key_ok(c[1][:19], newest):
                    return keys
        self.ok = False  # no usable time there: another read might find one later
        return None

    def chunk(self, early: list[bytes] | None, skipped: int, unreadable: int, out: list) -> None:
        self.chunks.append((early, skipped, unreadable, out))

    def keep(self) -> None:
        if not self.ok:
            return
        blob = zlib.compress(pickle.dumps((VERSION, self.chunks), pickle.HIGHEST_PROTOCOL), 1)
        self.cache.put(self.name, self.key, blob)


def entry(cache: Any, lf: LogFile, host: str, zone: str) -> tuple[str, tuple, list | None]:
    """(name, key, kept chunks or None) of a rotated file of a host; name "" when the file
    cannot be looked at."""
    key = file_key(lf)
    if key is None:
        return "", (), None
    what = "\0".join(
        (
            f"hosts{VERSION}",
            os.path.realpath(lf.path),
            host,
            zone,
            os.environ.get("TZ", ""),
            repr((time.tzname, time.timezone, time.altzone)),
        )
    )
    name = "h" + hashlib.sha256(what.encode("utf-8", "surrogateescape")).hexdigest()[:32]
    blob = cache.get(name, key)
    if blob is None:
        return name, key, None
    try:
        version, chunks = load(zlib.decompress(blob))
    except Exception:  # noqa: BLE001 - a broken entry is no entry
        return name, key, None
    if version != VERSION or not isinstance(chunks, list):
        return name, key, None
    return name, key, chunks


def first_usable(kept: list, newest: bytes) -> bytes | None:
    """The earliest time a read of the file would take, from its first chunk's lines."""
    if not kept or not kept[0][0]:
        return None
    for key in kept[0][0]:
        if isinstance(key, bytes) and key_ok(key, newest):
            return key
    return None
