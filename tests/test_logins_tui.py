"""The Logins tab at 80×24: diagnoses, last success, the timeline and the groups, from the
captured stack lines (tests/data/dovecot), and hostile client names shown as text."""

from __future__ import annotations

import os
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static, TabbedContent, TabPane

from helpdesk.config import load_config
from helpdesk.mailcenter.db import Database
from helpdesk.mailcenter.mailboxes import create_mailbox
from screens.dialogs.detail import DetailScreen
from screens.logins import LoginsTab
from screens.translated import Translated
from tests.hostile import VALUES
from tests.screen_check import WatchedApp, check, settle

pytestmark = pytest.mark.tui

DATA = Path(__file__).parent / "data" / "dovecot"
ADDRESS = "kunde@capture.example"
SIZE = (80, 24)


class Host(Translated, Screen[None]):
    def compose(self) -> ComposeResult:
        with TabbedContent(), TabPane("Logins", id="tab-logins"):
            yield LoginsTab(ADDRESS)
        yield Footer()


def _world(tmp_path: Path, extra: list[str] | None = None) -> Path:
    db = Database(f"sqlite:///{tmp_path / 'mailcenter.sqlite'}")
    db.create_schema()
    with db.begin() as conn:
        create_mailbox(conn, ADDRESS, password_hash="x", realname="Erika Kunde")
    db.dispose()
    first = (DATA / "mainlog").read_text().split(" ", 1)[0]
    when = (datetime.strptime(first, "%Y-%m-%d") + timedelta(days=1)).timestamp()
    dovecot = tmp_path / "dovecot.log"
    text = (DATA / "dovecot.log").read_text()
    body = text + "".join(line + "\n" for line in extra or [])
    dovecot.write_bytes(body.encode("utf-8", "surrogateescape"))
    mainlog = tmp_path / "mainlog"
    shutil.copy(DATA / "mainlog", mainlog)
    for path in (dovecot, mainlog):
        os.utime(path, (when, when))
    config = tmp_path / "helpdesk.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path / "mailcenter.sqlite"}"\n'
        f'[sendlog]\npaths = ["{mainlog}"]\n'
        f'[logins]\ndovecot_paths = ["{dovecot}"]\nsince = "400d"\n'
        f'fail2ban_log = "{tmp_path / "fail2ban.log"}"\n'
    )
    return config


async def _open(tmp_path: Path, extra: list[str] | None = None):
    return WatchedApp(load_config(_world(tmp_path, extra)))


async def test_tab_shows_diagnoses_and_timeline(tmp_path):
    app = await _open(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await app.push_screen(Host())
        await pilot.pause()
        tab = app.screen.query_one(LoginsTab)
        for _ in range(100):
            await pilot.pause(0.05)
            if tab.timeline is not None and not tab.reading:
                break
        await settle(app, pilot)
        diagnoses = str(app.screen.query_one("#logins-diagnoses", Static).render())
        assert "CRAM-MD5" in diagnoses and "password transfer" in diagnoses
        assert "switch to IMAP" in diagnoses
        table = app.screen.query_one("#logins-table", DataTable)
        rows = [" ".join(c.plain for c in table.get_row_at(i)) for i in range(table.row_count)]
        assert any("IMAP" in r and "iPhone Mail" in r for r in rows)
        assert any("plaintext login" in r for r in rows)
        check(app, "logins tab")
        table.focus()
        await pilot.press("g")
        await settle(app, pilot)
        groups = [" ".join(c.plain for c in table.get_row_at(i)) for i in range(table.row_count)]
        assert any("CRAM-MD5" in g for g in groups)
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, DetailScreen)
        check(app, "logins group detail")


async def test_hostile_client_names_are_text(tmp_path):
    extra = []
    for i, value in enumerate(VALUES.values()):
        session = f"hostile{i}"
        name = value.replace("\n", " ").replace(",", " ")
        extra.append(
            f"Nov 30 23:59:0{i % 10} imap-login: Info: ID sent: name={name}: user=<>, "
            f"rip=127.0.0.10, lip=127.0.0.1, TLS, session=<{session}>"
        )
        extra.append(
            f"Nov 30 23:59:0{i % 10} imap-login: Info: Login: user=<{ADDRESS}>, method=PLAIN, "
            f"rip=127.0.0.10, lip=127.0.0.1, mpid=1, TLS, session=<{session}>"
        )
    app = await _open(tmp_path, extra)
    async with app.run_test(size=SIZE) as pilot:
        await app.push_screen(Host())
        await pilot.pause()
        tab = app.screen.query_one(LoginsTab)
        for _ in range(100):
            await pilot.pause(0.05)
            if tab.timeline is not None and not tab.reading:
                break
        await settle(app, pilot)
        check(app, "hostile logins tab")
        table = app.screen.query_one("#logins-table", DataTable)
        table.focus()
        for row in range(min(table.row_count, len(VALUES))):
            table.move_cursor(row=row)
            await pilot.press("enter")
            await settle(app, pilot)
            check(app, f"hostile login detail {row}")
            await pilot.press("escape")
            await settle(app, pilot)
        await pilot.press("g")
        await settle(app, pilot)
        check(app, "hostile logins groups")
