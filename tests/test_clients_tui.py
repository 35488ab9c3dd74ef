"""The fleet screen at 80×24: the mailboxes with old client settings from the captured stack
lines, hostile names as text, Enter opens the mailbox."""

from __future__ import annotations

import pytest
from sqlalchemy import update
from textual.widgets import DataTable

from helpdesk.config import load_config
from helpdesk.mailcenter.db import Database
from helpdesk.mailcenter.schema import mailboxes
from screens.clients import ClientsScreen
from tests.hostile import VALUES
from tests.screen_check import WatchedApp, check, settle
from tests.test_logins_cli import ADDRESS, _world

pytestmark = pytest.mark.tui

SIZE = (80, 24)


async def _open(app, pilot) -> ClientsScreen:
    await app.push_screen(ClientsScreen())
    screen = app.screen
    for _ in range(100):
        await pilot.pause(0.05)
        if screen.fleet is not None and not screen.reading:
            break
    await settle(app, pilot)
    return screen


async def test_fleet_screen_lists_and_opens(tmp_path):
    from screens.mailbox import MailboxScreen

    app = WatchedApp(load_config(_world(tmp_path)))
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(app, pilot)
        table = screen.query_one("#clients-table", DataTable)
        rows = [" ".join(c.plain for c in table.get_row_at(i)) for i in range(table.row_count)]
        assert len(rows) == 1 and ADDRESS in rows[0] and "Erika Kunde" in rows[0]
        check(app, "fleet screen")
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, MailboxScreen) and app.screen.address == ADDRESS


async def test_fleet_screen_hostile_names(tmp_path):
    config = _world(tmp_path)
    db = Database(f"sqlite:///{tmp_path / 'mailcenter.sqlite'}")
    with db.begin() as conn:
        conn.execute(
            update(mailboxes)
            .where(mailboxes.c.address == ADDRESS)
            .values(realname=" ".join(VALUES.values())[:200])
        )
    db.dispose()
    app = WatchedApp(load_config(config))
    async with app.run_test(size=SIZE) as pilot:
        await _open(app, pilot)
        check(app, "hostile fleet screen")
