"""Suspending and reinstating a mailbox's sending from any screen that holds one."""

from __future__ import annotations

from typing import Any

from helpdesk.i18n import _
from helpdesk.mailcenter.mailboxes import Mailbox, set_sending
from screens.background import Background
from screens.dialogs.ticket import TicketAnswer, TicketDialog
from screens.widgets import notify


def change_sending(
    db: Any, mailbox: Mailbox, allowed: bool, answer: TicketAnswer, operator: str
) -> tuple[str, Mailbox]:
    """The one-line outcome and the fresh copy of the mailbox."""
    with db.begin() as conn:
        updated = set_sending(
            conn,
            mailbox,
            allowed,
            ticket=answer.ticket,
            reason=answer.reason or None,
            operator=operator,
        )
    text = _("{address} may send again.") if allowed else _("{address} can no longer send.")
    return text.format(address=updated.address), updated


class SendingActions(Background):
    """Mixed into a Screen: asks for the ticket, then writes in the background; the screen's
    `sending_changed(text, mailbox)` shows the outcome, its status line an error."""

    def ask_sending(self, mailbox: Mailbox, allowed: bool) -> None:
        if mailbox.smtp_enabled == allowed:
            text = (
                _("{address} is allowed to send.")
                if allowed
                else _("{address} is already suspended.")
            )
            notify(self, text.format(address=mailbox.address))
            return
        verb = _("Reinstate sending") if allowed else _("Suspend sending")
        question = (
            _("{address} may send mail again.")
            if allowed
            else _(
                "{address} can no longer send mail. Mail still arrives. Whoever has the "
                "password keeps IMAP access until it is reset (p)."
            )
        ).format(address=mailbox.address)

        def answered(answer: TicketAnswer | None) -> None:
            if answer is not None:
                self._change(mailbox, allowed, answer)

        dialog = TicketDialog(verb, question, confirm=verb, customer=mailbox.customer_ref)
        self.app.push_screen(dialog, answered)

    def _change(self, mailbox: Mailbox, allowed: bool, answer: TicketAnswer) -> None:
        args = (self.app.database, mailbox, allowed, answer, self.app.operator)
        self.background("sending", change_sending, *args)

    def sending_done(self, result: tuple[str, Mailbox]) -> None:
        self.sending_changed(*result)

    def sending_changed(self, text: str, mailbox: Mailbox) -> None:
        raise NotImplementedError
