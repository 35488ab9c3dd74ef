"""Asking for the ticket reference (and a reason) before any write: every action is accountable.

`TicketDialog` is the one dialog for "ask a ticket and a reason, confirm": suspend and
reinstate, saving spam settings and revoking use it as it is; the release dialog builds on it
(adding the expiry); the password reset asks for its ticket with the same `TicketInput` and
confirms with the same key.

A write is confirmed only with CONFIRM_KEY, a key that typing a name never produces: an
operator who types the next caller's name into the wrong screen opens a dialog at worst, and
the Enters that follow the name never write. The confirm button cannot take the focus, so
Enter or Space never press it; a click still does.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label

from helpdesk.i18n import N_, _
from helpdesk.mailcenter.tickets import ticket_error
from screens.translated import Translated
from screens.widgets import PlainInput, PlainStatic, plain

# Marked only: shown with _(TICKET_REQUIRED), in the language of the moment.
TICKET_REQUIRED = N_("A ticket reference is required.")
# F2 is what a terminal sends for F2 alone; no letter, digit, Enter, Tab or Space produces it.
CONFIRM_KEY = "f2"
SAME_TICKET_KEY = "f3"
# How long a ticket is offered again for the same customer (until then, or the next Ctrl+F).
TICKET_MEMORY_SECONDS = 15 * 60


def confirm_label(verb: str) -> Content:
    """The write button's label, naming its key; Content, so "[F2]" is not read as markup."""
    return Content(f"{verb} [{CONFIRM_KEY.upper()}]")


class ConfirmButton(Button, can_focus=False):
    """The button of a write: a click or CONFIRM_KEY (bound by its dialog) fires it; it never
    has the focus, so Enter and Space never do."""

    def action_press(self) -> None:
        """Enter on a focused button presses it: this one is never meant to be pressed so."""


class TicketMemory:
    """The last ticket typed, offered again (never filled in) for the same customer only, for
    TICKET_MEMORY_SECONDS or until `forget` (the next caller, Ctrl+F). In memory only."""

    def __init__(self) -> None:
        self._ticket: str | None = None
        self._customer = ""
        self._at = 0.0

    def remember(self, ticket: str, customer: str) -> None:
        self._ticket, self._customer, self._at = ticket, customer, time.monotonic()

    def offer(self, customer: str) -> str | None:
        if self._ticket is None or not customer or customer != self._customer:
            return None
        if time.monotonic() - self._at > TICKET_MEMORY_SECONDS:
            self.forget()
            return None
        return self._ticket

    def forget(self) -> None:
        self._ticket = None


def ticket_memory(app: object) -> TicketMemory:
    """The app's one TicketMemory (created on first use)."""
    memory = getattr(app, "_ticket_memory", None)
    if memory is None:
        memory = TicketMemory()
        app._ticket_memory = memory  # type: ignore[attr-defined]
    return memory


@dataclass(frozen=True)
class TicketAnswer:
    ticket: str
    reason: str


class TicketInput(PlainInput):
    """The ticket reference field: every write names the ticket it was done for."""

    def __init__(self, *, id: str = "ticket") -> None:  # noqa: A002 (Textual's own name)
        super().__init__(placeholder=_("Ticket reference (required)"), id=id)

    @property
    def ticket(self) -> str:
        return self.value.strip()


class TicketDialog(Translated, ModalScreen[TicketAnswer | None]):
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
    BINDINGS = [
        Binding("escape", "cancel", N_("Cancel"), id="ticket.cancel"),
        Binding(CONFIRM_KEY, "confirm", N_("Confirm"), priority=True, id="ticket.confirm"),
        Binding(SAME_TICKET_KEY, "same_ticket", N_("Same ticket"), priority=True, id="ticket.same"),
    ]

    def __init__(self, title: str, question: str, *, confirm: str = "", customer: str = "") -> None:
        super().__init__()
        self._title = title
        self._question = question
        self._confirm = confirm or _("Confirm")
        self._customer = customer

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            # Both name the mailbox or message: outside text, shown as it is.
            yield Label(plain(self._title), id="dialog-title")
            yield PlainStatic(self._question, id="dialog-question")
            yield TicketInput()
            yield PlainInput(placeholder=_("Reason (optional)"), id="reason")
            yield from self.extra_fields()
            yield PlainStatic("", id="dialog-offer", classes="status")
            yield PlainStatic("", id="dialog-error", classes="status -error")
            with Horizontal(id="dialog-buttons"):
                yield ConfirmButton(confirm_label(self._confirm), variant="warning", id="confirm")
                yield Button(Content(_("Cancel [Esc]")), id="cancel")

    def extra_fields(self) -> ComposeResult:
        yield from ()

    def on_mount(self) -> None:
        self.query_one(TicketInput).focus()
        offered = ticket_memory(self.app).offer(self._customer)
        self.query_one("#dialog-offer", PlainStatic).update(
            _("{key}: same ticket {ticket}").format(key=SAME_TICKET_KEY.upper(), ticket=offered)
            if offered
            else ""
        )
        self.query_one("#dialog-offer").display = bool(offered)

    def action_same_ticket(self) -> None:
        offered = ticket_memory(self.app).offer(self._customer)
        if offered:
            self.query_one(TicketInput).value = offered

    @property
    def ticket(self) -> str:
        return self.query_one(TicketInput).ticket

    @property
    def reason(self) -> str:
        return self.query_one("#reason", Input).value.strip()

    def show_error(self, text: object, field: str | None = None) -> None:
        """The error under the fields; `field` (a selector) gets the cursor back. A marked
        constant (TICKET_REQUIRED) is shown in the UI language."""
        if isinstance(text, str):
            text = _(text)
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
    def action_confirm(self) -> None:
        answer = self.answer()
        if answer is not None:
            ticket_memory(self.app).remember(answer.ticket, self._customer)
            self.dismiss(answer)

    def ticket_entered(self) -> None:
        self.query_one("#reason", Input).focus()

    def reason_entered(self) -> None:
        """Enter never writes: it says which key does."""
        self.show_error(_("{key} confirms, Esc cancels.").format(key=CONFIRM_KEY.upper()))

    def answer(self) -> TicketAnswer | None:
        if not self.ticket:
            self.show_error(TICKET_REQUIRED, "#ticket")
            return None
        # The core refuses the same ticket; asking here keeps the dialog open to correct it.
        error = ticket_error(self.ticket)
        if error is not None:
            self.show_error(error, "#ticket")
            return None
        return TicketAnswer(self.ticket, self.reason)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
