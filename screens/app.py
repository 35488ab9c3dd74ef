"""The application: wires screens together, nothing more."""

from __future__ import annotations

from collections.abc import Iterable

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from helpdesk.audit import current_operator
from helpdesk.config import Config
from helpdesk.db import Database, open_database
from helpdesk.errors import HelpdeskError
from helpdesk.plaintext import printable
from screens.search import SearchScreen


class HelpdeskApp(App[None]):
    TITLE = "Mailcenter Helpdesk"
    CSS_PATH = "app.tcss"
    BINDINGS = [
        Binding("question_mark", "toggle_keys", "Keys", id="app.keys"),
        Binding("ctrl+f", "go_search", "Search", id="app.search"),
        Binding("ctrl+b", "blocked", "Blocked mail", id="app.blocked"),
        Binding("f6", "send_log", "Send log", id="app.send_log"),
        Binding("f7", "campaigns", "Password campaigns", id="app.campaigns"),
        Binding("ctrl+q", "quit", "Quit", id="app.quit"),
    ]

    def __init__(self, config: Config, db: Database | None = None) -> None:
        super().__init__()
        self.config = config
        self.operator = current_operator()
        self.db_error: str | None = None
        self.db: Database | None = db
        if self.db is None:
            try:
                self.db = open_database(config)
            except HelpdeskError as exc:
                self.db_error = str(exc)

    def on_mount(self) -> None:
        where = self.db.display_url if self.db else "no database"
        # The header shows the title as Content without markup, but control bytes would pass.
        self.sub_title = f"{_short(printable(where))} · {printable(self.operator)}"
        self.push_screen(SearchScreen())

    def action_toggle_keys(self) -> None:
        if self.screen.query("HelpPanel"):
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()

    def action_go_search(self) -> None:
        while len(self.screen_stack) > 2:
            self.pop_screen()
        if isinstance(self.screen, SearchScreen):
            self.screen.focus_search()

    def action_send_log(self) -> None:
        from screens.sendlog import SendLogScreen

        # Back to the one already open (its read may have taken a while), else a new one.
        open_ = next((s for s in self.screen_stack if isinstance(s, SendLogScreen)), None)
        if open_ is None:
            self.push_screen(SendLogScreen())
            return
        while self.screen is not open_:
            self.pop_screen()

    def action_blocked(self) -> None:
        from screens.blocked import BlockedScreen

        self.push_screen(BlockedScreen())

    def action_campaigns(self) -> None:
        from screens.campaign import CampaignScreen

        self.push_screen(CampaignScreen())

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """The palette offers what the keys offer on this screen, under the same names."""
        yield from super().get_system_commands(screen)
        seen: set[str] = set()
        # The focused widget and its containers (a tab's own keys), then the screen, then the app.
        sources = []
        node = screen.focused
        while node is not None and node is not screen:
            sources.append(node)
            node = node.parent
        for source in (*sources, screen, self):
            for binding in getattr(source, "BINDINGS", []):
                if not isinstance(binding, Binding) or not binding.description:
                    continue
                if binding.action in seen or binding.action == "quit":
                    continue
                seen.add(binding.action)
                key = binding.key_display or binding.key
                yield SystemCommand(
                    binding.description,
                    f"key: {key}",
                    _runner(source, binding.action),
                )


def _runner(source, action: str):
    async def run() -> None:
        await source.run_action(action)

    return run


def _short(url: str) -> str:
    return url if len(url) <= 48 else "…" + url[-47:]


def run_app(config: Config) -> int:
    HelpdeskApp(config).run()
    return 0
