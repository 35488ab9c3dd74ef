"""Ctrl+R: the mailboxes opened last, for the caller who rings back. Enter opens one."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from helpdesk.i18n import N_, _
from screens.translated import Translated
from screens.widgets import PlainStatic, plain


class RecentScreen(Translated, ModalScreen[str | None]):
    """Returns the chosen address, or None."""

    DEFAULT_CSS = """
    RecentScreen { align: center middle; }
    RecentScreen > Vertical {
        width: 70; max-width: 100%; height: auto; max-height: 100%;
        border: thick $primary; background: $panel; padding: 0 1;
    }
    RecentScreen #recent-list { height: auto; max-height: 22; border: none; }
    """
    BINDINGS = [
        Binding("escape", "close", N_("Close"), id="recent.close"),
    ]

    def __init__(self, addresses: list[str]) -> None:
        super().__init__()
        self.addresses = list(addresses)

    def compose(self) -> ComposeResult:
        with Vertical():
            if self.addresses:
                yield PlainStatic(_("Opened last · Enter opens · Esc closes"), id="recent-hint")
                yield OptionList(
                    *(Option(plain(a), id=str(i)) for i, a in enumerate(self.addresses)),
                    id="recent-list",
                )
            else:
                yield PlainStatic(_("No mailbox opened yet · Esc closes"), id="recent-hint")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self._close(self.addresses[event.option_index])

    def action_close(self) -> None:
        self._close(None)

    def _close(self, address: str | None) -> None:
        # A second Enter typed before the list is gone reaches it too; dismissing again would
        # close the screen below (the search, or the mailbox the caller is on).
        if self.is_current:
            self.dismiss(address)
