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


async def _read(app, pilot) -> LoginsTab:
    await app.push_screen(Host())
    await pilot.pause()
    tab = app.screen.query_one(LoginsTab)
    for _ in range(100):
        await pilot.pause(0.05)
        if tab.timeline is not None and not tab.reading:
            break
    await settle(app, pilot)
    return tab


async def test_settings_card_in_both_languages(tmp_path):
    from screens.logins import CardScreen

    app = await _open(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await _read(app, pilot)
        app.screen.query_one("#logins-table", DataTable).focus()
        await pilot.press("k")
        await settle(app, pilot)
        assert isinstance(app.screen, CardScreen)
        text = str(app.screen.query_one("#card-text", Static).render())
        assert "Settings for your mail program" in text and ADDRESS in text
        # copied as it is shown (OSC 52), ready to paste into an e-mail
        assert "Settings for your mail program" in app.clipboard and ADDRESS in app.clipboard
        await pilot.press("d")
        await settle(app, pilot)
        text = str(app.screen.query_one("#card-text", Static).render())
        assert "Einstellungen für Ihr E-Mail-Programm" in text and "Passwort, normal" in text
        assert "Einstellungen für Ihr E-Mail-Programm" in app.clipboard
        check(app, "settings card")
        await pilot.press("escape")
        await settle(app, pilot)
        assert isinstance(app.screen, Host)


async def test_lift_a_ban_with_a_ticket_and_f2(tmp_path):
    from sqlalchemy import select

    from helpdesk.mailcenter.schema import audit_log
    from screens.dialogs.ticket import TicketDialog

    config = _world(tmp_path)
    # The ban as fail2ban logs it; the unban command is `true` here (the real wrapper and
    # fail2ban are tested on the stack, tests/test_unban_stack.py).
    guess = next(x for x in (DATA / "dovecot.log").read_text().splitlines() if "127.0.0.9," in x)
    year = (DATA / "mainlog").read_text()[:4]
    when = datetime.strptime(f"{year} {guess[:15]}", "%Y %b %d %H:%M:%S") + timedelta(seconds=2)
    (tmp_path / "fail2ban.log").write_text(
        f"{when:%Y-%m-%d %H:%M:%S},123 fail2ban.actions        [99]: NOTICE  [dovecot] Ban "
        "127.0.0.9\n"
    )
    with config.open("a") as f:
        f.write('unban_command = ["true"]\n')
    app = WatchedApp(load_config(config))
    async with app.run_test(size=SIZE) as pilot:
        tab = await _read(app, pilot)
        assert "banned" in str(app.screen.query_one("#logins-diagnoses", Static).render())
        assert any(e.banned for e in tab.timeline.events)
        table = app.screen.query_one("#logins-table", DataTable)
        rows = [" ".join(c.plain for c in table.get_row_at(i)) for i in range(table.row_count)]
        # the marks are not cut at 80 columns: three attempts, a ban, attributed (?)
        marked = [r for r in rows if "×3 ban · wrong" in r]
        assert len(marked) == 1 and "127.0.0.9" in marked[0]
        assert any(r.split()[3:5] == ["?", "mechanism"] and "127.0.0.12" in r for r in rows)
        app.screen.query_one("#logins-table", DataTable).focus()
        await pilot.press("u")
        await settle(app, pilot)
        assert isinstance(app.screen, TicketDialog)
        for key in "T-42":
            await pilot.press(key)
        await pilot.press("enter")  # Enter never confirms a write
        await settle(app, pilot)
        assert isinstance(app.screen, TicketDialog)
        await pilot.press("f2")
        for _ in range(60):
            await pilot.pause(0.05)
            if not isinstance(app.screen, TicketDialog) and not tab.reading:
                break
        await settle(app, pilot)
        db = Database(f"sqlite:///{tmp_path / 'mailcenter.sqlite'}")
        with db.connect() as conn:
            rows = conn.execute(select(audit_log.c.action, audit_log.c.target, audit_log.c.ticket))
            assert [tuple(r) for r in rows] == [("unban", "127.0.0.9", "T-42")]
        db.dispose()
        check(app, "after unban")


async def test_last_success_takes_dovecots_last_login_and_says_where_smtp_comes_from(tmp_path):
    from helpdesk.localtime import SHORT, log_time_text
    from helpdesk.logins.lastlogin import last_login

    config = _world(tmp_path)
    # Dovecot's plugin saw an IMAP login after the captured lines (newer than the log's)
    recent = datetime.now().replace(second=0, microsecond=0) - timedelta(minutes=5)
    db = Database(f"sqlite:///{tmp_path / 'mailcenter.sqlite'}")
    with db.begin() as conn:
        conn.execute(
            last_login.insert(),
            {"username": ADDRESS, "service": "imap", "last_login": int(recent.timestamp())},
        )
    db.dispose()
    app = WatchedApp(load_config(config))
    async with app.run_test(size=SIZE) as pilot:
        tab = await _read(app, pilot)
        last = str(app.screen.query_one("#logins-last", Static).render())
        assert f"IMAP {log_time_text(recent, SHORT)}" in last
        smtp = tab.timeline.last_success["smtp"]
        assert f"SMTP {log_time_text(smtp.last or smtp.time, SHORT)}" in last
        assert "SMTP from Exim's arrivals" in last
        check(app, "logins tab with last_login")


async def test_reading_shows_progress_and_c_cancels_it(tmp_path):
    import gzip

    from textual.widgets import ProgressBar

    config = _world(tmp_path)
    # A large rotated log: the captured lines, then a million IMAP logouts.
    lines = (DATA / "dovecot.log").read_bytes()
    closed = next(x for x in lines.splitlines(True) if b"Disconnected: Logged out in=" in x)
    big = tmp_path / "dovecot.log.1.gz"
    with gzip.open(big, "wb", compresslevel=1) as f:
        f.write(lines)
        for _ in range(100):
            f.write(closed * 10_000)
    text = config.read_text().replace(
        f'dovecot_paths = ["{tmp_path / "dovecot.log"}"]', f'dovecot_paths = ["{big}"]'
    )
    config.write_text(text)
    app = WatchedApp(load_config(config))
    async with app.run_test(size=SIZE) as pilot:
        await app.push_screen(Host())
        tab = app.screen.query_one(LoginsTab)
        bar = app.screen.query_one("#logins-progress", ProgressBar)
        for _ in range(200):
            await pilot.pause(0.05)
            if (bar.progress or 0) > 0:
                break
        assert tab.reading and 0 < bar.progress < bar.total
        app.screen.query_one("#logins-table", DataTable).focus()
        await pilot.press("c")
        for _ in range(200):
            await pilot.pause(0.05)
            if not tab.reading:
                break
        await settle(app, pilot)
        assert not tab.reading and tab.timeline is None
        status = str(app.screen.query_one("#logins-status", Static).render())
        assert "Reading cancelled. F5 reads the logs again." in status
        check(app, "logins reading cancelled")
