"""The release dialog: the ticket dialog with the release's expiry and uses, what passes, and
what the helpdesk already knows about the account (never a fresh log read), and the text the
operator reads out to the customer, in the customer's language (F8 switches it, whatever the
operator's own); nothing happens until Release is confirmed."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.css.query import NoMatches
from textual.widgets import Button, Input, Label

from helpdesk.errors import HelpdeskError
from helpdesk.i18n import LANGUAGES, N_, _, customer_language
from helpdesk.plaintext import clip
from helpdesk.rspamd.blocked import BlockedMessage
from helpdesk.rspamd.explain import LANGUAGE_NAMES, release_explanation
from helpdesk.rspamd.release_risk import TakeoverNote
from screens.dialogs.ticket import (
    TICKET_REQUIRED,
    ConfirmButton,
    TicketAnswer,
    TicketDialog,
    TicketInput,
    confirm_label,
)
from screens.widgets import PlainInput, PlainStatic, lines, plain

# As in the reset dialog: a function key, so typing a name never switches the customer's
# language, and it never confirms anything.
CUSTOMER_LANGUAGE_KEY = "f8"


@dataclass(frozen=True)
class ReleaseAnswer(TicketAnswer):
    ttl: str
    uses: int = 1


class ReleaseDialog(TicketDialog):
    """Ticket, reason and expiry for a release of one blocked message."""

    # At 80×24 everything shows at once, in both languages: ticket and reason side by side,
    # expiry and copies on one line, the question scrolling only when a takeover warning
    # makes it long.
    DEFAULT_CSS = """
    ReleaseDialog #dialog {
        width: 80;
        max-width: 100%;
        max-height: 100%;
        padding: 0 1;
    }

    ReleaseDialog #dialog-question {
        margin: 0 0 1 0;
        max-height: 8;
        overflow-y: auto;
    }

    ReleaseDialog #release-ticket-row {
        height: 3;
    }

    ReleaseDialog #release-ticket-row Input {
        width: 1fr;
    }

    ReleaseDialog #release-limits-row {
        height: 1;
        margin: 0 0 1 0;
    }

    ReleaseDialog #release-limits-row Label {
        width: auto;
        padding: 0 1;
    }

    ReleaseDialog #release-limits-row Input {
        height: 1;
        border: none;
        padding: 0 1;
        width: 1fr;
    }

    ReleaseDialog #release-customer {
        color: $text-muted;
    }

    ReleaseDialog #dialog-buttons Button {
        height: 1;
        border: none;
        min-width: 10;
    }
    """
    BINDINGS = [
        Binding("escape", "cancel", N_("Cancel"), id="blocked.release.cancel"),
        Binding(
            CUSTOMER_LANGUAGE_KEY,
            "customer_language",
            N_("Customer language"),
            priority=True,
            id="blocked.release.customer_language",
        ),
    ]

    def __init__(
        self,
        item: BlockedMessage,
        default_ttl: str,
        note: TakeoverNote | None = None,
        *,
        customer: str | None = None,
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
        # Shown line by line: a line break between them is layout, not data.
        self._question_lines = [passes, *warn, *risk]
        self.item = item
        self.default_ttl = default_ttl
        self.note = note
        # Without a choice, the customer speaks the operator's language.
        self.customer_lang = customer_language(customer)

    def compose(self) -> ComposeResult:
        # The ticket dialog's parts with the same ids, laid out to fit 80×24.
        with Vertical(id="dialog"):
            yield Label(plain(self._title), id="dialog-title")
            yield PlainStatic(lines(self._question_lines), id="dialog-question")
            with Horizontal(id="release-ticket-row"):
                yield TicketInput()
                yield PlainInput(placeholder=_("Reason (optional)"), id="reason")
            with Horizontal(id="release-limits-row"):
                yield Label(_("Expires after"), id="release-ttl-label")
                yield PlainInput(self.default_ttl, placeholder=_("e.g. 4h, 2d"), id="release-ttl")
                yield Label(_("Copies (1-10)"), id="release-uses-label")
                yield PlainInput("1", placeholder="1", id="release-uses")
            yield PlainStatic(self.customer_text(), id="release-customer")
            yield PlainStatic("", id="dialog-offer", classes="status")
            yield PlainStatic("", id="dialog-error", classes="status -error")
            with Horizontal(id="dialog-buttons"):
                yield ConfirmButton(confirm_label(self._confirm), variant="warning", id="confirm")
                yield Button(Content(_("Cancel [Esc]")), id="cancel")

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

    # --- the text for the customer -----------------------------------------------------------

    def action_customer_language(self) -> None:
        """The next language for the customer's text; the operator's own stays as it is."""
        self.customer_lang = LANGUAGES[(LANGUAGES.index(self.customer_lang) + 1) % len(LANGUAGES)]
        self._show_customer_text()

    @on(Input.Changed, "#release-ttl")
    @on(Input.Changed, "#release-uses")
    def _show_customer_text(self) -> None:
        self.query_one("#release-customer", PlainStatic).update(self.customer_text())

    def customer_text(self) -> Content:
        """What to read out once released, for the expiry and copies typed so far."""
        from helpdesk.durations import parse_duration
        from helpdesk.localtime import time_text
        from helpdesk.mailcenter.audit import utcnow

        try:
            ttl = self.query_one("#release-ttl", Input).value.strip() or self.default_ttl
            raw = self.query_one("#release-uses", Input).value.strip()
        except NoMatches:  # not composed yet
            ttl, raw = self.default_ttl, "1"
        try:
            lasts = parse_duration(ttl)
        except HelpdeskError:
            lasts = parse_duration(self.default_ttl)
        uses = int(raw) if raw.isdigit() and 1 <= int(raw) <= 10 else 1
        explanation = release_explanation(
            subject=self.item.subject,
            lasts=lasts,
            until=time_text(utcnow() + lasts, zone=True),
            uses=uses,
        )
        heading = _("To read out ({language}, {key} switches):").format(
            language=LANGUAGE_NAMES[self.customer_lang], key=CUSTOMER_LANGUAGE_KEY.upper()
        )
        return lines([heading, explanation.render(self.customer_lang)])

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
