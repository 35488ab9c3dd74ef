"""The search and mailbox screens, their tabs and dialogs in German at 80×24: each opens, and
what carries meaning is on screen whole (German words are longer than English ones).

The text checked is what the terminal would show (tests/screen_check.py); a text that wraps is
checked word by word, each word whole."""

from __future__ import annotations

import re

import pytest
from textual.command import CommandPalette
from textual.widgets import Button, Label, TabbedContent

from helpdesk.i18n import set_language
from screens.dialogs.detail import DetailScreen
from screens.dialogs.leave import LeaveDialog
from screens.dialogs.prompt import PromptDialog
from screens.dialogs.quit import QuitDialog
from screens.dialogs.ticket import TicketDialog
from screens.keys import KeysScreen
from screens.mailbox import TABS, MailboxScreen
from screens.recent import RecentScreen
from screens.spam import SpamTab
from tests.test_tui_geometry import (  # noqa: F401 (demo is a fixture)
    demo,
    make_app,
    must_change_address,
    open_mailbox,
    search_for,
    settle,
    shown,
)

pytestmark = pytest.mark.tui

TAB_LABELS = (
    "Übersicht",
    "Protokoll",
    "Spam",
    "Aktivität",
    "Blockiert",
    "Anmeldung",
    "Weiterl.",
    "Prüfung",
)
MAILBOX_KEYS = ("Versand sperren", "Entsperren", "Neues Passwort", "Tasten")
MAILBOX_HINT = "s sperren · r entsperren · p Passwort · ? Tasten · Esc zurück"


@pytest.fixture(autouse=True)
def german():
    set_language("de")
    yield
    set_language("en")


@pytest.fixture(autouse=True)
def state_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))


def screen_text(app) -> str:
    return "\n".join(shown(app))


def assert_whole(app, *texts: str) -> None:
    """Each text is on screen on one line, uncut."""
    screen = screen_text(app)
    for text in texts:
        assert text in screen, f"{text!r} is not whole on screen:\n{screen}"


def assert_words_whole(app, text: str) -> None:
    """A text that may wrap: every word of it is on screen whole, in order."""
    tokens = re.findall(r"[^\s█▎▊]+", screen_text(app))
    position = 0
    for word in text.split():
        assert word in tokens[position:], f"{word!r} of {text!r} is not whole on screen"
        position = tokens.index(word, position) + 1


def assert_widgets_whole(app) -> None:
    """Every label and button of the dialog on top is on screen whole."""
    for widget in app.screen.query(Label):
        assert_words_whole(app, str(widget.render()))
    for button in app.screen.query(Button):
        assert_whole(app, str(button.label))


async def test_search_screen_in_german(demo):  # noqa: F811
    address = must_change_address(demo)
    app = make_app(demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert_whole(
            app,
            "Name, Adresse oder Teil davon, Domain oder Kundennummer",
            "Suchbegriff eingeben.",
        )
        await search_for(app, pilot, address)
        lines = shown(app)
        assert_whole(app, "1 Treffer · ↑↓ wählen · Enter öffnet")
        heading = next(line for line in lines if "Adresse" in line)
        assert heading.split() == ["Adresse", "Name", "Kunde", "Status"], heading
        row = [line for line in lines if address.split("@")[0] in line][-1]
        assert row.rstrip().endswith(" gesperrt"), row
        for words in ("Postfach öffnen", "Leeren", "Tasten", "^p Befehle"):
            assert words in lines[-1], lines[-1]
        await search_for(app, pilot, "zz")
        assert_whole(app, "Kein Postfach passt zu „")


async def test_mailbox_screen_and_every_tab_in_german(demo):  # noqa: F811
    address = must_change_address(demo)
    app = make_app(demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await open_mailbox(app, pilot, address)
        labels = [str(t.label) for t in app.screen.query_one(TabbedContent).query("Tab")]
        assert labels == list(TAB_LABELS)
        assert all(len(label) <= 10 for label in labels)
        for number, (tab_id, _label) in enumerate(TABS, 1):
            await pilot.press(str(number))
            await settle(app, pilot)
            assert app.screen.query_one(TabbedContent).active == tab_id
            lines = shown(app)
            tab_bar = next(line for line in lines if "Übersicht" in line)
            assert all(label in tab_bar for label in TAB_LABELS), tab_bar
            for words in MAILBOX_KEYS:
                assert words in lines[-1], (tab_id, lines[-1])
            assert_whole(app, MAILBOX_HINT)
            if tab_id == "tab-overview":
                assert_whole(
                    app,
                    "Anmelden & Empfang   ja",
                    "Versand              GESPERRT (Mail kommt weiter an)",
                    "Wechsel bei nächster Anmeldung",
                    "Speicher ",
                    "Angelegt ",
                )
                assert f"{address.split('@')[0]}" in lines[1] and "gesperrt" in lines[1]
            if tab_id == "tab-audit":
                heading = next(line for line in lines if "Bearbeiter" in line)
                for title in ("Zeit (", "Bearbeiter", "Aktion", "Ticket", "Änderung"):
                    assert title in heading, heading
                assert "T-4711" in screen_text(app)


async def test_audit_row_in_full_in_german(demo):  # noqa: F811
    address = must_change_address(demo)
    app = make_app(demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await open_mailbox(app, pilot, address)
        await pilot.press("2")
        await settle(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, DetailScreen)
        for label in ("Zeit", "Bearbeiter", "Ticket", "Grund", "Änderung"):
            assert any(line.lstrip("█ ").startswith(label) for line in shown(app)), label
        assert_whole(app, f"suspend für {address}", "T-4711")
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, MailboxScreen)


@pytest.mark.parametrize(
    ("key", "number", "title", "question"),
    [
        ("r", 0, "Versand entsperren", "darf wieder Mail senden."),
        ("s", 1, "Versand sperren", "kann keine Mail mehr senden. Mail kommt weiter an."),
    ],
)
async def test_ticket_dialog_in_german(demo, key, number, title, question):  # noqa: F811
    address = must_change_address(demo, number)
    app = make_app(demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await open_mailbox(app, pilot, address)
        await pilot.press(key)
        await settle(app, pilot)
        assert isinstance(app.screen, TicketDialog)
        assert_whole(app, title, "Ticketnummer (Pflicht)", "Grund (optional)")
        assert_whole(app, f"{title} [F2]", "Abbrechen [Esc]")
        assert_words_whole(app, f"{address} {question}")
        assert_widgets_whole(app)
        await pilot.press("f2")  # no ticket: refused, said in one line
        await pilot.pause()
        assert_whole(app, "Ticketnummer erforderlich.")
        await pilot.press(*"T-1", "enter", "enter")  # Enter in the reason never writes
        await pilot.pause()
        assert_whole(app, "F2 bestätigt, Esc bricht ab.")
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, MailboxScreen)


async def test_keys_panel_in_german(demo):  # noqa: F811
    app = make_app(demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await open_mailbox(app, pilot, must_change_address(demo))
        await pilot.press("question_mark")
        await settle(app, pilot)
        assert isinstance(app.screen, KeysScreen)
        assert_whole(
            app, "Tasten · ↑↓ PgUp PgDn blättern · Esc schließt", "Diese Ansicht", "Versand sperren"
        )
        seen = screen_text(app)
        for _ in range(12):
            await pilot.press("pagedown")
            await pilot.pause()
            seen += screen_text(app)
        for words in ("Überall", "Letzte Postfächer", "Versandprotokoll", "Listen und Textfelder"):
            assert words in seen, words


async def test_palette_in_german(demo):  # noqa: F811
    app = make_app(demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await open_mailbox(app, pilot, must_change_address(demo))
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        assert_whole(app, "Befehl suchen …")
        await pilot.press(*"Versand")
        await pilot.pause(0.5)
        assert_whole(app, "Versand sperren", "Taste: s", "Versandprotokoll", "Taste: f6")
        await pilot.press("escape")
        await pilot.pause()


async def test_recent_mailboxes_in_german(demo):  # noqa: F811
    address = must_change_address(demo)
    app = make_app(demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert isinstance(app.screen, RecentScreen)
        assert_whole(app, "Noch kein Postfach geöffnet · Esc schließt")
        await pilot.press("escape")
        await pilot.pause()
        await open_mailbox(app, pilot, address)
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert_whole(app, "Zuletzt geöffnet · Enter öffnet · Esc schließt", address)


async def dirty_spam_tab(app, pilot, address: str) -> SpamTab:
    await open_mailbox(app, pilot, address)
    await pilot.press("3")
    await settle(app, pilot)
    app.screen.query_one("#spam-ladder").focus()
    await pilot.press("a")
    await pilot.pause()
    assert isinstance(app.screen, PromptDialog)
    assert_widgets_whole(app)
    await pilot.press(*"6:junk", "enter")
    await settle(app, pilot)
    tab = app.screen.query_one(SpamTab)
    assert tab.dirty
    return tab


async def test_leave_and_quit_questions_in_german(demo):  # noqa: F811
    address = must_change_address(demo, 2)
    app = make_app(demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        tab = await dirty_spam_tab(app, pilot, address)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, LeaveDialog)
        assert_whole(app, "Ungespeicherte Änderungen")
        assert_whole(app, "Speichern [F2]", "Verwerfen [F3]", "Bleiben [Esc]")
        assert_words_whole(app, f"Nicht gespeichert: Spam-Einstellungen von {address}.")
        await pilot.press("enter")  # stay
        await pilot.pause()
        # The app's Ctrl+Q asks the same question; this test app records quitting instead.
        app.push_screen(QuitDialog(app.unsaved_edits()))
        await pilot.pause()
        assert_whole(app, "Ohne Speichern beenden?", "Ctrl+Q beendet · Esc bleibt")
        assert_words_whole(app, f"Nicht gespeichert: Spam-Einstellungen von {address}.")
        assert_widgets_whole(app)
        await pilot.press("escape")
        await pilot.pause()
        tab.action_revert()
        assert not tab.dirty
