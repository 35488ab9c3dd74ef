"""The password reset dialog: generate (default) or type one, with a live strength meter.

A generated password is shown once, large, with its spelling, until the operator closes the
dialog; `c` copies it. Nothing here logs it, and the dialog forgets it when it closes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, RadioButton, RadioSet, Static

from helpdesk.errors import HelpdeskError
from helpdesk.mailcenter.mailboxes import Mailbox
from helpdesk.mailcenter.tickets import ticket_error
from helpdesk.passwords.policy import PasswordSettings
from helpdesk.passwords.reset import ResetResult
from helpdesk.passwords.strength import Strength
from screens.background import Background
from screens.dialogs.ticket import (
    CONFIRM_KEY,
    SAME_TICKET_KEY,
    TICKET_REQUIRED,
    ConfirmButton,
    TicketInput,
    confirm_label,
    ticket_memory,
)
from screens.widgets import PlainStatic, line, lines, plain
from screens.widgets.status import StatusLine

_SCORE_NAMES = ["very weak", "weak", "fair", "strong", "very strong"]
_SPELLING_NAMES = {"din5009": "DIN 5009", "din5009-2022": "DIN 5009:2022", "nato": "NATO"}


@dataclass(frozen=True)
class ResetOutcome:
    """What the mailbox screen learns: never the password."""

    address: str
    generated: bool
    mailbox: Mailbox


def measure(value: str, settings: PasswordSettings, mailbox: Mailbox) -> Strength:
    from helpdesk.passwords.policy import customer_details, strength

    return strength(value, settings, customer_details(mailbox))


def reset(
    db: Any,
    mailbox: Mailbox,
    settings: PasswordSettings,
    ticket: str,
    operator: str,
    password: str | None,
    force: bool,
) -> ResetResult:
    from helpdesk.passwords.reset import reset_password

    with db.begin() as conn:
        return reset_password(
            conn,
            mailbox,
            settings=settings,
            ticket=ticket,
            operator=operator,
            password=password,
            force_change=force,
        )


class ResetPasswordScreen(Background, ModalScreen[ResetOutcome | None]):
    """Opened from the mailbox screen with the Mailbox the operator is looking at."""

    STATUS = "#reset-error"

    CSS_PATH = "reset.tcss"
    BINDINGS = [
        Binding("escape", "close", "Close", id="reset.close"),
        Binding("c", "copy", "Copy password", id="reset.copy"),
        Binding("f4", "toggle_visible", "Show/hide typed password", id="reset.toggle_visible"),
        Binding(CONFIRM_KEY, "confirm", "Reset password", priority=True, id="reset.confirm"),
        Binding(SAME_TICKET_KEY, "same_ticket", "Same ticket", priority=True, id="reset.same"),
    ]

    def __init__(self, mailbox: Mailbox, settings: PasswordSettings | None = None) -> None:
        super().__init__()
        self.mailbox = mailbox
        self._settings = settings
        self._password: str | None = None
        self._outcome: ResetOutcome | None = None
        self._busy = False

    # --- layout ----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        m = self.mailbox
        with Vertical(id="reset-form"):
            yield Label(plain(f"Reset password · {m.address}"), id="reset-title")
            # The ticket comes first: Tab from the password goes on to the checkbox, so a
            # habitual Tab and typing never put password characters into a text field.
            yield TicketInput(id="reset-ticket")
            yield PlainStatic("", id="reset-offer", classes="status")
            with RadioSet(id="reset-mode"):
                yield RadioButton("Generate a passphrase", value=True, id="mode-generate")
                yield RadioButton("Type one", id="mode-type")
            yield Input(
                placeholder="New password (F4 shows it)", password=True, id="reset-password"
            )
            yield Static("", id="reset-meter")
            yield Checkbox("Customer must change it at next login", True, id="reset-force")
            yield StatusLine("", id="reset-error", classes="-error")
            with Horizontal(id="reset-buttons"):
                yield ConfirmButton(
                    confirm_label("Reset password"), variant="warning", id="reset-confirm"
                )
                yield Button("Cancel [Esc]", id="reset-cancel")
        with Vertical(id="reset-result"):
            yield Label("", id="result-title")
            yield PlainStatic("", id="result-password")
            yield PlainStatic("", id="result-spelling")
            yield Static("", id="result-copy", classes="status")
            yield Static("c copy · Enter or Esc close (it is not shown again)", classes="status")
            with Horizontal(id="result-buttons"):
                yield Button("Done", variant="primary", id="result-done")

    def on_mount(self) -> None:
        try:
            settings = self.settings
        except HelpdeskError as exc:
            self.show_status(exc, error=True)
            settings = PasswordSettings()
        self.query_one("#reset-force", Checkbox).value = settings.force_change
        self.query_one("#reset-result").display = False
        self._set_mode(typed=False)
        self.query_one("#reset-ticket", Input).focus()
        offered = ticket_memory(self.app).offer(self.mailbox.customer_ref)
        offer = self.query_one("#reset-offer", PlainStatic)
        offer.update(f"{SAME_TICKET_KEY.upper()}: same ticket {offered}" if offered else "")
        offer.display = bool(offered)

    def action_same_ticket(self) -> None:
        offered = ticket_memory(self.app).offer(self.mailbox.customer_ref)
        if offered and self._outcome is None:
            self.query_one("#reset-ticket", Input).value = offered

    @property
    def settings(self) -> PasswordSettings:
        if self._settings is None:
            self._settings = PasswordSettings.from_config(self.app.config)
        return self._settings

    def _typed(self) -> bool:
        return self.query_one("#mode-type", RadioButton).value

    def _set_mode(self, *, typed: bool) -> None:
        self.query_one("#reset-password").display = typed
        self.query_one("#reset-meter").display = typed
        if typed:
            self.query_one("#reset-password", Input).focus()
            self._measure_now()

    # --- the form --------------------------------------------------------------------------

    @on(RadioSet.Changed, "#reset-mode")
    def _mode_changed(self) -> None:
        self.show_status("")
        self._set_mode(typed=self._typed())

    @on(Input.Changed, "#reset-password")
    def _password_changed(self) -> None:
        self._measure_now()

    def _measure_now(self) -> None:
        self.forget("strength")  # the answer for the last keystroke is not wanted any more
        value = self.query_one("#reset-password", Input).value
        meter = self.query_one("#reset-meter", Static)
        if not value:
            meter.update("Strength: type a password")
            return
        try:
            settings = self.settings
        except HelpdeskError as exc:
            self.show_status(exc, error=True)
            return
        meter.update("Strength: checking …")
        self.background("strength", measure, value, settings, self.mailbox)

    def strength_done(self, s: Strength) -> None:
        needed = self.settings.min_score
        bar = "█" * (s.score + 1) + "░" * (4 - s.score)
        verdict = "[green]enough[/]" if s.score >= needed else f"[red]{needed} needed[/]"
        text = f"Strength: {bar} {s.score}/4 {_SCORE_NAMES[s.score]} · {verdict}"
        meter = line(text)
        if s.warning:
            meter = lines([meter, line("[yellow]$w[/]", w=s.warning)])
        self.query_one("#reset-meter", Static).update(meter)

    @on(Input.Submitted, "#reset-password")
    @on(Input.Submitted, "#reset-ticket")
    def _entered(self, event: Input.Submitted) -> None:
        """Enter never resets (and never carries the password into a text field)."""
        if self._outcome is None:
            self.show_status(f"{CONFIRM_KEY.upper()} resets the password, Esc cancels.")
        if event.input.id == "reset-password":
            self.query_one("#reset-force", Checkbox).focus()
        else:
            self.query_one("#reset-mode", RadioSet).focus()

    @on(Button.Pressed, "#reset-confirm")
    def action_confirm(self) -> None:
        if self._busy or self._outcome is not None:
            return
        ticket = self.query_one("#reset-ticket", TicketInput).ticket
        error = TICKET_REQUIRED if not ticket else ticket_error(ticket)
        if error:
            self.show_status(error, error=True)
            self.query_one("#reset-ticket", Input).focus()
            return
        typed = self._typed()
        password = self.query_one("#reset-password", Input).value if typed else None
        if typed and not password:
            self.show_status("Type the new password, or choose Generate.", error=True)
            self.query_one("#reset-password", Input).focus()
            return
        try:
            settings = self.settings
        except HelpdeskError as exc:
            self.show_status(exc, error=True)
            return
        self._busy = True
        self.show_status("Setting the password …")
        force = self.query_one("#reset-force", Checkbox).value
        ticket_memory(self.app).remember(ticket, self.mailbox.customer_ref)
        args = (self.app.database, self.mailbox, settings, ticket, self.app.operator)
        self.background("reset", reset, *args, password, force)

    def reset_failed(self, text: str) -> None:
        self._busy = False
        self.show_status(text, error=True)

    def reset_done(self, result: ResetResult) -> None:
        self._busy = False
        self._outcome = ResetOutcome(result.mailbox.address, result.generated, result.mailbox)
        self.query_one("#reset-password", Input).value = ""
        if not result.generated:
            self.dismiss(self._outcome)
            return
        self._password = result.password
        must = "must change it at next login" if result.mailbox.must_change_password else ""
        self.query_one("#result-title", Label).update(
            plain(
                f"New password for {result.mailbox.address} · read it out now"
                + (f" · {must}" if must else "")
            )
        )
        self.query_one("#result-password", Static).update(result.password or "")
        from helpdesk.passwords.spelling import spell, spell_grouped

        alphabet = self.settings.spelling
        sep = self.settings.separator
        joiner = " ".join(spell(sep, alphabet))
        spelled = spell_grouped(result.password or "", alphabet, sep)
        head = f"{_SPELLING_NAMES[alphabet]} · between the parts: {sep} ({joiner})"
        self.query_one("#result-spelling", Static).update(lines([head, *spelled]))
        self.query_one("#reset-form").display = False
        self.query_one("#reset-result").display = True
        self.query_one("#result-done", Button).focus()

    # --- the result ------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "copy":
            return self._password is not None
        if action == "toggle_visible":
            return self._outcome is None
        return True

    def action_copy(self) -> None:
        password = self._password
        if password is None:
            return
        # OSC 52 reaches the operator's own clipboard over SSH if their terminal allows it;
        # nobody can tell from here whether it did.
        self.app.copy_to_clipboard(password)
        used = "the terminal (OSC 52: arrives if your terminal allows it)"
        if _local_clipboard(password):
            used += " and the local clipboard"
        self.query_one("#result-copy", Static).update(f"Copied through {used}.")

    def action_toggle_visible(self) -> None:
        field = self.query_one("#reset-password", Input)
        field.password = not field.password

    @on(Button.Pressed, "#result-done")
    @on(Button.Pressed, "#reset-cancel")
    def action_close(self) -> None:
        self.dismiss(self._outcome)

    def on_unmount(self) -> None:
        self._forget()

    def dismiss(self, result=None):  # type: ignore[override]
        self._forget()
        return super().dismiss(result)

    def _forget(self) -> None:
        """Drop every reference this dialog holds to the password (Python cannot wipe it)."""
        if self._password is not None and self.app.clipboard == self._password:
            self.app._clipboard = ""  # the App keeps its last copy; not after this dialog
        self._password = None
        for selector in ("#result-password", "#result-spelling"):
            for widget in self.query(selector):
                widget.update("")
        for field in self.query("#reset-password"):
            field.value = ""


def _local_clipboard(text: str) -> bool:
    """Copy with pyperclip where a local clipboard exists (not usually over SSH)."""
    try:
        import pyperclip

        pyperclip.copy(text)
    except Exception:  # pyperclip raises its own types, or OSError from a missing helper
        return False
    return True
