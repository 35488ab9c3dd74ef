"""Suspending and reinstating a mailbox's sending from any screen that holds one."""

from __future__ import annotations

from textual import work

from helpdesk.audit import current_operator
from helpdesk.errors import HelpdeskError
from helpdesk.mailboxes import Mailbox, set_sending
from screens.messages import ActionDone, Failed
from screens.ticket import TicketAnswer, TicketDialog


class SendingActions:
    """Mixed into a Screen: asks for the ticket, then writes in a thread worker and posts
    ActionDone or Failed back to the screen (group "sending")."""

    def ask_sending(self, mailbox: Mailbox, allowed: bool) -> None:
        if mailbox.smtp_enabled == allowed:
            state = "allowed to send" if allowed else "already suspended"
            self.notify(f"{mailbox.address} is {state}.")
            return
        verb = "Reinstate sending" if allowed else "Suspend sending"
        question = (
            f"{mailbox.address} may send mail again."
            if allowed
            else f"{mailbox.address} can no longer send mail. Mail still arrives."
        )

        def answered(answer: TicketAnswer | None) -> None:
            if answer is not None:
                self.change_sending(mailbox, allowed, answer)

        self.app.push_screen(TicketDialog(verb, question, confirm=verb), answered)

    @work(thread=True, exclusive=True, exit_on_error=False, group="sending", name="sending")
    def change_sending(self, mailbox: Mailbox, allowed: bool, answer: TicketAnswer) -> None:
        try:
            with self.app.db.begin() as conn:
                updated = set_sending(
                    conn,
                    mailbox,
                    allowed,
                    ticket=answer.ticket,
                    reason=answer.reason or None,
                    operator=self.app.operator or current_operator(),
                )
        except HelpdeskError as exc:
            self.post_message(Failed("sending", str(exc)))
            return
        state = "may send again" if allowed else "can no longer send"
        self.post_message(ActionDone(f"{updated.address} {state}.", updated))
