"""The sweep after a takeover as a tab of the mailbox screen: the mailbox's recent forwards,
auto-replies, aliases, customer's Sieve scripts (rules), password and sending changes, who made
each (the helpdesk with its audit row, or another program), external targets flagged; `u` undoes
the chosen change with a ticket (F2; a rule is deactivated), a password change points to the
reset instead (docs/forwards.md, "The sweep").

`SweepTab(address)` reads the changes when first shown, in a thread worker; F5 reads again.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable

from helpdesk.i18n import N_, _, ngettext, number, render
from helpdesk.localtime import SHORT, header, time_text
from screens.background import Background
from screens.dialogs.detail import DetailScreen
from screens.dialogs.ticket import TicketAnswer, TicketDialog
from screens.widgets import line, lines, notify
from screens.widgets.columns import Column, FittedColumns
from screens.widgets.status import StatusLine

if TYPE_CHECKING:
    from helpdesk.sweep.changes import Change

# The tab's label on the mailbox screen (≤ 10 characters in every language).
TAB_LABEL = N_("Sweep")
DAYS = 30


def read_changes(db: Any, config: Any, address: str) -> tuple[list[Change], str]:
    """The changes, newest first, and a note when the customer's scripts could not be read."""
    from helpdesk.forwards.times import utcnow
    from helpdesk.mailcenter.mailboxes import get_mailbox
    from helpdesk.sweep.changes import list_changes
    from helpdesk.sweep.rules import refresh

    with db.connect() as conn:
        mailbox = get_mailbox(conn, address)
    note = refresh(db, config, mailbox)
    with db.connect() as conn:
        changes = list_changes(conn, mailbox.address, utcnow() - timedelta(days=DAYS))
    return changes, render(note) if note is not None else ""


def undo_change(db: Any, config: Any, change_id: int, answer: TicketAnswer, operator: Any) -> str:
    from helpdesk.sweep.undo import undo

    with db.begin() as conn:
        undo(conn, change_id, ticket=answer.ticket, reason=answer.reason or None,
             operator=operator, config=config)  # fmt: skip
    return _("Change {id} undone.").format(id=change_id)


def columns() -> list[Column]:
    when = header(_("When"))
    return [
        Column(when, "when", 11 + max(0, len(when) - 11)),
        Column(_("Change"), "what", 38, weight=3),
        Column(_("By"), "who", 9),
        Column(_("Note"), "note", 9),
    ]


def note(change: Change) -> str:
    if change.kind == "password":
        return _("reset pw")
    if change.external:
        return _("EXTERNAL")
    return ""


class SweepTab(Background, Vertical):
    """The mailbox screen's sweep tab: `SweepTab(address)`."""

    STATUS = "#sweep-status"
    DEFAULT_CSS = """
    SweepTab { height: 1fr; }
    SweepTab > #sweep-status { height: auto; max-height: 2; }
    SweepTab > DataTable { height: 1fr; min-height: 3; }
    """
    BINDINGS = [
        Binding("f5", "reread", N_("Read again"), show=False, id="sweep.reread"),
        Binding("u", "undo", N_("Undo"), id="sweep.undo"),
    ]

    def __init__(self, address: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.address = address
        self.changes: list[Change] | None = None
        self._asked = False
        self._columns: FittedColumns | None = None

    def compose(self) -> ComposeResult:
        yield StatusLine(_("Opened on first view."), id="sweep-status")
        yield DataTable(id="sweep-table", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        table = self.query_one("#sweep-table", DataTable)
        self._columns = FittedColumns(table, columns())
        self._columns.fit(self.size.width or 80)

    def on_show(self) -> None:
        if not self._asked:
            self._asked = True
            self.action_reread()

    def action_reread(self) -> None:
        self.background("read", read_changes, self.app.database, self.app.config, self.address)

    def read_done(self, result: tuple[list[Change], str]) -> None:
        changes, rules_note = result
        self.changes = changes
        table = self.query_one("#sweep-table", DataTable)
        table.clear()
        for index, c in enumerate(changes):
            values = {
                "when": time_text(c.at, SHORT),
                "what": render(c.what()),
                "who": _("helpdesk") if c.by_helpdesk else _("other"),
                "note": note(c),
            }
            table.add_row(*self._columns.row(values), key=f"c{index}")
        text = ngettext(
            "{n} change in {days} days", "{n} changes in {days} days", len(changes)
        ).format(n=number(len(changes)), days=DAYS)
        text += " · " + _("u undoes · Enter shows one")
        self.show_status(text + (" · " + rules_note if rules_note else ""))

    def read_failed(self, text: str) -> None:
        self.show_status(text, error=True)

    def selected(self) -> Change | None:
        if not self.changes:
            return None
        row = self.query_one("#sweep-table", DataTable).cursor_row
        return self.changes[row] if 0 <= row < len(self.changes) else None

    def action_undo(self) -> None:
        change = self.selected()
        if change is None:
            return
        if change.kind == "password":
            notify(self, _("A password change cannot be undone: reset the password (p)."))
            return
        if not change.undoable:
            notify(self, _("A removal cannot be undone here."))
            return

        def answered(answer: TicketAnswer | None) -> None:
            if answer is not None:
                args = (self.app.database, self.app.config, change.id, answer, self.app.operator)
                self.background("undo", undo_change, *args)

        dialog = TicketDialog(_("Undo a change"), render(change.what()), confirm=_("Undo"))
        self.app.push_screen(dialog, answered)

    def undo_done(self, text: str) -> None:
        notify(self, text)
        self.action_reread()

    def undo_failed(self, text: str) -> None:
        self.show_status(text, error=True)

    @on(DataTable.RowSelected, "#sweep-table")
    def _open(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if not self.changes or not 0 <= event.cursor_row < len(self.changes):
            return
        c = self.changes[event.cursor_row]
        text = lines(
            [
                line(_("[b]When[/b]    $v"), v=time_text(c.at, zone=True)),
                line(_("[b]Change[/b]  $v"), v=render(c.what())),
                line(_("[b]By[/b]      $v"), v=render(c.who())),
                line(_("[b]Note[/b]    $v"), v=note(c) or "—"),
            ]
        )
        self.app.push_screen(DetailScreen(text, text_id="sweep-detail"))
