"""The first screen: a search box with the cursor in it, results as the operator types."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, Static
from textual.worker import get_current_worker

from helpdesk.errors import HelpdeskError
from helpdesk.search import find_mailboxes
from screens.messages import Failed, SearchDone
from screens.widgets import PlainStatic, cell

# Long enough to skip the keystrokes of a fast typist, short enough to feel instant.
DEBOUNCE_SECONDS = 0.15
PAGE = 50
_COLUMNS = (("Address", "address"), ("Name", "name"), ("Customer", "ref"), ("Status", "status"))
# Widths that fit 80 columns with the scrollbar; longer values are cut with "…", not wrapped.
_WIDTHS = (34, 17, 9, 10)


class SearchScreen(Screen[None]):
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
            yield Input(
                placeholder="Name, address, part of one, domain or customer number",
                id="query",
            )
            yield PlainStatic("Type to search.", id="search-status", classes="status")
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
            self._status(self.app.db_error, error=True)

    def focus_search(self) -> None:
        self.query_one("#query", Input).focus()

    @on(Input.Changed, "#query")
    def _typed(self, event: Input.Changed) -> None:
        if self._timer is not None:
            self._timer.stop()
        query = event.value.strip()
        if not query:
            self.workers.cancel_group(self, "search")
            self._show([], "Type to search.")
            return
        self._timer = self.set_timer(DEBOUNCE_SECONDS, lambda: self.run_search(query))

    @work(thread=True, exclusive=True, exit_on_error=False, group="search", name="search")
    def run_search(self, query: str) -> None:
        db = self.app.db
        if db is None:
            self.post_message(Failed("search", self.app.db_error or "no database configured"))
            return
        try:
            with db.connect() as conn:
                result = find_mailboxes(conn, query, limit=PAGE)
        except HelpdeskError as exc:
            self.post_message(Failed("search", str(exc)))
            return
        if not get_current_worker().is_cancelled:
            self.post_message(SearchDone(query, result))

    def on_search_done(self, message: SearchDone) -> None:
        if message.query != self.query_one("#query", Input).value.strip():
            return  # an answer to a question nobody is asking any more
        result = message.result
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

    def on_failed(self, message: Failed) -> None:
        if message.group == "search":
            self._status(message.text, error=True)

    def _show(self, rows: list[tuple[str, str, str, str]], text: str) -> None:
        table = self.query_one(DataTable)
        table.clear()
        for row in rows:
            table.add_row(*(cell(v, w) for v, w in zip(row, _WIDTHS, strict=True)), key=row[0])
        self._addresses = [row[0] for row in rows]
        self._status(text)

    def _status(self, text: str, *, error: bool = False) -> None:
        status = self.query_one("#search-status", Static)
        status.update(text)
        status.set_class(error, "-error")

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
