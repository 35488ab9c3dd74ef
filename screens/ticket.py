"""Asking for the ticket reference (and a reason) before any write: every action is accountable."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from screens.widgets import PlainInput, PlainStatic, plain


@dataclass(frozen=True)
class TicketAnswer:
    ticket: str
    reason: str


class TicketDialog(ModalScreen[TicketAnswer | None]):
    """Confirm an action; dismisses with the answer, or None when cancelled."""

    CSS_PATH = "ticket.tcss"
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
            yield PlainInput(placeholder="Ticket reference (required)", id="ticket")
            yield PlainInput(placeholder="Reason (optional)", id="reason")
            yield Static("", id="dialog-error", classes="status -error")
            with Horizontal(id="dialog-buttons"):
                yield Button(self._confirm, variant="warning", id="confirm")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#ticket", Input).focus()

    @on(Input.Submitted, "#ticket")
    def _next(self) -> None:
        self.query_one("#reason", Input).focus()

    @on(Input.Submitted, "#reason")
    @on(Button.Pressed, "#confirm")
    def _confirm_pressed(self) -> None:
        ticket = self.query_one("#ticket", Input).value.strip()
        if not ticket:
            self.query_one("#dialog-error", Static).update("A ticket reference is required.")
            self.query_one("#ticket", Input).focus()
            return
        self.dismiss(TicketAnswer(ticket, self.query_one("#reason", Input).value.strip()))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
