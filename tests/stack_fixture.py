"""The session fixture `stack`: the real rspamd + Dovecot + Exim on loopback (stack/README.md).

It uses a stack that already runs (as `make stack` left it) or starts one and then stops it at the
end of the session. A stack that cannot start skips the tests that need it, with the reason;
with CI=true that is a failure instead.
"""

from __future__ import annotations

import imaplib
import os
import re
import smtplib
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
TEST_DOMAIN = "stack-test.example"


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"mail stack unavailable: {reason} (CI=true: this is a failure)", pytrace=False)
    pytest.skip(f"mail stack unavailable: {reason}")


def _launcher(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stack.launcher", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


@dataclass
class Stack:
    """A running stack, as its `.stack/env` describes it, and helpers for tests."""

    env: dict[str, str]
    started_here: bool = False
    _db: Any = field(default=None, repr=False)

    @property
    def config_path(self) -> Path:
        return Path(self.env["HELPDESK_CONFIG"])

    @property
    def database_url(self) -> str:
        return self.env["DATABASE_URL"]

    @property
    def submission_port(self) -> int:
        return int(self.env["SUBMISSION_PORT"])

    @property
    def inbound_port(self) -> int:
        return int(self.env["INBOUND_PORT"])

    @property
    def imap_port(self) -> int:
        return int(self.env["IMAP_PORT"])

    @property
    def controller_url(self) -> str:
        return self.env["RSPAMD_CONTROLLER"]

    @property
    def worker_url(self) -> str:
        return self.env["RSPAMD_WORKER"]

    @property
    def password(self) -> str:
        return self.env["RSPAMD_PASSWORD"]

    @property
    def enable_password(self) -> str:
        return self.env["RSPAMD_ENABLE_PASSWORD"]

    @property
    def mainlog(self) -> Path:
        return Path(self.env["EXIM_MAINLOG"])

    @property
    def capture_dir(self) -> Path:
        return Path(self.env["CAPTURE_DIR"])

    @property
    def mail_dir(self) -> Path:
        return Path(self.env["MAIL_DIR"])

    @property
    def sieve_dir(self) -> Path:
        return Path(self.env["SIEVE_DIR"])

    @property
    def release_map(self) -> Path:
        return Path(self.env["RSPAMD_RELEASE_MAP"])

    @property
    def db(self):
        from helpdesk.mailcenter.db import Database

        if self._db is None:
            self._db = Database(self.database_url)
        return self._db

    def unique_address(self, prefix: str = "user") -> str:
        """A fresh address in the stack's test domain, so tests never share a mailbox."""
        return f"{prefix}-{uuid.uuid4().hex[:10]}@{TEST_DOMAIN}"

    def add_mailbox(self, address: str, password: str, **cols: Any) -> str:
        """Create (or reset) a mailbox with this password, hashed by the helpdesk's own code.

        `cols` are column values (`smtp_enabled=False`, `enabled=False`, ...); pass
        `password_hash=` to store a given hash instead, and `scheme=`/`prefix=` to choose how the
        helpdesk hashes it. Returns the address.
        """
        from sqlalchemy import select, update

        from helpdesk.mailcenter.mailboxes import create_mailbox, normalize_address
        from helpdesk.mailcenter.schema import mailboxes
        from helpdesk.passwords.policy import PasswordSettings, hash_password

        scheme = cols.pop("scheme", "SHA512-CRYPT")
        prefix = cols.pop("prefix", False)
        rounds = {"SHA512-CRYPT": 5000, "BLF-CRYPT": 5, "ARGON2ID": 1}[scheme]
        settings = PasswordSettings(scheme=scheme, rounds=rounds, prefix=prefix)
        hashed = cols.pop("password_hash", None) or hash_password(password, settings)
        address = normalize_address(address)
        with self.db.begin() as conn:
            found = conn.execute(
                select(mailboxes.c.id, mailboxes.c.version).where(mailboxes.c.address == address)
            ).first()
            if found is None:
                create_mailbox(conn, address, password_hash=hashed, **cols)
            else:
                conn.execute(
                    update(mailboxes)
                    .where(mailboxes.c.id == found.id)
                    .values(password_hash=hashed, version=found.version + 1, **cols)
                )
        return address

    def maildir(self, address: str, folder: str = "INBOX") -> Path:
        local, domain = address.lower().split("@")
        base = self.mail_dir / domain / local / "Maildir"
        return base if folder == "INBOX" else base / f".{folder}"

    def wait_for_messages(
        self, address: str, count: int = 1, folder: str = "INBOX", timeout: float = 20.0
    ) -> list[bytes]:
        """The messages in a mailbox folder once there are `count` of them (delivery is async)."""
        deadline = time.monotonic() + timeout
        found: list[Path] = []
        while time.monotonic() < deadline:
            box = self.maildir(address, folder)
            found = sorted(
                p for sub in ("new", "cur") if (box / sub).is_dir() for p in (box / sub).iterdir()
            )
            if len(found) >= count:
                return [p.read_bytes() for p in found]
            time.sleep(0.1)
        raise AssertionError(
            f"{address}/{folder}: {len(found)} of {count} messages after {timeout}s"
        )

    def wait_for_log(self, pattern: str, timeout: float = 10.0) -> list[str]:
        """Mainlog lines matching the regex, waiting until at least one is there."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            lines = [
                line
                for line in self.mainlog.read_text(errors="replace").splitlines()
                if regex.search(line)
            ]
            if lines or time.monotonic() > deadline:
                return lines
            time.sleep(0.1)

    def imap_login(self, user: str, password: str) -> bool:
        """Whether Dovecot lets this user in over IMAP with this password."""
        with imaplib.IMAP4("127.0.0.1", self.imap_port) as imap:
            try:
                imap.login(user, password)
            except imaplib.IMAP4.error:
                return False
            imap.logout()
            return True

    def smtp_login(self, user: str, password: str) -> bool:
        """Whether Exim's submission port accepts SMTP AUTH with this password."""
        with smtplib.SMTP("127.0.0.1", self.submission_port, timeout=30) as smtp:
            try:
                smtp.login(user, password)
            except smtplib.SMTPAuthenticationError:
                return False
            return True

    def captured(self) -> list[bytes]:
        """Messages Exim captured instead of sending them out."""
        folders = [self.capture_dir / "new", self.capture_dir / "cur"]
        return [p.read_bytes() for d in folders if d.is_dir() for p in sorted(d.iterdir())]


def _read_env(path: Path) -> dict[str, str]:
    from stack.settings import export_env, read_env

    export_env(path)  # a stack started by an older launcher: `. .stack/env` exports too
    return read_env(path)


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    from stack.launcher import status
    from stack.settings import Settings

    settings = Settings.from_env({k: v for k, v in os.environ.items() if k != "DATABASE_URL"})
    started = False
    if os.geteuid() != 0:
        _unavailable("needs root (rspamd, Dovecot and Exim switch to their own users)")
    current = status(settings)
    if not (current["healthy"] and settings.env_path.exists()):
        out = _launcher("up", "--no-install")
        if out.returncode != 0:
            _unavailable((out.stderr or out.stdout).strip().splitlines()[-1])
        started = True
    handle = Stack(env=_read_env(settings.env_path), started_here=started)
    sessions = settings.state / "sessions"
    sessions.mkdir(exist_ok=True)
    mine = sessions / str(os.getpid())
    mine.touch()
    try:
        yield handle
    finally:
        mine.unlink(missing_ok=True)
        if handle._db is not None:
            handle._db.dispose()
        # Stop what this session started, unless another test session still uses it.
        if started and not _other_sessions(sessions):
            _launcher("down")


def _other_sessions(folder: Path) -> list[int]:
    alive = []
    for entry in folder.iterdir():
        if entry.name.isdigit() and Path(f"/proc/{entry.name}").exists():
            alive.append(int(entry.name))
        else:
            entry.unlink(missing_ok=True)
    return alive
