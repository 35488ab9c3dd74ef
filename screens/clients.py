"""The fleet view: mailboxes whose mail programs still use POP3, log in without TLS, or try
CRAM-MD5 — the list a hoster works through after the move to hashed passwords and forced TLS.
Enter opens the mailbox on its Logins tab, where the diagnoses say what to tell the customer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, ProgressBar

from helpdesk.errors import HelpdeskError
from helpdesk.i18n import N_, _, ngettext, number, render
from helpdesk.localtime import SHORT, log_time_text
from screens.background import Background, Progress
from screens.translated import Translated
from screens.widgets.columns import Column, FittedColumns
from screens.widgets.status import StatusLine

if TYPE_CHECKING:
    from helpdesk.logins.fleet import Fleet

MAX_ROWS = 500  # the screen is for working through the list; --csv has everyone


def read_fleet(config: Any, db: Any, cancelled: Callable[[], bool], progress: Progress) -> Fleet:
    from helpdesk.logins.fleet import fleet
    from helpdesk.logins.settings import LoginSettings
    from helpdesk.logs.files import Cancelled

    try:
        return fleet(LoginSettings.from_config(config), db, progress=progress, cancelled=cancelled)
    except Cancelled:
        raise HelpdeskError(_("Reading cancelled. F5 reads the logs again.")) from None


def columns() -> list[Column]:
    return [
        Column(_("Mailbox"), "address", 25, weight=2),
        Column(_("Name"), "realname", 13, weight=1),
        Column(_("POP3"), "pop3", 5),
        Column(_("No TLS"), "no_tls", 6),
        Column(_("CRAM"), "cram_md5", 5),
        Column(_("Last"), "last", 11),
    ]


class ClientsScreen(Translated, Background, Screen[None]):
    STATUS = "#clients-status"
    CSS_PATH = "clients.tcss"
    BINDINGS = [
        Binding("escape", "back", N_("Back"), id="clients.back"),
        Binding("f5", "reload", N_("Read logs again"), id="clients.reload"),
        Binding("c", "cancel", N_("Cancel reading"), id="clients.cancel"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.fleet: Fleet | None = None
        self.reading = False
        self._columns: FittedColumns | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield StatusLine(_("Reading the Dovecot and Exim logs … (c cancels)"), id="clients-status")
        yield ProgressBar(total=100, show_eta=False, id="clients-progress")
        yield DataTable(id="clients-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.title = _("Old client settings")
        table = self.query_one("#clients-table", DataTable)
        self._columns = FittedColumns(table, columns())
        self._columns.fit(self.size.width or 80)
        table.focus()
        self.action_reload()

    def on_resize(self, event: events.Resize) -> None:
        if self._columns is not None and event.size.width and self._columns.fit(event.size.width):
            self._fill()

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_reload(self) -> None:
        self.reading = True
        bar = self.query_one(ProgressBar)
        bar.update(total=100, progress=0)
        bar.remove_class("-idle")
        args = (self.app.config, self.app.database, self.stop_flag("read"), Progress(self))
        self.background("read", read_fleet, *args)

    def action_cancel(self) -> None:
        self.stop("read")

    def read_progress(self, done: int, total: int) -> None:
        self.query_one(ProgressBar).update(total=total, progress=done)

    def read_done(self, fleet: Fleet) -> None:
        self.reading = False
        self.query_one(ProgressBar).add_class("-idle")
        self.fleet = fleet
        self._fill()
        count = len(fleet.findings)
        text = ngettext(
            "{n} mailbox with old client settings, {start} to {end}",
            "{n} mailboxes with old client settings, {start} to {end}",
            count,
        ).format(
            n=number(count),
            start=log_time_text(fleet.start, SHORT),
            end=log_time_text(fleet.end, SHORT, zone=True),
        )
        text += " · " + _("Enter opens the mailbox")
        if fleet.warnings:
            text += " · " + render(fleet.warnings[0])
        self.show_status(text)

    def read_failed(self, text: str) -> None:
        self.reading = False
        self.query_one(ProgressBar).add_class("-idle")
        self.show_status(text, error=True)

    def _fill(self) -> None:
        table = self.query_one("#clients-table", DataTable)
        table.clear()
        if self.fleet is None or self._columns is None:
            return
        for i, f in enumerate(self.fleet.findings[:MAX_ROWS]):
            values = {
                "address": f.address,
                "realname": f.realname,
                "pop3": number(f.kinds.get("pop3", 0)) if "pop3" in f.kinds else "",
                "no_tls": number(f.kinds["no_tls"]) if "no_tls" in f.kinds else "",
                "cram_md5": number(f.kinds["cram_md5"]) if "cram_md5" in f.kinds else "",
                "last": log_time_text(f.last, SHORT) if f.last else "",
            }
            table.add_row(*self._columns.row(values), key=str(i))

    @on(DataTable.RowSelected, "#clients-table")
    def _open(self, event: DataTable.RowSelected) -> None:
        from screens.mailbox import TABS, MailboxScreen

        event.stop()
        if self.fleet is None or not 0 <= event.cursor_row < len(self.fleet.findings):
            return
        address = self.fleet.findings[event.cursor_row].address
        # On the Logins tab where the mailbox screen has one (see docs/logins.md).
        tab = "tab-logins" if any(id_ == "tab-logins" for id_, _label in TABS) else None
        self.app.push_screen(MailboxScreen(address, tab=tab))
