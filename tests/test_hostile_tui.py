"""Hostile text on every screen, tab and dialog: shown as text, never run, never sent raw.

The world of tests/test_hostile_cli.py (every value of tests/hostile.py in real names, customer
numbers, addresses, forwards, sender lists, audit rows and releases of one SQLite database; in
subjects, senders, users and Message-IDs of an Exim mainlog written with Exim's octal escapes;
in a recorded history_redis reply of a small rspamd controller on 127.0.0.1) is opened at 80×24
with Pilot. After every step the screen is rendered the way the driver would write it, and
every segment, every widget's whole content (not only the visible part), every notification and
every dialog is checked: no unsafe character, no interpreted markup, no escape sequence that
came from the data; the app is still running and no markup action ran. One more test runs the
real `helpdesk` in a pseudo-terminal and scans the bytes the terminal receives.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import re
import select
import signal
import struct
import termios
import threading
import time
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
from rich.text import Text
from textual import events
from textual.app import App
from textual.widgets import DataTable, Input, Static, TabbedContent

from helpdesk.config import load_config
from helpdesk.mailcenter.db import Database
from helpdesk.mailcenter.reindex import reindex_names
from helpdesk.plaintext import printable
from screens.dialogs.detail import DetailScreen
from screens.dialogs.leave import LeaveDialog
from screens.limits import LimitsDialog
from screens.mailbox import MailboxScreen
from tests.conftest import HELPDESK_BIN
from tests.hostile import VALUES
from tests.screen_check import (
    WatchedApp,
    check,
    click_on,
    close_dialog,
    glance,
    look,
    settle,
)
from tests.test_hostile_cli import DB_VALUES, DOMAIN, USER, _Controller, _fill, _mainlog

pytestmark = pytest.mark.tui

SIZE = (80, 24)


# ------------------------------------------------------------------------------ the helpers


@pytest.mark.parametrize("name", list(VALUES))
def test_plain_and_cell_show_every_value_as_escaped_text(name):
    from screens.widgets import cell, plain

    value = VALUES[name]
    shown = plain(value)
    assert shown.plain == printable(value) and not shown.spans
    cut = cell(value, 20)
    assert len(cut.plain) <= 20 and "\n" not in cut.plain
    assert cut.plain.endswith("…") == (len(printable(value)) > 20)


def test_line_keeps_the_apps_markup_and_inserts_values_as_text():
    from screens.widgets import line, lines

    shown = line("[b]Sender[/b] $v", v=VALUES["markup-click"] + VALUES["osc52"])
    assert shown.plain == "Sender " + printable(VALUES["markup-click"] + VALUES["osc52"])
    assert [(s.start, s.end, str(s.style)) for s in shown.spans] == [(0, 6, "b")]
    both = lines([shown, VALUES["markup-balanced"] + "\n" + VALUES["bidi"]])
    # A str part is one line of text: its own line break is shown, not obeyed.
    assert both.plain.split("\n")[1] == "[b]x[/b]\\x0ainvoice\\u202egpj.exe"


async def test_plain_static_and_notify_never_parse_markup():
    from screens.widgets import PlainStatic, notify

    class One(App[None]):
        def compose(self):
            yield PlainStatic(VALUES["markup-unbalanced"], id="a")
            yield PlainStatic(Text(VALUES["osc52"], style="bold"), id="b")

    app = One()
    async with app.run_test(size=SIZE) as pilot:
        notify(app, VALUES["markup-quit"])
        await pilot.pause()
        assert str(app.query_one("#a", Static).render()) == "hi [/] there"
        # A Text built from a raw value: still escaped (Rich itself drops the BEL).
        raw = str(app.query_one("#b", Static).render())
        assert raw.startswith("x\\x1b]52;c;") and "\x1b" not in raw
        [note] = app._notifications
        assert note.message == VALUES["markup-quit"] and not note.markup
        assert app.is_running


# ------------------------------------------------------------------------------ the world


@pytest.fixture(scope="module")
def controller() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Controller)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def world(tmp_path_factory, controller) -> Path:
    """The config file of the hostile world: database, mainlog and controller."""
    folder = tmp_path_factory.mktemp("hostile-tui")
    db = Database(f"sqlite:///{folder / 'mailcenter.sqlite'}")
    db.create_schema()
    _fill(db)
    reindex_names(db)
    db.dispose()
    mainlog = folder / "mainlog"
    _mainlog(mainlog)
    config = folder / "helpdesk.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{folder / "mailcenter.sqlite"}"\n\n'
        f'[rspamd]\ncontrollers = [{{ url = "{controller}", password = "x" }}]\n\n'
        f'[sendlog]\npaths = ["{mainlog}"]\nsince = "2h"\n'
    )
    config.chmod(0o600)
    return config


def make_app(world: Path) -> WatchedApp:
    return WatchedApp(load_config(world))


# ------------------------------------------------------------------------------ the screens


async def test_search_and_mailbox_screens(world):
    app = make_app(world)
    async with app.run_test(size=SIZE) as pilot:
        await look(app, pilot, "start")
        await pilot.press(*DOMAIN)
        await settle(app, pilot, 0.3)
        table = app.screen.query_one("#results", DataTable)
        assert table.row_count >= len(DB_VALUES)
        await look(app, pilot, "search results")
        for page in range(6):
            await pilot.press("pagedown")
            await look(app, pilot, f"search results, page {page + 2}")

        # Every mailbox with a hostile name or customer number, and every hostile address.
        addresses = [str(row.key.value) for row in table.ordered_rows]
        opened = 0
        for address in [USER, *addresses]:
            app.push_screen(MailboxScreen(address))
            await pilot.pause()
            await app.workers.wait_for_complete()
            await pilot.pause()
            text = check(app, f"mailbox {address!r:.60}")
            # Whatever the name, the operator still sees whether the mailbox may send. (An
            # address written with capitals is not found: the lookup is lowercase.)
            if app.screen.mailbox is not None:
                opened += 1
                assert "Sending           " in text, f"{address!r:.60}: state out of view"
            app.pop_screen()
        # Every address opened is in the recent list: shown as text there too.
        await pilot.press("ctrl+r")
        await look(app, pilot, "recent mailboxes")
        await pilot.press("escape")
    assert any("hi [/] there" in seen for seen in app.seen)
    assert opened > len(DB_VALUES)


async def test_pasted_text_is_shown_escaped_in_every_input(world):
    """What the operator pastes (copied from a mail, say) is drawn as visible escapes too."""
    app = make_app(world)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        box = app.screen.query_one("#query", Input)
        box.post_message(events.Paste(VALUES["osc52"]))
        text = await look(app, pilot, "search box after a paste")
        assert box.value == printable(VALUES["osc52"])
        assert "x\\x1b]52;c;" in text
        app.push_screen(MailboxScreen(USER))
        await settle(app, pilot)
        await pilot.press("s")
        ticket = app.screen.query_one("#ticket", Input)
        ticket.post_message(events.Paste(VALUES["osc-title"]))
        await look(app, pilot, "ticket field after a paste")
        assert ticket.value == printable(VALUES["osc-title"])


async def test_mailbox_tabs_and_dialogs(world):
    app = make_app(world)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.push_screen(MailboxScreen(USER))
        text = await look(app, pilot, "mailbox overview")
        # The real name is a would-be link: clicking it does nothing.
        assert "[@click=app.screenshot" in text
        assert await click_on(app, pilot, "CLICK-ME", "mailbox overview")
        tabs = app.screen.query_one("#mailbox-tabs", TabbedContent)

        tabs.active = "tab-audit"
        await look(app, pilot, "audit tab")
        audit = app.screen.query_one("#mailbox-audit", DataTable)
        assert audit.row_count > 0
        audit.focus()
        for row in range(min(audit.row_count, 20)):
            audit.move_cursor(row=row)
            await pilot.press("enter")
            await glance(app, pilot, f"audit row {row}")
            assert isinstance(app.screen, DetailScreen)
            await close_dialog(app, pilot)
            await pilot.pause()

        tabs.active = "tab-spam"
        await look(app, pilot, "spam tab")
        await pilot.press("a")
        await look(app, pilot, "spam add-rule dialog")
        await pilot.press(*"6:forward:[/]x", "enter")
        await look(app, pilot, "spam add-rule dialog refusing markup")
        await close_dialog(app, pilot)
        await pilot.press("l")
        await pilot.press(*"[b]x[/b]@evil.example", "enter")
        await look(app, pilot, "spam sender typed")
        await close_dialog(app, pilot)
        await pilot.press("plus")  # an edit, so that saving asks for the ticket
        await pilot.press("ctrl+s")
        await look(app, pilot, "spam save")
        await close_dialog(app, pilot)
        assert isinstance(app.screen, MailboxScreen)
        app.push_screen(LeaveDialog([f"spam settings of {v}" for v in VALUES.values()]))
        await look(app, pilot, "leave with unsaved edits")
        assert isinstance(app.screen, LeaveDialog)
        await close_dialog(app, pilot)
        assert isinstance(app.screen, MailboxScreen)

        tabs.active = "tab-activity"
        await look(app, pilot, "activity tab")
        messages = app.screen.query_one("#activity-view #activity-messages", DataTable)
        messages.focus()
        for row in range(min(messages.row_count, 20)):
            messages.move_cursor(row=row)
            await pilot.press("enter")
            await glance(app, pilot, f"activity message {row}")
            assert isinstance(app.screen, DetailScreen)
            await close_dialog(app, pilot)
            await pilot.pause()

        tabs.active = "tab-blocked"
        await look(app, pilot, "blocked tab")

        tabs.active = "tab-overview"
        await settle(app, pilot)
        app.screen.query_one("#mailbox-audit", DataTable).focus()
        await pilot.press("s")
        await look(app, pilot, "suspend dialog")
        await close_dialog(app, pilot)
        await pilot.press("r")  # already allowed to send: a notification naming the mailbox
        await look(app, pilot, "reinstate notice")
        await pilot.press("p")
        await look(app, pilot, "password dialog")
        await close_dialog(app, pilot)
        await pilot.press("f4")
        await look(app, pilot, "limits dialog")
        assert isinstance(app.screen, LimitsDialog)
        await close_dialog(app, pilot)
        await look(app, pilot, "back on the mailbox")
        assert isinstance(app.screen, MailboxScreen)
    assert app.notes, "no notification was shown: the test did not reach one"


async def test_a_markup_quit_link_does_not_quit(world):
    index = list(DB_VALUES).index("markup-quit")
    app = make_app(world)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.push_screen(MailboxScreen(f"h{index + 1}@{DOMAIN}"))
        text = await look(app, pilot, "mailbox of [@click=app.quit]")
        assert "[@click=app.quit]bye[/]" in text
        assert await click_on(app, pilot, "bye[/]", "quit link")
        assert app.is_running


async def test_send_log_screen(world):
    app = make_app(world)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("f6")
        await settle(app, pilot, 0.2)
        await look(app, pilot, "send log")
        offenders = app.screen.query_one("#sendlog-offenders", DataTable)
        assert offenders.row_count > 0 or "a shows" in str(
            app.screen.query_one("#sendlog-status", Static).render()
        )
        await pilot.press("a")  # every sender, not only the suspicious ones
        await look(app, pilot, "send log, every sender")
        assert offenders.row_count >= len(VALUES)
        for row in range(offenders.row_count):
            offenders.move_cursor(row=row)
            await pilot.pause()
            check(app, f"send log row {row}")  # the evidence from the ranking
        for row in range(0, offenders.row_count, 3):
            offenders.move_cursor(row=row)
            await settle(app, pilot, 0.4)  # the user's messages, read after the cursor rests
            check(app, f"send log row {row} with messages")
        messages = app.screen.query_one("#activity-messages", DataTable)
        if messages.row_count:
            messages.focus()
            await pilot.press("enter")
            await look(app, pilot, "send log message detail")
            await close_dialog(app, pilot)
        await pilot.press("f")
        await look(app, pilot, "send log following")
    # Users (A=) stay as Exim wrote them; subjects are decoded, and shown with visible escapes.
    assert any("\\x1b" in seen for seen in app.seen), "no hostile subject was shown"


async def test_blocked_screen_and_its_dialogs(world):
    from screens.blocked import BlockedList, BlockedScreen
    from screens.dialogs.release import ReleaseDialog
    from screens.verdict import VerdictScreen

    app = make_app(world)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+b")
        await look(app, pilot, "blocked list")
        assert isinstance(app.screen, BlockedScreen)
        table = app.screen.query_one("#blocked-table", DataTable)
        assert table.row_count >= len(VALUES)
        # A long subject is cut with … in its column, and whole in the verdict.
        cells = [str(cell) for row in table.ordered_rows for cell in table.get_row(row.key)]
        assert any(c.startswith("LLLL") and c.endswith("…") and len(c) <= 40 for c in cells)
        verdicts = []
        table.focus()
        for row in range(3):  # by key, as the operator does
            table.move_cursor(row=row)
            await pilot.press("enter")
            await glance(app, pilot, f"verdict {row}")
            assert isinstance(app.screen, DetailScreen)
            await close_dialog(app, pilot)
            await pilot.press("l")
            await glance(app, pilot, f"release dialog {row}")
            await close_dialog(app, pilot)
        # Every other row's verdict and release dialog, opened directly (keys cost 0.1 s each).
        for row, item in enumerate(app.screen.query_one(BlockedList).shown):
            app.push_screen(VerdictScreen(item))
            await glance(app, pilot, f"verdict {row}")
            verdicts.append(str(app.screen.query_one("#verdict", Static).render()))
            app.pop_screen()
            app.push_screen(ReleaseDialog(item, "24h"))
            await glance(app, pilot, f"release dialog {row}")
            app.pop_screen()
        await pilot.press("x")  # nothing released: a warning notification
        await look(app, pilot, "revoke refused")
        await pilot.press("slash", *"[/]")
        await look(app, pilot, "blocked filter")
    assert any("\\u202e" in seen for seen in app.seen)
    assert any(VALUES["long"] in verdict for verdict in verdicts)


async def test_campaigns_help_and_palette(world):
    app = make_app(world)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("f7")
        await look(app, pilot, "campaigns")
        await pilot.press("question_mark")
        await look(app, pilot, "keys panel")
        await pilot.press("ctrl+p")
        await look(app, pilot, "command palette")
        await pilot.press("escape")
        await look(app, pilot, "palette closed")


# ------------------------------------------------------------------------------ the real rspamd


@pytest.mark.stack
async def test_blocked_mail_from_the_real_rspamd(stack):
    """Message-IDs and users with markup and escapes, scanned by the stack's own rspamd."""
    from screens.blocked import BlockedScreen
    from tests.rspamd_tools import message, scan, spam_from

    tag = os.urandom(4).hex()
    user = stack.add_mailbox(f"hostile.{tag}@firma.test", "Kundenpasswort-3!")
    for name in ("markup-unbalanced", "markup-click", "markup-quit", "osc52", "csi", "bidi"):
        # `<[/]@example.org>` once crashed the screen for every operator.
        assert spam_from(stack, user, f"{VALUES[name]}.{tag}@example.org")["action"] == "reject"
    for name in ("markup-click", "markup-unbalanced", "markup-balanced"):
        # The authenticated user as Exim passes it: whatever the account is called.
        mid = f"u{name}.{tag}@example.org"
        body = message(mid, subject="Angebot HELPDESK-TEST-SPAM", sender=user)
        assert scan(stack, body, user=f"{VALUES[name]}.{tag}", sender=user)["action"] == "reject"

    db = Database(stack.database_url)
    db.create_schema()
    app = WatchedApp(load_config(stack.config_path), db=db)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await settle(app, pilot)
            await pilot.press("ctrl+b")
            await look(app, pilot, "blocked list (stack)")
            assert isinstance(app.screen, BlockedScreen)
            await pilot.press("slash", *tag)
            await look(app, pilot, "blocked list filtered (stack)")
            table = app.screen.query_one("#blocked-table", DataTable)
            assert table.row_count == 9
            table.focus()
            for row in range(table.row_count):
                table.move_cursor(row=row)
                await pilot.press("enter")
                await look(app, pilot, f"verdict {row} (stack)")
                await close_dialog(app, pilot)
                await pilot.press("l")
                await look(app, pilot, f"release dialog {row} (stack)")
                await close_dialog(app, pilot)
        assert any(f"[/].{tag}" in seen for seen in app.seen)
    finally:
        db.dispose()


# ------------------------------------------------------------------------------ the check itself


class _Unchecked(App[None]):
    """A screen built without the helpers: what the check must catch."""

    def __init__(self, case: str) -> None:
        super().__init__()
        self.case = case
        self.notes: list[tuple[str, str, bool]] = []
        self.ran: list[str] = []
        self.seen: list[str] = []

    def compose(self):
        if self.case == "raw-text":
            yield Static(Text(VALUES["osc52"]))
        else:
            yield DataTable()

    def on_mount(self) -> None:
        if self.case == "markup-cell":
            table = self.query_one(DataTable)
            table.add_column("Name")
            table.add_row(VALUES["markup-link"])
        elif self.case == "markup-notice":
            self.notes.append((VALUES["markup-link"], "", True))


@pytest.mark.parametrize(
    ("case", "complaint"),
    [
        ("raw-text", "unsafe characters reach the operator"),
        ("markup-cell", "markup was interpreted"),
        ("markup-notice", "notification parsed as markup"),
    ],
)
async def test_the_check_catches_a_screen_without_the_helpers(case, complaint):
    app = _Unchecked(case)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        with pytest.raises(AssertionError, match=complaint):
            check(app, case)


# ------------------------------------------------------------------------------ a real terminal


def _read_for(fd: int, seconds: float, quiet: float = 0.7) -> bytes:
    """What the terminal receives until it has been quiet a while (or `seconds` are over)."""
    data = b""
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        ready, _, _ = select.select([fd], [], [], min(left, quiet))
        if not ready:
            if data:
                break
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        data += chunk
    return data


def test_the_terminal_receives_no_escape_from_the_data(world):
    """`helpdesk` in a pty at 80×24: search, mailbox, send log, blocked mail; then scan bytes."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: the operator's shell starting the TUI
        os.environ.update(TERM="xterm-256color", COLUMNS="80", LINES="24")
        os.environ.pop("HELPDESK_CONFIG", None)
        os.execv(str(HELPDESK_BIN), [str(HELPDESK_BIN), "--config", str(world)])
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    received = b""
    try:
        received += _read_for(fd, 10.0)
        for keys in (
            USER.encode(),
            b"\r",  # open the mailbox: its header and overview
            b"\x1b[17~",  # F6: the send log
            b"a",  # every sender
            b"\x02",  # Ctrl+B: blocked mail
            b"\r",  # the first verdict
        ):
            os.write(fd, keys)
            received += _read_for(fd, 5.0)
        os.write(fd, b"\x11")  # Ctrl+Q
        received += _read_for(fd, 3.0)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(fd)

    text = received.decode("utf-8", "replace")
    assert "hostile.example" in text, f"the app never showed the data: {text[-500:]!r}"
    # Textual writes CSI sequences and one OSC, 22 (the mouse pointer's shape). Any other OSC
    # (clipboard, title, link) or DCS, in 7-bit or C1 form, can only have come from the data.
    text = re.sub(r"\x1b\]22;[a-z-]*(\x1b\\|\x07)", "", text)
    for sequence in ("\x1b]", "\x1bP", "\x1b_", "\x1b^", "\x9b", "\x9d", "\x90"):
        assert sequence not in text, f"{sequence!r} reached the terminal"
    for name, value in VALUES.items():
        if any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in value):
            assert value[:12] not in text, f"{name} reached the terminal raw"
