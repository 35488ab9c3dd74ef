"""The "Send log" screen (F6): who is pumping spam through the server, the evidence, and the keys
to stop it.

The configured Exim logs are read in a thread worker with a progress bar (`c` cancels; what was
read so far is still ranked). The ranked senders come first, the harmless ones hidden until `a`;
the highlighted sender's evidence shows below at once from the ranking, their recent messages
after a second, fast pass over that user's lines. `s` suspends sending with a ticket, `p` opens
the password reset, `o` (or Enter) the mailbox. `f` follows the log as Exim writes it.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Header, ProgressBar

from helpdesk.i18n import N_, Text, _, ngettext, number
from helpdesk.localtime import SHORT, log_time_text
from helpdesk.reputation.line import reputation_line
from screens.activity import RECENT_MESSAGES, ActivityView
from screens.background import Progress
from screens.sending import SendingActions
from screens.sendlog_jobs import (
    Detail,
    FollowUpdate,
    ReadResult,
    fetch_mailbox,
    follow_log,
    read_detail,
    read_log,
    sending_text,
    watch_actions,
)
from screens.translated import Translated
from screens.widgets import PlainStatic, line, notify
from screens.widgets.columns import Column, FittedColumns, FittedTable
from screens.widgets.status import StatusLine

if TYPE_CHECKING:
    from helpdesk.logs.files import Follower, LogFile
    from helpdesk.mailcenter.mailboxes import Mailbox
    from helpdesk.sendlog.offenders import Analysis, Report, UserStats
    from helpdesk.sendlog.trails import SentMessage
    from helpdesk.watch.picture import LogPicture, WatchAction

MAX_ROWS = 200  # the list is for finding the worst; --json has everyone
FOLLOW_SECONDS = 1.0
DETAIL_DELAY = 0.3  # wait for the cursor to rest before reading a user's messages
ACTIONS_EVERY = 10.0  # seconds between reads of the watcher's actions while following


def offender_columns() -> list[Column]:
    """At 80 columns the address gets what the numbers leave (longer ones end in "…", whole in
    the evidence below); a wide terminal gives it more and adds the reasons."""
    return [
        Column(_("Score"), "score", 5),
        Column(_("User"), "user", 34, weight=1),
        Column(_("Msgs"), "msgs", 8),
        Column(_("Refused"), "refused", 7),
        Column(_("Peak/5m"), "peak", 7),
        Column(_("New"), "new", 3),
        Column(_("Hosts"), "hosts", 9, wide=True),
        Column(_("Reasons"), "reasons", 24, weight=1, wide=True),
    ]


class SendLogScreen(Translated, SendingActions, Screen[None]):
    STATUS = "#sendlog-status"
    CSS_PATH = "sendlog.tcss"
    BINDINGS = [
        Binding("escape", "back", N_("Back"), show=False, id="sendlog.back"),
        Binding("s", "suspend", N_("Suspend sending"), id="sendlog.suspend"),
        Binding("p", "reset_password", N_("Reset password"), id="sendlog.reset_password"),
        Binding("o", "open_mailbox", N_("Mailbox"), id="sendlog.open_mailbox"),
        Binding("a", "toggle_all", N_("All/suspicious"), id="sendlog.toggle_all"),
        Binding("f", "toggle_follow", N_("Follow"), id="sendlog.follow"),
        Binding("v", "outbound", N_("Outbound"), id="sendlog.outbound"),
        Binding("c", "cancel", N_("Cancel reading"), show=False, id="sendlog.cancel"),
        Binding("r", "reinstate", N_("Reinstate"), show=False, id="sendlog.reinstate"),
        Binding("f5", "reload", N_("Read again"), show=False, id="sendlog.reload"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.reading = False
        self.show_all = False
        self.following = False
        self.report: Report | None = None
        self.rows: list[UserStats] = []
        self.selected: str | None = None
        self.messages: dict[str, list[SentMessage]] = {}
        self.sending: dict[str, str] = {}
        self.note: str | None = None
        self._analysis: Analysis | None = None
        self._files: list[LogFile] = []
        self._follower: Follower | None = None
        self._follow_timer: Timer | None = None
        self._detail_timer: Timer | None = None
        self._follow_busy = False
        self._beyond = 0
        self._columns: FittedColumns | None = None
        self.outbound: LogPicture | None = None
        self.actions: list[WatchAction] | None = None
        self._actions_at = 0.0
        self._actions_error: str | None = None

    def compose(self) -> ComposeResult:
        self.title = _("Send log")
        yield Header()
        # Listed on a blocklist, refused by the big providers: one line, when [reputation] is set.
        yield PlainStatic("", id="sendlog-reputation")
        # Messages per hour, accounts over a sending limit, the watcher's last action.
        yield PlainStatic(_("Outbound: reading the log …"), id="sendlog-outbound")
        yield StatusLine(_("Reading the send log …"), id="sendlog-status")
        yield ProgressBar(total=100, show_eta=False, id="sendlog-progress")
        yield FittedTable(id="sendlog-offenders", cursor_type="row", zebra_stripes=True)
        yield ActivityView(id="sendlog-detail")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#sendlog-offenders", FittedTable)
        self._columns = table.fit_columns(offender_columns())
        table.focus()
        self._follow_timer = self.set_interval(FOLLOW_SECONDS, self._follow_tick, pause=True)
        self.query_one("#sendlog-reputation").display = self._reputation_wanted()
        self.action_reload()

    def _reputation_wanted(self) -> bool:
        config = getattr(self.app, "config", None)
        return config is not None and bool(config.section("reputation").get("addresses"))

    @on(FittedTable.Refitted, "#sendlog-offenders")
    def _refitted(self) -> None:
        self._fill()

    # Reading ------------------------------------------------------------------------------

    def action_reload(self) -> None:
        self.reading = True
        self._set_follow(False, quiet=True)
        # Answers about the last read are not wanted any more.
        self.forget("detail")
        self.forget("follow")
        self._follow_busy = False
        bar = self.query_one(ProgressBar)
        bar.update(total=100, progress=0)
        bar.display = True
        self.show_status(_("Reading the send log … (c cancels)"))
        self.outbound = None
        self.query_one("#sendlog-outbound", PlainStatic).update(_("Outbound: reading the log …"))
        self.query_one(ActivityView).show_text(_("Reading the send log …"))
        args = (self.app.config, self.app.db, self.stop_flag("read"), Progress(self))
        self.background("read", read_log, *args)
        if self._reputation_wanted():
            self.query_one("#sendlog-reputation", PlainStatic).update(
                _("Blocklists and providers: asking …")
            )
            self.background("reputation", reputation_line, self.app.config, self.app.db)

    def reputation_done(self, found: Text) -> None:
        self.query_one("#sendlog-reputation", PlainStatic).update(str(found))

    def reputation_failed(self, text: str) -> None:
        self.query_one("#sendlog-reputation", PlainStatic).update(text)

    # The outbound line -----------------------------------------------------------------

    def _read_actions(self) -> None:
        self._actions_at = time.monotonic()
        self.background("actions", watch_actions, self.app.database)

    def actions_done(self, actions: list[WatchAction]) -> None:
        self.actions, self._actions_error = actions, None
        self._show_outbound()

    def actions_failed(self, text: str) -> None:
        self.actions = None
        self._actions_error = text
        self._show_outbound()

    def _show_outbound(self) -> None:
        from helpdesk.watch.picture import outbound_text

        if self.outbound is None:
            return
        if self.actions is None and self._actions_error is None:
            return  # the watcher's actions are on their way
        last = self.actions[0] if self.actions else None
        text = str(outbound_text(self.outbound, last, unknown=self.actions is None))
        self.query_one("#sendlog-outbound", PlainStatic).update(text)

    def action_outbound(self) -> None:
        if self.outbound is None:
            notify(self, _("The send log is still being read."), severity="warning")
            return
        from screens.outbound import OutboundScreen

        self.app.push_screen(OutboundScreen(self.outbound))

    def action_cancel(self) -> None:
        if self.reading:
            self.stop("read")
        else:
            notify(self, _("Nothing is being read."))

    def read_progress(self, done: int, total: int) -> None:
        self.query_one(ProgressBar).update(total=total, progress=done)

    def read_failed(self, text: str) -> None:
        self._stop_reading()
        self.report = None
        self._analysis = self._follower = None
        self._fill()
        self.show_status(text, error=True)
        self.query_one("#sendlog-outbound", PlainStatic).update(_("Outbound: no log read"))
        self.query_one(ActivityView).show_text(
            line(_("[b red]$text[/]\n\nF5 reads again once the log is there."), text=text)
        )

    def read_done(self, message: ReadResult) -> None:
        self._stop_reading()
        self.note = message.note
        self._analysis, self._files = message.analysis, message.files
        self._follower = message.follower
        self.messages.clear()
        self._show_report(message.report)
        self.outbound = message.outbound
        self._read_actions()

    def _stop_reading(self) -> None:
        self.reading = False
        self.query_one(ProgressBar).display = False

    def _show_report(self, report: Report) -> None:
        self.report = report
        # The release dialog's takeover note uses the session's last result, also once this
        # screen is closed (screens/blocked.py); kept in memory only.
        self.app.last_sendlog_report = report
        self._fill()
        self.show_status(self._summary())
        self._show_selected()

    def _summary(self) -> str:
        report = self.report
        if report is None:
            return ""
        suspicious = sum(1 for u in report.users if u.score > 0)
        senders = len(report.users)
        text = ngettext(
            "{start} to now: {suspicious} suspicious of {n} sender",
            "{start} to now: {suspicious} suspicious of {n} senders",
            senders,
        ).format(
            start=log_time_text(report.start, SHORT, zone=True),
            suspicious=number(suspicious),
            n=number(senders),
        )
        if not self.show_all and not suspicious and report.users:
            text += _(" (a shows all)")
        if self._beyond > 0:
            text += _(" · the worst {n} shown").format(n=MAX_ROWS)
        if self.following:
            text += _(" · following")
        notes = [str(self.note)] if self.note else []
        skipped = report.unreadable + report.too_long
        if skipped:
            notes.append(
                ngettext(
                    "{n} unreadable line skipped", "{n} unreadable lines skipped", skipped
                ).format(n=number(skipped))
            )
        if report.broken_files:
            notes.append(_("cut off: {files}").format(files=", ".join(report.broken_files)))
        return " · ".join([text, *notes])

    def _fill(self) -> None:
        table = self.query_one("#sendlog-offenders", DataTable)
        users = self.report.users if self.report else []
        shown = users if self.show_all else [u for u in users if u.score > 0]
        self.rows = shown[:MAX_ROWS]
        self._beyond = len(shown) - MAX_ROWS
        table.clear()
        columns = self._columns
        assert columns is not None  # set on mount, before anything is read
        for u in self.rows:
            values = {
                "score": u.score,
                "user": u.user,
                "msgs": f"{u.messages:,}",
                "refused": f"{u.rejected:,}",
                "peak": f"{u.peak_5min:,}",
                "new": len(u.new_ips),
                "hosts": ", ".join(sorted(u.hosts)),  # several hosts configured, else empty
                "reasons": ", ".join(str(r) for r in u.reasons),
            }
            table.add_row(*columns.row(values), key=u.user)
        if self.selected is not None:
            row = next((i for i, u in enumerate(self.rows) if u.user == self.selected), None)
            if row is not None:
                table.move_cursor(row=row, animate=False)
                return
        self.selected = self.rows[0].user if self.rows else None

    # The highlighted sender ---------------------------------------------------------------

    @on(DataTable.RowHighlighted, "#sendlog-offenders")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        if 0 <= event.cursor_row < len(self.rows):
            user = self.rows[event.cursor_row].user
            if user != self.selected:
                self.selected = user
                self._show_selected()

    @on(DataTable.RowSelected, "#sendlog-offenders")
    def _selected_row(self, event: DataTable.RowSelected) -> None:
        self.action_open_mailbox()

    def _show_selected(self) -> None:
        view = self.query_one(ActivityView)
        report, user = self.report, self.selected
        if report is None:
            return
        if user is None:
            count = len(report.users)
            text = _("No sender in the window looks suspicious.")
            if count:
                text += " " + ngettext(
                    "{n} sender is hidden: a shows it.",
                    "{n} senders are hidden: a shows them.",
                    count,
                ).format(n=number(count))
            view.show_text(text)
            return
        stats = report.user(user)
        view.show_stats(stats, user, report, sending=self.sending.get(user, ""))
        if user in self.messages:
            view.show_messages(self.messages[user])
        else:
            view.show_messages([], note=_("reading messages …"))
            if self._detail_timer is not None:
                self._detail_timer.stop()
            self._detail_timer = self.set_timer(DETAIL_DELAY, self._read_detail)

    def _read_detail(self) -> None:
        if self.selected is not None and self.report is not None and not self.reading:
            args = (self.app.db, self.selected, self.report, list(self._files))
            self.background("detail", read_detail, *args, self.stop_flag("detail"))

    def detail_done(self, message: Detail | None) -> None:
        if message is None:
            return  # cancelled
        self.messages[message.user] = message.messages
        self.sending[message.user] = message.sending
        if message.user == self.selected and self.report is not None:
            view = self.query_one(ActivityView)
            view.set_sending(message.user, self.report.user(message.user), message.sending)
            view.show_messages(message.messages)

    # Follow mode --------------------------------------------------------------------------

    def action_toggle_follow(self) -> None:
        self._set_follow(not self.following)

    def _set_follow(self, on: bool, *, quiet: bool = False) -> None:
        if on and (self.reading or self._follower is None):
            notify(self, _("Follow needs a finished read of the log."), severity="warning")
            return
        self.following = on
        if self._follow_timer is not None and on:
            self._follow_timer.resume()
        elif self._follow_timer is not None:
            self._follow_timer.pause()
        if not quiet:
            notify(self, _("Following the log.") if on else _("Stopped following the log."))
            self.show_status(self._summary())

    def _follow_tick(self) -> None:
        if self.following and not self._follow_busy and not self.reading:
            self._follow_busy = True
            args = (self._analysis, self._follower, self.selected)
            self.background("follow", follow_log, *args)

    def follow_done(self, message: FollowUpdate | None) -> None:
        self._follow_busy = False
        if message is None:
            return
        self.outbound = message.outbound or self.outbound
        if time.monotonic() - self._actions_at >= ACTIONS_EVERY:
            self._read_actions()
        else:
            self._show_outbound()
        for user, found in message.new_messages.items():
            if user in self.messages:
                known = {m.exim_id for m in found}
                old = [m for m in self.messages[user] if m.exim_id not in known]
                self.messages[user] = (found + old)[:RECENT_MESSAGES]
        self._show_report(message.report)

    def follow_failed(self, text: str) -> None:
        self._follow_busy = False
        self.show_status(text, error=True)

    # Actions on the highlighted sender ----------------------------------------------------

    def action_back(self) -> None:
        self.forget("read")
        self.app.pop_screen()

    def action_toggle_all(self) -> None:
        self.show_all = not self.show_all
        notify(
            self, _("Showing every sender.") if self.show_all else _("Showing suspicious senders.")
        )
        if self.report is not None:
            self._fill()
            self.show_status(self._summary())
            self._show_selected()

    def action_open_mailbox(self) -> None:
        if self.selected is None:
            return
        from screens.mailbox import MailboxScreen

        self.app.push_screen(MailboxScreen(self.selected))

    def action_suspend(self) -> None:
        self._fetch("suspend")

    def action_reinstate(self) -> None:
        self._fetch("reinstate")

    def action_reset_password(self) -> None:
        self._fetch("reset")

    def _fetch(self, purpose: str) -> None:
        if self.selected is None:
            notify(self, _("No sender selected."), severity="warning")
            return
        self.background("mailbox", fetch_mailbox, self.app.database, self.selected, purpose)

    def mailbox_done(self, result: tuple[Mailbox, str]) -> None:
        m, purpose = result
        self.sending[m.address] = sending_text(m)
        if purpose == "reset":
            from screens.reset import ResetOutcome, ResetPasswordScreen

            def closed(outcome: ResetOutcome | None) -> None:
                if outcome is not None:
                    text = _("New password set for {address}.")
                    notify(self, text.format(address=outcome.address))

            self.app.push_screen(ResetPasswordScreen(m), closed)
            return
        self.ask_sending(m, allowed=purpose == "reinstate")

    def sending_changed(self, text: str, m: Mailbox) -> None:
        notify(self, text)
        self.sending[m.address] = sending_text(m)
        if m.address == self.selected and self.report is not None:
            self.query_one(ActivityView).set_sending(
                m.address, self.report.user(m.address), self.sending[m.address]
            )
        self.show_status(f"{text} · {self._summary()}")
