"""The outbound picture in full (`v` on the send log, F6): the server's authenticated messages
per hour, the accounts over a sending limit now, and the watcher's recent suspensions. Enter
on an account opens its mailbox; Esc goes back.

The hours and the limit refusals come from the send log's own read (helpdesk.watch.picture);
this screen reads only the watcher's actions, from the audit log, in a thread worker.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header

from helpdesk.i18n import N_, _, number
from helpdesk.localtime import SHORT, header, log_time_text, time_text
from screens.background import Background
from screens.sendlog_jobs import watch_actions
from screens.translated import Translated
from screens.widgets import PlainStatic, lines
from screens.widgets.columns import Column, FittedColumns, FittedTable
from screens.widgets.status import StatusLine

if TYPE_CHECKING:
    from helpdesk.watch.picture import LogPicture, WatchAction

BAR_WIDTH = 12
EIGHTHS = " ▏▎▍▌▋▊▉"


def bar(n: int, top: int, width: int = BAR_WIDTH) -> str:
    """`n` of `top` as a horizontal bar `width` characters long at most, in eighths."""
    if top <= 0 or n <= 0:
        return ""
    eighths = max(1, n * width * 8 // top)
    full, rest = divmod(eighths, 8)
    return "█" * full + (EIGHTHS[rest] if rest else "")


def over_columns() -> list[Column]:
    return [
        Column(_("Account"), "address", 16, weight=1),
        Column(_("Limit"), "limit", 11),
        Column(header(_("Since")), "since", 11),
        Column(_("Refusals"), "refusals", 8, wide=True),
    ]


def action_columns() -> list[Column]:
    return [
        Column(header(_("When")), "when", 11),
        Column(_("Account"), "address", 22, weight=1),
        Column(_("Ticket"), "ticket", 10),
        Column(_("Evidence"), "evidence", 17, weight=2),
        Column(_("Reason"), "reason", 30, weight=1, wide=True),
    ]


class OutboundScreen(Translated, Background, Screen[None]):
    STATUS = "#outbound-status"
    CSS_PATH = "outbound.tcss"
    BINDINGS = [
        Binding("escape", "back", N_("Back"), id="outbound.back"),
        Binding("o", "open_mailbox", N_("Mailbox"), id="outbound.open_mailbox"),
        Binding("f5", "reload", N_("Read again"), id="outbound.reload"),
    ]

    def __init__(self, picture: LogPicture) -> None:
        super().__init__()
        self.picture = picture
        self.actions: list[WatchAction] = []
        self._over_columns: FittedColumns | None = None
        self._action_columns: FittedColumns | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="outbound-top"):
            yield PlainStatic("", id="outbound-hours")
            with Vertical(id="outbound-over-box"):
                yield PlainStatic("", id="outbound-over-title")
                yield FittedTable(id="outbound-over", cursor_type="row", zebra_stripes=True)
        yield PlainStatic(_("The watcher's suspensions"), id="outbound-actions-title")
        yield FittedTable(id="outbound-actions", cursor_type="row", zebra_stripes=True)
        yield StatusLine(_("Reading the watcher's actions …"), id="outbound-status")
        yield Footer()

    def on_mount(self) -> None:
        self.title = _("Outbound")
        over = self.query_one("#outbound-over", FittedTable)
        self._over_columns = over.fit_columns(over_columns())
        actions = self.query_one("#outbound-actions", FittedTable)
        self._action_columns = actions.fit_columns(action_columns())
        self._show_hours()
        self._fill_over()
        (over if self.picture.over else actions).focus()
        self.action_reload()

    def reopen(self) -> OutboundScreen:
        """The same picture, in the language just chosen."""
        return OutboundScreen(self.picture)

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_reload(self) -> None:
        self.background("actions", watch_actions, self.app.database)

    def actions_done(self, actions: list[WatchAction]) -> None:
        self.actions = actions
        self._fill_actions()
        if actions:
            self.show_status(_("Enter opens the mailbox · F5 reads the actions again"))
        else:
            self.show_status(_("The watcher has suspended no account yet."))

    # Hours -------------------------------------------------------------------------------

    def _show_hours(self) -> None:
        hours = self.picture.hours
        top = max((h.messages for h in hours), default=0)
        rows: list[object] = [header(_("Messages per hour"))]
        for h in hours:
            span = f"{log_time_text(h.start, '%H:%M')}–{log_time_text(h.end, '%H:%M')}"
            rows.append(f"{span} {number(h.messages):>7} {bar(h.messages, top)}")
        self.query_one("#outbound-hours", PlainStatic).update(lines(rows))

    # Over a limit ------------------------------------------------------------------------

    def _fill_over(self) -> None:
        from helpdesk.watch.picture import limit_text

        over = self.picture.over
        self.query_one("#outbound-over-title", PlainStatic).update(
            _("Over a limit now: {n}").format(n=number(len(over)))
        )
        table = self.query_one("#outbound-over", DataTable)
        table.clear()
        columns = self._over_columns
        assert columns is not None  # set on mount
        for i, o in enumerate(over):
            values = {
                "address": o.address,
                "limit": str(limit_text(o.limit)),
                "since": log_time_text(o.since, SHORT),
                "refusals": number(o.refusals),
            }
            table.add_row(*columns.row(values), key=str(i))

    @on(FittedTable.Refitted, "#outbound-over")
    def _over_refitted(self) -> None:
        self._fill_over()

    # The watcher's actions ---------------------------------------------------------------

    def _fill_actions(self) -> None:
        from helpdesk.watch.picture import evidence_summary

        table = self.query_one("#outbound-actions", DataTable)
        table.clear()
        columns = self._action_columns
        assert columns is not None  # set on mount
        for i, a in enumerate(self.actions):
            values = {
                "when": time_text(a.at, SHORT),
                "address": a.address,
                "ticket": a.ticket or "",
                "evidence": ", ".join(str(t) for t in evidence_summary(a.evidence)),
                "reason": a.reason,
            }
            table.add_row(*columns.row(values), key=str(i))

    @on(FittedTable.Refitted, "#outbound-actions")
    def _actions_refitted(self) -> None:
        self._fill_actions()

    # Opening an account ------------------------------------------------------------------

    def _address(self, table: DataTable, row: int) -> str | None:
        if table.id == "outbound-over" and 0 <= row < len(self.picture.over):
            return self.picture.over[row].address
        if table.id == "outbound-actions" and 0 <= row < len(self.actions):
            return self.actions[row].address
        return None

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self._open(self._address(event.data_table, event.cursor_row))

    def action_open_mailbox(self) -> None:
        table = self.focused
        if isinstance(table, DataTable):
            self._open(self._address(table, table.cursor_row))

    def _open(self, address: str | None) -> None:
        if address is None:
            return
        from screens.mailbox import MailboxScreen

        self.app.push_screen(MailboxScreen(address))
