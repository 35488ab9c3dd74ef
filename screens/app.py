"""The application: wires screens together, nothing more."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from collections.abc import Iterable

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.command import CommandPalette
from textual.screen import Screen

from helpdesk.config import Config
from helpdesk.errors import HelpdeskError
from helpdesk.i18n import LANGUAGES, N_, M, _, language, set_language
from helpdesk.localtime import use_config
from helpdesk.mailcenter.audit import current_operator
from helpdesk.mailcenter.db import Database, open_database
from helpdesk.mailcenter.recent import RecentMailboxes
from helpdesk.plaintext import printable
from screens.background import DaemonExecutor
from screens.dialogs.quit import QuitDialog
from screens.search import SearchScreen
from screens.widgets import notify


class HelpdeskApp(App[None]):
    TITLE = "Mailcenter Helpdesk"  # i18n: not text (the product's name)
    CSS_PATH = "app.tcss"
    # The footer lists the app's keys before the screen's: only "?" shows there, so that at
    # 80 columns the screen's own actions are seen; the rest are in "?" and the palette.
    BINDINGS = [
        Binding("question_mark,f1", "toggle_keys", N_("Keys"), key_display="?", id="app.keys"),
        Binding("ctrl+f", "go_search", N_("Search"), show=False, id="app.search"),
        Binding("slash", "find", N_("Filter or search"), show=False, id="app.find"),
        Binding("ctrl+r", "recent", N_("Recent mailboxes"), show=False, id="app.recent"),
        Binding("ctrl+b", "blocked", N_("Blocked mail"), show=False, id="app.blocked"),
        Binding("f6", "send_log", N_("Send log"), show=False, id="app.send_log"),
        Binding("f7", "campaigns", N_("Password campaigns"), show=False, id="app.campaigns"),
        Binding("f9", "clients", N_("Old mail programs"), show=False, id="app.clients"),
        # Priority: no screen, dialog or input field may keep the operator from quitting.
        Binding("ctrl+q", "quit", N_("Quit"), priority=True, show=False, id="app.quit"),
    ]

    def __init__(self, config: Config, db: Database | None = None) -> None:
        super().__init__()
        self.config = config
        use_config(config)
        self.operator = current_operator()
        self._db_failure: HelpdeskError | None = None
        self.db: Database | None = db
        if self.db is None:
            try:
                self.db = open_database(config)
            except HelpdeskError as exc:
                self._db_failure = exc
        self._quit_question: QuitDialog | None = None
        self.recent = RecentMailboxes()

    @property
    def db_error(self) -> str | None:
        """Why there is no database, in the UI language of the moment."""
        return str(self._db_failure) if self._db_failure is not None else None

    @property
    def database(self) -> Database | MissingDatabase:
        """What a job gets to work with: the database, or one that says why there is none."""
        if self.db is not None:
            return self.db
        return MissingDatabase(self.db_error or _("no database configured"))

    def on_load(self) -> None:
        asyncio.get_running_loop().set_default_executor(DaemonExecutor())

    def on_mount(self) -> None:
        self._show_sub_title()
        self.push_screen(SearchScreen())

    def _show_sub_title(self) -> None:
        where = self.db.display_url if self.db else _("no database")
        # The header shows the title as Content without markup, but control bytes would pass.
        self.sub_title = f"{printable(self.operator.user)} · {_short(printable(where))}"

    def action_help_quit(self) -> None:
        # Textual's hint for a Ctrl+C pressed out of habit, in the operator's language.
        self.notify(
            _("Ctrl+Q quits the helpdesk"), title=_("Quit?"), markup=False, severity="information"
        )

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
            _("spam settings of {address}").format(address=tab.address)
            for screen in self.screen_stack
            for tab in screen.query(SpamTab)
            if tab.dirty
        ]

    def action_toggle_keys(self) -> None:
        from screens.keys import KeysScreen

        if isinstance(self.screen, KeysScreen):
            self.screen.dismiss(None)
        else:
            self.push_screen(KeysScreen(self.screen))

    def action_go_search(self) -> None:
        """Back to the search box, empty: the next caller's name is not appended to the last."""
        from screens.dialogs.leave import leave_or_ask
        from screens.dialogs.ticket import ticket_memory

        ticket_memory(self).forget()  # the next caller: the last ticket is no longer offered
        leave_or_ask(self, self.screen_stack[2:], self._back_to_search)

    def _back_to_search(self) -> None:
        while len(self.screen_stack) > 2:
            self.pop_screen()
        if isinstance(self.screen, SearchScreen):
            self.screen.action_clear()

    def action_find(self) -> None:
        """`/`: the screen's own filter where it has one, else the search box."""
        focus_filter = getattr(self.screen, "focus_filter", None)
        if callable(focus_filter):
            focus_filter()
        else:
            self.action_go_search()

    def opened(self, address: str) -> None:
        """A mailbox screen was opened: remember it for Ctrl+R."""
        self.recent.add(address)

    def action_recent(self) -> None:
        from screens.mailbox import MailboxScreen
        from screens.recent import RecentScreen

        def chosen(address: str | None) -> None:
            if address:
                self.push_screen(MailboxScreen(address))

        self.push_screen(RecentScreen(self.recent.addresses), chosen)

    def action_send_log(self) -> None:
        from screens.sendlog import SendLogScreen

        # Back to the one already open (its read may have taken a while), else a new one.
        open_ = next((s for s in self.screen_stack if isinstance(s, SendLogScreen)), None)
        if open_ is None:
            self.push_screen(SendLogScreen())
            return
        from screens.dialogs.leave import leave_or_ask

        def back() -> None:
            while self.screen is not open_:
                self.pop_screen()

        leave_or_ask(self, self.screen_stack[self.screen_stack.index(open_) + 1 :], back)

    def action_blocked(self) -> None:
        from screens.blocked import BlockedScreen

        self.push_screen(BlockedScreen())

    def action_campaigns(self) -> None:
        from screens.campaign import CampaignScreen

        self.push_screen(CampaignScreen())

    def action_clients(self) -> None:
        """F9: mailboxes still on POP3, without TLS, or trying CRAM-MD5 (the fleet view)."""
        from screens.clients import ClientsScreen

        self.push_screen(ClientsScreen())

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """The palette offers what the keys offer on this screen and its tabs, under the same
        names, whatever has the focus; Textual's own commands and generic keys come last."""
        from screens.keys import key_actions

        actions = key_actions(screen, self)
        taken = {a.description.casefold() for a in actions}
        for action in actions:
            if action.generic:
                continue
            yield SystemCommand(
                action.description,
                _("key: {keys}").format(keys=action.key_text(self)),
                _runner(action.node, action.binding.action),
            )
        for lang in LANGUAGES:
            if lang != language():
                yield SystemCommand(
                    _(_LANGUAGE_COMMANDS[lang][0]),
                    _(_LANGUAGE_COMMANDS[lang][1]),
                    lambda lang=lang: self.switch_language(lang),
                )
        for command in super().get_system_commands(screen):
            # Textual's "Keys" opens its own panel: ours is listed above.
            if _(command.title).casefold() not in taken:
                yield SystemCommand(
                    _(command.title), _(command.help), command.callback, command.discover
                )
        for action in actions:
            if action.generic:
                yield SystemCommand(
                    action.description,
                    _("key: {keys}").format(keys=action.key_text(self)),
                    _runner(action.node, action.binding.action),
                )

    def action_command_palette(self) -> None:
        # Textual's palette with its prompt in the operator's language.
        if self.use_command_palette and not CommandPalette.is_open(self):
            self.push_screen(
                CommandPalette(id="--command-palette", placeholder=_("Search for commands…"))
            )

    def switch_language(self, lang: str) -> None:
        """Every text in `lang` from now on: the open screens are built again in it, showing
        the same things; open dialogs close (closing one never writes)."""
        edits = self.unsaved_edits()
        if edits:
            # The edits name mailboxes: outside text, never markup.
            notify(
                self,
                _("Save or discard first: {edits}").format(edits="; ".join(edits)),
                severity="warning",
            )
            return
        set_language(lang)
        self._show_sub_title()
        stack = self.screen_stack[1:]
        fresh = [getattr(screen, "reopen", lambda: None)() for screen in stack]
        while len(self.screen_stack) > 1:
            self.pop_screen()
        for screen in fresh:
            if screen is not None:
                self.push_screen(screen)
        self.refresh_bindings()


# Each language named in itself, so that an operator who cannot read the current one finds it.
_LANGUAGE_COMMANDS = {
    "de": (N_("Sprache: Deutsch"), N_("Show every text in German (Deutsch)")),
    "en": (N_("Language: English"), N_("Show every text in English")),
}

# Textual's own texts that the footer shows through `_()` (screens.translated): the command
# palette's key, which Textual adds to every app.
_TEXTUAL_TEXTS = (N_("palette"), N_("Open the command palette"))


def _runner(source, action: str):
    async def run() -> None:
        await source.run_action(action)

    return run


def _short(url: str) -> str:
    # The operator comes first in the header; the database is the tail of its URL.
    return url if len(url) <= 32 else "…" + url[-31:]


class MissingDatabase:
    """Stands in for the database when it could not be opened: every use says why."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def connect(self):
        raise HelpdeskError(M("No database: {reason}", reason=self.reason))

    begin = connect


def run_app(config: Config) -> int:
    app = HelpdeskApp(config)
    app.run()
    from screens.sendlog_jobs import stop_log_workers

    # The send log's reading processes, if F6 started them: ended now, not at interpreter exit.
    stop_log_workers()
    # The driver has restored the terminal. Jobs run in daemon threads and do not hold the
    # process; any other thread still running is stuck in a read nobody waits for: end here
    # rather than hang (the database server rolls back what its connection left open).
    main = threading.main_thread()
    if any(t.is_alive() and not t.daemon and t is not main for t in threading.enumerate()):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(app.return_code or 0)
    return app.return_code or 0
