"""The screens and dialogs added after the first geometry test, at 80×24 in English: every hint,
label, button and footer key on screen is whole (a word cut by the edge or by `…` fails).

The walks are those of test_tui_german_fit.py (Forwards tab and its dialogs, the F4 limits,
the sweep and its undo, the Logins tab and the client-settings card); that file compares the
German with the English, this one holds the English itself to the screen. Ctrl+R, F9 and the
outbound view are walked here."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import DataTable

from helpdesk.config import load_config
from helpdesk.watch.picture import Hour, LogPicture, OverLimit
from screens.clients import ClientsScreen
from screens.outbound import OutboundScreen
from screens.recent import RecentScreen
from tests import test_tui_german_fit as fit
from tests.screen_check import WatchedApp, screen_output, settle
from tests.test_clients_tui import _open as open_clients
from tests.test_logins_cli import _world

pytestmark = pytest.mark.tui

LONG = "buchhaltung.zentrale@mueller-sanitaer-heizung.example"


def assert_whole(name: str, stop: fit.Stop) -> None:
    for text in stop.texts:
        assert fit._whole(text, stop.screen), f"{name}: {text!r} is cut:\n{stop.screen}"
    # A screen's footer has its most important keys first and may end cut; a dialog has none.
    first = list(stop.keys.items())[:3]
    for key, description in first:
        assert fit._whole(description, stop.footer), f"{name}: key {key} cut: {stop.footer}"


@pytest.mark.parametrize("name", ["forward dialog", "auto-reply dialog"])
async def test_forward_dialogs_show_title_and_buttons_at_80x24(name, tmp_path):
    """The two tallest dialogs open with their title (which mailbox) and buttons in view."""
    stops = await fit._walk(fit._forwards, "en", tmp_path)
    stop, _kind = stops[name]
    assert_whole(name, stop)
    assert "urlaub@capture.example" in stop.screen, stop.screen
    assert "[F2]" in stop.screen and "[Esc]" in stop.screen, stop.screen


async def test_recent_outbound_and_clients_cut_nothing_at_80x24(tmp_path: Path):
    from datetime import datetime, timedelta

    now = datetime(2026, 11, 30, 14, 5)
    hours = [
        Hour(start=now - timedelta(hours=8 - k), end=now - timedelta(hours=7 - k), messages=12 * k)
        for k in range(8)
    ]
    over = OverLimit(LONG, "10 messages per hour", since=now, last=now, refusals=7)
    picture = LogPicture(hours=hours, over=[over])
    app = WatchedApp(load_config(_world(tmp_path)))
    async with app.run_test(size=fit.SIZE) as pilot:
        await settle(app, pilot)
        app.push_screen(RecentScreen([LONG, "paul@example.org"]))
        await settle(app, pilot)
        stop = fit._take(app)
        assert_whole("recent", stop)
        assert LONG in stop.screen
        app.pop_screen()
        app.push_screen(OutboundScreen(picture))
        await settle(app, pilot)
        stop = fit._take(app)
        assert_whole("outbound", stop)
        # The account over its limit keeps its start, the limit and the time are whole (the
        # count of refusals is a column of wide terminals).
        row = next(line for line in stop.screen.split("\n") if "buchhaltung" in line)
        assert "10 msgs/h" in row and "11-30 14:05" in row, row
        app.pop_screen()
        await open_clients(app, pilot)
        stop = fit._take(app)
        assert_whole("old mail programs", stop)
        table = app.screen.query_one("#clients-table", DataTable)
        assert table.row_count == 1
        row = " ".join(c.plain for c in table.get_row_at(0))
        assert row.split()[0] in screen_output(app)[0]
        assert isinstance(app.screen, ClientsScreen)
