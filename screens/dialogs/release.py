"""The release dialog: the ticket dialog with the release's expiry and uses, what passes, and
what the helpdesk already knows about the account (never a fresh log read); nothing happens
until Release is confirmed."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Input, Label

from helpdesk.errors import HelpdeskError
from helpdesk.i18n import N_, _
from helpdesk.plaintext import clip
from helpdesk.rspamd.blocked import BlockedMessage
from helpdesk.rspamd.release_risk import TakeoverNote
from screens.dialogs.ticket import TICKET_REQUIRED, TicketAnswer, TicketDialog
from screens.widgets import PlainInput


@dataclass(frozen=True)
class ReleaseAnswer(TicketAnswer):
    ttl: str
    uses: int = 1


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

    ReleaseDialog #release-ttl, ReleaseDialog #release-uses {
        width: 1fr;
    }

    ReleaseDialog #release-uses-row {
        height: 3;
    }

    ReleaseDialog #release-uses-label {
        width: 15;
        padding: 1 0 0 1;
    }
    """
    BINDINGS = [Binding("escape", "cancel", N_("Cancel"), id="blocked.release.cancel")]

    def __init__(
        self, item: BlockedMessage, default_ttl: str, note: TakeoverNote | None = None
    ) -> None:
        what = f"<{clip(item.message_id, 120)}>" if item.message_id else _("this message")
        passes = _(
            "Passes: {what} with this content (digest {digest}), only from {user}, as many "
            "times as set below (default once), until the expiry ({until} with {ttl}). "
            "Everything else from this account is still checked."
        ).format(
            what=what,
            digest=item.digest[:12],
            user=clip(item.user, 120),
            until=_until(default_ttl),
            ttl=default_ttl,
        )
        risk = [str(text) for text in note.lines] if note is not None else []
        warn = (
            [_("WARNING: the account looks taken over.")] if note is not None and note.warn else []
        )
        super().__init__(
            _("Release this message"),
            "\n".join([passes, *warn, *risk]),
            confirm=_("Release"),
        )
        self.item = item
        self.default_ttl = default_ttl
        self.note = note

    def extra_fields(self) -> ComposeResult:
        with Horizontal(id="release-ttl-row"):
            yield Label(_("Expires after"), id="release-ttl-label")
            yield PlainInput(self.default_ttl, placeholder=_("e.g. 4h, 2d"), id="release-ttl")
        with Horizontal(id="release-uses-row"):
            yield Label(_("Copies (1-10)"), id="release-uses-label")
            yield PlainInput("1", placeholder="1", id="release-uses")

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
        self.query_one("#release-uses", Input).focus()

    @on(Input.Submitted, "#release-uses")
    def _uses_submitted(self) -> None:
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
        raw = self.query_one("#release-uses", Input).value.strip() or "1"
        if not raw.isdigit() or not 1 <= int(raw) <= 10:
            self.show_error(_("Copies: a number from 1 to 10."), "#release-uses")
            return None
        return ReleaseAnswer(plain.ticket, plain.reason, ttl, int(raw))


def _until(ttl: str) -> str:
    """When a release made now with this TTL ends, as the operator says it."""
    from helpdesk.durations import parse_duration
    from helpdesk.localtime import SHORT, time_text
    from helpdesk.mailcenter.audit import utcnow

    try:
        return _("until {time}").format(
            time=time_text(utcnow() + parse_duration(ttl), SHORT, zone=True)
        )
    except HelpdeskError:
        return _("until the expiry set below")
