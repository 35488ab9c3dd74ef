"""The sweep tab at 80×24: a forward another program wrote is listed as such and flagged,
and `u`, a ticket and F2 remove it with an audit row; a password change is not undone; the
customer's script that redirects outside is flagged and deactivated the same way."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import insert, select, update
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import DataTable, Footer, TabbedContent, TabPane

from helpdesk.config import load_config
from helpdesk.mailcenter.db import Database
from helpdesk.mailcenter.mailboxes import create_mailbox
from helpdesk.mailcenter.schema import audit_log, forwards, mailboxes
from screens.dialogs.ticket import TicketDialog
from screens.sweep import TAB_LABEL, SweepTab
from screens.translated import Translated
from screens.widgets.status import StatusLine
from tests.rules_dir import command, put
from tests.screen_check import WatchedApp, check, settle

pytestmark = pytest.mark.tui
ADDRESS = "opfer@capture.example"


class Host(Translated, Screen[None]):
    def compose(self) -> ComposeResult:
        with TabbedContent(), TabPane(TAB_LABEL, id="tab-sweep"):
            yield SweepTab(ADDRESS)
        yield Footer()


async def _rows(app, pilot) -> list[str]:
    tab = app.screen.query_one(SweepTab)
    for _ in range(100):
        await pilot.pause(0.05)
        if tab.changes is not None and not tab.running("read") and not tab.running("undo"):
            break
    await settle(app, pilot)
    table = app.screen.query_one("#sweep-table", DataTable)
    return [" ".join(c.plain for c in table.get_row_at(i)) for i in range(table.row_count)]


async def test_undo_a_forward_another_program_wrote(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'mailcenter.sqlite'}"
    db = Database(url)
    db.create_schema()
    with db.begin() as conn:
        mailbox_id = create_mailbox(conn, ADDRESS, password_hash="x")
        conn.execute(insert(forwards).values(mailbox_id=mailbox_id, target="loot@evil.example"))
        conn.execute(update(mailboxes).values(password_hash="y"))
    config = tmp_path / "helpdesk.toml"
    config.write_text(f'[database]\nurl = "{url}"\n')
    app = WatchedApp(load_config(config))
    async with app.run_test(size=(80, 24)) as pilot:
        await app.push_screen(Host())
        rows = await _rows(app, pilot)
        check(app, "sweep tab")
        assert any("loot@evil.example" in r and "other" in r and "EXTERNAL" in r
                   for r in rows), rows  # fmt: skip
        table = app.screen.query_one("#sweep-table", DataTable)
        table.focus()
        # The newest first: the password change, which is not undone.
        password_row = next(i for i, r in enumerate(rows) if "reset pw" in r)
        table.move_cursor(row=password_row)
        await pilot.press("u")
        await settle(app, pilot)
        assert not isinstance(app.screen, TicketDialog)
        forward_row = next(i for i, r in enumerate(rows) if "loot@evil.example" in r)
        table.move_cursor(row=forward_row)
        await pilot.press("u")
        await settle(app, pilot)
        assert isinstance(app.screen, TicketDialog)
        await pilot.press(*"HD-9", "f2")
        rows = await _rows(app, pilot)
        assert any("removed" in r and "helpdesk" in r for r in rows), rows
    with db.connect() as conn:
        assert conn.execute(select(forwards)).first() is None
        actions = conn.execute(select(audit_log.c.action)).scalars().all()
    assert actions == ["sweep.undo"]
    db.dispose()


async def test_a_customer_script_that_redirects_outside_is_flagged_and_deactivated(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'mailcenter.sqlite'}"
    db = Database(url)
    db.create_schema()
    with db.begin() as conn:
        create_mailbox(conn, ADDRESS, password_hash="x")
    folder = tmp_path / "sieve"
    put(folder, ADDRESS, "own", 'require ["copy"];\nredirect :copy "loot@evil.example";\n')
    # Outside text: a name and a target with markup and escapes, shown as text (check()).
    hostile = "[@click=app.quit]bye[]\x1b[2J\u202e"
    put(folder, ADDRESS, hostile, f'redirect "{hostile}@x.example";\n', active=False)
    config = tmp_path / "helpdesk.toml"
    config.write_text(f'[database]\nurl = "{url}"\n\n[sieve]\nrules_command = {command(folder)}\n')
    app = WatchedApp(load_config(config))
    async with app.run_test(size=(80, 24)) as pilot:
        await app.push_screen(Host())
        rows = await _rows(app, pilot)
        check(app, "sweep tab, rules")
        own = next(i for i, r in enumerate(rows) if "rule added: own" in r)
        assert len(rows) == 2 and "EXTERNAL" in rows[own], rows
        status = app.screen.query_one("#sweep-status", StatusLine).text
        assert "rules not read" not in status, status
        table = app.screen.query_one("#sweep-table", DataTable)
        table.focus()
        table.move_cursor(row=1 - own)
        await pilot.press("enter")
        await settle(app, pilot)
        check(app, "sweep detail, a hostile rule")
        await pilot.press("escape")
        await settle(app, pilot)
        table.move_cursor(row=own)
        await pilot.press("u")
        await settle(app, pilot)
        assert isinstance(app.screen, TicketDialog)
        await pilot.press(*"HD-10", "f2")
        await _rows(app, pilot)
    assert not (folder / ADDRESS / "active").exists()
    with db.connect() as conn:
        assert conn.execute(select(audit_log.c.ticket)).scalars().all() == ["HD-10"]
    db.dispose()


async def test_the_tab_says_when_the_rules_cannot_be_read(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'mailcenter.sqlite'}"
    db = Database(url)
    db.create_schema()
    with db.begin() as conn:
        create_mailbox(conn, ADDRESS, password_hash="x")
    config = tmp_path / "helpdesk.toml"
    config.write_text(f'[database]\nurl = "{url}"\n')
    app = WatchedApp(load_config(config))
    async with app.run_test(size=(80, 24)) as pilot:
        await app.push_screen(Host())
        await _rows(app, pilot)
        status = app.screen.query_one("#sweep-status", StatusLine).text
        assert "rules not read" in status, status
    db.dispose()
