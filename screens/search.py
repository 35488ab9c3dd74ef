"""The first screen: a search box with the cursor in it, results as the operator types."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input

from helpdesk.mailcenter.search import SearchResult, find_mailboxes
from screens.background import Background
from screens.widgets import PlainInput, cell
from screens.widgets.status import StatusLine

# Long enough to skip the keystrokes of a fast typist, short enough to feel instant.
DEBOUNCE_SECONDS = 0.15
PAGE = 50
_COLUMNS = (("Address", "address"), ("Name", "name"), ("Customer", "ref"), ("Status", "status"))
# Widths that fit 80 columns with the scrollbar; longer values are cut with "…", not wrapped.
_WIDTHS = (34, 17, 9, 10)


def search(db: Any, query: str) -> SearchResult:
    with db.connect() as conn:
        return find_mailboxes(conn, query, limit=PAGE)


class SearchScreen(Background, Screen[None]):
    STATUS = "#search-status"
    CSS_PATH = "search.tcss"
    BINDINGS = [
        Binding("down", "move(1)", "Next", show=False, id="search.next"),
        Binding("up", "move(-1)", "Previous", show=False, id="search.previous"),
        Binding("pagedown", "move(10)", "Page down", show=False, id="search.page_down"),
        Binding("pageup", "move(-10)", "Page up", show=False, id="search.page_up"),
        Binding("enter", "open", "Open mailbox", priority=True, id="search.open"),
        Binding("escape", "clear", "Clear", id="search.clear"),
        # The search box has the focus, and no query needs a "?": the key can mean help here.
        Binding("question_mark", "app.toggle_keys", "Keys", priority=True, id="search.keys"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._addresses: list[str] = []
        self._timer = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="search-box"):
            yield PlainInput(
                placeholder="Name, address, part of one, domain or customer number",
                id="query",
            )
            yield StatusLine("Type to search.", id="search-status")
        table = DataTable(id="results", cursor_type="row", zebra_stripes=True)
        table.can_focus = False
        yield table
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for (label, key), width in zip(_COLUMNS, _WIDTHS, strict=True):
            table.add_column(label, key=key, width=width)
        self.focus_search()
        if self.app.db_error:
            self.show_status(self.app.db_error, error=True)

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
            self._show([], "Type to search.")
            return
        self._timer = self.set_timer(
            DEBOUNCE_SECONDS, lambda: self.background("search", search, self.app.database, query)
        )

    def search_done(self, result: SearchResult) -> None:
        rows = [
            (h.mailbox.address, h.mailbox.realname, h.mailbox.customer_ref, h.mailbox.status)
            for h in result.hits
        ]
        if not rows:
            text = f"No mailbox matches “{result.query}”."
        elif result.total > len(rows):
            text = f"{len(rows)} of {result.total} matches · ↑↓ choose · Enter opens"
        else:
            text = (
                f"{result.total} match{'es' if result.total != 1 else ''} · ↑↓ choose · Enter opens"
            )
        self._show(rows, text)

    def _show(self, rows: list[tuple[str, str, str, str]], text: str) -> None:
        table = self.query_one(DataTable)
        table.clear()
        for row in rows:
            table.add_row(*(cell(v, w) for v, w in zip(row, _WIDTHS, strict=True)), key=row[0])
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
