"""The "Send log" screen (F6): who is pumping spam through the server, the evidence, and the keys
to stop it.

The configured Exim logs are read in a thread worker with a progress bar (`c` cancels; what was
read so far is still ranked). The ranked senders come first, the harmless ones hidden until `a`;
the highlighted sender's evidence shows below at once from the ranking, their recent messages
after a second, fast pass over that user's lines. `s` suspends sending with a ticket, `p` opens
the password reset, `o` (or Enter) the mailbox. `f` follows the log as Exim writes it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Header, ProgressBar, Static

from helpdesk.errors import HelpdeskError, NotFound
from screens.activity import (
    RECENT_MESSAGES,
    ActivityView,
    Throttle,
    cancelled_check,
    local_domains,
    open_logs,
)
from screens.messages import ActionDone, Failed
from screens.sending import SendingActions
from screens.sendlog_messages import (
    DetailReady,
    FollowUpdate,
    MailboxFetched,
    ReadFailed,
    ReadProgress,
    ReportReady,
    sending_text,
)
from screens.widgets import PlainStatic, cell, line, notify

if TYPE_CHECKING:
    from helpdesk.logfiles import Follower, LogFile
    from helpdesk.offenders import Analysis, Report, UserStats
    from helpdesk.trails import SentMessage

MAX_ROWS = 200  # the list is for finding the worst; --json has everyone
USER_WIDTH = 34  # longer addresses cut with "…"; whole in the evidence below
FOLLOW_SECONDS = 1.0
DETAIL_DELAY = 0.3  # wait for the cursor to rest before reading a user's messages


class SendLogScreen(SendingActions, Screen[None]):
    CSS_PATH = "sendlog.tcss"
    TITLE = "Send log"
    BINDINGS = [
        Binding("escape", "back", "Back", id="sendlog.back"),
        Binding("s", "suspend", "Suspend sending", id="sendlog.suspend"),
        Binding("p", "reset_password", "Reset password", id="sendlog.reset_password"),
        Binding("o", "open_mailbox", "Mailbox", id="sendlog.open_mailbox"),
        Binding("a", "toggle_all", "All/suspicious", id="sendlog.toggle_all"),
        Binding("f", "toggle_follow", "Follow", id="sendlog.follow"),
        Binding("c", "cancel", "Cancel reading", id="sendlog.cancel"),
        Binding("r", "reinstate", "Reinstate", show=False, id="sendlog.reinstate"),
        Binding("f5", "reload", "Read again", show=False, id="sendlog.reload"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.serial = 0
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

    def compose(self) -> ComposeResult:
        yield Header()
        yield PlainStatic("Reading the send log …", id="sendlog-status", classes="status")
        yield ProgressBar(total=100, show_eta=False, id="sendlog-progress")
        yield DataTable(id="sendlog-offenders", cursor_type="row", zebra_stripes=True)
        yield ActivityView(id="sendlog-detail")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#sendlog-offenders", DataTable)
        table.add_column("Score", key="score")
        table.add_column("User", key="user", width=USER_WIDTH)
        for label, key in (
            ("Msgs", "msgs"),
            ("Refused", "refused"),
            ("Peak/5m", "peak"),
            ("New", "new"),
        ):
            table.add_column(label, key=key)
        table.focus()
        self._follow_timer = self.set_interval(FOLLOW_SECONDS, self._follow_tick, pause=True)
        self.action_reload()

    # Reading ------------------------------------------------------------------------------

    def action_reload(self) -> None:
        self.serial += 1
        self.reading = True
        self._set_follow(False, quiet=True)
        bar = self.query_one(ProgressBar)
        bar.update(total=100, progress=0)
        bar.display = True
        self._status("Reading the send log … (c cancels)")
        self.query_one(ActivityView).show_text("Reading the send log …")
        self.read(self.serial)

    def action_cancel(self) -> None:
        if self.reading:
            self.workers.cancel_group(self, "sendlog")
        else:
            notify(self, "Nothing is being read.")

    @work(thread=True, exclusive=True, exit_on_error=False, group="sendlog", name="send log")
    def read(self, serial: int) -> None:
        from helpdesk.logfiles import Cancelled, Follower
        from helpdesk.offenders import Analysis

        post = self.post_message
        try:
            files, settings = open_logs(self.app.config)
            domains, warning = (
                (None, None) if settings.local_domains else local_domains(self.app.db)
            )
            analysis = Analysis(settings, local_domains=domains)
        except HelpdeskError as exc:
            post(ReadFailed(serial, str(exc)))
            return
        partial = False
        try:
            analysis.read(
                files,
                progress=Throttle(lambda m: post(m), lambda d, t: ReadProgress(serial, d, t)),
                cancelled=cancelled_check(),
            )
        except Cancelled:
            partial = True
            warning = "reading cancelled: the list covers only the part read (F5 reads again)"
        except HelpdeskError as exc:
            post(ReadFailed(serial, str(exc)))
            return
        except Exception as exc:  # noqa: BLE001 - never leave the screen saying "reading"
            post(ReadFailed(serial, f"Reading the log failed: {type(exc).__name__}: {exc}"))
            return
        follower = None
        if not partial:
            # Follow from where this read ended: the newest file is the one Exim writes to.
            try:
                follower = Follower(files[-1].path)
            except OSError:
                follower = None
        post(ReportReady(serial, analysis.report(), warning, analysis, files, follower))

    def on_read_progress(self, message: ReadProgress) -> None:
        if message.serial == self.serial:
            self.query_one(ProgressBar).update(total=message.total, progress=message.done)

    def on_read_failed(self, message: ReadFailed) -> None:
        if message.serial != self.serial:
            return
        self._stop_reading()
        self.report = None
        self._analysis = self._follower = None
        self._fill()
        self._status(message.text, error=True)
        self.query_one(ActivityView).show_text(
            line("[b red]$text[/]\n\nF5 reads again once the log is there.", text=message.text)
        )

    def on_report_ready(self, message: ReportReady) -> None:
        if message.serial != self.serial:
            return
        self._stop_reading()
        self.note = message.note
        self._analysis, self._files = message.analysis, message.files
        self._follower = message.follower
        self.messages.clear()
        self._show_report(message.report)

    def _stop_reading(self) -> None:
        self.reading = False
        self.query_one(ProgressBar).display = False

    def _show_report(self, report: Report) -> None:
        self.report = report
        self._fill()
        self._status(self._summary())
        self._show_selected()

    def _summary(self) -> str:
        report = self.report
        if report is None:
            return ""
        suspicious = sum(1 for u in report.users if u.score > 0)
        text = (
            f"{report.start:%m-%d %H:%M} to now: {suspicious:,} suspicious of "
            f"{len(report.users):,} senders"
        )
        if not self.show_all and not suspicious and report.users:
            text += " (a shows all)"
        if self._beyond > 0:
            text += f" · the worst {MAX_ROWS:,} shown"
        if self.following:
            text += " · following"
        notes = [self.note] if self.note else []
        if report.unreadable or report.too_long:
            notes.append(f"{report.unreadable + report.too_long:,} unreadable lines skipped")
        if report.broken_files:
            notes.append(f"cut off: {', '.join(report.broken_files)}")
        return " · ".join([text, *notes])

    def _fill(self) -> None:
        table = self.query_one("#sendlog-offenders", DataTable)
        users = self.report.users if self.report else []
        shown = users if self.show_all else [u for u in users if u.score > 0]
        self.rows = shown[:MAX_ROWS]
        self._beyond = len(shown) - MAX_ROWS
        table.clear()
        for u in self.rows:
            table.add_row(
                str(u.score),
                cell(u.user, USER_WIDTH),
                f"{u.messages:,}",
                f"{u.rejected:,}",
                f"{u.peak_5min:,}",
                str(len(u.new_ips)),
                key=u.user,
            )
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
            view.show_text(
                "No sender in the window looks suspicious."
                + (f" {count:,} senders are hidden: a shows them." if count else "")
            )
            return
        stats = report.user(user)
        view.show_stats(stats, user, report, sending=self.sending.get(user, ""))
        if user in self.messages:
            view.show_messages(self.messages[user])
        else:
            view.show_messages([], note="reading messages …")
            if self._detail_timer is not None:
                self._detail_timer.stop()
            self._detail_timer = self.set_timer(DETAIL_DELAY, self._read_detail)

    def _read_detail(self) -> None:
        if self.selected is not None and self.report is not None and not self.reading:
            self.detail(self.serial, self.selected, self.report, list(self._files))

    @work(thread=True, exclusive=True, exit_on_error=False, group="sendlog-detail", name="detail")
    def detail(self, serial: int, user: str, report: Report, files: list[LogFile]) -> None:
        from helpdesk.logfiles import Cancelled
        from helpdesk.mailboxes import get_mailbox
        from helpdesk.trails import user_detail

        sending = ""
        try:
            if self.app.db is not None:
                with self.app.db.connect() as conn:
                    sending = sending_text(get_mailbox(conn, user))
        except NotFound:
            sending = sending_text(None)
        except Exception:  # noqa: BLE001 - the log evidence matters more than this badge
            sending = ""
        try:
            found = user_detail(
                files,
                user,
                start=report.start,
                end=report.end,
                limit=RECENT_MESSAGES,
                cancelled=cancelled_check(),
            )
        except Cancelled:
            return
        except HelpdeskError as exc:
            self.post_message(Failed("sendlog-detail", str(exc)))
            return
        self.post_message(DetailReady(serial, user, found.messages, sending))

    def on_detail_ready(self, message: DetailReady) -> None:
        if message.serial != self.serial:
            return
        self.messages[message.user] = message.messages
        self.sending[message.user] = message.sending
        if message.user == self.selected and self.report is not None:
            view = self.query_one(ActivityView)
            view.set_sending(message.user, self.report.user(message.user), message.sending)
            view.show_messages(message.messages)

    def on_failed(self, message: Failed) -> None:
        self._status(message.text, error=True)

    # Follow mode --------------------------------------------------------------------------

    def action_toggle_follow(self) -> None:
        self._set_follow(not self.following)

    def _set_follow(self, on: bool, *, quiet: bool = False) -> None:
        if on and (self.reading or self._follower is None):
            notify(self, "Follow needs a finished read of the log.", severity="warning")
            return
        self.following = on
        if self._follow_timer is not None and on:
            self._follow_timer.resume()
        elif self._follow_timer is not None:
            self._follow_timer.pause()
        if not quiet:
            notify(self, "Following the log." if on else "Stopped following the log.")
            self._status(self._summary())

    def _follow_tick(self) -> None:
        if self.following and not self._follow_busy and not self.reading:
            self._follow_busy = True
            self.follow(self.serial, self.selected)

    @work(thread=True, exclusive=True, exit_on_error=False, group="sendlog-follow", name="follow")
    def follow(self, serial: int, user: str | None) -> None:
        from helpdesk.sendlog import iter_events
        from helpdesk.trails import user_messages

        analysis, follower = self._analysis, self._follower
        try:
            if analysis is None or follower is None:
                return
            lines, new = 0, {}
            for _ in range(8):  # at most 64 MiB a tick; the rest on the next one
                data = follower.poll()
                if not data:
                    break
                lines += data.count(b"\n") + 1
                analysis.feed(data)
                if user is not None:
                    found = user_messages(iter_events(data.split(b"\n")), user)
                    if found:
                        new.setdefault(user, [])[:0] = found
            if lines:
                self.post_message(FollowUpdate(serial, analysis.report(), lines, new))
        except (OSError, HelpdeskError) as exc:
            self.post_message(Failed("sendlog-follow", f"Following the log: {exc}"))
        finally:
            self._follow_busy = False

    def on_follow_update(self, message: FollowUpdate) -> None:
        if message.serial != self.serial:
            return
        for user, found in message.new_messages.items():
            if user in self.messages:
                known = {m.exim_id for m in found}
                old = [m for m in self.messages[user] if m.exim_id not in known]
                self.messages[user] = (found + old)[:RECENT_MESSAGES]
        self._show_report(message.report)

    # Actions on the highlighted sender ----------------------------------------------------

    def action_back(self) -> None:
        self.workers.cancel_group(self, "sendlog")
        self.app.pop_screen()

    def action_toggle_all(self) -> None:
        self.show_all = not self.show_all
        notify(self, "Showing every sender." if self.show_all else "Showing suspicious senders.")
        if self.report is not None:
            self._fill()
            self._status(self._summary())
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
            notify(self, "No sender selected.", severity="warning")
            return
        self.fetch_mailbox(self.selected, purpose)

    @work(thread=True, exclusive=True, exit_on_error=False, group="sendlog-mailbox", name="mbox")
    def fetch_mailbox(self, address: str, purpose: str) -> None:
        from helpdesk.mailboxes import get_mailbox

        try:
            if self.app.db is None:
                raise HelpdeskError(self.app.db_error or "no database")
            with self.app.db.connect() as conn:
                mailbox = get_mailbox(conn, address)
        except HelpdeskError as exc:
            self.post_message(Failed("sendlog-mailbox", str(exc)))
            return
        self.post_message(MailboxFetched(mailbox, purpose))

    def on_mailbox_fetched(self, message: MailboxFetched) -> None:
        m = message.mailbox
        self.sending[m.address] = sending_text(m)
        if message.purpose == "reset":
            from screens.reset import ResetOutcome, ResetPasswordScreen

            def closed(outcome: ResetOutcome | None) -> None:
                if outcome is not None:
                    notify(self, f"New password set for {outcome.address}.")

            self.app.push_screen(ResetPasswordScreen(m), closed)
            return
        self.ask_sending(m, allowed=message.purpose == "reinstate")

    def on_action_done(self, message: ActionDone) -> None:
        m = message.mailbox
        notify(self, message.text)
        self.sending[m.address] = sending_text(m)
        if m.address == self.selected and self.report is not None:
            self.query_one(ActivityView).set_sending(
                m.address, self.report.user(m.address), self.sending[m.address]
            )
        self._status(f"{message.text} · {self._summary()}")

    def _status(self, text: str, *, error: bool = False) -> None:
        status = self.query_one("#sendlog-status", Static)
        status.update(text)
        status.set_class(error, "-error")
