"""One line of input (a rule, a sender), checked before the dialog closes."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from helpdesk.errors import HelpdeskError
from helpdesk.i18n import N_
from screens.translated import Translated
from screens.widgets import PlainInput, PlainStatic, plain


class PromptDialog(Translated, ModalScreen[str | None]):
    """One line of input (a rule, a sender); dismisses with the text or None."""

    DEFAULT_CSS = """
    PromptDialog { align: center middle; }
    PromptDialog > Vertical {
        width: 64; max-width: 100%; height: auto;
        border: thick $accent; background: $panel; padding: 1 2;
    }
    PromptDialog #prompt-error { color: $error; height: auto; }
    """
    BINDINGS = [Binding("escape", "cancel", N_("Cancel"), id="spam.prompt.cancel")]

    def __init__(self, title: str, placeholder: str, check=None) -> None:
        super().__init__()
        self._title = title
        self._placeholder = placeholder
        self._check = check

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(plain(self._title))
            yield PlainInput(placeholder=self._placeholder, id="prompt-input")
            yield PlainStatic("", id="prompt-error")

    def on_mount(self) -> None:
        self.query_one("#prompt-input", Input).focus()

    @on(Input.Submitted, "#prompt-input")
    def _submitted(self, event: Input.Submitted) -> None:
        value = event.value.strip()
        if not value:
            self.dismiss(None)
            return
        if self._check is not None:
            try:
                self._check(value)
            except HelpdeskError as exc:
                self.query_one("#prompt-error", Static).update(str(exc))
                return
        self.dismiss(value)

    def action_cancel(self) -> None:
        self.dismiss(None)
