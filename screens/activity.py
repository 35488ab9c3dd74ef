"""One sender's activity from the send log: the evidence a person can read (reasons, messages
per 5 minutes, client addresses old and new, recent messages with their fate).

`ActivityView` shows it and is shared by the send-log screen and the mailbox screen's tab;
`ActivityTab(address)` is that tab: it reads the configured logs for its own mailbox the first
time it is shown, in a thread worker, with a cancellable progress bar.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import DataTable, ProgressBar, Sparkline, Static

from helpdesk.errors import HelpdeskError
from helpdesk.i18n import N_, M, Text, _, ngettext, number
from helpdesk.localtime import SECOND, SHORT, header, log_time_text
from screens.background import Background, Progress
from screens.dialogs.detail import DetailScreen
from screens.widgets import PlainStatic, line, lines
from screens.widgets.columns import Column, FittedColumns, FittedTable
from screens.widgets.status import StatusLine

if TYPE_CHECKING:
    from helpdesk.logs.files import LogFile
    from helpdesk.sendlog.offenders import Report, UserStats
    from helpdesk.sendlog.settings import SendlogSettings
    from helpdesk.sendlog.trails import SentMessage

RECENT_MESSAGES = 50


# --------------------------------------------------------------------------- reading (jobs)


def open_logs(config: Any) -> tuple[list[LogFile], SendlogSettings]:
    """The configured logs, or a HelpdeskError that says what to configure."""
    from helpdesk.logs.files import expand
    from helpdesk.sendlog.host_files import configured_hosts, host_files
    from helpdesk.sendlog.settings import SendlogSettings

    settings = SendlogSettings.from_config(config)
    configured = bool(config.section("sendlog").get("paths")) or bool(settings.hosts)
    patterns = [str(config.relative(p)) for p in settings.paths]
    try:
        # several mail hosts: each file labelled with its host and zone (docs/sendlog.md)
        files = host_files(settings) if configured_hosts(settings) else expand(patterns)
    except HelpdeskError as exc:
        reason = exc.message
        if configured:
            raise HelpdeskError(M("No send log to read: {error}.", error=reason)) from None
        where = str(config.path) if config.path else M("the configuration")
        raise HelpdeskError(
            M(
                "No send log is configured: set [sendlog] paths in {where} "
                "(the default found nothing: {error}).",
                where=where,
                error=reason,
            )
        ) from None
    return files, settings


def local_domains(db: Any) -> tuple[list[str] | None, Text | None]:
    """The hoster's domains from the database (None: the log decides), and a warning."""
    from helpdesk.sendlog.settings import database_domains

    return database_domains(db)


# --------------------------------------------------------------------------- text


def summary_text(stats: UserStats | None, user: str, sending: str = "") -> Content:
    """`sending` is the app's own markup (sendlog_jobs.sending_text); the rest is data."""
    if stats is None:
        text = _("[b]$user[/b]{sending}\nNothing sent in the window.")
        return line(text.format(sending=sending), user=user)
    head = _("[b]$user[/b] (score {score}){sending}").format(score=stats.score, sending=sending)
    if not stats.reasons:
        messages = ngettext("{n} message", "{n} messages", stats.messages).format(
            n=number(stats.messages)
        )
        recipients = ngettext("{n} recipient", "{n} recipients", stats.recipients).format(
            n=number(stats.recipients)
        )
        text = _("{head}: nothing unusual, {messages} to {recipients}.")
        return line(
            text.format(head=head, messages=messages, recipients=recipients), user=stats.user
        )
    reasons = ", ".join(str(r) for r in stats.reasons)
    return line(_("{head}: $reasons").format(head=head), user=stats.user, reasons=reasons)


def addresses_text(stats: UserStats | None, baseline_covered: bool) -> Content:
    values: dict[str, object] = {}
    if stats is None or not stats.ips:
        ips = _("Client addresses: none in the window")
    else:
        new = set(stats.new_ips)
        parts = []
        for i, (ip, n) in enumerate(list(stats.ip_counts.items())[:6]):
            values[f"ip{i}"] = ip
            count = number(n)
            shown = _("{n}, [b yellow]new[/]").format(n=count) if ip in new else count
            parts.append("$ip" + f"{i} ({shown})")
        more = len(stats.ips) - 6
        ips = _("Client addresses: {addresses}").format(addresses=" · ".join(parts))
        if more > 0:
            ips += _(" · {n} more").format(n=more)
        if not baseline_covered:
            ips += _(" (log starts in the window: none called new)")
    if stats is not None and stats.auth_failures:
        values["failed"] = ", ".join(
            f"{ip} ({n})" for ip, n in stats.auth_failure_ips.most_common(3)
        )
        ips += "\n" + _("Failed logins: {n} from $failed").format(n=number(stats.auth_failures))
    return line(ips, **values)


def _recipients(m: SentMessage) -> str:
    rcpts = list(m.recipients.values())
    if not rcpts:
        return "—"
    first = rcpts[0].address
    return first + (f" +{len(rcpts) - 1}" if len(rcpts) > 1 else "")


def message_text(m: SentMessage) -> Content:
    """One message whole (the table cuts it): every value from the log inserted as text."""
    rows: list[object] = [
        line(_("[b]When[/b]        $v"), v=log_time_text(m.time, SECOND, zone=True)),
        line(_("[b]Fate[/b]        $v"), v=fate_text(m.fate)),
        line(_("[b]Exim id[/b]     $v"), v=m.exim_id or "—"),
        line(_("[b]Sender[/b]      $v"), v=m.sender or "—"),
        line(_("[b]Message-ID[/b]  $v"), v=f"<{m.message_id}>" if m.message_id else "—"),
        line(_("[b]Subject[/b]     $v"), v=m.subject or "—"),
        line(
            _("[b]Client[/b]      $v $t"),
            v=m.ip or "—",
            t="TLS" if m.tls else _("without TLS"),
        ),
    ]
    if m.refused is not None:
        rows.append(line(_("[b]Refused[/b]     $v"), v=m.refused))
    if m.recipients:
        rows += ["", line(_("[b]Recipients[/b]"))]
        for r in m.recipients.values():
            detail = f" ({r.detail})" if r.detail else ""
            rows.append(f"  {r.address}: {fate_text(r.fate)}{detail}")
    return lines(rows)


# --------------------------------------------------------------------------- the view

# A message's and a recipient's fate in words (helpdesk/sendlog/trails.py names them).
FATES = {
    "delivered": N_("delivered"),
    "refused": N_("refused"),
    "bounced": N_("bounced"),
    "partly bounced": N_("partly bounced"),
    "deferred": N_("deferred"),
    "pending": N_("pending"),
    "completed": N_("completed"),
    "suppressed": N_("suppressed"),
}


def fate_text(fate: str) -> str:
    return _(FATES[fate]) if fate in FATES else fate


# A time on the table ("11-30 09:14") and the longest fate ("partly bounced") whole at 80; a
# longer zone name or fate in another language is paid for by the recipient column.
_WHEN = 11
_FATE = 14
_TO = 24


def message_columns() -> list[Column]:
    """At 80 columns the recipient and subject share what time and fate leave; a wider
    terminal gives them the rest, half each."""
    when = header(_("When"))
    when_width = max(_WHEN, len(when))
    fate_width = max(_FATE, *(len(fate_text(f)) for f in FATES))
    longer = when_width - _WHEN + fate_width - _FATE
    return [
        Column(when, "when", when_width),
        Column(_("Fate"), "fate", fate_width),
        Column(_("To"), "to", _TO - longer, weight=3),
        Column(_("Subject"), "subject", 19, weight=3),
    ]


class ActivityView(Vertical):
    """The evidence for one sender. Fed by its owner: `show_stats()` at once from the ranking,
    `show_messages()` when the (slower) pass over that user's lines is done."""

    DEFAULT_CSS = """
    ActivityView { height: 1fr; }
    ActivityView > #activity-summary { height: auto; max-height: 4; padding: 0 1; }
    ActivityView > #activity-spark-label { height: 1; padding: 0 1; color: $text-muted; }
    ActivityView > Sparkline { height: 1; margin: 0 1; }
    ActivityView > #activity-ips { height: auto; max-height: 2; padding: 0 1; }
    ActivityView > DataTable { height: 1fr; min-height: 3; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.messages: list[SentMessage] = []
        self._columns: FittedColumns | None = None

    def compose(self) -> ComposeResult:
        yield PlainStatic("", id="activity-summary")
        yield PlainStatic("", id="activity-spark-label")
        yield Sparkline([], summary_function=max, id="activity-spark")
        yield PlainStatic("", id="activity-ips")
        yield FittedTable(id="activity-messages", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        self.query_one(Sparkline).display = False
        self._columns = self.query_one(FittedTable).fit_columns(message_columns())

    @on(FittedTable.Refitted, "#activity-messages")
    def _refitted(self, event: FittedTable.Refitted) -> None:
        event.stop()
        self._fill(keep_cursor=True)

    def show_text(self, text: str | Content) -> None:
        """No user to show: say why (nothing selected, no log, ...); a `str` is plain text."""
        self.query_one("#activity-summary", Static).update(text)
        self.query_one("#activity-spark-label", Static).update("")
        self.query_one(Sparkline).display = False
        self.query_one("#activity-ips", Static).update("")
        self.show_messages([], note=None)

    def show_stats(
        self,
        stats: UserStats | None,
        user: str,
        report: Report,
        *,
        sending: str = "",
    ) -> None:
        from helpdesk.sendlog.offenders import activity_series
        from helpdesk.sendlog.parser import seconds_to_datetime

        end = max(report.end, datetime.now().replace(microsecond=0))
        self.query_one("#activity-summary", Static).update(summary_text(stats, user, sending))
        series = activity_series(stats, report.start, end) if stats is not None else []
        spark = self.query_one(Sparkline)
        spark.data = [n for _, n in series]
        spark.display = bool(series)
        start, to = log_time_text(report.start, SHORT), log_time_text(end, SHORT, zone=True)
        label = _("Messages per 5 minutes, {start} to {end}").format(start=start, end=to)
        if stats is not None and stats.peak_5min:
            peak = log_time_text(seconds_to_datetime(stats.peak_at), "%H:%M")
            label += _(" · peak {n} at {time}").format(n=number(stats.peak_5min), time=peak)
        self.query_one("#activity-spark-label", Static).update(label)
        self.query_one("#activity-ips", Static).update(
            addresses_text(stats, report.baseline_covered)
        )

    def set_sending(self, user: str, stats: UserStats | None, sending: str) -> None:
        self.query_one("#activity-summary", Static).update(summary_text(stats, user, sending))

    def show_messages(self, messages: list[SentMessage], *, note: str | None = None) -> None:
        self.messages = list(messages)
        self.query_one(DataTable).border_title = note
        self._fill()

    def _fill(self, *, keep_cursor: bool = False) -> None:
        table = self.query_one(DataTable)
        cursor = table.cursor_row if keep_cursor else 0
        table.clear()
        columns = self._columns
        assert columns is not None  # set on mount, before any message is shown
        for i, m in enumerate(self.messages):
            values = {
                "when": log_time_text(m.time, SHORT),
                "fate": fate_text(m.fate),
                "to": _recipients(m),
                "subject": m.subject or (m.refused or ""),
            }
            table.add_row(*columns.row(values), key=str(i))
        if 0 < cursor < len(self.messages):
            table.move_cursor(row=cursor, animate=False)

    @on(DataTable.RowSelected, "#activity-messages")
    def _open_message(self, event: DataTable.RowSelected) -> None:
        event.stop()
        row = event.cursor_row
        if 0 <= row < len(self.messages):
            self.app.push_screen(
                DetailScreen(message_text(self.messages[row]), text_id="message-detail")
            )


# --------------------------------------------------------------------------- the mailbox tab


@dataclass
class TabData:
    report: Report
    stats: UserStats | None
    messages: list[SentMessage]
    warning: str | None


def read_activity(
    config: Any,
    db: Any,
    address: str,
    cancelled: Callable[[], bool],
    progress: tuple[Progress, Progress],
) -> TabData:
    """The window's ranking, then `address`'s recent messages: two passes over the logs."""
    from helpdesk.logs.files import Cancelled
    from helpdesk.sendlog.offenders import Analysis
    from helpdesk.sendlog.trails import user_detail

    try:
        files, settings = open_logs(config)
        domains, warning = (None, None) if settings.local_domains else local_domains(db)
        analysis = Analysis(settings, local_domains=domains)
        analysis.read(files, progress=progress[0], cancelled=cancelled)
        report = analysis.report()
        detail = user_detail(
            files,
            address,
            start=report.start,
            end=report.end,
            limit=RECENT_MESSAGES,
            progress=progress[1],
            cancelled=cancelled,
        )
    except Cancelled:
        raise HelpdeskError(M("Reading cancelled. F5 reads the log again.")) from None
    return TabData(report, report.user(address), detail.messages, warning)


class ActivityTab(Background, Vertical):
    """The mailbox screen's "Activity" tab: `ActivityTab(address)`."""

    STATUS = "#activity-tab-status"

    DEFAULT_CSS = """
    ActivityTab { height: 1fr; }
    ActivityTab > #activity-tab-status { height: auto; max-height: 2; }
    ActivityTab > ProgressBar { height: 1; padding: 0 1; }
    ActivityTab > ProgressBar.-idle { display: none; }
    """
    BINDINGS = [
        Binding("f5", "reread", N_("Read log again"), id="activity.reread"),
        Binding("c", "cancel", N_("Cancel reading"), id="activity.cancel"),
    ]

    def __init__(self, address: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.address = address
        self._asked = False
        self.reading = False

    def compose(self) -> ComposeResult:
        yield StatusLine(_("Opened on first view."), id="activity-tab-status")
        yield ProgressBar(total=100, show_eta=False, id="activity-progress", classes="-idle")
        yield ActivityView(id="activity-view")

    def on_show(self) -> None:
        if not self._asked:
            self._asked = True
            self.action_reread()

    def action_reread(self) -> None:
        self.reading = True
        self.show_status(_("Reading the send log … (c cancels)"))
        bar = self.query_one(ProgressBar)
        bar.update(total=100, progress=0)
        bar.remove_class("-idle")
        progress = (Progress(self, 0, 2), Progress(self, 1, 2))
        args = (self.app.config, self.app.db, self.address, self.stop_flag("read"), progress)
        self.background("read", read_activity, *args)

    def action_cancel(self) -> None:
        self.stop("read")

    def read_progress(self, done: int, total: int) -> None:
        self.query_one(ProgressBar).update(total=total, progress=done)

    def read_done(self, message: TabData) -> None:
        self._done()
        report = message.report
        view = self.query_one(ActivityView)
        view.show_stats(message.stats, self.address, report)
        view.show_messages(message.messages)
        count = len(message.messages)
        text = ngettext(
            "Send log {start} to {end}: {n} recent message · Enter shows one · F5 reads again",
            "Send log {start} to {end}: {n} recent messages · Enter shows one · F5 reads again",
            count,
        ).format(
            start=log_time_text(report.start, SHORT),
            end=log_time_text(report.end, SHORT, zone=True),
            n=count,
        )
        if message.warning:
            text += f" · {message.warning}"
        self.show_status(text)

    def read_failed(self, text: str) -> None:
        self._done()
        self.show_status(text, error=True)
        self.query_one(ActivityView).show_text("")

    def _done(self) -> None:
        self.reading = False
        self.query_one(ProgressBar).add_class("-idle")
