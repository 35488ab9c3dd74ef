"""Keys that find things: `?` and F1 everywhere, the palette, 1–9, Ctrl+F, `/`, Ctrl+R."""

from __future__ import annotations

import stat

import pytest
from textual.command import CommandPalette
from textual.widgets import DataTable, Input, TabbedContent, Tabs

from helpdesk.mailcenter.db import Database
from helpdesk.mailcenter.mailboxes import create_mailbox
from helpdesk.mailcenter.recent import LIMIT, RecentMailboxes
from screens.blocked import BlockedScreen
from screens.keys import KeysScreen
from screens.mailbox import MailboxScreen
from screens.recent import RecentScreen
from screens.search import SearchScreen
from tests.screen_check import screen_output
from tests.test_tui_geometry import make_app, settle

pytestmark = pytest.mark.tui

PEOPLE = (
    ("k.schaefer@baeckerei-koeln.de", "Käthe Schäfer"),
    ("info@schaefer-bau.de", "Bauunternehmen Schäfer"),
    ("paul@example.org", "Paul Beispiel"),
)


@pytest.fixture
def people(tmp_path):
    """Three mailboxes on SQLite: these keys do the same on every database."""
    db = Database(f"sqlite:///{tmp_path / 'people.sqlite'}")
    db.create_schema()
    with db.begin() as conn:
        for address, name in PEOPLE:
            create_mailbox(conn, address, realname=name)
    yield db
    db.dispose()


@pytest.fixture(autouse=True)
def state_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return tmp_path / "state"


def shown(app) -> str:
    return screen_output(app)[0]


async def open_mailbox(app, pilot, query: str) -> None:
    await pilot.press("ctrl+f", *query)
    await pilot.pause(0.3)
    await settle(app, pilot)
    await pilot.press("enter")
    await settle(app, pilot)
    assert isinstance(app.screen, MailboxScreen)


async def test_question_mark_in_the_search_box_shows_the_keys(people):
    app = make_app(people)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press(*"paul", "question_mark")
        await settle(app, pilot)
        assert isinstance(app.screen, KeysScreen)
        text = shown(app)
        assert "Open mailbox" in text and "Recent mailboxes" in text
        # The screen's own keys before the app-wide ones.
        assert text.index("Open mailbox") < text.index("Recent mailboxes")
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, SearchScreen)
        assert app.screen.query_one("#query", Input).value == "paul"
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, KeysScreen)


async def palette_finds(app, pilot, word: str) -> str:
    await pilot.press("ctrl+p")
    await pilot.pause()
    assert isinstance(app.screen, CommandPalette)
    await pilot.press(*word)
    await pilot.pause(0.5)
    # Each title with its key on the next line, as the palette lists them.
    text = "\n".join(line.rstrip() for line in shown(app).split("\n"))
    await pilot.press("escape")
    await pilot.pause()
    return text


async def test_palette_finds_the_screens_and_tabs_actions_whatever_has_the_focus(people):
    app = make_app(people)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await open_mailbox(app, pilot, "paul")
        screen = app.screen
        assert isinstance(app.focused, Tabs)
        assert "Suspend sending\n  key: s" in await palette_finds(app, pilot, "suspend")
        await pilot.press("3")
        await settle(app, pilot)
        assert screen.query_one(TabbedContent).active == "tab-spam"
        # Focus on the tab bar, then on the tab's own table.
        app.set_focus(screen.query_one(Tabs))
        assert "Save\n  key: ^s" in await palette_finds(app, pilot, "save")
        app.set_focus(screen.query_one("#tab-spam").query(DataTable).first())
        await pilot.pause()
        assert "Save\n  key: ^s" in await palette_finds(app, pilot, "save")
        assert "Suspend sending\n  key: s" in await palette_finds(app, pilot, "suspend")


async def test_palette_lists_each_action_once_generic_last(people):
    app = make_app(people)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await open_mailbox(app, pilot, "paul")
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert len(titles) == len({t.casefold() for t in titles}), titles
        assert titles.count("Keys") == 1 and titles.count("Quit") == 1
        # One number per tab on screen, none for a tab that is not there.
        assert "Tab 8" in titles and "Tab 9" not in titles
        assert titles.index("Suspend sending") < titles.index("Search")
        # Textual's cursor and editing keys come after every action of the app.
        generic = [t for t in titles if t in ("Cursor up", "Cursor down", "Scroll Up")]
        assert generic and all(titles.index(g) > titles.index("Recent mailboxes") for g in generic)


async def test_digits_switch_tabs_in_their_order(people):
    app = make_app(people)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await open_mailbox(app, pilot, "paul")
        tabs = app.screen.query_one(TabbedContent)
        for key, pane in (
            ("5", "tab-blocked"),
            ("6", "tab-logins"),
            ("8", "tab-sweep"),
            ("7", "tab-forwards"),
            ("2", "tab-audit"),
            ("4", "tab-activity"),
            ("1", "tab-overview"),
        ):
            await pilot.press(key)
            await pilot.pause()
            assert tabs.active == pane, key
        await pilot.press("9")
        await pilot.pause()
        assert tabs.active == "tab-overview"


async def test_ctrl_f_goes_to_an_empty_search_box(people):
    app = make_app(people)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await open_mailbox(app, pilot, "schäfer")
        await pilot.press("ctrl+f")
        await pilot.pause()
        assert isinstance(app.screen, SearchScreen)
        box = app.screen.query_one("#query", Input)
        assert box.value == "" and app.focused is box
        await pilot.press(*"paul")
        await pilot.pause(0.3)
        await settle(app, pilot)
        assert box.value == "paul"
        assert app.screen.query_one(DataTable).row_count == 1


async def test_slash_focuses_the_filter_or_the_search_box(people):
    app = make_app(people)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await open_mailbox(app, pilot, "paul")
        await pilot.press("slash")
        await pilot.pause()
        assert isinstance(app.screen, SearchScreen)
        assert app.focused is app.screen.query_one("#query", Input)
        app.push_screen(BlockedScreen())
        await settle(app, pilot)
        await pilot.press("slash")
        await pilot.pause()
        box = app.screen.query_one("#blocked-filter", Input)
        assert app.focused is box
        # `?` in the filter box opens the keys, as in the search box; nothing is typed.
        await pilot.press(*"paul", "question_mark")
        await pilot.pause()
        assert isinstance(app.screen, KeysScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert box.value == "paul"


async def test_ctrl_r_lists_recent_mailboxes_and_opens_one(people, state_home):
    app = make_app(people)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await open_mailbox(app, pilot, "paul")
        await open_mailbox(app, pilot, "k.schaefer")
        await pilot.press("ctrl+f", "ctrl+r")
        await pilot.pause()
        assert isinstance(app.screen, RecentScreen)
        text = shown(app)
        # Newest first.
        assert text.index("k.schaefer@baeckerei-koeln.de") < text.index("paul@example.org")
        await pilot.press("down", "enter")
        await settle(app, pilot)
        assert isinstance(app.screen, MailboxScreen)
        assert app.screen.address == "paul@example.org"
    path = state_home / "helpdesk" / "recent"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().splitlines() == ["paul@example.org", "k.schaefer@baeckerei-koeln.de"]


def test_recent_list_keeps_the_last_twenty_once_each(tmp_path):
    path = tmp_path / "state" / "helpdesk" / "recent"
    recent = RecentMailboxes(path)
    for n in range(LIMIT + 5):
        recent.add(f"user{n}@example.org")
    recent.add("user10@example.org")
    again = RecentMailboxes(path)
    assert again.addresses[0] == "user10@example.org"
    assert len(again.addresses) == LIMIT
    assert again.addresses.count("user10@example.org") == 1
    assert "user0@example.org" not in again.addresses
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # A line that is no address (a damaged file) is skipped, not shown.
    path.write_text("junk\nuser1@example.org\n")
    assert RecentMailboxes(path).addresses == ["user1@example.org"]
