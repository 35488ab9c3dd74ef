"""The release dialog: the ticket dialog with the release's expiry; nothing happens until
Release is confirmed."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Input, Label

from helpdesk.errors import HelpdeskError
from helpdesk.plaintext import clip
from helpdesk.rspamd.blocked import BlockedMessage
from screens.dialogs.ticket import TICKET_REQUIRED, TicketAnswer, TicketDialog
from screens.widgets import PlainInput


@dataclass(frozen=True)
class ReleaseAnswer(TicketAnswer):
    ttl: str


class ReleaseDialog(TicketDialog):
    """Ticket, reason and expiry for a release of one blocked message."""

    DEFAULT_CSS = """
    ReleaseDialog #dialog {
        width: 70;
        max-height: 100%;
        padding: 0 1;
    }

    ReleaseDialog #dialog-question {
        max-height: initial;
        overflow-y: initial;
    }

    ReleaseDialog #release-ttl-row {
        height: 3;
    }

    ReleaseDialog #release-ttl-label {
        width: 15;
        padding: 1 0 0 1;
    }

    ReleaseDialog #release-ttl {
        width: 1fr;
    }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="blocked.release.cancel")]

    def __init__(self, item: BlockedMessage, default_ttl: str) -> None:
        super().__init__(
            "Release this message",
            f"Only <{clip(item.message_id, 200)}> from {clip(item.user, 200)} "
            "will pass rspamd; everything else from this account is still checked.",
            confirm="Release",
        )
        self.item = item
        self.default_ttl = default_ttl

    def extra_fields(self) -> ComposeResult:
        with Horizontal(id="release-ttl-row"):
            yield Label("Expires after", id="release-ttl-label")
            yield PlainInput(self.default_ttl, placeholder="e.g. 24h, 2d", id="release-ttl")

    def ticket_entered(self) -> None:
        if not self.ticket:
            self.show_error(TICKET_REQUIRED)
            return
        self.show_error("")
        super().ticket_entered()

    def reason_entered(self) -> None:
        self.query_one("#release-ttl", Input).focus()

    @on(Input.Submitted, "#release-ttl")
    def _ttl_submitted(self) -> None:
        super().reason_entered()

    def answer(self) -> ReleaseAnswer | None:
        from helpdesk.durations import parse_duration

        plain = super().answer()
        if plain is None:
            return None
        ttl = self.query_one("#release-ttl", Input).value.strip() or self.default_ttl
        try:
            parse_duration(ttl)
        except HelpdeskError as exc:
            self.show_error(str(exc), "#release-ttl")
            return None
        return ReleaseAnswer(plain.ticket, plain.reason, ttl)
