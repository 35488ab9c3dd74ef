"""Password campaigns and how far each has got: how many flagged mailboxes set a new password."""

from __future__ import annotations

from dataclasses import dataclass

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from helpdesk.campaign import Progress, progress
from helpdesk.errors import HelpdeskError

_BAR = 12


@dataclass
class CampaignsLoaded(Message):
    rows: list[Progress]


@dataclass
class CampaignsFailed(Message):
    text: str


def bar(percent: float) -> str:
    filled = round(percent / 100 * _BAR)
    return "█" * filled + "░" * (_BAR - filled)


class CampaignScreen(Screen[None]):
    """Read-only: campaigns are started from the command line (`helpdesk passwd campaign`)."""

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
        yield Static("Loading …", id="campaign-status", classes="status")
        yield DataTable(id="campaign-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#campaign-table", DataTable)
        for label in ("Started (UTC)", "Before", "Changed", "Progress", "Ticket"):
            table.add_column(label)
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="campaigns", name="campaigns")
    def load(self) -> None:
        try:
            with self.app.db.connect() as conn:
                rows = progress(conn)
        except HelpdeskError as exc:
            self.post_message(CampaignsFailed(str(exc)))
            return
        self.post_message(CampaignsLoaded(rows))

    def on_campaigns_loaded(self, message: CampaignsLoaded) -> None:
        table = self.query_one("#campaign-table", DataTable)
        table.clear()
        for p in message.rows:
            table.add_row(
                f"{p.started_at:%Y-%m-%d %H:%M}",
                p.before,
                f"{p.changed}/{p.flagged}",
                f"{bar(p.percent)} {p.percent:3.0f}%",
                p.ticket or "",
                key=p.campaign,
            )
        if message.rows:
            pending = sum(p.flagged - p.changed for p in message.rows)
            text = f"{len(message.rows)} campaigns · {pending} mailboxes still to change"
        else:
            text = "No campaigns yet: helpdesk passwd campaign --before DATE --apply --ticket T"
        self._status(text + " · F5 reload · Esc back")

    def on_campaigns_failed(self, message: CampaignsFailed) -> None:
        self._status(message.text, error=True)

    def _status(self, text: str, *, error: bool = False) -> None:
        status = self.query_one("#campaign-status", Static)
        status.update(text)
        status.set_class(error, "-error")

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_reload(self) -> None:
        self.load()
