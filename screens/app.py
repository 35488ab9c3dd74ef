"""The application: wires screens together, nothing more."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from collections.abc import Iterable

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from helpdesk.config import Config
from helpdesk.errors import HelpdeskError
from helpdesk.mailcenter.audit import current_operator
from helpdesk.mailcenter.db import Database, open_database
from helpdesk.plaintext import printable
from screens.background import DaemonExecutor
from screens.dialogs.quit import QuitDialog
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
        # Priority: no screen, dialog or input field may keep the operator from quitting.
        Binding("ctrl+q", "quit", "Quit", priority=True, id="app.quit"),
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
        self._quit_question: QuitDialog | None = None

    @property
    def database(self) -> Database | MissingDatabase:
        """What a job gets to work with: the database, or one that says why there is none."""
        if self.db is not None:
            return self.db
        return MissingDatabase(self.db_error or "no database configured")

    def on_load(self) -> None:
        asyncio.get_running_loop().set_default_executor(DaemonExecutor())

    def on_mount(self) -> None:
        where = self.db.display_url if self.db else "no database"
        # The header shows the title as Content without markup, but control bytes would pass.
        self.sub_title = f"{_short(printable(where))} · {printable(self.operator)}"
        self.push_screen(SearchScreen())

    async def action_quit(self) -> None:
        """Quit at once, unless there are unsaved edits: then ask, and a second Ctrl+Q quits."""
        edits = [] if self._quit_question is not None else self.unsaved_edits()
        if not edits:
            self.exit()
            return

        def answered(quit_: bool | None) -> None:
            self._quit_question = None
            if quit_:
                self.exit()

        self._quit_question = QuitDialog(edits)
        self.push_screen(self._quit_question, answered)

    def unsaved_edits(self) -> list[str]:
        """What would be lost by quitting now, one phrase each."""
        from screens.spam import SpamTab

        return [
            f"spam settings of {tab.address}"
            for screen in self.screen_stack
            for tab in screen.query(SpamTab)
            if tab.dirty
        ]

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


class MissingDatabase:
    """Stands in for the database when it could not be opened: every use says why."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def connect(self):
        raise HelpdeskError(f"No database: {self.reason}")

    begin = connect


def run_app(config: Config) -> int:
    app = HelpdeskApp(config)
    app.run()
    # The driver has restored the terminal. Jobs run in daemon threads and do not hold the
    # process; any other thread still running is stuck in a read nobody waits for: end here
    # rather than hang (the database server rolls back what its connection left open).
    main = threading.main_thread()
    if any(t.is_alive() and not t.daemon and t is not main for t in threading.enumerate()):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(app.return_code or 0)
    return app.return_code or 0
