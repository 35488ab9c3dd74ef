"""The reset dialog's second view: the new password, shown once and large, with its spelling in
the customer's alphabet, until the operator closes the dialog (screens/reset.py).

It holds the password only in its Statics; `forget` empties them when the dialog closes.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Label, Static

from helpdesk.i18n import _
from helpdesk.passwords.policy import PasswordSettings
from helpdesk.passwords.reset import ResetResult
from screens.widgets import PlainStatic, lines, plain

_SPELLING_NAMES = {"din5009": "DIN 5009", "din5009-2022": "DIN 5009:2022", "nato": "NATO"}


class NewPasswordView(Vertical):
    """`NewPasswordView(id="reset-result")`: hidden until `show`; Done is `#result-done`."""

    DEFAULT_CSS = """
    NewPasswordView {
        width: 76;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        border: thick $success;
        background: $panel;
        padding: 0 1;
    }
    NewPasswordView > #result-title {
        text-style: bold;
        width: 100%;
    }
    NewPasswordView > #result-password {
        width: 100%;
        content-align: center middle;
        text-align: center;
        text-style: bold;
        color: $text;
        background: $boost;
        border: round $success;
        padding: 1 0;
        /* No space below: the customer's language line takes that row (80x24). */
        margin: 1 0 0 0;
    }
    NewPasswordView > #result-spelling {
        height: auto;
        padding: 0 1;
    }
    NewPasswordView > #result-buttons {
        height: auto;
        align-horizontal: right;
    }
    """

    def compose(self) -> ComposeResult:
        yield Label("", id="result-title")
        yield PlainStatic("", id="result-password")
        yield PlainStatic("", id="result-language", classes="status")
        yield PlainStatic("", id="result-spelling")
        yield Static("", id="result-copy", classes="status")
        yield Static(_("c copy · Enter or Esc close (it is not shown again)"), classes="status")
        with Horizontal(id="result-buttons"):
            yield Button(_("Done"), variant="primary", id="result-done")

    def show(self, result: ResetResult) -> None:
        title = _("New password for {address} · read it out now").format(
            address=result.mailbox.address
        )
        if result.mailbox.must_change_password:
            title += " · " + _("must change it at next login")
        self.query_one("#result-title", Label).update(plain(title))
        self.query_one("#result-password", Static).update(result.password or "")

    def show_customer(self, text: str) -> None:
        self.query_one("#result-language", Static).update(text)

    def show_spelling(self, password: str, customer: str, settings: PasswordSettings) -> None:
        """`password` spelled part by part in the alphabet of the customer's language."""
        from helpdesk.passwords.spelling import alphabet_for_language, spell, spell_grouped

        alphabet = alphabet_for_language(customer, settings.spelling)
        sep = settings.separator
        joiner = " ".join(spell(sep, alphabet))
        spelled = spell_grouped(password, alphabet, sep)
        head = _("{alphabet} · between the parts: {separator} ({spelled})").format(
            alphabet=_SPELLING_NAMES[alphabet], separator=sep, spelled=joiner
        )
        self.query_one("#result-spelling", Static).update(lines([head, *spelled]))

    def copied(self, *, local: bool) -> None:
        if local:
            text = _(
                "Copied through the terminal (OSC 52: arrives if your terminal allows it) "
                "and the local clipboard."
            )
        else:
            text = _("Copied through the terminal (OSC 52: arrives if your terminal allows it).")
        self.query_one("#result-copy", Static).update(text)

    def forget(self) -> None:
        for selector in ("#result-password", "#result-spelling"):
            for widget in self.query(selector):
                widget.update("")
