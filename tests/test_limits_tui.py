"""Sending limits on the mailbox screen at 80×24: the Overview says each limit as Exim applies
it, where it comes from and the usage; F4 changes the mailbox's own limits with a ticket, F2
only, audited; a bad value or Esc writes nothing (SQLite: the core runs on all three databases
in test_limits.py)."""

from __future__ import annotations

import asyncio
import os
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from textual.command import CommandPalette
from textual.widgets import Input

from helpdesk.config import load_config
from helpdesk.i18n import set_language
from helpdesk.limits.settings import LimitSettings
from helpdesk.limits.store import (
    domain_key,
    ensure_global_default,
    mailbox_key,
    own_limits,
    set_limits,
)
from helpdesk.mailcenter.db import Database
from helpdesk.mailcenter.mailboxes import create_mailbox, get_mailbox
from helpdesk.mailcenter.operator import Operator
from helpdesk.mailcenter.schema import audit_log
from screens.keys import KeysScreen
from screens.limits import LimitsDialog, LimitsPanel
from screens.mailbox import MailboxScreen
from tests.screen_check import WatchedApp, check, screen_output, settle, widget_texts

pytestmark = pytest.mark.tui
ADDRESS = "anna@firma.test"
SIZE = (80, 24)
SEEDER = Operator("seed")


def _mainlog(path: Path) -> None:
    """Three messages of Anna to two recipients each, in Exim's words, a few minutes ago."""
    when = (datetime.now() - timedelta(minutes=5)).strftime("%Y-%m-%d %H:%M:%S")
    lines = [
        f"{when} 1xLim{n}-0000{n}A-Aa <= {ADDRESS} H=(pc) [192.0.2.7]:4711 I=[127.0.0.1]:2587 "
        f"P=esmtpsa X=TLS1.3:x:256 CV=no A=sql_plain:{ADDRESS} S=410 "
        f'T="Angebot {n}" for a@kunde.example b@kunde.example'
        for n in range(3)
    ]
    path.write_text("\n".join(lines) + "\n")


def _setup(tmp_path: Path, *, dumpdb: str | None = None) -> tuple[WatchedApp, Database]:
    """Anna's own 10 messages per hour, her domain's 50 per message, the global rest; the
    mainlog as the usage's source (the spool given is not Exim's)."""
    url = f"sqlite:///{tmp_path / 'mailcenter.sqlite'}"
    db = Database(url)
    db.create_schema()
    with db.begin() as conn:
        create_mailbox(conn, ADDRESS, realname="Anna Firma", customer_ref="KD-17")
        ensure_global_default(conn, LimitSettings())
        m = get_mailbox(conn, ADDRESS)
        common = {"ticket": "SEED-1", "reason": None, "operator": SEEDER}
        set_limits(
            conn,
            domain_key(m.domain_id),
            "@firma.test",
            {"recipients_per_message": 50},
            domain_id=m.domain_id,
            **common,
        )
        set_limits(
            conn, mailbox_key(m), m.address, {"messages_per_hour": 10}, mailbox_id=m.id, **common
        )
    log = tmp_path / "mainlog"
    _mainlog(log)
    config = tmp_path / "helpdesk.toml"
    extra = f'exim_dumpdb = "{dumpdb}"\n' if dumpdb else ""
    config.write_text(
        f'[database]\nurl = "{url}"\n[sendlog]\npaths = ["{log}"]\n'
        f'[limits]\nexim_spool = "{tmp_path / "no-spool"}"\n{extra}'
    )
    return WatchedApp(load_config(config)), db


def _own(db: Database) -> dict:
    with db.connect() as conn:
        return own_limits(conn, mailbox_key(get_mailbox(conn, ADDRESS)))


def _audit(db: Database) -> list:
    with db.connect() as conn:
        return list(
            conn.execute(
                select(audit_log)
                .where(audit_log.c.action == "limits", audit_log.c.ticket != "SEED-1")
                .order_by(audit_log.c.id)
            )
        )


async def _open(app: WatchedApp, pilot) -> MailboxScreen:
    screen = MailboxScreen(ADDRESS)
    await app.push_screen(screen)
    await _panel_ready(app, pilot)
    return screen


async def _panel_ready(app: WatchedApp, pilot) -> LimitsPanel:
    panel = app.screen.query_one(LimitsPanel)
    for _ in range(200):
        await pilot.pause(0.05)
        if not (panel.running("limits") or panel.running("usage") or panel.running("write")):
            break
    await settle(app, pilot)
    return panel


def _shown(app: WatchedApp) -> str:
    return screen_output(app)[0]


async def _dialog(app: WatchedApp, pilot) -> LimitsDialog:
    await pilot.press("f4")
    await settle(app, pilot)
    assert isinstance(app.screen, LimitsDialog)
    return app.screen


def _field(app: WatchedApp, kind: str) -> Input:
    return app.screen.query_one(f"#limit-{kind}", Input)


async def test_overview_shows_own_and_inherited_limits_and_the_usage_at_80x24(tmp_path):
    app, db = _setup(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await _open(app, pilot)
        text = _shown(app)
        # Each limit as Exim applies it, with where it comes from, whole on one line.
        assert "a burst of 10 messages, then about 10 per hour · this mailbox's own" in text
        assert "a burst of 1,000 recipients, then about 1,000 per hour · the global default" in text
        assert "at most 50 recipients per message · the domain's default" in text
        assert "over a limit: refused (550)" in text
        # Three messages to two recipients each, recomputed with Exim's formula.
        assert "usage: 3 messages and 6 recipients per hour" in text
        assert "recomputed from the mainlog with Exim's formula" in text
        # The rest of the Overview is still there, and the key is in the footer.
        assert "Login & receive" in text and "Name" in text
        # The key is named where the limits are (the footer is full in German).
        assert "Sending limits, as Exim applies them (F4 changes)" in text
        check(app, "overview with limits")
    db.dispose()


async def test_overview_in_german_fits_80_columns(tmp_path):
    app, db = _setup(tmp_path)
    set_language("de")
    try:
        async with app.run_test(size=SIZE) as pilot:
            await _open(app, pilot)
            text = _shown(app)
            assert "10 Nachrichten auf einmal, dann etwa 10 pro Stunde · eigene des Postfachs" in (
                text
            )
            assert "1.000 Empfänger auf einmal, dann etwa 1.000 pro Stunde · globale Vorgabe" in (
                text
            )
            assert "höchstens 50 Empfänger pro Nachricht · Vorgabe der Domain" in text
            assert "aus dem Mainlog mit Exims Formel nachgerechnet" in text
            assert "Sendegrenzen, wie Exim sie anwendet (F4 ändert)" in text
            # The footer still has room for the keys it had.
            assert "Tasten" in text.split("\n")[-1]
    finally:
        set_language("en")
    db.dispose()


async def test_a_slow_usage_read_does_not_hold_up_the_limits(tmp_path):
    """Exim's dump tool answering late (a real process, 2 s): the limits and the rest of the
    Overview are shown meanwhile, the usage follows."""
    slow = tmp_path / "slow_dumpdb"
    slow.write_text("#!/bin/sh\nsleep 2\nexit 1\n")
    os.chmod(slow, 0o755)
    app, db = _setup(tmp_path, dumpdb=str(slow))
    async with app.run_test(size=SIZE) as pilot:
        await app.push_screen(MailboxScreen(ADDRESS))
        panel = app.screen.query_one(LimitsPanel)
        for _ in range(100):
            await pilot.pause(0.02)
            if panel.data is not None and app.screen.mailbox is not None:
                break
        assert panel.running("usage")
        text = _shown(app)
        assert "a burst of 10 messages" in text and "Login & receive" in text
        assert "usage: reading …" in text
        await _panel_ready(app, pilot)
        assert "usage: 3 messages and 6 recipients per hour" in _shown(app)
    db.dispose()


async def test_the_dialog_sets_and_clears_limits_with_a_ticket_and_f2(tmp_path):
    app, db = _setup(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(app, pilot)
        dialog = await _dialog(app, pilot)
        text = _shown(app)
        # What emptying a field gives, before it is emptied.
        assert "empty: 200, the global default" in text
        assert "empty: 50, the domain's default" in text
        check(app, "limits dialog")
        # Ticket, reason, then the fields in order; Enter never writes.
        await pilot.press(*"HD-17", "enter", *"Kunde ruft an", "enter")
        assert app.focused is _field(app, "messages-per-hour")
        await pilot.press("backspace", "backspace", "enter", *"500", "enter", "enter")
        await settle(app, pilot)
        assert app.screen is dialog and "F2 confirms" in _shown(app)
        assert _own(db)["messages_per_hour"] == 10 and not _audit(db)

        await pilot.press("f2")
        await _panel_ready(app, pilot)
        assert app.screen is screen
        text = _shown(app)
        assert "a burst of 200 messages, then about 200 per hour · the global default" in text
        assert "a burst of 500 recipients, then about 500 per hour · this mailbox's own" in text
        assert "limits changed" in " ".join(note for note, _t, _m in app.notes)
    own = _own(db)
    assert own["messages_per_hour"] is None and own["recipients_per_hour"] == 500
    rows = _audit(db)
    assert len(rows) == 1
    row = rows[0]
    assert (row.target, row.ticket, row.reason) == (ADDRESS, "HD-17", "Kunde ruft an")
    assert "500" in str(row.after) and "10" in str(row.before)
    db.dispose()


@pytest.mark.parametrize(
    ("typed", "error"),
    [
        ("zehn", "Messages per hour must be a whole number from 0 (no limit) to 1,000,000"),
        ("-5", "Messages per hour must be a whole number from 0 (no limit) to 1,000,000"),
        ("1", "Messages per hour: 1 per hour would refuse every message in Exim; use 2 or more"),
        ("10", "anna@firma.test has these limits already; nothing changed"),
    ],
)
async def test_a_bad_value_is_one_line_and_writes_nothing(tmp_path, typed, error):
    app, db = _setup(tmp_path)
    before = _own(db)
    async with app.run_test(size=SIZE) as pilot:
        await _open(app, pilot)
        dialog = await _dialog(app, pilot)
        _field(app, "messages-per-hour").value = typed
        await pilot.press(*"HD-17", "f2")
        await settle(app, pilot)
        assert app.screen is dialog
        shown = str(dialog.query_one("#dialog-error").render())
        assert shown == error
        assert "\n" not in shown
        # The cursor is back in the field to correct.
        assert app.focused is _field(app, "messages-per-hour") or "already" in error
    assert _own(db) == before and not _audit(db)
    db.dispose()


async def test_without_a_ticket_or_with_esc_nothing_is_written(tmp_path):
    app, db = _setup(tmp_path)
    before = _own(db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(app, pilot)
        dialog = await _dialog(app, pilot)
        _field(app, "messages-per-hour").value = "40"
        await pilot.press("f2")
        await settle(app, pilot)
        assert app.screen is dialog
        assert "A ticket reference is required." in _shown(app)
        await pilot.press(*"HD-17", "escape")
        await settle(app, pilot)
        assert app.screen is screen
        assert "a burst of 10 messages" in _shown(app)
    assert _own(db) == before and not _audit(db)
    db.dispose()


async def test_the_key_is_listed_in_the_keys_panel_and_the_palette(tmp_path):
    app, db = _setup(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await _open(app, pilot)
        await pilot.press("question_mark")
        await settle(app, pilot)
        assert isinstance(app.screen, KeysScreen)
        # Listed whole in the panel (below the footer's keys: scrolled to, not always in view).
        listed = "\n".join(text for _id, text in widget_texts(app.screen))
        assert re.search(r"^ *f4  Limits$", listed, re.M), listed
        await pilot.press("escape")
        await settle(app, pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"limits")
        await asyncio.sleep(0.5)
        await pilot.pause()
        assert "Limits\n  key: f4" in "\n".join(x.rstrip() for x in _shown(app).split("\n"))
        await pilot.press("escape")
    db.dispose()


async def test_hostile_addresses_on_the_overview_and_in_the_dialog(tmp_path):
    """The hostile world (tests/test_hostile_cli.py): every address another program wrote with
    a hostile value, on the Overview with its limits and usage, and named in the dialog."""
    from tests.test_hostile_cli import DB_VALUES, DOMAIN, _fill
    from tests.test_hostile_cli import _mainlog as hostile_mainlog

    url = f"sqlite:///{tmp_path / 'mailcenter.sqlite'}"
    db = Database(url)
    db.create_schema()
    _fill(db)
    with db.begin() as conn:
        ensure_global_default(conn, LimitSettings())
    log = tmp_path / "mainlog"
    hostile_mainlog(log)
    config = tmp_path / "helpdesk.toml"
    config.write_text(
        f'[database]\nurl = "{url}"\n[sendlog]\npaths = ["{log}"]\n'
        f'[limits]\nexim_spool = "{tmp_path / "no-spool"}"\n'
    )
    app = WatchedApp(load_config(config))
    opened = 0
    async with app.run_test(size=SIZE) as pilot:
        for i, value in enumerate(DB_VALUES.values()):
            address = f"x{i}{value}@{DOMAIN}"
            screen = MailboxScreen(address)
            await app.push_screen(screen)
            await _panel_ready(app, pilot)
            check(app, f"limits of {address!r:.60}")
            if screen.mailbox is not None:
                opened += 1
                assert "a burst of 200 messages" in _shown(app)
                await pilot.press("f4")
                await settle(app, pilot)
                assert isinstance(app.screen, LimitsDialog)
                check(app, f"limits dialog of {address!r:.60}")
                await pilot.press("escape")
                await settle(app, pilot)
            app.pop_screen()
            await pilot.pause()
    assert opened > len(DB_VALUES) // 2
    db.dispose()


@pytest.mark.stack
async def test_on_the_stack_the_usage_is_exims_own_rate(stack):
    """Three messages through the stack's Exim: the Overview shows Exim's own rate, read from
    its hints database, labelled as such."""
    from tests.smtp_tools import message
    from tests.test_limits_smtp import PASSWORD, _domain, _send

    emil = stack.add_mailbox(f"emil@{_domain()}", PASSWORD)
    # Exim counts a rate only where there is a limit (the stack's database may have none).
    with stack.db.begin() as conn:
        m = get_mailbox(conn, emil)
        set_limits(
            conn,
            mailbox_key(m),
            emil,
            {"messages_per_hour": 10, "recipients_per_hour": 50},
            ticket="T-17",
            reason=None,
            operator=SEEDER,
            mailbox_id=m.id,
        )
    for i in range(3):
        assert _send(stack, emil, message(emil, None, f"m{i}"))[0] == 250
    app = WatchedApp(load_config(stack.config_path))
    async with app.run_test(size=SIZE) as pilot:
        await app.push_screen(MailboxScreen(emil))
        await _panel_ready(app, pilot)
        text = _shown(app)
    assert re.search(r"usage: (2[.,]9|3|3[.,]1) messages and (2[.,]9|3|3[.,]1) recipients", text)
    assert "Exim's own computed rate (its hints database on this host)" in text
    assert "a burst of 10 messages, then about 10 per hour · this mailbox's own" in text


async def test_a_change_made_meanwhile_is_not_overwritten(tmp_path):
    app, db = _setup(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(app, pilot)
        await _dialog(app, pilot)
        _field(app, "messages-per-hour").value = "40"
        # Another operator sets the limit while the dialog is open.
        with db.begin() as conn:
            m = get_mailbox(conn, ADDRESS)
            set_limits(
                conn,
                mailbox_key(m),
                ADDRESS,
                {"messages_per_hour": 25},
                ticket="OTHER-1",
                reason=None,
                operator=Operator("kollege"),
                mailbox_id=m.id,
            )
        await pilot.press(*"HD-17", "f2")
        await _panel_ready(app, pilot)
        assert app.screen is screen
        status = str(screen.query_one("#mailbox-status").render())
        assert "changed by someone else meanwhile; nothing was written" in status
    assert _own(db)["messages_per_hour"] == 25
    assert [row.ticket for row in _audit(db)] == ["OTHER-1"]
    db.dispose()
