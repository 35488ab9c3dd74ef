"""The TUI shell driven with Pilot: search, open, back, suspend with a ticket, see the audit row."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable, Input, Static

from helpdesk.config import Config
from helpdesk.mailcenter.audit import read
from helpdesk.mailcenter.mailboxes import create_mailbox, get_mailbox
from screens.app import HelpdeskApp
from screens.mailbox import MailboxScreen
from screens.search import SearchScreen

pytestmark = pytest.mark.tui


def make_app(db) -> HelpdeskApp:
    config = Config(None, {"database": {"url": db.url.render_as_string(hide_password=False)}})
    return HelpdeskApp(config, db=db)


def seed(db) -> None:
    with db.begin() as conn:
        create_mailbox(conn, "k.schaefer@baeckerei-koeln.de", realname="Käthe Schäfer")
        create_mailbox(conn, "info@schaefer-bau.de", realname="Bauunternehmen Schäfer")
        create_mailbox(conn, "paul@example.org", realname="Paul Beispiel")


async def settle(app, pilot) -> None:
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


async def test_search_open_back_suspend(db):
    seed(db)
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, SearchScreen)
        assert app.focused is app.screen.query_one("#query", Input)
        await pilot.press(*"schäfer")
        await pilot.pause(0.3)
        await settle(app, pilot)
        table = app.screen.query_one(DataTable)
        assert table.row_count == 2
        first = table.get_row_at(0)
        # Both match the name word "schafer"; equal words list the older mailbox first.
        assert str(first[0]) == "k.schaefer@baeckerei-koeln.de"
        assert "2 matches" in str(app.screen.query_one("#search-status", Static).render())

        await pilot.press("down", "enter")
        await settle(app, pilot)
        assert isinstance(app.screen, MailboxScreen)
        assert app.screen.address == "info@schaefer-bau.de"
        assert "Bauunternehmen Schäfer" in str(
            app.screen.query_one("#mailbox-title", Static).render()
        )

        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, SearchScreen)

        await pilot.press("enter")
        await settle(app, pilot)
        await pilot.press("s")
        await pilot.pause()
        # Enter never confirms; F2 without a ticket is refused.
        await pilot.press("enter", "enter")
        await pilot.pause()
        assert "F2 confirms" in str(app.screen.query_one("#dialog-error").render())
        await pilot.press("f2")
        await pilot.pause()
        assert "ticket reference is required" in str(app.screen.query_one("#dialog-error").render())
        await pilot.press(*"T-4711", "enter", *"spam wave", "enter")
        await pilot.pause()
        assert app.screen.query_one("#reason", Input).value == "spam wave"
        await pilot.press("f2")
        await settle(app, pilot)
        assert isinstance(app.screen, MailboxScreen)
        await settle(app, pilot)
        audit = app.screen.query_one("#mailbox-audit", DataTable)
        assert audit.row_count == 1
        row = audit.get_row_at(0)
        assert str(row[2]) == "suspend" and str(row[3]) == "T-4711"
        assert "SUSPENDED" in str(app.screen.query_one("#mailbox-details", Static).render())

    with db.connect() as conn:
        # Back on the search screen the cursor stayed on the row opened before.
        assert get_mailbox(conn, "info@schaefer-bau.de").smtp_enabled is False
        assert get_mailbox(conn, "k.schaefer@baeckerei-koeln.de").smtp_enabled is True
        [entry] = read(conn, target="info@schaefer-bau.de")
        assert entry.reason == "spam wave"


async def test_unreachable_database_is_a_message_not_a_crash(tmp_path):
    config = Config(None, {"database": {"url": "postgresql+psycopg://nobody:pw@127.0.0.1:1/x"}})
    app = HelpdeskApp(config)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*"mueller")
        await pilot.pause(0.3)
        await settle(app, pilot)
        status = str(app.screen.query_one("#search-status", Static).render())
        assert "cannot reach the database" in status
        assert "pw" not in status.split("cannot reach")[1].split("127.0.0.1")[0]
        assert isinstance(app.screen, SearchScreen)


async def test_palette_offers_the_screen_actions(db):
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        titles = [c.title for c in app.get_system_commands(MailboxScreen("x@y.de"))]
        assert "Suspend sending" in titles and "Reinstate" in titles
        assert "Search" in titles


async def test_every_screen_is_reachable_by_key_and_back(db):
    from screens.blocked import BlockedScreen
    from screens.campaign import CampaignScreen

    seed(db)
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        for key, screen_type in (("ctrl+b", BlockedScreen), ("f7", CampaignScreen)):
            await pilot.press(key)
            await settle(app, pilot)
            assert isinstance(app.screen, screen_type), key
            await pilot.press("escape")
            await pilot.pause()
            assert isinstance(app.screen, SearchScreen), key
        # The mailbox screen carries the features' tabs.
        await pilot.press(*"paul")
        await pilot.pause(0.3)
        await settle(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        tabs = [str(t.label) for t in app.screen.query("Tab")]
        assert {"Overview", "Audit", "Spam", "Activity", "Blocked"} <= set(tabs)
