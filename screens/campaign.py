"""Password campaigns and how far each has got: how many flagged mailboxes set a new password."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from helpdesk.localtime import header, time_text
from helpdesk.passwords.campaign import Progress, progress
from screens.background import Background
from screens.widgets import cell
from screens.widgets.status import StatusLine

_BAR = 12


def bar(percent: float) -> str:
    filled = round(percent / 100 * _BAR)
    return "█" * filled + "░" * (_BAR - filled)


def load_campaigns(db: Any) -> list[Progress]:
    with db.connect() as conn:
        return progress(conn)


class CampaignScreen(Background, Screen[None]):
    """Read-only: campaigns are started from the command line (`helpdesk passwd campaign`)."""

    STATUS = "#campaign-status"

    BINDINGS = [
        Binding("escape", "back", "Back", id="campaign.back"),
        Binding("f5", "reload", "Reload", id="campaign.reload"),
    ]
    DEFAULT_CSS = """
    CampaignScreen #campaign-title { padding: 0 1; background: $boost; text-style: bold; }
    CampaignScreen #campaign-table { height: 1fr; }
    """

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Password campaigns", id="campaign-title")
        yield StatusLine("Loading …", id="campaign-status")
        yield DataTable(id="campaign-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#campaign-table", DataTable)
        for label in (header("Started"), "Before", "Changed", "Progress", "Ticket"):
            table.add_column(label)
        self.load()

    def load(self) -> None:
        self.background("load", load_campaigns, self.app.database)

    def load_done(self, rows: list[Progress]) -> None:
        table = self.query_one("#campaign-table", DataTable)
        table.clear()
        for p in rows:
            table.add_row(
                time_text(p.started_at),
                cell(p.before, 12),
                f"{p.changed}/{p.flagged}",
                f"{bar(p.percent)} {p.percent:3.0f}%",
                cell(p.ticket or "", 20),
                key=p.campaign,
            )
        if rows:
            pending = sum(p.flagged - p.changed for p in rows)
            text = f"{len(rows)} campaigns · {pending} mailboxes still to change"
        else:
            text = "No campaigns yet: helpdesk passwd campaign --before DATE --apply --ticket T"
        self.show_status(text + " · F5 reload · Esc back")

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_reload(self) -> None:
        self.load()
