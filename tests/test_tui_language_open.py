"""A language switch while a list with a typed filter is open: the list comes back in the new
language with the filter as typed (rebuilding a screen must not throw away the operator's work)."""

from __future__ import annotations

import socket

import pytest
from textual.widgets import Input

from helpdesk.config import load_config
from helpdesk.i18n import language, set_language
from helpdesk.mailcenter.db import Database
from screens.blocked import BlockedScreen
from tests.screen_check import WatchedApp, screen_output, settle

pytestmark = pytest.mark.tui


@pytest.fixture(autouse=True)
def english_afterwards():
    yield
    set_language("en")


def _app(tmp_path) -> WatchedApp:
    # rspamd on a port where nothing listens: the list says so, the filter box is there anyway.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"sqlite:///{tmp_path / 'm.sqlite'}"
    Database(url).create_schema()
    config = tmp_path / "helpdesk.toml"
    config.write_text(
        f'[database]\nurl = "{url}"\n[rspamd]\n'
        f'controllers = [{{ name = "eins", url = "http://127.0.0.1:{port}" }}]\n'
    )
    return WatchedApp(load_config(config))


async def test_the_blocked_list_keeps_its_filter_across_a_switch(tmp_path):
    app = _app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+b")
        await settle(app, pilot, 0.2)
        assert isinstance(app.screen, BlockedScreen)
        app.screen.query_one("#blocked-filter", Input).focus()
        await pilot.press(*"anna@firma")
        await settle(app, pilot, 0.2)
        before = app.screen
        app.switch_language("de")
        # Not settle(): the list's read fails (nothing listens), which the worker reports.
        for _ in range(20):
            await pilot.pause(0.05)
        assert language() == "de"
        assert isinstance(app.screen, BlockedScreen) and app.screen is not before
        assert app.screen.query_one("#blocked-filter", Input).value == "anna@firma"
        assert "Filter" in screen_output(app)[0].split("\n")[-1]


async def test_ctrl_c_out_of_habit_says_how_to_quit_in_the_operators_language(tmp_path):
    # Textual's own hint is English; the app gives it in the UI language.
    app = _app(tmp_path)
    set_language("de")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+b")  # a screen where no text box takes Ctrl+C for copying
        await pilot.pause(0.2)
        app.screen.query_one("#blocked-table").focus()
        await pilot.press("ctrl+c")
        await pilot.pause(0.2)
        assert ("Strg+Q beendet den Helpdesk", "Beenden?", False) in app.notes, app.notes
        assert app.is_running


async def test_f4_in_the_auto_reply_dialog_switches_only_the_customers_text(tmp_path):
    from textual.widgets import TextArea

    from screens.forwards import AutoReplyDialog, ForwardsTab
    from tests import test_forward_tui

    app, db = test_forward_tui._app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.push_screen(test_forward_tui.Host())
        await test_forward_tui._summary(app, pilot)
        app.screen.query_one(ForwardsTab).focus()
        await pilot.press("a")
        await settle(app, pilot)
        assert isinstance(app.screen, AutoReplyDialog)
        dialog = app.screen

        def customer() -> tuple[str, str]:
            subject = dialog.query_one("#ar-subject", Input).value
            return subject, dialog.query_one("#ar-text", TextArea).text

        assert customer()[0] == "Out of office"
        app.screen.query_one("#ar-until", Input).value = "2099-01-15"
        await pilot.press("f4")
        await pilot.pause()
        subject, body = customer()
        # Formal, as a German customer is written to ("Ihre", never "deine").
        assert subject == "Abwesenheitsnotiz" and "Ihre Nachricht" in body, body
        assert "15. Januar 2099" in body  # the day as the customer reads it
        # The operator's texts stay English: the dialog's own words.
        shown = screen_output(app)[0]
        assert "Ticket reference (required)" in shown and "From (empty: now)" in shown
        assert language() == "en"
        await pilot.press("f4")
        await pilot.pause()
        assert customer()[0] == "Out of office" and "Thank you" in customer()[1]
    db.dispose()
