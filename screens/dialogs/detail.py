"""A modal that shows one long text in full (a verdict, a message's fate) until dismissed.

The text is whole here (tables cut long values with `…`): a `str` is shown as plain text, a
`Content` built with `screens.widgets.line` keeps the app's own markup.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen

from helpdesk.i18n import N_
from screens.translated import Translated
from screens.widgets import PlainStatic


class DetailScreen(Translated, ModalScreen[None]):
    DEFAULT_CSS = """
    DetailScreen { align: center middle; }
    DetailScreen > VerticalScroll {
        width: 78; max-width: 100%; height: auto; max-height: 100%;
        border: thick $primary; background: $panel; padding: 0 1;
    }
    """
    BINDINGS = [
        Binding("escape", "close", N_("Close"), id="detail.close"),
        Binding("enter", "close", N_("Close"), show=False, id="detail.enter"),
    ]

    def __init__(self, text: str | Text | Content, *, text_id: str) -> None:
        super().__init__()
        self._text = text
        self._text_id = text_id

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield PlainStatic(self._text, id=self._text_id)

    def action_close(self) -> None:
        self.dismiss(None)
