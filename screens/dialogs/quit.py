"""The question before quitting would lose edits."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from helpdesk.plaintext import printable


class QuitDialog(ModalScreen[bool]):
    """Asked only when quitting would lose edits; Ctrl+Q again quits (the app's binding)."""

    DEFAULT_CSS = """
    QuitDialog { align: center middle; }
    QuitDialog > Vertical {
        width: 64; max-width: 100%; height: auto;
        border: thick $warning; background: $panel; padding: 1 2;
    }
    QuitDialog #quit-buttons { height: auto; margin-top: 1; }
    """
    BINDINGS = [Binding("escape", "stay", "Stay", id="quit.stay")]

    def __init__(self, edits: list[str]) -> None:
        super().__init__()
        self.edits = edits

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Quit without saving?", id="quit-title")
            yield Static(
                f"Unsaved: {printable('; '.join(self.edits))}.\nCtrl+Q quits · Esc stays",
                markup=False,
                id="quit-question",
            )
            with Horizontal(id="quit-buttons"):
                yield Button("Quit", variant="error", id="quit-confirm")
                yield Button("Stay", id="quit-stay")

    def on_mount(self) -> None:
        self.query_one("#quit-stay", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "quit-confirm")

    def action_stay(self) -> None:
        self.dismiss(False)
