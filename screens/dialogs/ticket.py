"""Asking for the ticket reference (and a reason) before any write: every action is accountable.

`TicketDialog` is the one dialog for "ask a ticket and a reason, confirm": suspend and
reinstate, saving spam settings and revoking use it as it is; the release dialog builds on it
(adding the expiry); the password reset asks for its ticket with the same `TicketInput`.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label

from screens.widgets import PlainInput, PlainStatic, plain

TICKET_REQUIRED = "A ticket reference is required."


@dataclass(frozen=True)
class TicketAnswer:
    ticket: str
    reason: str


class TicketInput(PlainInput):
    """The ticket reference field: every write names the ticket it was done for."""

    def __init__(self, *, id: str = "ticket") -> None:  # noqa: A002 (Textual's own name)
        super().__init__(placeholder="Ticket reference (required)", id=id)

    @property
    def ticket(self) -> str:
        return self.value.strip()


class TicketDialog(ModalScreen[TicketAnswer | None]):
    """Confirm an action; dismisses with the answer, or None when cancelled.

    A dialog that asks for more builds on this one: `extra_fields` adds its fields below the
    reason, `reason_entered` says where Enter in the reason goes, `answer` checks them and
    returns what to dismiss with (None keeps the dialog open, with its error shown)."""

    DEFAULT_CSS = """
    TicketDialog {
        align: center middle;
    }

    TicketDialog #dialog {
        width: 64;
        max-width: 100%;
        height: auto;
        border: thick $warning;
        background: $panel;
        padding: 1 2;
    }

    TicketDialog #dialog-title {
        text-style: bold;
        width: 100%;
    }

    TicketDialog #dialog-question {
        margin: 1 0;
        /* Names the mailbox, message or sender list: a long one scrolls, the fields stay
           in view. */
        max-height: 8;
        overflow-y: auto;
    }

    TicketDialog #dialog-buttons {
        height: auto;
        align-horizontal: right;
    }

    TicketDialog #dialog-buttons Button {
        margin-left: 1;
    }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="ticket.cancel")]

    def __init__(self, title: str, question: str, *, confirm: str = "Confirm") -> None:
        super().__init__()
        self._title = title
        self._question = question
        self._confirm = confirm

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            # Both name the mailbox or message: outside text, shown as it is.
            yield Label(plain(self._title), id="dialog-title")
            yield PlainStatic(self._question, id="dialog-question")
            yield TicketInput()
            yield PlainInput(placeholder="Reason (optional)", id="reason")
            yield from self.extra_fields()
            yield PlainStatic("", id="dialog-error", classes="status -error")
            with Horizontal(id="dialog-buttons"):
                yield Button(self._confirm, variant="warning", id="confirm")
                yield Button("Cancel", id="cancel")

    def extra_fields(self) -> ComposeResult:
        yield from ()

    def on_mount(self) -> None:
        self.query_one(TicketInput).focus()

    @property
    def ticket(self) -> str:
        return self.query_one(TicketInput).ticket

    @property
    def reason(self) -> str:
        return self.query_one("#reason", Input).value.strip()

    def show_error(self, text: str, field: str | None = None) -> None:
        """The error under the fields; `field` (a selector) gets the cursor back."""
        self.query_one("#dialog-error", PlainStatic).update(text)
        if field is not None:
            self.query_one(field, Input).focus()

    @on(Input.Submitted, "#ticket")
    def _ticket_submitted(self) -> None:
        self.ticket_entered()

    @on(Input.Submitted, "#reason")
    def _reason_submitted(self) -> None:
        self.reason_entered()

    @on(Button.Pressed, "#confirm")
    def confirm(self) -> None:
        answer = self.answer()
        if answer is not None:
            self.dismiss(answer)

    def ticket_entered(self) -> None:
        self.query_one("#reason", Input).focus()

    def reason_entered(self) -> None:
        self.confirm()

    def answer(self) -> TicketAnswer | None:
        if not self.ticket:
            self.show_error(TICKET_REQUIRED, "#ticket")
            return None
        return TicketAnswer(self.ticket, self.reason)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
