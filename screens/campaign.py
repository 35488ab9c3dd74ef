"""Password campaigns and how far each has got: how many flagged mailboxes set a new password."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from helpdesk.i18n import N_, _, ngettext, number
from helpdesk.localtime import header, time_text
from helpdesk.passwords.campaign import Progress, progress
from screens.background import Background
from screens.translated import Translated
from screens.widgets.columns import Column, FittedColumns, FittedTable
from screens.widgets.status import StatusLine

_BAR = 12


def bar(percent: float) -> str:
    filled = round(percent / 100 * _BAR)
    return "█" * filled + "░" * (_BAR - filled)


def campaign_columns() -> list[Column]:
    """At 80 columns the numbers and the bar whole, the ticket what is left; a wider terminal
    gives the ticket more and adds who started the campaign."""
    return [
        Column(header(_("Started")), "started", 16),
        Column(_("Before"), "before", 10),
        Column(_("Changed"), "changed", 9),
        Column(_("Progress"), "progress", _BAR + 5),
        Column(_("Ticket"), "ticket", 16, weight=2),
        Column(_("Operator"), "operator", 20, weight=3, wide=True),
    ]


def load_campaigns(db: Any) -> list[Progress]:
    with db.connect() as conn:
        return progress(conn)


class CampaignScreen(Translated, Background, Screen[None]):
    """Read-only: campaigns are started from the command line (`helpdesk passwd campaign`)."""

    STATUS = "#campaign-status"

    BINDINGS = [
        Binding("escape", "back", N_("Back"), id="campaign.back"),
        Binding("f5", "reload", N_("Reload"), id="campaign.reload"),
    ]
    DEFAULT_CSS = """
    CampaignScreen #campaign-title { padding: 0 1; background: $boost; text-style: bold; }
    CampaignScreen #campaign-table { height: 1fr; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[Progress] = []
        self._columns: FittedColumns | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(_("Password campaigns"), id="campaign-title")
        yield StatusLine(_("Loading …"), id="campaign-status")
        yield FittedTable(id="campaign-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#campaign-table", FittedTable)
        self._columns = table.fit_columns(campaign_columns())
        self.load()

    def on_fitted_table_refitted(self) -> None:
        self._fill()

    def load(self) -> None:
        self.background("load", load_campaigns, self.app.database)

    def load_done(self, rows: list[Progress]) -> None:
        self.rows = rows
        self._fill()
        if rows:
            pending = sum(p.flagged - p.changed for p in rows)
            campaigns = ngettext("{n} campaign", "{n} campaigns", len(rows)).format(n=len(rows))
            mailboxes = ngettext(
                "{n} mailbox still to change", "{n} mailboxes still to change", pending
            ).format(n=number(pending))
            text = f"{campaigns} · {mailboxes}"
        else:
            text = _("No campaigns yet: helpdesk passwd campaign --before DATE --apply --ticket T")
        self.show_status(text + _(" · F5 reload · Esc back"))

    def _fill(self) -> None:
        table = self.query_one("#campaign-table", DataTable)
        cursor = table.cursor_row
        table.clear()
        columns = self._columns
        assert columns is not None  # set on mount, before anything is loaded
        for p in self.rows:
            values = {
                "started": time_text(p.started_at),
                "before": p.before,
                "changed": f"{p.changed}/{p.flagged}",
                "progress": f"{bar(p.percent)} {p.percent:3.0f}%",
                "ticket": p.ticket or "",
                "operator": p.operator,
            }
            table.add_row(*columns.row(values), key=p.campaign)
        if 0 < cursor < len(self.rows):
            table.move_cursor(row=cursor, animate=False)

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_reload(self) -> None:
        self.load()
