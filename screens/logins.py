"""The mailbox screen's "Logins" tab: what the mailbox's clients do when they log in, why a
login fails, and what to tell the customer.

`LoginsTab(address)` reads Dovecot's log and Exim's mainlog the first time it is shown, in a
thread worker, with a cancellable progress bar. Diagnoses come first (they are what the operator
reads out), then the last success per protocol, then the timeline; `g` switches the table to the
groups by client program, protocol and mechanism with their client addresses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, ProgressBar, Static

from helpdesk.errors import HelpdeskError
from helpdesk.i18n import N_, _, ngettext, number, render
from helpdesk.localtime import SECOND, SHORT, header, log_time_text
from screens.background import Background, Progress
from screens.dialogs.detail import DetailScreen
from screens.translated import Translated
from screens.widgets import PlainStatic, line, lines
from screens.widgets.columns import Column, FittedColumns
from screens.widgets.status import StatusLine

if TYPE_CHECKING:
    from helpdesk.logins.events import LoginEvent
    from helpdesk.logins.timeline import Group, Timeline

# The tab's label on the mailbox screen (≤ 10 characters in every language).
TAB_LABEL = N_("Logins")


@dataclass
class LoginsData:
    timeline: Timeline
    customer: str = ""


def read_logins(
    config: Any, db: Any, address: str, cancelled: Callable[[], bool], progress: Progress
) -> LoginsData:
    """The mailbox row, the current bans and the timeline (a thread job)."""
    from helpdesk.logins.bans import current_bans
    from helpdesk.logins.lastlogin import read_last_login
    from helpdesk.logins.settings import LoginSettings
    from helpdesk.logins.timeline import build
    from helpdesk.logs.files import Cancelled
    from helpdesk.mailcenter.mailboxes import get_mailbox

    settings = LoginSettings.from_config(config)
    with db.connect() as conn:
        mailbox = get_mailbox(conn, address)
    last, _missing = read_last_login(db, mailbox.address)
    try:
        timeline = build(
            settings,
            mailbox.address,
            mailbox=mailbox,
            bans=current_bans(settings),
            last_login=last,
            progress=progress,
            cancelled=cancelled,
        )
    except Cancelled:
        raise HelpdeskError(_("Reading cancelled. F5 reads the logs again.")) from None
    return LoginsData(timeline, mailbox.customer_ref or "")


def lift(db: Any, config: Any, ip: str, answer: Any, operator: Any) -> str:
    """Lift the ban of `ip` (a thread job): the line to show."""
    from helpdesk.logins.bans import lift_ban
    from helpdesk.logins.settings import LoginSettings

    settings = LoginSettings.from_config(config)
    jail, _since = lift_ban(
        db, settings, ip, ticket=answer.ticket, reason=answer.reason or None, operator=operator
    )
    return _("{ip} may connect again (ban in jail {jail} lifted)").format(ip=ip, jail=jail)


def card(config: Any, address: str, lang: str) -> str:
    from helpdesk.logins.card import card_text
    from helpdesk.logins.settings import ClientSettings

    return card_text(ClientSettings.from_config(config), address, lang)


def tls_text(value: bool | None) -> str:
    return _("TLS") if value else _("no TLS") if value is False else _("unknown")


def event_outcome(e: LoginEvent) -> str:
    if e.ok:
        return _("ok")
    text = render(e.reason_text) if e.reason_text is not None else _("failed")
    # The mark first: at 80 columns the outcome column cuts a long reason.
    return _("ban") + " · " + text if e.banned else text


def event_text(e: LoginEvent) -> Content:
    """One event whole (the table cuts it); every value from the log inserted as text."""
    when = log_time_text(e.time, SECOND, zone=True)
    if e.last and e.attempts > 1:
        when += " – " + log_time_text(e.last, SECOND, zone=True)
    rows: list[object] = [
        line(_("[b]When[/b]       $v"), v=when),
        line(_("[b]Protocol[/b]   $v"), v=e.protocol.upper()),
        line(_("[b]Outcome[/b]    $v"), v=event_outcome(e)),
        line(_("[b]User[/b]       $v"), v=e.user or _("(none sent)")),
        line(_("[b]Client[/b]     $v"), v=e.ip),
        line(_("[b]Program[/b]    $v"), v=e.client or _("unknown")),
        line(_("[b]TLS[/b]        $v"), v=tls_text(e.tls)),
        line(_("[b]Mechanism[/b]  $v"), v=e.mechanism or "—"),
        line(_("[b]Attempts[/b]   $v"), v=number(e.attempts)),
    ]
    if e.match == "attributed":
        rows.append(line("$v", v=_("Probably this mailbox's device (same address).")))
    elif e.match == "near_miss":
        rows.append(line("$v", v=_("Another login name from an address this mailbox uses.")))
    return lines(rows)


def diagnoses_text(t: Timeline) -> Content:
    if not t.diagnoses:
        return line("$v", v=_("Nothing to tell the customer from the logs."))
    return lines(line("• $v", v=render(d.text)) for d in t.diagnoses)


def last_text(t: Timeline) -> Content:
    # The log's last success per protocol; Dovecot's last_login table where it is newer (it
    # also knows logins before the window).
    latest = {p: e.last or e.time for p, e in t.last_success.items()}
    for service, when in t.last_login.items():
        if service not in latest or when > latest[service]:
            latest[service] = when
    if not latest:
        return line("$v", v=_("Last success: none in the window."))
    parts = {
        f"p{i}": f"{p.upper()} {log_time_text(when, SHORT)}"
        for i, (p, when) in enumerate(sorted(latest.items()))
    }
    shown = line("$label " + " · ".join(f"${k}" for k in parts), label=_("Last success:"), **parts)
    if "smtp" not in latest:
        return shown
    note = _("(SMTP from Exim's arrivals: the log has no login without a message)")
    return lines([shown, line("$v", v=note)])


def group_text(g: Group) -> str:
    ips = ", ".join(ip for ip, _n in g.ips.most_common(8))
    return ngettext("{n} address: {ips}", "{n} addresses: {ips}", len(g.ips)).format(
        n=number(len(g.ips)), ips=ips
    )


def event_columns() -> list[Column]:
    when = header(_("When"))
    longer = max(0, len(when) - 11)
    return [
        Column(when, "when", 11 + longer),
        Column(_("Proto"), "protocol", 5),
        Column(_("Outcome"), "outcome", 18, weight=2),
        Column(_("Address"), "ip", 15 - min(longer, 4)),
        Column(_("TLS"), "tls", 6),
        Column(_("Program"), "client", 14, weight=3),
    ]


def group_columns() -> list[Column]:
    return [
        Column(_("Program"), "client", 18, weight=2),
        Column(_("Proto"), "protocol", 5),
        Column(_("Mech"), "mechanism", 8),
        Column(_("OK"), "ok", 5),
        Column(_("Failed"), "failed", 6),
        Column(_("Addresses"), "ips", 26, weight=3),
    ]


class CardScreen(Translated, ModalScreen[None]):
    """The client-settings card in the customer's language (d / e switch it), copied to the
    operator's clipboard (OSC 52) each time it is shown, to paste into an e-mail."""

    DEFAULT_CSS = """
    CardScreen { align: center middle; }
    CardScreen > VerticalScroll {
        width: 78; max-width: 100%; height: auto; max-height: 100%;
        border: thick $primary; background: $panel; padding: 0 1;
    }
    """
    BINDINGS = [
        Binding("escape", "close", N_("Close"), id="card.close"),
        Binding("d", "language('de')", N_("German"), id="card.de"),
        Binding("e", "language('en')", N_("English"), id="card.en"),
        Binding("c", "copy", N_("Copy"), id="card.copy"),
    ]

    def __init__(self, config: Any, address: str, lang: str) -> None:
        super().__init__()
        self.config, self.address, self.lang = config, address, lang
        self.text = ""

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield PlainStatic("", id="card-text")
        yield Footer()

    def on_mount(self) -> None:
        self.action_language(self.lang)

    def action_language(self, lang: str) -> None:
        try:
            self.text = card(self.config, self.address, lang)
        except HelpdeskError as exc:
            self.text = str(exc)
        self.lang = lang
        self.query_one("#card-text", Static).update(self.text)
        self.action_copy()

    def action_copy(self) -> None:
        from screens.widgets import notify

        self.app.copy_to_clipboard(self.text)
        notify(self, _("Settings card copied (where the terminal allows it)."))

    def action_close(self) -> None:
        self.dismiss(None)

    def reopen(self) -> None:
        return None


class LoginsTab(Background, Vertical):
    """The mailbox screen's "Logins" tab: `LoginsTab(address)`."""

    STATUS = "#logins-status"
    DEFAULT_CSS = """
    LoginsTab { height: 1fr; }
    LoginsTab > #logins-status { height: auto; max-height: 2; }
    LoginsTab > ProgressBar { height: 1; padding: 0 1; }
    LoginsTab > ProgressBar.-idle { display: none; }
    LoginsTab > #logins-diagnoses { height: auto; max-height: 10; padding: 0 1; }
    LoginsTab > #logins-last { height: auto; max-height: 2; padding: 0 1; color: $text-muted; }
    LoginsTab > DataTable { height: 1fr; min-height: 3; }
    """
    BINDINGS = [
        # F5 and c are named in the status line: the footer keeps room for the screen's keys.
        Binding("f5", "reread", N_("Read logs again"), show=False, id="logins.reread"),
        Binding("c", "cancel", N_("Cancel reading"), show=False, id="logins.cancel"),
        Binding("g", "toggle_groups", N_("Groups"), id="logins.groups"),
        Binding("u", "unban", N_("Unban"), id="logins.unban"),
        Binding("k", "card", N_("Card"), id="logins.card"),
    ]

    def __init__(self, address: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.address = address
        self.timeline: Timeline | None = None
        self.customer = ""
        self.showing_groups = False
        self.reading = False
        self._asked = False
        self._columns: FittedColumns | None = None

    def compose(self) -> ComposeResult:
        yield StatusLine(_("Opened on first view."), id="logins-status")
        yield ProgressBar(total=100, show_eta=False, id="logins-progress", classes="-idle")
        yield PlainStatic("", id="logins-diagnoses")
        yield PlainStatic("", id="logins-last")
        yield DataTable(id="logins-table", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        self._set_columns()

    def _set_columns(self) -> None:
        table = self.query_one("#logins-table", DataTable)
        table.clear(columns=True)
        columns = group_columns() if self.showing_groups else event_columns()
        self._columns = FittedColumns(table, columns)
        self._columns.fit(self.size.width or 80)

    def on_resize(self, event: events.Resize) -> None:
        if self._columns is not None and event.size.width and self._columns.fit(event.size.width):
            self._fill()

    def on_show(self) -> None:
        if not self._asked:
            self._asked = True
            self.action_reread()

    def action_reread(self) -> None:
        self.reading = True
        self.show_status(_("Reading the Dovecot and Exim logs … (c cancels)"))
        bar = self.query_one(ProgressBar)
        bar.update(total=100, progress=0)
        bar.remove_class("-idle")
        args = (
            self.app.config,
            self.app.database,
            self.address,
            self.stop_flag("read"),
            Progress(self),
        )
        self.background("read", read_logins, *args)

    def action_cancel(self) -> None:
        self.stop("read")

    def action_toggle_groups(self) -> None:
        self.showing_groups = not self.showing_groups
        self._set_columns()
        self._fill()

    def read_progress(self, done: int, total: int) -> None:
        self.query_one(ProgressBar).update(total=total, progress=done)

    def read_done(self, data: LoginsData) -> None:
        self._done()
        t = self.timeline = data.timeline
        self.customer = data.customer
        self.query_one("#logins-diagnoses", Static).update(diagnoses_text(t))
        self.query_one("#logins-last", Static).update(last_text(t))
        self._fill()
        count = sum(e.attempts for e in t.events)
        # One line at 80 columns: the window ends now, so only its start is named.
        text = ngettext(
            "{n} login or attempt since {start}",
            "{n} logins and attempts since {start}",
            count,
        ).format(n=number(count), start=log_time_text(t.start, SHORT, zone=True))
        text += " · " + _("Enter shows one · F5 rereads")
        if t.warnings:
            text += " · " + render(t.warnings[0])
        self.show_status(text)

    def selected_event(self) -> LoginEvent | None:
        t = self.timeline
        if t is None or self.showing_groups:
            return None
        row = self.query_one("#logins-table", DataTable).cursor_row
        shown = list(reversed(t.events))
        return shown[row] if 0 <= row < len(shown) else None

    def action_unban(self) -> None:
        from screens.dialogs.ticket import TicketAnswer, TicketDialog
        from screens.widgets import notify

        event = self.selected_event()
        banned = sorted({e.ip for e in self.timeline.events if e.banned}) if self.timeline else []
        if event is not None and event.banned:
            ip = event.ip
        elif len(banned) == 1:
            ip = banned[0]
        else:
            notify(self, _("Choose a failed login that led to a ban (marked “ban”)."))
            return

        def answered(answer: TicketAnswer | None) -> None:
            if answer is not None:
                args = (self.app.database, self.app.config, ip, answer, self.app.operator)
                self.background("unban", lift, *args)

        question = _("{ip} may connect again. The device must have the right password first.")
        dialog = TicketDialog(
            _("Lift ban"),
            question.format(ip=ip),
            confirm=_("Lift ban"),
            customer=self.customer,
        )
        self.app.push_screen(dialog, answered)

    def unban_done(self, text: str) -> None:
        from screens.widgets import notify

        notify(self, text)
        self.action_reread()

    def action_card(self) -> None:
        from helpdesk.i18n import language

        self.app.push_screen(CardScreen(self.app.config, self.address, language()))

    def read_failed(self, text: str) -> None:
        self._done()
        self.show_status(text, error=True)

    def _done(self) -> None:
        self.reading = False
        self.query_one(ProgressBar).add_class("-idle")

    def _fill(self) -> None:
        table = self.query_one("#logins-table", DataTable)
        table.clear()
        t, columns = self.timeline, self._columns
        if t is None or columns is None:
            return
        if self.showing_groups:
            for i, g in enumerate(t.groups):
                values = {
                    "client": g.client or _("unknown"),
                    "protocol": g.protocol.upper(),
                    "mechanism": g.mechanism or "—",
                    "ok": number(g.ok),
                    "failed": number(g.failed),
                    "ips": ", ".join(ip for ip, _n in g.ips.most_common()),
                }
                table.add_row(*columns.row(values), key=f"g{i}")
            return
        for i, e in enumerate(reversed(t.events)):  # newest first
            # The short marks first: at 80 columns the column cuts a long reason at its end.
            marks = ["?"] if e.match == "attributed" else []
            if e.attempts > 1:
                marks.append(f"×{number(e.attempts)}")
            outcome = " ".join([*marks, event_outcome(e)])
            values = {
                "when": log_time_text(e.last or e.time, SHORT),
                "protocol": e.protocol.upper(),
                "outcome": outcome,
                "ip": e.ip,
                "tls": tls_text(e.tls) if e.tls is not None else "?",
                "client": e.client or (e.user if e.match == "near_miss" else "—"),
            }
            table.add_row(*columns.row(values), key=f"e{i}")

    @on(DataTable.RowSelected, "#logins-table")
    def _open(self, event: DataTable.RowSelected) -> None:
        event.stop()
        t = self.timeline
        if t is None:
            return
        row = event.cursor_row
        if self.showing_groups:
            if 0 <= row < len(t.groups):
                g = t.groups[row]
                text = lines(
                    [
                        line(
                            "[b]$c[/b] · $p · $m",
                            c=g.client or _("unknown"),
                            p=g.protocol.upper(),
                            m=g.mechanism or "—",
                        ),
                        line("$v", v=group_text(g)),
                    ]
                )
                self.app.push_screen(DetailScreen(text, text_id="logins-detail"))
            return
        shown = list(reversed(t.events))
        if 0 <= row < len(shown):
            self.app.push_screen(DetailScreen(event_text(shown[row]), text_id="logins-detail"))
