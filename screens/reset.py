"""The password reset dialog: generate (default) or type one, with a live strength meter.

A generated password is shown once, large, with its spelling, until the operator closes the
dialog; `c` copies it. Nothing here logs it, and the dialog forgets it when it closes.

The spelling is for the customer, in the customer's language (F8 switches it), which need not
be the operator's: an operator working in English may be talking to a German caller.
What runs off the event loop (strength, the reset) is screens/reset_jobs.py; the view of the
new password is screens/reset_result.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, RadioButton, RadioSet, Static

from helpdesk.errors import HelpdeskError
from helpdesk.i18n import LANGUAGES, N_, _, customer_language
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
from screens.reset_jobs import Pending, measure, reset
from screens.reset_result import NewPasswordView
from screens.translated import Translated
from screens.widgets import PlainStatic, line, lines, plain
from screens.widgets.status import StatusLine

_SCORE_NAMES = [N_("very weak"), N_("weak"), N_("fair"), N_("strong"), N_("very strong")]
# Each language named in itself, as the palette names them.
LANGUAGE_NAMES = {"de": "Deutsch", "en": "English"}  # i18n: not text
CUSTOMER_LANGUAGE_KEY = "f8"


@dataclass(frozen=True)
class ResetOutcome:
    """What the mailbox screen learns: never the password."""

    address: str
    generated: bool
    mailbox: Mailbox


@dataclass
class Carried:
    """What a dialog built again in the new language shows as the old one did."""

    ticket: str = ""
    typed: bool = False
    password: str = ""
    visible: bool = False
    force: bool | None = None
    pending: Pending | None = None
    result: ResetResult | None = None
    outcome: ResetOutcome | None = None


class ResetPasswordScreen(Translated, Background, ModalScreen[ResetOutcome | None]):
    """Opened from the mailbox screen with the Mailbox the operator is looking at."""

    STATUS = "#reset-error"

    CSS_PATH = "reset.tcss"
    BINDINGS = [
        Binding("escape", "close", N_("Close"), id="reset.close"),
        Binding("c", "copy", N_("Copy password"), id="reset.copy"),
        Binding("f4", "toggle_visible", N_("Show/hide typed password"), id="reset.toggle_visible"),
        Binding(CONFIRM_KEY, "confirm", N_("Reset password"), priority=True, id="reset.confirm"),
        Binding(SAME_TICKET_KEY, "same_ticket", N_("Same ticket"), priority=True, id="reset.same"),
        # A function key: typing a name into the ticket field never switches it, and it
        # never confirms anything.
        Binding(
            CUSTOMER_LANGUAGE_KEY,
            "customer_language",
            N_("Customer language"),
            priority=True,
            id="reset.customer_language",
        ),
    ]

    def __init__(
        self,
        mailbox: Mailbox,
        settings: PasswordSettings | None = None,
        *,
        customer: str | None = None,
    ) -> None:
        super().__init__()
        self.mailbox = mailbox
        self._settings = settings
        self._password: str | None = None
        self._outcome: ResetOutcome | None = None
        self._result: ResetResult | None = None
        self._busy = False
        self._pending: Pending | None = None
        self._carried: Carried | None = None
        # Without a choice, the customer speaks the operator's language.
        self.customer = customer_language(customer)

    # --- layout ----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        m = self.mailbox
        with Vertical(id="reset-form"):
            yield Label(
                plain(_("Reset password · {address}").format(address=m.address)),
                id="reset-title",
            )
            # The ticket comes first: Tab from the password goes on to the checkbox, so a
            # habitual Tab and typing never put password characters into a text field.
            yield TicketInput(id="reset-ticket")
            yield PlainStatic("", id="reset-offer", classes="status")
            with RadioSet(id="reset-mode"):
                yield RadioButton(_("Generate a passphrase"), value=True, id="mode-generate")
                yield RadioButton(_("Type one"), id="mode-type")
            yield Input(
                placeholder=_("New password (F4 shows it)"), password=True, id="reset-password"
            )
            yield Static("", id="reset-meter")
            yield Checkbox(_("Customer must change it at next login"), True, id="reset-force")
            yield PlainStatic("", id="reset-customer", classes="status")
            yield StatusLine("", id="reset-error", classes="-error")
            with Horizontal(id="reset-buttons"):
                yield ConfirmButton(
                    confirm_label(_("Reset password")), variant="warning", id="reset-confirm"
                )
                yield Button(plain(_("Cancel [Esc]")), id="reset-cancel")
        yield NewPasswordView(id="reset-result")

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
        offer.update(
            _("{key}: same ticket {ticket}").format(key=SAME_TICKET_KEY.upper(), ticket=offered)
            if offered
            else ""
        )
        offer.display = bool(offered)
        self._show_customer()
        if self._carried is not None:
            self._restore(self._carried)
            self._carried = None

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
            meter.update(_("Strength: type a password"))
            return
        try:
            settings = self.settings
        except HelpdeskError as exc:
            self.show_status(exc, error=True)
            return
        meter.update(_("Strength: checking …"))
        self.background("strength", measure, value, settings, self.mailbox)

    def strength_done(self, s: Strength) -> None:
        needed = self.settings.min_score
        bar = "█" * (s.score + 1) + "░" * (4 - s.score)
        if s.score >= needed:
            verdict = line("[green]$v[/]", v=_("enough"))
        else:
            verdict = line("[red]$v[/]", v=_("{needed} needed").format(needed=needed))
        text = _("Strength: {bar} {score}/4 {name} ·").format(
            bar=bar, score=s.score, name=_(_SCORE_NAMES[s.score])
        )
        meter = line("$t ", t=text) + verdict
        if s.warning_text is not None:
            meter = lines([meter, line("[yellow]$w[/]", w=str(s.warning_text))])
        self.query_one("#reset-meter", Static).update(meter)

    @on(Input.Submitted, "#reset-password")
    @on(Input.Submitted, "#reset-ticket")
    def _entered(self, event: Input.Submitted) -> None:
        """Enter never resets (and never carries the password into a text field)."""
        if self._outcome is None:
            self.show_status(
                _("{key} resets the password, Esc cancels.").format(key=CONFIRM_KEY.upper())
            )
        if event.input.id == "reset-password":
            self.query_one("#reset-force", Checkbox).focus()
        else:
            self.query_one("#reset-mode", RadioSet).focus()

    @on(Button.Pressed, "#reset-confirm")
    def action_confirm(self) -> None:
        if self._busy or self._outcome is not None:
            return
        ticket = self.query_one("#reset-ticket", TicketInput).ticket
        error = _(TICKET_REQUIRED) if not ticket else ticket_error(ticket)
        if error:
            self.show_status(error, error=True)
            self.query_one("#reset-ticket", Input).focus()
            return
        typed = self._typed()
        password = self.query_one("#reset-password", Input).value if typed else None
        if typed and not password:
            self.show_status(_("Type the new password, or choose Generate."), error=True)
            self.query_one("#reset-password", Input).focus()
            return
        try:
            settings = self.settings
        except HelpdeskError as exc:
            self.show_status(exc, error=True)
            return
        self._busy = True
        self.show_status(_("Setting the password …"))
        force = self.query_one("#reset-force", Checkbox).value
        ticket_memory(self.app).remember(ticket, self.mailbox.customer_ref)
        args = (
            self.app.database,
            self.app.config,
            self.mailbox,
            settings,
            ticket,
            self.app.operator,
        )
        self._pending = Pending()
        self.background("reset", self._pending.run, reset, *args, password, force)

    def reset_failed(self, text: str) -> None:
        self._busy = False
        self._pending = None
        self.show_status(text, error=True)

    def reset_done(self, result: ResetResult) -> None:
        self._busy = False
        self._pending = None
        if result.sessions is not None:
            self.show_status(str(result.sessions.text()))
        self._outcome = ResetOutcome(result.mailbox.address, result.generated, result.mailbox)
        self.query_one("#reset-password", Input).value = ""
        if not result.generated:
            self.dismiss(self._outcome)
            return
        self._show_result(result)

    def _show_result(self, result: ResetResult) -> None:
        self._result = result
        self._password = result.password
        self.query_one(NewPasswordView).show(result)
        self._show_spelling()
        self.query_one("#reset-form").display = False
        self.query_one("#reset-result").display = True
        self.query_one("#result-done", Button).focus()

    # --- the customer's language -----------------------------------------------------------

    def action_customer_language(self) -> None:
        """The next language for the customer's texts; the operator's own stays as it is."""
        self.customer = LANGUAGES[(LANGUAGES.index(self.customer) + 1) % len(LANGUAGES)]
        self._show_customer()
        if self._password is not None:
            self._show_spelling()

    def _customer_text(self) -> str:
        return _("Customer: {language} ({key} switches)").format(
            language=LANGUAGE_NAMES[self.customer], key=CUSTOMER_LANGUAGE_KEY.upper()
        )

    def _show_customer(self) -> None:
        self.query_one("#reset-customer", Static).update(self._customer_text())
        self.query_one(NewPasswordView).show_customer(self._customer_text())

    def _show_spelling(self) -> None:
        view = self.query_one(NewPasswordView)
        view.show_spelling(self._password or "", self.customer, self.settings)

    # --- a language switch builds the dialog again -------------------------------------------

    def reopen(self) -> ResetPasswordScreen:
        """The same dialog in the new language: the form as typed, a reset still running, or
        the password shown once, with the customer's language kept."""
        fresh = ResetPasswordScreen(self.mailbox, self._settings, customer=self.customer)
        field = self.query_one("#reset-password", Input)
        fresh._carried = Carried(
            ticket=self.query_one("#reset-ticket", Input).value,
            typed=self._typed(),
            password=field.value,
            visible=not field.password,
            force=self.query_one("#reset-force", Checkbox).value,
            pending=self._pending if self._busy else None,
            result=self._result if self._password is not None else None,
            outcome=self._outcome,
        )
        return fresh

    def _restore(self, carried: Carried) -> None:
        self.query_one("#reset-ticket", Input).value = carried.ticket
        if carried.force is not None:
            self.query_one("#reset-force", Checkbox).value = carried.force
        field = self.query_one("#reset-password", Input)
        field.value = carried.password
        field.password = not carried.visible
        if carried.typed:
            self.query_one("#mode-type", RadioButton).value = True
            self._set_mode(typed=True)
        self._outcome = carried.outcome
        if carried.result is not None:
            self._show_result(carried.result)
        elif carried.pending is not None:
            self._busy = True
            self._pending = carried.pending
            self.show_status(_("Setting the password …"))
            self.background("reset", carried.pending.wait)

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
        self.query_one(NewPasswordView).copied(local=_local_clipboard(password))

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
        self._result = None
        for view in self.query(NewPasswordView):
            view.forget()
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
