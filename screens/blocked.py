"""Blocked outbound mail in the UI: the list (all users, or one mailbox's tab), release with
ticket and expiry, revoke. rspamd being unreachable is said in the status line; nothing here
blocks the event loop or the rest of the app. The verdict (Enter) is screens/verdict.py, the
work in the background screens/blocked_jobs.py."""

from __future__ import annotations

from typing import Any

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, Static

from helpdesk.errors import HelpdeskError
from helpdesk.i18n import N_, Text, _, ngettext, render
from helpdesk.localtime import SHORT, header, time_text
from helpdesk.plaintext import clip, clip_message_id
from helpdesk.rspamd.blocked import BlockedMessage
from helpdesk.rspamd.release_risk import WatcherSuspension, takeover_note
from screens.background import Background
from screens.blocked_jobs import BlockedLoad, load_blocked, release, revoke
from screens.dialogs.release import ReleaseAnswer, ReleaseDialog
from screens.dialogs.ticket import TicketAnswer, TicketDialog
from screens.translated import Translated
from screens.verdict import VerdictScreen
from screens.widgets import FindInput, cell, notify, plain
from screens.widgets.columns import column_widths
from screens.widgets.status import StatusLine

# History holds a few hundred rows per controller; a page this size keeps the table quick.
MAX_ROWS = 300
# Column widths at 80 columns (when, sender, score, release, Message-ID, subject): each
# carries its meaning there (a Message-ID keeps both ends); a wider terminal widens sender,
# Message-ID and subject. Cut values are whole in the verdict (Enter).
MINIMUMS = {"when": 11, "user": 14, "score": 5, "release": 8, "msgid": 16, "what": 11}
WEIGHTS = {"when": 0, "user": 2, "score": 0, "release": 0, "msgid": 4, "what": 3}
# A release's state in one short word; the verdict has the whole label.
RELEASE_WORDS = {
    "active": N_("released"),
    "expired": N_("expired"),
    "revoked": N_("revoked"),
    "used": N_("used"),
    "pending": N_("pending"),
    "withdrawn": N_("withdrawn"),
}


# --------------------------------------------------------------------------- the list


class BlockedList(Background, Vertical):
    """Blocked outbound mail: every user's (`user=None`), or one mailbox's.

    Put it in a TabPane: `BlockedList(user="anna@example.org", id="mailbox-blocked")`.
    It asks rspamd the first time it is shown (so a hidden tab costs nothing) and on F5;
    Enter shows the verdict, `l` releases, `x` revokes, `c` stops waiting for rspamd.
    """

    STATUS = "#blocked-status"

    DEFAULT_CSS = """
    BlockedList { height: 1fr; }
    BlockedList > DataTable { height: 1fr; }
    BlockedList > #blocked-filter { height: 3; }
    BlockedList > #blocked-status { height: auto; max-height: 3; }
    """
    BINDINGS = [
        Binding("l", "release", N_("Release"), id="blocked.release"),
        Binding("x", "revoke", N_("Revoke release"), id="blocked.revoke"),
        Binding("f5", "reload", N_("Reload"), id="blocked.reload"),
        Binding("c", "cancel", N_("Stop waiting"), id="blocked.cancel"),
    ]

    def __init__(self, user: str | None = None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.user = user
        self.items: list[BlockedMessage] = []
        self.shown: list[BlockedMessage] = []
        self.matching = 0
        self.warnings: list[str | Text] = []
        self.watched: dict[str, WatcherSuspension] = {}
        self._asked = False
        self.widths: dict[str, int] = dict(MINIMUMS)

    def compose(self) -> ComposeResult:
        if self.user is None:
            yield FindInput(
                placeholder=_("Filter: address, subject, Message-ID"), id="blocked-filter"
            )
        yield StatusLine(_("Asking rspamd …"), id="blocked-status")
        yield DataTable(id="blocked-table", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column(header(_("When")), key="when")
        if self.user is None:
            table.add_column(_("Sender"), key="user")
        table.add_column(_("Score"), key="score")
        table.add_column(_("Release"), key="release")
        table.add_column("Message-ID", key="msgid")  # i18n: not text
        table.add_column(_("Subject"), key="what")
        self._fit(self.size.width)

    def _fit(self, width: int) -> None:
        """Column widths for a list `width` columns wide."""
        table = self.query_one(DataTable)
        keys = [str(key.value) for key in table.columns]
        widths = column_widths(width, [MINIMUMS[k] for k in keys], [WEIGHTS[k] for k in keys])
        widths_by_key = dict(zip(keys, widths, strict=True))
        if widths_by_key == self.widths:
            return
        self.widths = widths_by_key
        for key, column in table.columns.items():
            column.width = widths_by_key[str(key.value)]
            column.auto_width = False
        self._fill()

    def on_resize(self, event: events.Resize) -> None:
        self._fit(event.size.width)

    def on_show(self) -> None:
        if not self._asked:
            self._asked = True
            self.load()

    def focus_table(self) -> None:
        self.query_one(DataTable).focus()

    # Loading ------------------------------------------------------------------------

    def load(self) -> None:
        app = self.app
        self.background("load", load_blocked, app.config, app.db, self.user)

    def action_cancel(self) -> None:
        if not self.running("load"):
            notify(self, _("Nothing is being read."))
            return
        self.forget("load")
        self.show_status(_("Stopped waiting for rspamd · F5 asks again"), error=True)

    def load_done(self, loaded: BlockedLoad) -> None:
        report = loaded.report
        self.items = report.items
        self.warnings = report.warnings
        self.watched = loaded.watched
        self._fill()
        self._say_count()

    def _say_count(self) -> None:
        count = len(self.items)
        text = ngettext("{n} blocked message", "{n} blocked messages", count).format(n=count)
        if self.user:
            text = _("{count} from {user}").format(count=text, user=self.user)
        if self.warnings:
            self.show_status(
                _("{text}; not everything could be read: {warning}").format(
                    text=text, warning=render(self.warnings[0])
                ),
                error=True,
            )
        else:
            self.show_status(
                _("{text} · Enter verdict · l release · x revoke · F5 reload").format(text=text)
            )

    def load_failed(self, text: str) -> None:
        self.items = []
        self._fill()
        self.show_status(_("Blocked mail unavailable: {error}").format(error=text), error=True)

    def release_failed(self, text: str) -> None:
        # The write failed, not the reading: the list stays (F5 shows a state the failure
        # left, e.g. a withdrawn release) and the status line says why, in one line.
        self.show_status(text, error=True)

    revoke_failed = release_failed

    def release_done(self, text: str) -> None:
        notify(self, text)
        self.load()

    revoke_done = release_done

    @on(Input.Changed, "#blocked-filter")
    def _filter(self, event: Input.Changed) -> None:
        self._fill()
        needle = event.value.strip()
        if needle and self.items:
            # The count of what the filter shows, not of what was loaded.
            matching = self.matching
            self.show_status(
                _("{n} of {total} blocked messages match {needle}").format(
                    n=matching, total=len(self.items), needle=repr(needle)
                )
                + ("" if matching else _(" · Esc or clear the filter to see all"))
            )
        elif self.items:
            self._say_count()

    def _fill(self) -> None:
        table = self.query_one(DataTable)
        table.clear()
        needle = ""
        if self.user is None:
            needle = self.query_one("#blocked-filter", Input).value.strip().casefold()
        found = [
            item
            for item in self.items
            if not needle
            or needle in f"{item.user} {item.subject} {item.message_id} {item.ip}".casefold()
        ]
        self.matching = len(found)
        self.shown = found[:MAX_ROWS]
        for index, item in enumerate(self.shown):
            score = f"{item.score:.1f}" if item.score is not None else "—"
            state = item.release_state or ""
            base, _sep, used = state.partition(", ")
            release_word = _(RELEASE_WORDS[base]) if base in RELEASE_WORDS else base
            if base == "active" and used:
                # "1 of 3 used" fits as "1/3 used"; a release used up reads "used".
                counts = used.removesuffix(" used").split(" of ")
                release_word = (
                    _("{used}/{uses} used").format(used=counts[0], uses=counts[1])
                    if len(counts) == 2
                    else _("used")
                )
            # Cut to the column, whole in the verdict (Enter).
            cells: list[object] = [time_text(item.time, SHORT)]
            if self.user is None:
                user = clip(item.user, self.widths["user"])
                cells.append(
                    plain(user + ("…" if item.user_truncated and user == item.user else ""))
                )
            cells += [
                score,
                cell(release_word, self.widths["release"]),
                plain(
                    clip_message_id(item.message_id, self.widths["msgid"])
                    if item.message_id
                    else "—"
                ),
                cell(item.subject or "—", self.widths["what"]),
            ]
            table.add_row(*cells, key=str(index))

    # Actions --------------------------------------------------------------------------

    def current(self) -> BlockedMessage | None:
        table = self.query_one(DataTable)
        if not self.shown or table.cursor_row < 0 or table.cursor_row >= len(self.shown):
            return None
        return self.shown[table.cursor_row]

    @on(DataTable.RowSelected, "#blocked-table")
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        item = self.current()
        if item is not None:
            self.app.push_screen(VerdictScreen(item))

    def action_reload(self) -> None:
        self.show_status(_("Asking rspamd …"))
        self.load()

    def action_release(self) -> None:
        from helpdesk.durations import format_duration
        from helpdesk.rspamd.client import RspamdSettings

        item = self.current()
        if item is None:
            return
        if not item.releasable:
            notify(
                self,
                _("This entry has no content digest or full sender: it cannot be released."),
                severity="warning",
            )
            return
        if item.release_state.startswith("active"):
            notify(
                self,
                _("Already released (#{id}).").format(id=item.release_id),
                severity="warning",
            )
            return
        try:
            ttl = RspamdSettings.from_config(self.app.config).release_ttl
        except HelpdeskError as exc:
            notify(self, str(exc), severity="error")
            return

        def answered(answer: ReleaseAnswer | None) -> None:
            if answer is not None:
                self.show_status(_("Releasing …"))
                args = (self.app.config, self.app.database, item, answer, self.app.operator)
                self.background("release", release, *args, group="write")

        seconds = int(ttl.total_seconds())
        # "24h" reads better on the phone than "1d"; longer ones as days and hours.
        default = (
            f"{seconds // 3600}h"
            if seconds % 3600 == 0 and seconds <= 72 * 3600
            else format_duration(ttl).replace(" ", "")
        )
        watched = self.watched.get(item.user.lower())
        note = takeover_note(_last_sendlog_report(self.app), item.user, watched)
        self.app.push_screen(ReleaseDialog(item, default, note), answered)

    def action_revoke(self) -> None:
        item = self.current()
        if item is None or item.release_id is None or not item.release_state.startswith("active"):
            notify(self, _("This message has no release in force."), severity="warning")
            return
        release_id = item.release_id

        def answered(answer: TicketAnswer | None) -> None:
            if answer is not None:
                self.show_status(_("Revoking …"))
                args = (self.app.config, self.app.database, release_id, answer)
                self.background("revoke", revoke, *args, self.app.operator, group="write")

        self.app.push_screen(
            TicketDialog(
                _("Revoke release"),
                _("<{mid}> from {user} will be checked by rspamd again.").format(
                    mid=item.message_id, user=item.user
                ),
                confirm=_("Revoke"),
            ),
            answered,
        )


def _last_sendlog_report(app: Any) -> Any | None:
    """The send-log result this session showed last (the send-log screen leaves it on the app,
    also once it is closed): the dialog never reads a log."""
    from helpdesk.sendlog.report import Report

    report = getattr(app, "last_sendlog_report", None)
    return report if isinstance(report, Report) else None


class BlockedScreen(Translated, Screen[None]):
    """Blocked outbound mail of every customer."""

    CSS_PATH = "blocked.tcss"
    BINDINGS = [
        Binding("escape", "back", N_("Back"), show=False, id="blocked.back"),
        Binding("l", "release", N_("Release"), id="blocked.screen.release"),
        Binding("x", "revoke", N_("Revoke release"), id="blocked.screen.revoke"),
        Binding("f5", "reload", N_("Reload"), id="blocked.screen.reload"),
        Binding("slash", "filter", N_("Filter"), id="blocked.filter"),
        Binding("c", "cancel", N_("Stop waiting"), show=False, id="blocked.screen.cancel"),
        # The filter box has the focus and no filter needs a "?": the key can mean help here.
        Binding(
            "question_mark",
            "app.toggle_keys",
            N_("Keys"),
            show=False,
            priority=True,
            id="blocked.keys",
        ),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(_("Blocked outbound mail"), id="blocked-title")
        yield BlockedList(id="blocked-list")
        yield Footer()

    # What the filter box held when a language switch built this screen again.
    typed = ""

    def on_mount(self) -> None:
        self.query_one(BlockedList).focus_table()
        if self.typed:
            self.query_one("#blocked-filter", Input).value = self.typed

    def reopen(self) -> BlockedScreen:
        """The same list in the new language, filtered as typed."""
        fresh = BlockedScreen()
        fresh.typed = self.query_one("#blocked-filter", Input).value
        return fresh

    def _list(self) -> BlockedList:
        return self.query_one(BlockedList)

    def action_back(self) -> None:
        self.app.pop_screen()

    # The screen's own bindings make these reachable from the filter box and the palette.
    def action_release(self) -> None:
        self._list().action_release()

    def action_revoke(self) -> None:
        self._list().action_revoke()

    def action_reload(self) -> None:
        self._list().action_reload()

    def action_cancel(self) -> None:
        self._list().action_cancel()

    def action_filter(self) -> None:
        self.query_one("#blocked-filter", Input).focus()
