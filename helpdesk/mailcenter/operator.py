"""Who runs the helpdesk: the user the kernel knows, and what the environment only claims.

Kept apart from the audit log's SQL so that it is importable (and testable) on its own.
"""

from __future__ import annotations

import ipaddress
import os
import pwd
from dataclasses import dataclass
from pathlib import Path

# What marks a client address that only an environment variable vouches for (SSH_CONNECTION):
# older rows hold a bare address, newer ones "198.51.100.7 (claimed)" (docs/schema.md).
CLAIMED = " (claimed)"


@dataclass(frozen=True)
class Operator:
    user: str
    client_addr: str | None = None

    def __str__(self) -> str:
        return f"{self.user} from {self.client_addr}" if self.client_addr else self.user


def current_operator() -> Operator:
    """Who runs this process, as the kernel knows it; behind sudo, the user who ran sudo.

    Environment variables are claims anyone can make (`LOGNAME=mallory helpdesk suspend …`),
    so the name comes from the real uid. SUDO_USER counts only when the parent process is the
    root-owned sudo binary; the SSH client address cannot be checked at all and is stored
    marked as a claim.
    """
    user = os.environ.get("SUDO_USER") if _run_by_sudo() else None
    return Operator(user=user or _login_name(), client_addr=_claimed_client())


def _login_name() -> str:
    uid = os.getuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid{uid}"


def _run_by_sudo() -> bool:
    """SUDO_UID is set and our parent is a root-owned process running a root-owned `sudo`."""
    if not os.environ.get("SUDO_UID") or not os.environ.get("SUDO_USER"):
        return False
    parent = Path(f"/proc/{os.getppid()}")
    try:
        if parent.stat().st_uid != 0:
            return False
        exe = (parent / "exe").resolve(strict=True)
    except PermissionError:
        # After `sudo -u helpdesk` a root process's executable is hidden from us; its name is
        # not, and a process that root runs under the name sudo is taken for sudo.
        return _shown_name(parent) == "sudo"
    except OSError:
        return False  # not Linux, or the parent is gone: sudo cannot be told from a forgery
    try:
        return exe.name == "sudo" and exe.stat().st_uid == 0
    except OSError:
        return False


def _shown_name(process: Path) -> str:
    try:
        return (process / "comm").read_text().strip()
    except OSError:
        return ""


def _claimed_client() -> str | None:
    ssh = os.environ.get("SSH_CONNECTION") or os.environ.get("SSH_CLIENT")
    if not ssh:
        return None
    try:
        address = ipaddress.ip_address(ssh.split()[0])
    except (ValueError, IndexError):
        return None
    return f"{address}{CLAIMED}"
