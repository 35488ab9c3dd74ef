"""The first screen: a search box with the cursor in it, results as the operator types."""

from __future__ import annotations

from typing import Any

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input

from helpdesk.i18n import N_, _, ngettext, number
from helpdesk.mailcenter.search import SearchResult, find_mailboxes
from screens.background import Background
from screens.translated import Translated
from screens.widgets import FindInput, cell
from screens.widgets.columns import column_widths
from screens.widgets.status import StatusLine

# Long enough to skip the keystrokes of a fast typist, short enough to feel instant.
DEBOUNCE_SECONDS = 0.15
PAGE = 50
_COLUMNS = (
    (N_("Address"), "address"),
    (N_("Name"), "name"),
    (N_("Customer"), "ref"),
    (N_("Status"), "status"),
)
# At 80 columns; a wider terminal widens address and name. The status column holds the
# longest status word whole ("must-change"); longer values are cut with "…", not wrapped.
_MINIMUMS = (32, 17, 9, 11)
_WEIGHTS = (5, 4, 1, 0)
# The status words of the core (Mailbox.status), as the column shows them: at most 11 wide.
_STATUS = {
    "active": N_("active"),
    "suspended": N_("suspended"),
    "disabled": N_("disabled"),
    "must-change": N_("must-change"),
}


def search(db: Any, query: str) -> SearchResult:
    with db.connect() as conn:
        return find_mailboxes(conn, query, limit=PAGE)


class SearchInput(FindInput):
    """The search box."""


class SearchScreen(Translated, Background, Screen[None]):
    STATUS = "#search-status"
    CSS_PATH = "search.tcss"
    BINDINGS = [
        Binding("down", "move(1)", N_("Next"), show=False, id="search.next"),
        Binding("up", "move(-1)", N_("Previous"), show=False, id="search.previous"),
        Binding("pagedown", "move(10)", N_("Page down"), show=False, id="search.page_down"),
        Binding("pageup", "move(-10)", N_("Page up"), show=False, id="search.page_up"),
        Binding("enter", "open", N_("Open mailbox"), priority=True, id="search.open"),
        Binding("escape", "clear", N_("Clear"), id="search.clear"),
        # The search box has the focus, and no query needs a "?": the key can mean help here.
        # Hidden: the app's own `?` is in the footer already.
        Binding(
            "question_mark",
            "app.toggle_keys",
            N_("Keys"),
            show=False,
            priority=True,
            id="search.keys",
        ),
    ]

    def __init__(self, query: str = "") -> None:
        super().__init__()
        self._query = query
        self._addresses: list[str] = []
        self._rows: list[tuple[str, str, str, str]] = []
        self._text = _("Type to search.")
        self._widths = list(_MINIMUMS)
        self._timer = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="search-box"):
            yield SearchInput(
                value=self._query,
                placeholder=_("Name, address, part of one, domain or customer number"),
                id="query",
            )
            yield StatusLine(_("Type to search."), id="search-status")
        table = DataTable(id="results", cursor_type="row", zebra_stripes=True)
        table.can_focus = False
        yield table
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        self._widths = column_widths(self.size.width, _MINIMUMS, _WEIGHTS)
        for (label, key), width in zip(_COLUMNS, self._widths, strict=True):
            table.add_column(_(label), key=key, width=width)
        self.focus_search()
        if self.app.db_error:
            self.show_status(self.app.db_error, error=True)
        elif self._query.strip():
            # Built again after a language switch: the same question asked again.
            self.background("search", search, self.app.database, self._query.strip())

    def on_resize(self, event: events.Resize) -> None:
        widths = column_widths(event.size.width, _MINIMUMS, _WEIGHTS)
        if widths == self._widths:
            return
        self._widths = widths
        table = self.query_one(DataTable)
        for column, width in zip(table.columns.values(), widths, strict=True):
            column.width = width
        self._show(self._rows, self._text, keep_cursor=True)

    def focus_search(self) -> None:
        self.query_one("#query", Input).focus()

    @on(Input.Changed, "#query")
    def _typed(self, event: Input.Changed) -> None:
        if self._timer is not None:
            self._timer.stop()
        # Each keystroke asks a new question: the answer to the last one is not wanted any more.
        self.forget("search")
        query = event.value.strip()
        if not query:
            self._show([], _("Type to search."))
            return
        self._timer = self.set_timer(
            DEBOUNCE_SECONDS, lambda: self.background("search", search, self.app.database, query)
        )

    def search_done(self, result: SearchResult) -> None:
        rows = [
            (
                h.mailbox.address,
                h.mailbox.realname,
                h.mailbox.customer_ref,
                status_word(h.mailbox.status),
            )
            for h in result.hits
        ]
        if not rows:
            text = _("No mailbox matches “{query}”.").format(query=result.query)
        elif result.total > len(rows):
            text = ngettext(
                "{shown} of {n} match · ↑↓ choose · Enter opens",
                "{shown} of {n} matches · ↑↓ choose · Enter opens",
                result.total,
            ).format(shown=number(len(rows)), n=number(result.total))
        else:
            text = ngettext(
                "{n} match · ↑↓ choose · Enter opens",
                "{n} matches · ↑↓ choose · Enter opens",
                result.total,
            ).format(n=number(result.total))
        self._show(rows, text)

    def _show(
        self, rows: list[tuple[str, str, str, str]], text: str, *, keep_cursor: bool = False
    ) -> None:
        table = self.query_one(DataTable)
        cursor = table.cursor_row
        table.clear()
        for row in rows:
            table.add_row(*(cell(v, w) for v, w in zip(row, self._widths, strict=True)), key=row[0])
        if keep_cursor and 0 <= cursor < len(rows):
            table.move_cursor(row=cursor)
        self._rows = rows
        self._text = text
        self._addresses = [row[0] for row in rows]
        self.show_status(text)

    def action_move(self, delta: int) -> None:
        table = self.query_one(DataTable)
        if table.row_count:
            table.move_cursor(row=max(0, min(table.row_count - 1, table.cursor_row + delta)))

    def action_open(self) -> None:
        table = self.query_one(DataTable)
        if not self._addresses:
            return
        from screens.mailbox import MailboxScreen

        self.app.push_screen(MailboxScreen(self._addresses[table.cursor_row]))

    def action_clear(self) -> None:
        self.query_one("#query", Input).value = ""
        self.focus_search()

    def reopen(self) -> SearchScreen:
        """The same query, in the language just chosen."""
        return SearchScreen(self.query_one("#query", Input).value)


def status_word(word: str) -> str:
    """A mailbox's status (Mailbox.status) in the UI language."""
    return _(_STATUS[word]) if word in _STATUS else word
