"""Releasing from the Blocked mail screen (Pilot, the stack's real Exim and rspamd): an address
longer than rspamd's 31-byte history field is released from the list; the dialog says until
when in the operator's zone, refuses copies outside 1-10 and a lifetime over 3 days, and after
its own write the screen says what the sync of the maps gave."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from textual.widgets import Static

from helpdesk.config import Config, load_config
from helpdesk.localtime import SHORT, time_text, use_config
from helpdesk.mailcenter.audit import utcnow
from helpdesk.mailcenter.db import Database
from helpdesk.rspamd.releases import list_releases
from screens.app import HelpdeskApp
from screens.blocked import BlockedList, BlockedScreen
from screens.dialogs.release import ReleaseDialog
from tests.rspamd_tools import new_message_id
from tests.smtp_tools import message, submit

pytestmark = [pytest.mark.tui, pytest.mark.stack]
PASSWORD = "Kunden-Passwort-15!"
# Fourteen hours from UTC: a time shown in UTC would be a different hour.
ZONE = "Pacific/Kiritimati"


async def settle(app, pilot) -> None:
    for _ in range(3):
        await pilot.pause()
        await app.workers.wait_for_complete()
    await pilot.pause()


def _text(screen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


async def test_a_long_address_is_released_from_the_list_within_the_limits(stack):
    tag = os.urandom(3).hex()
    user = stack.add_mailbox(
        f"buchhaltung.{tag}.rechnungswesen@sanitaer-mueller-und-soehne.test", PASSWORD
    )
    assert len(user.encode()) > 31
    spam = message(user, new_message_id("lang"), f"Rechnung {tag} HELPDESK-TEST-SPAM")
    assert submit(stack, user, PASSWORD, spam) == 550

    base = load_config(stack.config_path)
    config = Config(base.path, {**base.data, "ui": {**base.section("ui"), "timezone": ZONE}})
    db = Database(stack.database_url)
    app = HelpdeskApp(config, db=db)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(app, pilot)
            app.push_screen(BlockedScreen())
            await settle(app, pilot)
            await pilot.press("slash", *tag, "tab")
            await settle(app, pilot)
            (item,) = app.screen.query_one(BlockedList).shown
            # rspamd's history has the login cut at 31 bytes; Exim's line has it whole.
            assert item.user == user and item.releasable

            # Over 3 days: refused by the core, one line in the status, nothing recorded.
            await pilot.press("l")
            await pilot.pause()
            assert isinstance(app.screen, ReleaseDialog)
            await pilot.press(*"T-4711", "enter", "enter", *["backspace"] * 3, *"4d", "f2")
            await settle(app, pilot)
            assert "at most 3 days" in _text(app.screen, "#blocked-status")
            assert app.screen.query_one(BlockedList).shown == [item]  # the list stays
            with db.connect() as conn:
                assert list_releases(conn, address=user) == []

            await pilot.press("l")
            await pilot.pause()
            dialog = app.screen
            assert isinstance(dialog, ReleaseDialog)
            question = _text(dialog, "#dialog-question")
            assert user in question and "with this content" in question
            # Until when, in the operator's zone (4 h from now), never UTC.
            ends = {time_text(utcnow() + timedelta(hours=4, minutes=m), SHORT) for m in (0, 1)}
            assert any(f"until {end}" in question for end in ends), question
            assert "+14" in question
            # 11 copies: said in the dialog, which stays open; nothing recorded.
            await pilot.press(*"T-4711", "enter", "enter", "enter", "backspace", *"11", "f2")
            await pilot.pause()
            assert app.screen is dialog
            assert "from 1 to 10" in _text(dialog, "#dialog-error")
            await pilot.press("backspace", "backspace", "3", "f2")
            await settle(app, pilot)
            await settle(app, pilot)
            assert isinstance(app.screen, BlockedScreen)
            said = [n.message for n in app._notifications]
            assert any("Map synced: " in m and "active release" in m for m in said), said
    finally:
        use_config(load_config(stack.config_path))  # the zone for the tests that follow
    with db.connect() as conn:
        (release,) = list_releases(conn, address=user)
    assert (release.address, release.uses, release.digest) == (user, 3, item.digest)
    assert submit(stack, user, PASSWORD, spam) == 250
    db.dispose()


async def test_the_dialog_names_the_watchers_suspension_read_with_the_list(stack):
    """The watcher suspended the account earlier (its row in watch_accounts); it was
    reinstated, and the customer calls about a blocked message: the dialog warns."""
    from sqlalchemy import insert

    from helpdesk.mailcenter.schema import watch_accounts

    tag = os.urandom(3).hex()
    user = stack.add_mailbox(f"watched.{tag}@firma.test", PASSWORD)
    reason = "helpdesk watch: 3 messages refused as spam within 10 minutes"
    with stack.db.begin() as conn:
        conn.execute(
            insert(watch_accounts).values(
                address=user,
                suspended_at=utcnow() - timedelta(hours=2),
                reason=reason,
                watcher="AUTO-watch",
                notified=True,
            )
        )
    spam = message(user, new_message_id("watched"), f"Mahnung {tag} HELPDESK-TEST-SPAM")
    assert submit(stack, user, PASSWORD, spam) == 550
    db = Database(stack.database_url)
    app = HelpdeskApp(load_config(stack.config_path), db=db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        app.push_screen(BlockedScreen())
        await settle(app, pilot)
        await pilot.press("slash", *tag, "tab")
        await settle(app, pilot)
        await pilot.press("l")
        await pilot.pause()
        assert isinstance(app.screen, ReleaseDialog)
        question = _text(app.screen, "#dialog-question")
        assert "WARNING: the account looks taken over." in question
        assert "automatic watcher suspended this account" in question and reason in question
        await pilot.press("escape")
        await pilot.pause()
    db.dispose()


async def test_the_send_log_read_earlier_in_the_session_counts_after_its_screen_closed(stack):
    """F6, read, Esc, then the release: the dialog uses that read, it does not say that
    nothing is known."""
    from screens.sendlog import SendLogScreen

    tag = os.urandom(3).hex()
    user = stack.add_mailbox(f"gelesen.{tag}@firma.test", PASSWORD)
    spam = message(user, new_message_id("read"), f"Mahnung {tag} HELPDESK-TEST-SPAM")
    assert submit(stack, user, PASSWORD, spam) == 550
    db = Database(stack.database_url)
    app = HelpdeskApp(load_config(stack.config_path), db=db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        app.push_screen(SendLogScreen())
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, SendLogScreen)
        for _ in range(100):  # the stack's mainlog is read in the background
            if screen.report is not None:
                break
            await pilot.pause(0.1)
        assert screen.report is not None
        await pilot.press("escape")
        await settle(app, pilot)
        assert not isinstance(app.screen, SendLogScreen)
        app.push_screen(BlockedScreen())
        await settle(app, pilot)
        await pilot.press("slash", *tag, "tab")
        await settle(app, pilot)
        await pilot.press("l")
        await pilot.pause()
        assert isinstance(app.screen, ReleaseDialog)
        question = _text(app.screen, "#dialog-question")
        assert "No send-log result" not in question and "send-log read" in question, question
        await pilot.press("escape")
        await pilot.pause()
    db.dispose()
