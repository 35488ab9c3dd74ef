"""Quitting always works: Ctrl+Q ends the real process at once, even while a job is stuck on a
silent rspamd controller or a FIFO, and the terminal is given back; it asks first only when
there are unsaved edits, and a second Ctrl+Q does not ask again."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import socket
import struct
import sys
import termios
import threading
import time
from pathlib import Path

import pytest
from textual.widgets import DataTable, TabbedContent

from helpdesk.config import Config
from helpdesk.mailcenter.db import Database
from helpdesk.mailcenter.mailboxes import create_mailbox
from screens.app import HelpdeskApp
from screens.dialogs.quit import QuitDialog
from screens.mailbox import MailboxScreen
from screens.spam import SpamTab

pytestmark = pytest.mark.tui

ADDRESS = "k.schaefer@baeckerei-koeln.de"
HELPDESK = Path(sys.executable).with_name("helpdesk")
ALT_SCREEN_OFF = b"\x1b[?1049l"


class SilentController:
    """An rspamd controller that accepts connections, reads the request and never answers."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.requests = threading.Event()
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            try:
                if conn.recv(4096):
                    self.requests.set()
            except OSError:
                pass

    def close(self) -> None:
        self.sock.close()
        for conn in self.conns:
            conn.close()


class Terminal:
    """The helpdesk TUI in a pseudo-terminal of 80x24; everything it writes is kept."""

    def __init__(self, config: Path) -> None:
        self.output = bytearray()
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: becomes the helpdesk
            env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "80", "LINES": "24"}
            os.execve(str(HELPDESK), [str(HELPDESK), "--config", str(config)], env)
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        self.status: int | None = None
        # Drain the terminal all the time: a full pty would block the app's writes.
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                ready, _, _ = select.select([self.fd], [], [], 0.1)
                if ready:
                    data = os.read(self.fd, 65536)
                    if not data:
                        return
                    self.output += data
            except OSError:
                return

    def wait_for(self, text: bytes, timeout: float) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if text in self.output:
                return True
            time.sleep(0.05)
        return False

    def send(self, keys: bytes) -> None:
        os.write(self.fd, keys)

    def exited_within(self, seconds: float) -> bool:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = status
                return True
            time.sleep(0.02)
        return False

    def kill(self) -> None:
        if self.status is None:
            try:
                os.kill(self.pid, 9)
                os.waitpid(self.pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
        self._reader.join(timeout=2)
        os.close(self.fd)


@pytest.fixture
def stuck(tmp_path):
    """A configuration whose rspamd controller never answers and whose log is a FIFO."""
    database = Database(f"sqlite:///{tmp_path / 'mailcenter.sqlite'}")
    database.create_schema()
    database.dispose()
    fifo = tmp_path / "mainlog"
    os.mkfifo(fifo)
    controller = SilentController()
    config = tmp_path / "helpdesk.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path / "mailcenter.sqlite"}"\n'
        f'[sendlog]\npaths = ["{fifo}"]\n'
        "[rspamd]\ntimeout = 600\n"
        f'controllers = [{{ name = "silent", url = "http://127.0.0.1:{controller.port}" }}]\n'
    )
    config.chmod(0o600)
    yield config, controller
    controller.close()


def test_ctrl_q_ends_the_process_while_jobs_are_stuck(stuck):
    config, controller = stuck
    term = Terminal(config)
    try:
        assert term.wait_for(b"Type to search", 30), bytes(term.output[-500:])
        term.send(b"\x02")  # Ctrl+B: the blocked list asks the silent controller
        assert controller.requests.wait(15), "the blocked list never asked rspamd"
        term.send(b"\x1b[17~")  # F6: the send log opens the FIFO nobody writes to
        time.sleep(0.5)
        term.send(b"\x11")  # Ctrl+Q
        assert term.exited_within(2.0), "the process was still running 2 s after Ctrl+Q"
        assert os.WIFEXITED(term.status) and os.WEXITSTATUS(term.status) == 0
        term._reader.join(timeout=2)
        assert ALT_SCREEN_OFF in term.output, "the terminal was not restored"
    finally:
        term.kill()


def test_ctrl_q_without_edits_quits_at_once(stuck):
    config, _ = stuck
    term = Terminal(config)
    try:
        assert term.wait_for(b"Type to search", 30)
        term.send(b"\x11")
        assert term.exited_within(2.0)
        term._reader.join(timeout=2)
        assert ALT_SCREEN_OFF in term.output
    finally:
        term.kill()


# --------------------------------------------------------------------------- with Pilot


def make_app(db) -> HelpdeskApp:
    url = db.url.render_as_string(hide_password=False)
    return HelpdeskApp(Config(None, {"database": {"url": url}}), db=db)


async def settle(app, pilot) -> None:
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


async def open_spam_tab(app, pilot) -> SpamTab:
    await settle(app, pilot)
    app.push_screen(MailboxScreen(ADDRESS))
    await settle(app, pilot)
    app.screen.query_one(TabbedContent).active = "tab-spam"
    await settle(app, pilot)
    tab = app.screen.query_one(SpamTab)
    tab.query_one("#spam-ladder", DataTable).focus()
    await pilot.pause()
    return tab


async def add_rule(pilot, rule: str) -> None:
    await pilot.press("a")
    await pilot.pause()
    await pilot.press(*rule, "enter")
    await pilot.pause()


async def test_unsaved_spam_edits_ask_and_a_second_ctrl_q_quits(db):
    with db.begin() as conn:
        create_mailbox(conn, ADDRESS)
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        tab = await open_spam_tab(app, pilot)
        await add_rule(pilot, "6:junk")
        assert tab.dirty

        await pilot.press("ctrl+q")
        await pilot.pause()
        assert isinstance(app.screen, QuitDialog)
        assert ADDRESS in str(app.screen.query_one("#quit-question").render())
        assert app.is_running

        await pilot.press("escape")  # stay: the edits are still there
        await pilot.pause()
        assert isinstance(app.screen, MailboxScreen) and app.is_running
        assert tab.dirty

        await pilot.press("ctrl+q")
        await pilot.pause()
        assert isinstance(app.screen, QuitDialog)
        await pilot.press("ctrl+q")  # the second one quits without asking again
        await pilot.pause()
        assert app._exit


async def test_saved_or_undone_edits_do_not_ask(db):
    with db.begin() as conn:
        create_mailbox(conn, ADDRESS)
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        tab = await open_spam_tab(app, pilot)
        await add_rule(pilot, "6:junk")
        await pilot.press("ctrl+z")  # undo: nothing left to lose
        await pilot.pause()
        assert not tab.dirty
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert not isinstance(app.screen, QuitDialog)
        assert app._exit
