"""The question before leaving a screen would lose edits: save, discard or stay.

Every way away from a screen that closes it (Esc, Ctrl+F, F6 back to the send log) goes through
`leave_or_ask`; ways that only open another screen on top keep the edits and do not ask.
Save and discard are function keys like every write (F2, F3): a name typed on the wrong screen
neither saves nor throws the edits away.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Label

from helpdesk.i18n import N_, _
from screens.dialogs.ticket import ConfirmButton
from screens.translated import Translated
from screens.widgets import PlainStatic


class LeaveDialog(Translated, ModalScreen[str]):
    """Dismissed with "save", "discard" or "stay"."""

    DEFAULT_CSS = """
    LeaveDialog { align: center middle; }
    LeaveDialog > Vertical {
        width: 64; max-width: 100%; height: auto;
        border: thick $warning; background: $panel; padding: 1 2;
    }
    LeaveDialog #leave-buttons { height: auto; margin-top: 1; }
    LeaveDialog #leave-buttons Button { margin-right: 1; }
    """
    BINDINGS = [
        Binding("escape", "choose('stay')", N_("Stay"), id="leave.stay"),
        Binding("f2", "choose('save')", N_("Save"), priority=True, id="leave.save"),
        Binding("f3", "choose('discard')", N_("Discard"), priority=True, id="leave.discard"),
    ]

    def __init__(self, edits: list[str]) -> None:
        super().__init__()
        self.edits = edits

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(_("Unsaved changes"), id="leave-title")
            yield PlainStatic(
                _("Unsaved: {edits}.").format(edits="; ".join(self.edits)), id="leave-question"
            )
            with Horizontal(id="leave-buttons"):
                # Content: "[F2]" is the key's name, not markup.
                yield ConfirmButton(Content(_("Save") + " [F2]"), variant="warning", id="save")
                yield ConfirmButton(Content(_("Discard") + " [F3]"), variant="error", id="discard")
                yield Button(Content(_("Stay") + " [Esc]"), id="stay")

    def on_mount(self) -> None:
        self.query_one("#stay", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id or "stay")

    def action_choose(self, choice: str) -> None:
        self.dismiss(choice)


def leave_or_ask(app: App, leaving: Iterable[Screen], then: Callable[[], None]) -> None:
    """Run `then` (which closes `leaving`) at once when none of those screens holds unsaved
    edits; else ask: save opens the save dialog on the edited tab, discard drops the edits
    and goes on, stay does nothing."""
    from textual.widgets import TabbedContent

    from screens.spam import SpamTab

    screens = list(leaving)
    dirty = [(s, tab) for s in screens for tab in s.query(SpamTab) if tab.dirty]
    if not dirty:
        then()
        return

    def answered(choice: str | None) -> None:
        if choice == "discard":
            for _s, tab in dirty:
                tab.action_revert()
            then()
        elif choice == "save":
            screen, tab = dirty[0]
            while app.screen is not screen and len(app.screen_stack) > 1:
                app.pop_screen()
            screen.query_one(TabbedContent).active = "tab-spam"
            tab.action_save()

    edits = [_("spam settings of {address}").format(address=tab.address) for _s, tab in dirty]
    app.push_screen(LeaveDialog(edits), answered)
