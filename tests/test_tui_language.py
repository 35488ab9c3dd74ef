"""The language switch in the running TUI: every screen can be built again in the new language,
the palette switches, and unsaved spam edits refuse the switch."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest
from textual.command import CommandPalette
from textual.screen import Screen
from textual.widgets import Input, TabbedContent

import screens
from helpdesk.i18n import language, set_language
from screens.keys import KeysScreen
from screens.mailbox import MailboxScreen
from screens.search import SearchScreen
from screens.spam import SpamTab
from screens.translated import Translated
from tests.screen_check import screen_output
from tests.test_tui_geometry import make_app, settle
from tests.test_tui_keys import open_mailbox, people, state_home  # noqa: F401 (fixtures)

pytestmark = pytest.mark.tui

# Screens of this part of the UI: they are translated now.
OWN = {
    "screens.search.SearchScreen",
    "screens.mailbox.MailboxScreen",
    "screens.keys.KeysScreen",
    "screens.recent.RecentScreen",
    "screens.dialogs.ticket.TicketDialog",
    "screens.dialogs.prompt.PromptDialog",
    "screens.dialogs.detail.DetailScreen",
    "screens.dialogs.quit.QuitDialog",
    "screens.dialogs.leave.LeaveDialog",
}


def screen_classes() -> list[type[Screen]]:
    """Every Screen subclass defined in a module under screens/."""
    found = []
    for module_info in pkgutil.walk_packages(screens.__path__, "screens."):
        module = importlib.import_module(module_info.name)
        for obj in vars(module).values():
            if (
                inspect.isclass(obj)
                and issubclass(obj, Screen)
                and obj.__module__ == module.__name__
            ):
                found.append(obj)
    return sorted(found, key=lambda cls: f"{cls.__module__}.{cls.__qualname__}")


def _name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _params():
    for cls in screen_classes():
        yield pytest.param(cls, id=_name(cls))


def test_the_screens_of_this_part_are_all_found():
    # The check below must not pass by finding nothing.
    assert {_name(cls) for cls in screen_classes()} >= OWN


@pytest.mark.parametrize("cls", list(_params()))
def test_every_screen_is_translated(cls):
    mro = cls.__mro__
    assert Translated in mro, f"{_name(cls)} lacks Translated"
    # Before Textual's Screen: its footer reads the translated bindings.
    assert mro.index(Translated) < mro.index(Screen), f"{_name(cls)}: Translated after Screen"


@pytest.fixture(autouse=True)
def english_afterwards():
    yield
    set_language("en")


def footer(app) -> str:
    return screen_output(app)[0].split("\n")[-1]


def shown(app) -> str:
    return screen_output(app)[0]


async def palette_choose(app, pilot, word: str) -> None:
    await pilot.press("ctrl+p")
    await pilot.pause()
    assert isinstance(app.screen, CommandPalette)
    await pilot.press(*word)
    await pilot.pause(0.5)
    await pilot.press("enter")
    await settle(app, pilot)


async def palette_text(app, pilot, word: str) -> str:
    await pilot.press("ctrl+p")
    await pilot.pause()
    await pilot.press(*word)
    await pilot.pause(0.5)
    text = shown(app)
    await pilot.press("escape")
    await pilot.pause()
    return text


async def test_the_palette_switches_the_running_app_to_german_and_back(people):  # noqa: F811
    app = make_app(people)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await open_mailbox(app, pilot, "paul")
        await pilot.press("2")  # the Audit tab
        await settle(app, pilot)
        before = app.screen
        assert "Suspend sending" in footer(app)

        await palette_choose(app, pilot, "Sprache")
        assert language() == "de"
        screen = app.screen
        # Built again in German, showing the same mailbox on the same tab.
        assert isinstance(screen, MailboxScreen) and screen is not before
        assert screen.address == "paul@example.org"
        assert screen.query_one(TabbedContent).active == "tab-audit"
        text = shown(app)
        assert "paul@example.org" in text and "Übersicht" in text and "Protokoll" in text
        assert "Bearbeiter" in text  # the audit table's column, on the tab shown
        bottom = footer(app)
        for words in ("Versand sperren", "Entsperren", "Neues Passwort", "Tasten"):
            assert words in bottom, bottom
        assert "Suspend" not in bottom
        # The search screen below keeps its query.
        search = app.screen_stack[1]
        assert isinstance(search, SearchScreen)
        assert search.query_one("#query", Input).value == "paul"

        await pilot.press("question_mark")
        await settle(app, pilot)
        assert isinstance(app.screen, KeysScreen)
        # The whole panel (it scrolls at 80×24), the screen's own keys in view first.
        assert "Versand sperren" in shown(app)
        keys = str(app.screen.query_one("#keys-text").render())
        for words in ("Diese Ansicht", "Versand sperren", "Überall", "Letzte Postfächer"):
            assert words in keys, keys
        await pilot.press("escape")
        await pilot.pause()

        found = await palette_text(app, pilot, "sperren")
        assert "Versand sperren" in found and "Taste: s" in found, found
        found = await palette_text(app, pilot, "Language")
        assert "Language: English" in found, found

        await palette_choose(app, pilot, "Language")
        assert language() == "en"
        screen = app.screen
        assert isinstance(screen, MailboxScreen) and screen.address == "paul@example.org"
        assert screen.query_one(TabbedContent).active == "tab-audit"
        bottom = footer(app)
        assert "Suspend sending" in bottom and "Reset password" in bottom, bottom
        assert "Overview" in shown(app) and "Operator" in shown(app)


async def test_unsaved_spam_edits_refuse_the_switch_with_one_line(people):  # noqa: F811
    app = make_app(people)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await open_mailbox(app, pilot, "paul")
        mailbox = app.screen
        await pilot.press("3")  # the Spam tab
        await settle(app, pilot)
        mailbox.query_one("#spam-ladder").focus()
        await pilot.press("a")
        await pilot.pause()
        await pilot.press(*"6:junk", "enter")
        await settle(app, pilot)
        tab = mailbox.query_one(SpamTab)
        assert tab.dirty
        app.notes.clear()

        await palette_choose(app, pilot, "Sprache")
        assert language() == "en"
        assert app.screen is mailbox and tab.dirty
        assert "Add rule" in footer(app)
        [(message, _title, markup)] = [note for note in app.notes if "discard" in note[0]]
        assert message == "Save or discard first: spam settings of paul@example.org"
        assert not markup and "\n" not in message
