"""The mailboxes an operator opened last, for the caller who rings back.

Only addresses are kept, newest first, one a line, in `$XDG_STATE_HOME/helpdesk/recent`
(default `~/.local/state`), readable by the operator alone: the list says whom support
spoke to, which is nobody else's business on a shared host.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

LIMIT = 20


def recent_path() -> Path:
    """Where the list lives for the user running the program."""
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "helpdesk" / "recent"


class RecentMailboxes:
    """The last `LIMIT` addresses opened, newest first, kept in memory and in `path`."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path if path is not None else recent_path()
        self.addresses: list[str] = self._read()

    def _read(self) -> list[str]:
        try:
            text = self.path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return []
        seen: list[str] = []
        for address in text.splitlines():
            address = address.strip()
            if address and "@" in address and address not in seen:
                seen.append(address)
        return seen[:LIMIT]

    def add(self, address: str) -> None:
        """`address` moves to the top; the file is rewritten (a failure to write is not fatal:
        the list still works in memory for this session)."""
        address = address.strip()
        if not address or "\n" in address:
            return
        self.addresses = [address, *(a for a in self.addresses if a != address)][:LIMIT]
        with contextlib.suppress(OSError):
            self._write()

    def _write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write("".join(f"{a}\n" for a in self.addresses))
        # An older file may have been created with a looser mode.
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)
