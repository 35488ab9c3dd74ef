"""Typing a name on the wrong screen never writes.

On every screen, tab and write dialog, the names of callers are typed as an operator would type
them into the search box (each followed by Enter twice): together they hold every printable key
the app binds, and some end in an action key (`peters`, `kraus`, `philipp`). Afterwards the
database holds exactly what it held before. The password dialog's Tab order is checked too: a
habitual Tab and typing never move password characters into the ticket field.
"""

from __future__ import annotations

import asyncio
import string
import unicodedata
from collections.abc import Awaitable, Callable
from datetime import datetime

import pytest
from sqlalchemy import select
from textual import events
from textual.keys import REPLACED_KEYS, _character_to_key, _get_unicode_name_from_key
from textual.widgets import Input, TabbedContent

from helpdesk.mailcenter.db import Database
from helpdesk.mailcenter.mailboxes import create_mailbox, get_mailbox, set_sending
from helpdesk.mailcenter.operator import Operator
from helpdesk.mailcenter.schema import metadata
from helpdesk.rspamd.blocked import BlockedMessage
from screens.dialogs.release import ReleaseDialog
from screens.dialogs.ticket import TicketDialog
from screens.limits import LimitsDialog
from screens.mailbox import MailboxScreen
from screens.reset import ResetPasswordScreen
from screens.search import SearchScreen
from tests.test_tui_shell import make_app, settle

pytestmark = pytest.mark.tui

ACTIVE = "k.peters@baeckerei-koeln.de"
SUSPENDED = "info@baeckerei-koeln.de"
# Names that end in an action key, names with umlauts and ß, and a German pangram for the rest
# of the alphabet; `?`, `/`, `+`, `=`, `-` and the digits inside customer numbers and notes.
NAMES = [
    "peters", "kraus", "philipp", "fuchs", "haas", "schmidt", "peter", "müller-lüdenscheidt",
    "weiß", "jäger", "öztürk", "franz jagt im komplett verwahrlosten taxi quer durch bayern",
    "kd 0123456789", "björn+1=2?", "a/b", "ob",
]  # fmt: skip
BOUND_PRINTABLE = set(string.ascii_lowercase + string.digits + "äöüß?/+=-")


def test_the_names_hold_every_bound_printable_key():
    assert set("".join(NAMES)) >= BOUND_PRINTABLE


@pytest.fixture
def sqlite_db(tmp_path):
    """SQLite only: what is checked is the screens, not the database (see test_cli for those)."""
    database = Database(f"sqlite:///{tmp_path / 'mailcenter.sqlite'}")
    database.create_schema()
    yield database
    database.dispose()


def seed(db) -> None:
    with db.begin() as conn:
        create_mailbox(conn, ACTIVE, realname="Karl Peters", customer_ref="KD-4711")
        create_mailbox(conn, SUSPENDED, realname="Bäckerei", customer_ref="KD-4711")
        suspended = get_mailbox(conn, SUSPENDED)
        set_sending(conn, suspended, False, ticket="T-1", reason=None, operator=Operator("seed"))


def dump(db) -> dict[str, list[tuple]]:
    """Every row of every table: mailboxes, audit log, spam settings, releases, search index."""
    with db.connect() as conn:
        return {
            table.name: sorted(
                (tuple(map(repr, row)) for row in conn.execute(select(table))), key=repr
            )
            for table in metadata.sorted_tables
        }


def blocked_item() -> BlockedMessage:
    return BlockedMessage(
        time=datetime(2026, 11, 30, 9, 0), user=ACTIVE, user_truncated=False,
        message_id="abc@baeckerei-koeln.de", action="reject", score=20.0, required_score=15.0,
    )  # fmt: skip


def key_event(key: str) -> events.Key:
    """The event `pilot.press(key)` sends: "a", "?", "plus" and "enter" carry their character."""
    if len(key) == 1 and not key.isalnum():
        key = _character_to_key(key)
    try:
        character = unicodedata.lookup(_get_unicode_name_from_key(REPLACED_KEYS.get(key, key)))
    except KeyError:
        character = key if len(key) == 1 else ("\r" if key == "enter" else None)
    return events.Key(key, character)


async def type_quickly(app, keys: list[str]) -> None:
    """Keys as a quick typist sends them: queued a few milliseconds apart, not each waited for
    until the app is idle (Pilot's way, about 0.1 s a key here)."""
    driver = app._driver
    for key in keys:
        event = key_event(key)
        event.set_sender(app)
        driver.send_message(event)
        await asyncio.sleep(0.002)


async def handled(app, pilot) -> None:
    """Until what the keys sent so far set off has run: the events queued for the app, the
    screen and its widgets (twice: a key may push a screen that gets events of its own), the
    workers they started and what those post back. Pilot's own wait for that; `pilot.pause()`
    would also draw the screen and wait for the process to be idle, 20 ms or more each time,
    which is most of what this test would otherwise spend its time on."""
    await pilot._wait_for_screen()
    await pilot._wait_for_screen()
    # A job that fails (no rspamd configured here) says so on its screen, as it should.
    await asyncio.gather(*(worker.wait() for worker in app.workers), return_exceptions=True)
    await pilot._wait_for_screen()


async def press(app, pilot, *keys: str) -> None:
    await type_quickly(app, list(keys))
    await handled(app, pilot)


async def type_names(app, pilot, names: list[str], place: Callable[[], Awaitable[None]]) -> None:
    for name in names:
        await place()
        # The first key on its own, so that a dialog it opens has the focus for the rest.
        await press(app, pilot, name[0])
        await press(app, pilot, *name[1:], "enter", "enter")


async def test_typing_names_anywhere_writes_nothing(sqlite_db):
    db = sqlite_db
    seed(db)
    before = dump(db)
    answers: list[object] = []
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)

        async def base() -> None:
            if len(app.screen_stack) > 2:
                while len(app.screen_stack) > 2:
                    app.pop_screen()
                await handled(app, pilot)
            assert isinstance(app.screen, SearchScreen)

        async def search() -> None:
            await base()
            query = app.screen.query_one("#query", Input)
            query.value = ""
            query.focus()
            await handled(app, pilot)

        def mailbox(
            address: str, tab: str = "tab-overview", keys: tuple[str, ...] = (), opens=None
        ):
            async def go() -> None:
                # Back to the mailbox already open when there is one: opening it again for
                # every name would take most of the test's time.
                opened = [
                    s
                    for s in app.screen_stack
                    if isinstance(s, MailboxScreen) and s.address == address
                ]
                if opened:
                    while app.screen is not opened[-1]:
                        app.pop_screen()
                else:
                    await base()
                    app.push_screen(MailboxScreen(address))
                await handled(app, pilot)
                assert app.screen.address == address
                app.screen.query_one(TabbedContent).active = tab
                # The tab's own keys act where its table has the focus.
                tables = app.screen.query(f"#{tab} DataTable")
                if tables:
                    tables.first().focus()
                await handled(app, pilot)
                if keys:
                    await press(app, pilot, *keys)
                    # The names are typed into the dialog the keys open, not past it.
                    assert isinstance(app.screen, opens), (keys, app.screen)

            return go

        async def spam_save() -> None:
            from screens.spam import SpamTab

            await mailbox(ACTIVE, "tab-spam")()
            tab = app.screen.query_one(SpamTab)
            if not tab.dirty:
                # Something to save: a new mailbox has no rule that `+` could raise.
                await press(app, pilot, "a")
                await press(app, pilot, *"6:junk", "enter")
                assert tab.dirty
            await press(app, pilot, "ctrl+s")
            assert isinstance(app.screen, TicketDialog), app.screen

        def via_app(action: str):
            async def go() -> None:
                await base()
                getattr(app, f"action_{action}")()
                await handled(app, pilot)

            return go

        def dialog(make: Callable[[], object]):
            async def go() -> None:
                await base()
                app.push_screen(make(), answers.append)
                await handled(app, pilot)

            return go

        places = {
            "search": search,
            **{
                f"mailbox {tab}": mailbox(ACTIVE, tab)
                for tab in (
                    "tab-overview",
                    "tab-audit",
                    "tab-spam",
                    "tab-activity",
                    "tab-blocked",
                    "tab-logins",
                    "tab-forwards",
                    "tab-sweep",
                )
            },
            "send log": via_app("send_log"),
            "blocked": via_app("blocked"),
            "campaigns": via_app("campaigns"),
            "old mail programs": via_app("clients"),
            "suspend dialog": mailbox(ACTIVE, keys=("s",), opens=TicketDialog),
            "reinstate dialog": mailbox(SUSPENDED, keys=("r",), opens=TicketDialog),
            "reset dialog": mailbox(ACTIVE, keys=("p",), opens=ResetPasswordScreen),
            "limits dialog": mailbox(ACTIVE, keys=("f4",), opens=LimitsDialog),
            "spam save dialog": spam_save,
            "release dialog": dialog(lambda: ReleaseDialog(blocked_item(), "24h")),
            "revoke dialog": dialog(lambda: TicketDialog("Revoke release", "?", confirm="Revoke")),
        }
        for name, place in places.items():
            await type_names(app, pilot, NAMES, place)
            assert app.is_running, f"typing on {name} ended the app"
        await base()
    assert answers == []
    assert dump(db) == before


async def test_a_habitual_tab_never_puts_the_password_into_the_ticket(sqlite_db):
    db = sqlite_db
    seed(db)
    before = dump(db)
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        app.push_screen(MailboxScreen(ACTIVE))
        await settle(app, pilot)
        await pilot.press("p")
        await settle(app, pilot)
        dialog = app.screen
        assert isinstance(dialog, ResetPasswordScreen)
        dialog.query_one("#mode-type").value = True
        await settle(app, pilot)
        password = dialog.query_one("#reset-password", Input)
        ticket = dialog.query_one("#reset-ticket", Input)
        assert app.focused is password and ticket.value == ""
        for keys in (("tab",), ("enter",), ("shift+tab",), ("tab", "tab")):
            password.value = ""
            password.focus()
            await pilot.press(*"Geheim", *keys, *"Wort42")
            await settle(app, pilot)
            assert "Wort" not in ticket.value and ticket.value == "", keys
            assert not any(
                "Wort" in field.value for field in dialog.query(Input) if field is not password
            ), keys
    assert dump(db) == before


async def test_leaving_unsaved_spam_edits_asks_save_discard_or_stay(sqlite_db):
    from screens.dialogs.leave import LeaveDialog
    from screens.spam import SpamTab

    db = sqlite_db
    seed(db)
    before = dump(db)
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        app.push_screen(MailboxScreen(ACTIVE))
        await settle(app, pilot)
        mailbox = app.screen
        mailbox.query_one(TabbedContent).active = "tab-spam"
        await settle(app, pilot)
        mailbox.query_one("#spam-ladder").focus()
        await pilot.press("a")  # an unsaved edit: a rule added
        await pilot.pause()
        await pilot.press(*"6:junk", "enter")
        await settle(app, pilot)
        tab = mailbox.query_one(SpamTab)
        assert tab.dirty
        for leave in ("escape", "ctrl+f", "escape"):
            await pilot.press(leave)
            await pilot.pause()
            assert isinstance(app.screen, LeaveDialog), leave
            await pilot.press(*"schmidt")  # typing neither saves nor discards
            await pilot.pause()
            assert isinstance(app.screen, LeaveDialog) and tab.dirty
            await pilot.press("enter")  # Enter is Stay, the one harmless answer
            await pilot.pause()
            assert app.screen is mailbox and tab.dirty
        await pilot.press("escape", "f2")  # save: the ticket dialog of the spam tab
        await pilot.pause()
        assert isinstance(app.screen, TicketDialog)
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is mailbox and tab.dirty
        await pilot.press("ctrl+f", "f3")  # discard, and on to the search box
        await settle(app, pilot)
        assert isinstance(app.screen, SearchScreen) and not tab.dirty
    assert dump(db) == before


async def test_a_ticket_that_is_not_one_is_refused_with_the_pattern(sqlite_db):
    from helpdesk.mailcenter.tickets import DEFAULT_TICKET_PATTERN

    db = sqlite_db
    seed(db)
    before = dump(db)
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        app.push_screen(MailboxScreen(ACTIVE))
        await settle(app, pilot)
        await pilot.press(*"schmidt", "f2")  # `s` opened the dialog, "chmidt" is the ticket
        await settle(app, pilot)
        assert isinstance(app.screen, TicketDialog)
        error = str(app.screen.query_one("#dialog-error").render())
        assert "'chmidt'" in error and DEFAULT_TICKET_PATTERN in error and "\n" not in error
        await pilot.press("escape", *"peter", "f2")  # `p` opened the reset, "eter" the ticket
        await settle(app, pilot)
        assert isinstance(app.screen, ResetPasswordScreen)
        error = str(app.screen.query_one("#reset-error").render())
        assert "'eter'" in error and DEFAULT_TICKET_PATTERN in error
    assert dump(db) == before


async def test_the_last_ticket_is_offered_for_the_same_customer_only_until_ctrl_f(sqlite_db):
    db = sqlite_db
    seed(db)
    with db.begin() as conn:
        create_mailbox(conn, "anna@example.org", realname="Anna", customer_ref="KD-9")
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        app.push_screen(MailboxScreen(SUSPENDED))
        await settle(app, pilot)
        await pilot.press("r", *"T-42", "f2")  # reinstate with a ticket
        await settle(app, pilot)
        assert isinstance(app.screen, MailboxScreen)

        async def open_suspend(address: str) -> Input:
            while len(app.screen_stack) > 2:
                app.pop_screen()
            app.push_screen(MailboxScreen(address))
            await settle(app, pilot)
            await pilot.press("s")
            await settle(app, pilot)
            assert isinstance(app.screen, TicketDialog)
            return app.screen.query_one("#ticket", Input)

        ticket = await open_suspend(ACTIVE)  # same customer number KD-4711
        assert ticket.value == ""  # offered, not filled in
        assert "F3: same ticket T-42" in str(app.screen.query_one("#dialog-offer").render())
        await pilot.press("enter")
        assert ticket.value == ""  # Enter never takes it
        await pilot.press("f3")
        assert ticket.value == "T-42"

        ticket = await open_suspend("anna@example.org")  # another customer
        await pilot.press("f3")
        assert ticket.value == ""

        await pilot.press("escape", "ctrl+f")
        await settle(app, pilot)
        ticket = await open_suspend(ACTIVE)  # the next caller: forgotten
        await pilot.press("f3")
        assert ticket.value == ""
