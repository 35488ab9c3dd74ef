"""The question before quitting would lose edits."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from helpdesk.i18n import N_, _
from helpdesk.plaintext import printable
from screens.translated import Translated


class QuitDialog(Translated, ModalScreen[bool]):
    """Asked only when quitting would lose edits; Ctrl+Q again quits (the app's binding)."""

    DEFAULT_CSS = """
    QuitDialog { align: center middle; }
    QuitDialog > Vertical {
        width: 64; max-width: 100%; height: auto;
        border: thick $warning; background: $panel; padding: 1 2;
    }
    QuitDialog #quit-buttons { height: auto; margin-top: 1; }
    """
    BINDINGS = [Binding("escape", "stay", N_("Stay"), id="quit.stay")]

    def __init__(self, edits: list[str]) -> None:
        super().__init__()
        self.edits = edits

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(_("Quit without saving?"), id="quit-title")
            yield Static(
                _("Unsaved: {edits}.\nCtrl+Q quits · Esc stays").format(
                    edits=printable("; ".join(self.edits))
                ),
                markup=False,
                id="quit-question",
            )
            with Horizontal(id="quit-buttons"):
                yield Button(_("Quit"), variant="error", id="quit-confirm")
                yield Button(_("Stay"), id="quit-stay")

    def on_mount(self) -> None:
        self.query_one("#quit-stay", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "quit-confirm")

    def action_stay(self) -> None:
        self.dismiss(False)
