"""The Blocked mail screen with Pilot, against the stack's real rspamd: find, verdict, release,
listed as released; and the screen saying so when rspamd is down while the app works on."""

from __future__ import annotations

import os
import socket

import pytest
from textual.app import App, ComposeResult
from textual.widgets import DataTable, Input, Static

from helpdesk.config import Config, load_config
from helpdesk.mailcenter.db import Database
from helpdesk.plaintext import clip_message_id
from helpdesk.rspamd.releases import list_releases
from screens.app import HelpdeskApp
from screens.blocked import BlockedList, BlockedScreen
from screens.dialogs.release import ReleaseDialog
from screens.search import SearchScreen
from screens.verdict import VerdictScreen
from tests.rspamd_tools import new_message_id, spam_from
from tests.smtp_tools import message, submit

pytestmark = [pytest.mark.tui, pytest.mark.stack]


async def settle(app, pilot) -> None:
    for _ in range(3):
        await pilot.pause()
        await app.workers.wait_for_complete()
    await pilot.pause()


def _status(screen) -> str:
    return str(screen.query_one("#blocked-status", Static).render())


async def test_find_verdict_release_see_it_released_and_revoke(stack):
    tag = os.urandom(4).hex()
    password = "Kundenpasswort-3!"
    user = stack.add_mailbox(f"tui.{tag}@firma.test", password)
    mid = new_message_id("tui")
    spam = message(user, mid, f"Rechnung {tag} HELPDESK-TEST-SPAM")
    assert submit(stack, user, password, spam) == 550

    db = Database(stack.database_url)
    db.create_schema()
    app = HelpdeskApp(load_config(stack.config_path), db=db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        app.push_screen(BlockedScreen())
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, BlockedScreen)
        assert "blocked message" in _status(screen)
        await pilot.press("slash", *tag)
        await settle(app, pilot)
        table = screen.query_one("#blocked-table", DataTable)
        assert table.row_count == 1
        # The count is of what the filter shows, not of everything loaded.
        assert _status(screen).startswith("1 of ") and f"match '{tag}'" in _status(screen)
        # Cut in the middle to fit 80 columns: both ends stay; whole in the verdict.
        width = screen.query_one(BlockedList).widths["msgid"]
        assert str(table.get_row_at(0)[-2]) == clip_message_id(mid, width)

        await pilot.press("tab")  # from the filter to the table
        assert app.focused is table
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, VerdictScreen)
        verdict = str(app.screen.query_one("#verdict", Static).render())
        assert mid in verdict and "HELPDESK-TEST-SPAM" in verdict
        await pilot.press("escape")
        await pilot.pause()

        await pilot.press("l")
        await pilot.pause()
        assert isinstance(app.screen, ReleaseDialog)
        assert app.screen.query_one("#release-ttl", Input).value == "4h"
        # What passes, and that nothing is known about the account (no send-log read yet).
        question = str(app.screen.query_one("#dialog-question").render())
        assert "with this content" in question and "No send-log result" in question
        await pilot.press("enter")  # no ticket yet: refused
        await pilot.pause()
        assert "ticket reference is required" in str(app.screen.query_one("#dialog-error").render())
        await pilot.press(*"T-0815", "enter", *"Rechnung geprueft", "enter")
        await pilot.press(*["backspace"] * 3, *"2h", "enter", "backspace", "2", "f2")
        await settle(app, pilot)
        assert isinstance(app.screen, BlockedScreen)
        await settle(app, pilot)
        table = screen.query_one("#blocked-table", DataTable)
        assert table.row_count == 1
        assert str(table.get_row_at(0)[3]) == "released"

    with db.connect() as conn:
        (release,) = list_releases(conn, address=user)
    assert release.ticket == "T-0815" and release.message_id == mid and release.uses == 2
    assert (release.expires_at - release.created_at).total_seconds() == 7200
    assert submit(stack, user, password, spam) == 250

    # Revoke from the same screen: the message is judged normally again.
    app = HelpdeskApp(load_config(stack.config_path), db=db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        app.push_screen(BlockedScreen())
        await settle(app, pilot)
        await pilot.press("slash", *tag, "tab")
        await settle(app, pilot)
        table = app.screen.query_one("#blocked-table", DataTable)
        assert str(table.get_row_at(0)[3]) == "1/2 used"
        await pilot.press("x")
        await pilot.pause()
        await pilot.press(*"T-0816", "enter", "enter", "f2")
        await settle(app, pilot)
        await settle(app, pilot)
        table = app.screen.query_one("#blocked-table", DataTable)
        assert str(table.get_row_at(0)[3]) == "revoked"
    assert submit(stack, user, password, spam) == 550
    db.dispose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_unreachable_rspamd_is_said_and_the_app_works_on(stack):
    db = Database(stack.database_url)
    config = Config(
        None,
        {
            "database": {"url": stack.database_url},
            "rspamd": {"controllers": [{"name": "mx9", "url": f"http://127.0.0.1:{_free_port()}"}]},
        },
    )
    app = HelpdeskApp(config, db=db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        app.push_screen(BlockedScreen())
        await settle(app, pilot)
        text = _status(app.screen)
        assert "unavailable" in text and "mx9" in text and "cannot be reached" in text
        await pilot.press("l")  # nothing to release: no crash, no dialog
        await pilot.pause()
        assert isinstance(app.screen, BlockedScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, SearchScreen)
    db.dispose()


class _OneMailbox(App[None]):
    """How the mailbox screen hosts the list: a BlockedList for one user."""

    def __init__(self, config: Config, db: Database, user: str) -> None:
        super().__init__()
        self.config, self.db, self.user = config, db, user
        from helpdesk.mailcenter.audit import current_operator

        self.operator = current_operator()

    def compose(self) -> ComposeResult:
        yield BlockedList(user=self.user, id="mailbox-blocked")


async def test_the_list_for_one_mailbox_shows_only_that_sender(stack):
    tag = os.urandom(4).hex()
    mine = stack.add_mailbox(f"one.{tag}@firma.test", "Kundenpasswort-4!")
    other = stack.add_mailbox(f"two.{tag}@firma.test", "Kundenpasswort-5!")
    spam_from(stack, mine, new_message_id("mine"))
    spam_from(stack, other, new_message_id("other"))
    db = Database(stack.database_url)
    app = _OneMailbox(load_config(stack.config_path), db, mine)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        table = app.query_one("#blocked-table", DataTable)
        assert table.row_count == 1
        assert mine in _status(app.screen)
    db.dispose()


async def test_the_release_dialog_warns_from_the_last_send_log_result(stack):
    """The send log read earlier in the session says the account looks taken over: the dialog
    says so, without reading any log itself."""
    from helpdesk.sendlog.report import UserStats
    from tests.test_release_risk import _report

    tag = os.urandom(4).hex()
    password = "Kundenpasswort-6!"
    user = stack.add_mailbox(f"warn.{tag}@firma.test", password)
    spam = message(user, None, f"Mahnung {tag} HELPDESK-TEST-SPAM")
    assert submit(stack, user, password, spam) == 550

    earlier = _report([UserStats(user=user, score=70, reasons=["900 messages in 1 hour"])], 30)
    db = Database(stack.database_url)
    app = HelpdeskApp(load_config(stack.config_path), db=db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        app.last_sendlog_report = earlier  # where the send-log screen leaves what it showed
        app.push_screen(BlockedScreen())
        await settle(app, pilot)
        await pilot.press("slash", *tag, "tab")
        await settle(app, pilot)
        await pilot.press("l")
        await pilot.pause()
        assert isinstance(app.screen, ReleaseDialog)
        question = str(app.screen.query_one("#dialog-question").render())
        assert "looks taken over" in question and "900 messages in 1 hour" in question
        await pilot.press("escape")
        await pilot.pause()
    with db.connect() as conn:
        assert list_releases(conn, address=user) == []
    db.dispose()
