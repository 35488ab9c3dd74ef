"""`helpdesk watch` on the stack's live mainlog (issue 17, item 3): every message goes through
the real Exim and rspamd; the watcher runs as the real command in its own process."""

from __future__ import annotations

import json
import os
import pwd
import queue
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import delete, select

from helpdesk.mailcenter.audit import read
from helpdesk.mailcenter.schema import mailboxes, watch_positions
from tests.conftest import HELPDESK_BIN, run_cli
from tests.smtp_tools import message, submit

pytestmark = pytest.mark.stack
PASSWORD = "Watch-Passwort-17!"
SUPPORT = "support@hoster.example"


def _spam(user: str, body: str):
    return message(user, None, "Rechnung HELPDESK-TEST-SPAM", body)


def _config(stack, tmp_path: Path, allow: str = "") -> tuple[Path, str]:
    """The stack's config with a [watch] policy, and a log pattern of this test's own (the
    same mainlog, spelled as a glob): its position row starts fresh, at the end of the log."""
    log = str(stack.mainlog)
    pattern = f"{log[:-1]}[{log[-1]}]"
    base = stack.config_path.read_text().replace(json.dumps(log), json.dumps(pattern))
    watch = (
        "\n[watch]\nspam_messages = 3\nspam_minutes = 10\nlimit_hits = 2\n"
        f"notify = {json.dumps(SUPPORT)}\npoll_seconds = 0.1\n"
        f"sendmail = {json.dumps(['exim', '-C', stack.env['EXIM_CONF'], '-t', '-oi'])}\n"
        f"allow = {json.dumps([allow] if allow else [])}\n"
    )
    path = tmp_path / "helpdesk.toml"
    path.write_text(base + watch)
    with stack.db.begin() as conn:  # a fresh start: from the end of the log
        conn.execute(delete(watch_positions).where(watch_positions.c.path == pattern))
    return path, pattern


class _Watcher:
    """`helpdesk watch --json` in its own process; its lines arrive on a queue."""

    def __init__(self, config: Path) -> None:
        self.proc = subprocess.Popen(
            [str(HELPDESK_BIN), "--config", str(config), "watch", "--json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[dict] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(json.loads(line))

    def wait_for(self, kind: str, timeout: float = 15.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                event = self.lines.get(timeout=0.1)
            except queue.Empty:
                assert self.proc.poll() is None, self.proc.stderr.read()
                continue
            if event["event"] == kind:
                return event
        raise AssertionError(f"no {kind!r} from the watcher within {timeout} s")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        assert self.proc.wait(timeout=10) == 0


def _caught_up(stack, pattern: str, timeout: float = 10.0) -> None:
    """Wait until the watcher's kept position reaches the mainlog's end."""
    size = stack.mainlog.stat().st_size
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with stack.db.connect() as conn:
            offset = conn.execute(
                select(watch_positions.c.offset).where(watch_positions.c.path == pattern)
            ).scalar()
        if offset is not None and offset >= size:
            return
        time.sleep(0.05)
    raise AssertionError("the watcher did not read the log up to its end")


def _sending(stack, address: str) -> bool:
    with stack.db.connect() as conn:
        return conn.execute(
            select(mailboxes.c.smtp_enabled).where(mailboxes.c.address == address)
        ).scalar_one()


def _support_mails(stack, address: str) -> list[bytes]:
    return [m for m in stack.captured() if f"sending suspended: {address}".encode() in m]


def test_a_bursting_account_is_suspended_once_and_support_is_told(stack, tmp_path):
    user = stack.add_mailbox(stack.unique_address("burst"), PASSWORD)
    config, pattern = _config(stack, tmp_path)
    watcher = _Watcher(config)
    try:
        watcher.wait_for("following")
        # A mail program retrying one refused message: four refusals, one message.
        same = _spam(user, "Gleicher Text, billig kaufen.\n")
        for _ in range(4):
            assert submit(stack, user, PASSWORD, same) == 550
        assert submit(stack, user, PASSWORD, _spam(user, "Zweiter Text.\n")) == 550
        _caught_up(stack, pattern)
        assert _sending(stack, user), "two distinct messages are below the line of three"

        assert submit(stack, user, PASSWORD, _spam(user, "Dritter Text.\n")) == 550
        event = watcher.wait_for("suspended")
        assert event["address"] == user and event["evidence"] == 3
        assert watcher.wait_for("notified")["notify"] == SUPPORT
    finally:
        watcher.stop()
    assert not _sending(stack, user)
    # The next message is refused at MAIL, as after a suspension by hand.
    assert submit(stack, user, PASSWORD, message(user, None, "Hallo")) == 550

    with stack.db.connect() as conn:
        (entry,) = read(conn, target=user)
    assert (entry.action, entry.ticket) == ("suspend", "AUTO-watch")
    assert entry.operator == pwd.getpwuid(os.geteuid()).pw_name
    assert len(entry.after["evidence"]) == 3
    assert "3 distinct messages refused as spam within 10 minutes" in entry.reason
    deadline = time.monotonic() + 15
    while not _support_mails(stack, user) and time.monotonic() < deadline:
        time.sleep(0.1)
    (mail,) = _support_mails(stack, user)
    assert f"To: {SUPPORT}".encode() in mail and b"AUTO-watch" in mail

    # A restart resumes where it was; even when it reads the burst again (its position lost
    # in a crash before it was kept), it does not act twice.
    out = run_cli("watch", "--once", "--json", config=config)
    assert out.returncode == 0, out.stderr
    with stack.db.begin() as conn:
        conn.execute(delete(watch_positions).where(watch_positions.c.path == pattern))
    start = stack.mainlog.read_bytes().find(user.encode())
    _keep_position(stack, pattern, start - 200)
    out = run_cli("watch", "--once", "--json", config=config)
    assert out.returncode == 0, out.stderr
    assert "suspended" not in out.stdout
    with stack.db.connect() as conn:
        assert len(read(conn, target=user)) == 1
    assert len(_support_mails(stack, user)) == 1


def _keep_position(stack, pattern: str, offset: int) -> None:
    from helpdesk.watch.store import Position, file_identity, save_position

    device, inode = file_identity(str(stack.mainlog))
    save_position(stack.db, pattern, Position(device, inode, max(offset, 0)))


def test_repeated_limit_hits_suspend_and_the_allow_list_exempts(stack, tmp_path):
    limited = stack.add_mailbox(stack.unique_address("limited"), PASSWORD)
    newsletter = stack.add_mailbox(stack.unique_address("newsletter"), PASSWORD)
    for address in (limited, newsletter):
        out = run_cli(
            "limits", "set", address, "--messages", "2", "--ticket", "T-17",
            config=stack.config_path,
        )  # fmt: skip
        assert out.returncode == 0, out.stderr
    config, _pattern = _config(stack, tmp_path, allow=newsletter)
    watcher = _Watcher(config)
    try:
        watcher.wait_for("following")
        codes = [
            submit(stack, newsletter, PASSWORD, message(newsletter, None, "NL")) for _ in range(4)
        ]
        assert codes == [250, 250, 550, 550]  # the limit applies to allow-listed mailboxes too
        event = watcher.wait_for("allowed")
        assert event["address"] == newsletter

        codes = [submit(stack, limited, PASSWORD, message(limited, None, "x")) for _ in range(4)]
        assert codes == [250, 250, 550, 550]
        event = watcher.wait_for("suspended")
        assert event["address"] == limited
        assert "2 messages refused by the sending limits" in event["reason"]
    finally:
        watcher.stop()
    assert _sending(stack, newsletter) and not _sending(stack, limited)
    with stack.db.connect() as conn:
        assert read(conn, target=newsletter, action="suspend") == []
