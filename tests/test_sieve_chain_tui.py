"""The mailbox's Sieve scripts at 80×24 on the stack: `v` on the Forwards tab shows the
customer's own script (put with the real doveadm) rule by rule in words after the helpdesk's
script, if any; `d`, a ticket and F2 deactivate it (kept, audited) through the stack's wrapper."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from textual.widgets import TabbedContent

from helpdesk.config import load_config
from helpdesk.mailcenter.db import Database
from helpdesk.mailcenter.schema import audit_log
from screens.dialogs.ticket import TicketDialog
from screens.forwards import ForwardsTab
from screens.mailbox import MailboxScreen
from screens.sieve_chain import SieveChainScreen
from tests.screen_check import WatchedApp, check, look, screen_output, settle
from tests.test_forward_sieve_stack import FILED_WORDS, put_customer_script
from tests.test_spam_stack import PASSWORD

pytestmark = [pytest.mark.stack, pytest.mark.tui]
SIZE = (80, 24)


async def test_scripts_in_words_then_deactivate_with_a_ticket(stack):
    address = stack.add_mailbox(stack.unique_address("chaintui"), PASSWORD)
    put_customer_script(stack, address)
    db = Database(stack.database_url)
    app = WatchedApp(load_config(stack.config_path), db=db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.push_screen(MailboxScreen(address))
        await settle(app, pilot)
        app.screen.query_one("#mailbox-tabs", TabbedContent).active = "tab-forwards"
        await settle(app, pilot)
        app.screen.query_one(ForwardsTab).focus()
        await pilot.press("v")
        text = await look(app, pilot, "sieve scripts")
        assert isinstance(app.screen, SieveChainScreen)
        # What an operator sees at 80x24 without scrolling: the order, the rule and its words.
        # (No spam ladder is set for this mailbox: the customer's script is the only one.)
        assert "1. own" in text and "runs only if every script before kept" in text
        assert "if the subject contains “forward test”: file into" in text
        assert "Deactivate" in text  # the key is in the footer
        body = "\n".join(str(w.render()) for w in app.screen.query("#chain-body Static"))
        assert f"- {FILED_WORDS}" in body

        await pilot.press("d")
        await settle(app, pilot)
        assert isinstance(app.screen, TicketDialog)
        check(app, "deactivate dialog")
        await pilot.press("enter", "enter", "enter")  # Enters never confirm
        await settle(app, pilot)
        assert isinstance(app.screen, TicketDialog)
        app.screen.query_one("#ticket").focus()
        await pilot.press(*"T-4711", "f2")
        await settle(app, pilot, 0.2)
        assert isinstance(app.screen, SieveChainScreen)
        await settle(app, pilot, 0.2)
        text, _ = screen_output(app)
        assert "1. own" not in text and "No Sieve script runs for this mailbox." in text
        assert any("Script own deactivated (kept)." in note for note, _, _ in app.notes)
    with db.connect() as conn:
        rows = conn.execute(
            select(audit_log.c.action, audit_log.c.ticket).where(audit_log.c.target == address)
        ).all()
    assert ("sieve.deactivate", "T-4711") in [tuple(r) for r in rows]
