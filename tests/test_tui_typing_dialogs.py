"""The write dialogs' own rules against slips: the password never reaches the ticket field,
leaving unsaved Spam-tab edits asks, a ticket that is not one is refused with the pattern, and
a ticket typed before is offered only for the same customer until Ctrl+F. Typing names on every
screen and dialog is test_tui_typing.py."""

from __future__ import annotations

import pytest
from textual.widgets import Input, TabbedContent

from helpdesk.mailcenter.db import Database
from helpdesk.mailcenter.mailboxes import create_mailbox
from screens.dialogs.ticket import TicketDialog
from screens.mailbox import MailboxScreen
from screens.reset import ResetPasswordScreen
from screens.search import SearchScreen
from tests.test_tui_shell import make_app, settle
from tests.test_tui_typing import ACTIVE, SUSPENDED, dump, seed

pytestmark = pytest.mark.tui


@pytest.fixture
def sqlite_db(tmp_path):
    """SQLite only: the dialogs are checked, not the database (see test_cli for those)."""
    database = Database(f"sqlite:///{tmp_path / 'mailcenter.sqlite'}")
    database.create_schema()
    seed(database)
    yield database
    database.dispose()


async def test_a_habitual_tab_never_puts_the_password_into_the_ticket(sqlite_db):
    db = sqlite_db
    before = dump(db)
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        app.push_screen(MailboxScreen(ACTIVE))
        await settle(app, pilot)
        await pilot.press("p")
        await settle(app, pilot)
        dialog = app.screen
        assert isinstance(dialog, ResetPasswordScreen)
        dialog.query_one("#mode-type").value = True
        await settle(app, pilot)
        password = dialog.query_one("#reset-password", Input)
        ticket = dialog.query_one("#reset-ticket", Input)
        assert app.focused is password and ticket.value == ""
        for keys in (("tab",), ("enter",), ("shift+tab",), ("tab", "tab")):
            password.value = ""
            password.focus()
            await pilot.press(*"Geheim", *keys, *"Wort42")
            await settle(app, pilot)
            assert "Wort" not in ticket.value and ticket.value == "", keys
            assert not any(
                "Wort" in field.value for field in dialog.query(Input) if field is not password
            ), keys
    assert dump(db) == before


async def test_leaving_unsaved_spam_edits_asks_save_discard_or_stay(sqlite_db):
    from screens.dialogs.leave import LeaveDialog
    from screens.spam import SpamTab

    db = sqlite_db
    before = dump(db)
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        app.push_screen(MailboxScreen(ACTIVE))
        await settle(app, pilot)
        mailbox = app.screen
        mailbox.query_one(TabbedContent).active = "tab-spam"
        await settle(app, pilot)
        mailbox.query_one("#spam-ladder").focus()
        await pilot.press("a")  # an unsaved edit: a rule added
        await pilot.pause()
        await pilot.press(*"6:junk", "enter")
        await settle(app, pilot)
        tab = mailbox.query_one(SpamTab)
        assert tab.dirty
        for leave in ("escape", "ctrl+f", "escape"):
            await pilot.press(leave)
            await pilot.pause()
            assert isinstance(app.screen, LeaveDialog), leave
            await pilot.press(*"schmidt")  # typing neither saves nor discards
            await pilot.pause()
            assert isinstance(app.screen, LeaveDialog) and tab.dirty
            await pilot.press("enter")  # Enter is Stay, the one harmless answer
            await pilot.pause()
            assert app.screen is mailbox and tab.dirty
        await pilot.press("escape", "f2")  # save: the ticket dialog of the spam tab
        await pilot.pause()
        assert isinstance(app.screen, TicketDialog)
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is mailbox and tab.dirty
        await pilot.press("ctrl+f", "f3")  # discard, and on to the search box
        await settle(app, pilot)
        assert isinstance(app.screen, SearchScreen) and not tab.dirty
    assert dump(db) == before


async def test_a_ticket_that_is_not_one_is_refused_with_the_pattern(sqlite_db):
    from helpdesk.mailcenter.tickets import DEFAULT_TICKET_PATTERN

    db = sqlite_db
    before = dump(db)
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        app.push_screen(MailboxScreen(ACTIVE))
        await settle(app, pilot)
        await pilot.press(*"schmidt", "f2")  # `s` opened the dialog, "chmidt" is the ticket
        await settle(app, pilot)
        assert isinstance(app.screen, TicketDialog)
        error = str(app.screen.query_one("#dialog-error").render())
        assert "'chmidt'" in error and DEFAULT_TICKET_PATTERN in error and "\n" not in error
        await pilot.press("escape", *"peter", "f2")  # `p` opened the reset, "eter" the ticket
        await settle(app, pilot)
        assert isinstance(app.screen, ResetPasswordScreen)
        error = str(app.screen.query_one("#reset-error").render())
        assert "'eter'" in error and DEFAULT_TICKET_PATTERN in error
    assert dump(db) == before


async def test_the_last_ticket_is_offered_for_the_same_customer_only_until_ctrl_f(sqlite_db):
    db = sqlite_db
    with db.begin() as conn:
        create_mailbox(conn, "anna@example.org", realname="Anna", customer_ref="KD-9")
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        app.push_screen(MailboxScreen(SUSPENDED))
        await settle(app, pilot)
        await pilot.press("r", *"T-42", "f2")  # reinstate with a ticket
        await settle(app, pilot)
        assert isinstance(app.screen, MailboxScreen)

        async def open_suspend(address: str) -> Input:
            while len(app.screen_stack) > 2:
                app.pop_screen()
            app.push_screen(MailboxScreen(address))
            await settle(app, pilot)
            await pilot.press("s")
            await settle(app, pilot)
            assert isinstance(app.screen, TicketDialog)
            return app.screen.query_one("#ticket", Input)

        ticket = await open_suspend(ACTIVE)  # same customer number KD-4711
        assert ticket.value == ""  # offered, not filled in
        assert "F3: same ticket T-42" in str(app.screen.query_one("#dialog-offer").render())
        await pilot.press("enter")
        assert ticket.value == ""  # Enter never takes it
        await pilot.press("f3")
        assert ticket.value == "T-42"

        ticket = await open_suspend("anna@example.org")  # another customer
        await pilot.press("f3")
        assert ticket.value == ""

        await pilot.press("escape", "ctrl+f")
        await settle(app, pilot)
        ticket = await open_suspend(ACTIVE)  # the next caller: forgotten
        await pilot.press("f3")
        assert ticket.value == ""
