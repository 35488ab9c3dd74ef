"""Typing a name on the wrong screen never writes.

On every screen, tab and dialog, the names of callers are typed as an operator would type them
into the search box (each followed by Enter twice): together they hold every printable key the
app binds, and some end in an action key (`peters`, `kraus`, `philipp`, `fuchs`, `haas`).
Afterwards the database holds exactly what it held before, and no write dialog was answered.
Each place is a test of its own, on a fresh app and a fresh copy of one small database.
The dialogs' own rules (Tab order, leaving with edits, the ticket pattern, the offered ticket)
are in test_tui_typing_dialogs.py.
"""

from __future__ import annotations

import asyncio
import shutil
import string
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

import pytest
from sqlalchemy import insert, select
from textual import events
from textual.keys import REPLACED_KEYS, _character_to_key, _get_unicode_name_from_key
from textual.screen import Screen
from textual.widgets import DataTable, Input, TabbedContent

from helpdesk.mailcenter.db import Database
from helpdesk.mailcenter.mailboxes import create_mailbox, get_mailbox, set_sending
from helpdesk.mailcenter.operator import Operator
from helpdesk.mailcenter.schema import forwards, metadata
from helpdesk.rspamd.blocked import BlockedMessage
from helpdesk.watch.picture import LogPicture
from screens.dialogs.detail import DetailScreen
from screens.dialogs.leave import LeaveDialog
from screens.dialogs.prompt import PromptDialog
from screens.dialogs.quit import QuitDialog
from screens.dialogs.release import ReleaseDialog
from screens.dialogs.ticket import TicketDialog
from screens.forwards import AutoReplyDialog, ForwardDialog
from screens.keys import KeysScreen
from screens.limits import LimitsDialog
from screens.logins import CardScreen
from screens.mailbox import MailboxScreen
from screens.outbound import OutboundScreen
from screens.recent import RecentScreen
from screens.reset import ResetPasswordScreen
from screens.search import SearchScreen
from screens.sieve_chain import SieveChainScreen
from screens.verdict import VerdictScreen
from tests.test_tui_shell import make_app, settle

pytestmark = pytest.mark.tui

ACTIVE = "k.peters@baeckerei-koeln.de"
SUSPENDED = "info@baeckerei-koeln.de"
FORWARD_TARGET = "loot@evil.example"
# Names that end in an action key, names with umlauts and ß, one with the rare letters q v x y;
# `?`, `/`, `+`, `=`, `-` and the digits inside customer numbers and notes.
NAMES = [
    "peters", "kraus", "philipp", "fuchs", "haas", "schmidt", "peter", "müller-lüdenscheidt",
    "weiß", "jäger", "öztürk", "xaver quandt-yilmaz", "kd 0123456789", "björn+1=2?", "a/b", "ob",
]  # fmt: skip
BOUND_PRINTABLE = set(string.ascii_lowercase + string.digits + "äöüß?/+=-")


def test_the_names_hold_every_bound_printable_key():
    assert set("".join(NAMES)) >= BOUND_PRINTABLE


def test_every_printable_key_the_app_binds_is_typed():
    """The set above is the app's: a printable key bound anywhere that no name holds is a gap."""
    import importlib
    import inspect
    import pkgutil

    from textual.binding import Binding

    import screens

    bound: set[str] = set()
    for module in pkgutil.walk_packages(screens.__path__, "screens."):
        for _, cls in inspect.getmembers(importlib.import_module(module.name), inspect.isclass):
            for binding in cls.__dict__.get("BINDINGS", ()):
                keys = binding.key if isinstance(binding, Binding) else binding[0]
                for key in keys.split(","):
                    character = key_event(key.strip()).character
                    if character and character.isprintable():
                        bound.add(character)
    assert "?" in bound and "s" in bound  # the walk found the screens
    assert bound <= set("".join(NAMES)) | {" "}, sorted(bound - set("".join(NAMES)))


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """One database file, filled once; every test types on a copy of it."""
    path = tmp_path_factory.mktemp("typing") / "template.sqlite"
    database = Database(f"sqlite:///{path}")
    database.create_schema()
    seed(database)
    database.dispose()
    return path


@pytest.fixture
def sqlite_db(template, tmp_path):
    """SQLite only: what is checked is the screens, not the database (see test_cli for those)."""
    path = tmp_path / "mailcenter.sqlite"
    shutil.copy(template, path)
    database = Database(f"sqlite:///{path}")
    yield database
    database.dispose()


def seed(db) -> None:
    with db.begin() as conn:
        create_mailbox(conn, ACTIVE, realname="Karl Peters", customer_ref="KD-4711")
        create_mailbox(conn, SUSPENDED, realname="Bäckerei", customer_ref="KD-4711")
        suspended = get_mailbox(conn, SUSPENDED)
        set_sending(conn, suspended, False, ticket="T-1", reason=None, operator=Operator("seed"))
        # Written by another program: a forward the Forwards tab can remove and the sweep undo.
        active = get_mailbox(conn, ACTIVE)
        conn.execute(insert(forwards).values(mailbox_id=active.id, target=FORWARD_TARGET))


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


@dataclass
class Typist:
    """The app under test, and what the dialogs pushed by a place answered."""

    app: object
    pilot: object
    answers: list[object] = field(default_factory=list)

    async def press(self, *keys: str) -> None:
        await press(self.app, self.pilot, *keys)

    async def settled(self) -> None:
        """Until the screens the last keys opened are mounted: taking away a screen that is
        still mounting is no key's doing (Esc waits its turn), and Textual fails on it."""
        # First what the keys set off last: a dialog's answer may push a screen of its own.
        await handled(self.app, self.pilot)
        screens = self.app.screen_stack
        for _ in range(100):
            if all(w.is_mounted for s in screens for w in (s, *s.walk_children())):
                return
            await self.pilot.pause()

    async def base(self) -> None:
        app = self.app
        await self.settled()
        while len(app.screen_stack) > 2:
            app.pop_screen()
        await handled(app, self.pilot)
        assert isinstance(app.screen, SearchScreen)


Place = Callable[[Typist], Awaitable[None]]


async def search(t: Typist) -> None:
    await t.base()
    query = t.app.screen.query_one("#query", Input)
    query.value = ""
    query.focus()
    await handled(t.app, t.pilot)


def mailbox(
    address: str = ACTIVE,
    tab: str = "tab-overview",
    keys: tuple[str, ...] = (),
    opens: type | None = None,
    row_with: str = "",
) -> Place:
    async def go(t: Typist) -> None:
        app = t.app
        # Back to the mailbox already open: opening it again for every name costs most.
        opened = [
            s for s in app.screen_stack if isinstance(s, MailboxScreen) and s.address == address
        ]
        if opened:
            await t.settled()
            while app.screen is not opened[-1]:
                app.pop_screen()
        else:
            await t.base()
            app.push_screen(MailboxScreen(address))
        await handled(app, t.pilot)
        assert app.screen.address == address
        app.screen.query_one(TabbedContent).active = tab
        # The tab's own keys act where its table has the focus (and from the tab bar).
        tables = app.screen.query(f"#{tab} DataTable")
        if tables:
            tables.first().focus()
        await handled(app, t.pilot)
        if row_with:
            await choose_row(t, tables.first(DataTable), row_with)
        if keys:
            # The tab's keys act once its job has read the database; on a busy core that job
            # may start after the wait above: wait for it too.
            await t.pilot.pause()
            await app.workers.wait_for_complete()
            await t.press(*keys)
            # The names are typed into the screen the keys open, not past it.
            assert isinstance(app.screen, opens), (keys, app.screen)

    return go


async def choose_row(t: Typist, table: DataTable, text: str) -> None:
    """The cursor on the row holding `text`, once the tab has read its rows."""
    for _ in range(100):
        rows = [" ".join(map(str, table.get_row_at(i))) for i in range(table.row_count)]
        found = [i for i, row in enumerate(rows) if text in row]
        if found:
            table.move_cursor(row=found[0])
            await handled(t.app, t.pilot)
            return
        await t.pilot.pause(0.02)
    raise AssertionError(f"no row with {text!r}: {rows}")


async def spam_save(t: Typist) -> None:
    from screens.spam import SpamTab

    await mailbox(ACTIVE, "tab-spam")(t)
    tab = t.app.screen.query_one(SpamTab)
    if not tab.dirty:
        # Something to save: a new mailbox has no rule that `+` could raise.
        await t.press("a")
        await t.press(*"6:junk", "enter")
        assert tab.dirty
    await t.press("ctrl+s")
    assert isinstance(t.app.screen, TicketDialog), t.app.screen


def via_app(action: str, opens: type | None = None) -> Place:
    async def go(t: Typist) -> None:
        await t.base()
        getattr(t.app, f"action_{action}")()
        await handled(t.app, t.pilot)
        if opens is not None:
            assert isinstance(t.app.screen, opens), t.app.screen

    return go


def from_mailbox(action: str, opens: type) -> Place:
    """An app-wide screen opened over a mailbox (the keys and the recent list show its keys)."""

    async def go(t: Typist) -> None:
        await mailbox()(t)
        getattr(t.app, f"action_{action}")()
        await handled(t.app, t.pilot)
        assert isinstance(t.app.screen, opens), t.app.screen

    return go


def pushed(make: Callable[[], Screen], harmless: tuple[object, ...] = ()) -> Place:
    """A screen or dialog pushed over the search; `harmless`: the answers that change nothing
    (Enter on a question's Stay button), any other answer fails the test."""

    async def go(t: Typist) -> None:
        await t.base()

        def answered(answer: object) -> None:
            if answer not in harmless:
                t.answers.append(answer)

        t.app.push_screen(make(), answered)
        await handled(t.app, t.pilot)

    return go


async def send_log_outbound(t: Typist) -> None:
    await t.base()
    t.app.push_screen(OutboundScreen(LogPicture(hours=[], over=[])))
    await handled(t.app, t.pilot)


TABS = ("overview", "audit", "spam", "activity", "blocked", "logins", "forwards", "sweep")
# By screen: the places of one group share an app, so that a mailbox opened (and its tabs
# read) for one place serves the next, as it would during a day of calls.
GROUPS: dict[str, dict[str, Place]] = {
    "search and app screens": {
        "search": search,
        "send log": via_app("send_log"),
        "outbound view": send_log_outbound,
        "blocked": via_app("blocked"),
        "campaigns": via_app("campaigns"),
        "old mail programs": via_app("clients"),
        "recent": from_mailbox("recent", RecentScreen),
        "keys": from_mailbox("toggle_keys", KeysScreen),
    },
    "mailbox tabs": {
        f"mailbox {tab}": mailbox(ACTIVE, f"tab-{tab}")
        for tab in (
            "overview",
            "audit",
            "spam",
            "activity",
            "blocked",
            "logins",
            "forwards",
            "sweep",
        )
    },
    "mailbox dialogs": {
        "suspend dialog": mailbox(ACTIVE, keys=("s",), opens=TicketDialog),
        "reset dialog": mailbox(ACTIVE, keys=("p",), opens=ResetPasswordScreen),
        "limits dialog": mailbox(ACTIVE, keys=("f4",), opens=LimitsDialog),
        "spam add-rule prompt": mailbox(ACTIVE, "tab-spam", ("a",), PromptDialog),
        "spam save dialog": spam_save,
        "client-settings card": mailbox(ACTIVE, "tab-logins", ("k",), CardScreen),
        "reinstate dialog": mailbox(SUSPENDED, keys=("r",), opens=TicketDialog),
    },
    "forwards and sweep": {
        "forward dialog": mailbox(ACTIVE, "tab-forwards", ("f",), ForwardDialog),
        "auto-reply dialog": mailbox(ACTIVE, "tab-forwards", ("a",), AutoReplyDialog),
        "remove forward dialog": mailbox(ACTIVE, "tab-forwards", ("x",), TicketDialog),
        "sieve chain": mailbox(ACTIVE, "tab-forwards", ("v",), SieveChainScreen),
        "sweep undo dialog": mailbox(ACTIVE, "tab-sweep", ("u",), TicketDialog, FORWARD_TARGET),
    },
    "dialogs over the search": {
        # Enter closes a detail: an answer that changes nothing.
        "verdict": pushed(lambda: VerdictScreen(blocked_item()), harmless=(None,)),
        "audit detail": pushed(
            lambda: DetailScreen("T-1 suspend", text_id="audit-detail"), harmless=(None,)
        ),
        "release dialog": pushed(lambda: ReleaseDialog(blocked_item(), "24h")),
        "revoke dialog": pushed(lambda: TicketDialog("Revoke release", "?", confirm="Revoke")),
        "leave dialog": pushed(lambda: LeaveDialog(["spam settings"]), harmless=("stay",)),
        "quit dialog": pushed(lambda: QuitDialog(["spam settings"]), harmless=(False,)),
    },
}


@pytest.mark.parametrize("group", list(GROUPS))
async def test_typing_names_writes_nothing(sqlite_db, group):
    db = sqlite_db
    before = dump(db)
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        t = Typist(app, pilot)
        for where, place in GROUPS[group].items():
            for name in NAMES:
                await place(t)
                # The first key on its own, so that a dialog it opens has the focus for the rest.
                await t.press(name[0])
                await t.press(*name[1:], "enter", "enter")
                assert app.is_running, f"typing {name!r} on {where} ended the app"
            assert t.answers == [], where
        await t.base()
    assert dump(db) == before
