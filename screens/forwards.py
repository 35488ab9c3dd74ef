"""The mailbox screen's "Forwards & replies" tab: the mailbox's forward and auto-reply, set and
removed through dialogs confirmed with F2 (docs/forwards.md).

`ForwardsTab(address)` reads both when first shown, in a thread worker; `f` sets the forward,
`a` the auto-reply (prefilled with the example text in the UI language, `F4` switches it to the
other language), `x` removes the forward, `c` the auto-reply.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Checkbox, Static, TextArea

from helpdesk.errors import HelpdeskError
from helpdesk.forwards.model import AutoReply, Forward
from helpdesk.i18n import N_, _
from helpdesk.localtime import MINUTE, time_text
from screens.background import Background
from screens.dialogs.ticket import TicketAnswer, TicketDialog
from screens.widgets import PlainInput, PlainStatic, line, lines, notify
from screens.widgets.status import StatusLine

# The tab's label on the mailbox screen (≤ 10 characters in every language).
TAB_LABEL = N_("Forwards")


@dataclass(frozen=True)
class ForwardsData:
    forward: Forward | None
    reply: AutoReply | None
    customer: str


@dataclass(frozen=True)
class ChangeAnswer(TicketAnswer):
    forward: Forward | None = None
    reply: AutoReply | None = None


def read_forwards(db: Any, address: str) -> ForwardsData:
    from helpdesk.forwards.store import load_autoreply, load_forward
    from helpdesk.mailcenter.mailboxes import get_mailbox

    with db.connect() as conn:
        mailbox = get_mailbox(conn, address)
        return ForwardsData(
            load_forward(conn, mailbox), load_autoreply(conn, mailbox), mailbox.customer_ref
        )


def write(db: Any, address: str, kind: str, answer: TicketAnswer, operator: Any) -> str:
    """Set or clear the forward or auto-reply (a thread job): the line to show."""
    from helpdesk.forwards import store
    from helpdesk.mailcenter.mailboxes import get_mailbox

    common = {"ticket": answer.ticket, "reason": answer.reason or None, "operator": operator}
    with db.begin() as conn:
        mailbox = get_mailbox(conn, address)
        forward = getattr(answer, "forward", None)
        reply = getattr(answer, "reply", None)
        if kind == "forward" and forward is not None:
            store.set_forward(conn, mailbox, forward, **common)
            return _("Forward saved.")
        if kind == "forward":
            store.clear_forward(conn, mailbox, **common)
            return _("Forward removed.")
        if reply is not None:
            store.set_autoreply(conn, mailbox, reply, **common)
            return _("Auto-reply saved.")
        store.clear_autoreply(conn, mailbox, **common)
        return _("Auto-reply removed.")


def window_text(starts_at: Any, ends_at: Any) -> str:
    if starts_at is None and ends_at is None:
        return _("always")
    start = time_text(starts_at, zone=True) if starts_at is not None else "…"
    end = time_text(ends_at, zone=True) if ends_at is not None else "…"
    return _("{start} to {end}").format(start=start, end=end)


def summary(data: ForwardsData) -> Any:
    rows: list[object] = []
    f, r = data.forward, data.reply
    if f is None:
        rows.append(line(_("[b]Forward[/b]     none")))
    else:
        rows.append(line(_("[b]Forward[/b]     to $v"), v=", ".join(f.targets)))
        copy = _("keeps a copy") if f.keep_copy else _("keeps no copy")
        rows.append(line("             $c · $w", c=copy, w=window_text(f.starts_at, f.ends_at)))
    rows.append(line(""))
    if r is None:
        rows.append(line(_("[b]Auto-reply[/b]  none")))
    else:
        rows.append(line(_("[b]Auto-reply[/b]  $v"), v=window_text(r.starts_at, r.ends_at)))
        rows.append(line(_("             once per sender per $d days"), d=str(r.days)))
        rows.append(line(_("[b]Subject[/b]     $v"), v=r.subject))
        rows.extend(line("  $v", v=text) for text in r.body.split("\n"))
    return lines(rows)


def _local(when: Any) -> str:
    return time_text(when, MINUTE) if when is not None else ""


def _period_fields(current: Any, prefix: str) -> ComposeResult:
    """From and until of a forward or auto-reply, one line each (the dialogs fill 80x24)."""
    yield PlainInput(
        _local(current.starts_at) if current else "",
        placeholder=_("From (empty: now)"),
        id=f"{prefix}-from",
        compact=True,
    )
    yield PlainInput(
        _local(current.ends_at) if current else "",
        placeholder=_("Until (empty: open)"),
        id=f"{prefix}-until",
        compact=True,
    )


def _times(start: str, end: str) -> tuple[Any, Any]:
    from helpdesk.forwards.times import parse_local

    starts = parse_local(start) if start.strip() else None
    ends = parse_local(end, end_of_day=True) if end.strip() else None
    return starts, ends


class ForwardDialog(TicketDialog):
    """Targets, copy and period of the forward, then ticket and F2."""

    # More fields than the plain ticket dialog: at 80x24 the title, the fields and the buttons
    # stay in view because the frame gives up its padding, and the copy switch and the period
    # (sharing a row) their frames.
    DEFAULT_CSS = """
    ForwardDialog #dialog { width: 78; max-height: 100%; overflow-y: auto; padding: 0 1; }
    ForwardDialog #dialog-question { margin: 0; }
    ForwardDialog .period { height: auto; }
    ForwardDialog .period PlainInput { width: 1fr; }
    """

    def __init__(self, forward: Forward | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.forward = forward

    def extra_fields(self) -> ComposeResult:
        f = self.forward
        yield PlainInput(
            ", ".join(f.targets) if f else "",
            placeholder=_("Targets, comma-separated (up to 3)"),
            id="fwd-targets",
        )
        yield Checkbox(
            _("Keep a copy in the mailbox"), f.keep_copy if f else True, id="fwd-copy", compact=True
        )
        with Horizontal(classes="period"):
            yield from _period_fields(f, "fwd")

    def answer(self) -> ChangeAnswer | None:
        from helpdesk.forwards.model import check_forward
        from helpdesk.forwards.times import utcnow

        base = super().answer()
        if base is None:
            return None
        targets = tuple(
            t for t in self.query_one("#fwd-targets", PlainInput).value.split(",") if t.strip()
        )
        copy = self.query_one("#fwd-copy", Checkbox).value
        try:
            starts, ends = _times(
                self.query_one("#fwd-from", PlainInput).value,
                self.query_one("#fwd-until", PlainInput).value,
            )
            # Checked here as well, so that a typo keeps the dialog open with its fields.
            forward = check_forward(Forward(targets, copy, starts, ends), "", utcnow())
        except HelpdeskError as exc:
            self.show_error(str(exc), "#fwd-targets")
            return None
        return ChangeAnswer(base.ticket, base.reason, forward=forward)


class AutoReplyDialog(TicketDialog):
    """Subject, text, days and period of the auto-reply, then ticket and F2."""

    DEFAULT_CSS = """
    /* The most fields of any dialog: at 80x24 title, fields and buttons must all stay in
       view, so the frame gives up its padding and the one-line fields their frames. */
    AutoReplyDialog #dialog { width: 78; max-height: 100%; overflow-y: auto; padding: 0 1; }
    AutoReplyDialog #dialog-question { margin: 0; }
    AutoReplyDialog .period { height: auto; }
    AutoReplyDialog .period PlainInput { width: 1fr; }
    AutoReplyDialog #ar-text { height: 6; }
    AutoReplyDialog #ar-days { width: 10; }
    """
    BINDINGS = [
        Binding("f4", "other_language", N_("Other language"), id="autoreply.language"),
    ]

    def __init__(self, reply: AutoReply | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.reply = reply
        from helpdesk.i18n import language

        self.lang = language()

    def extra_fields(self) -> ComposeResult:
        from helpdesk.forwards.texts import example

        r = self.reply
        subject, body = (r.subject, r.body) if r else example(self.lang, None)
        yield PlainInput(subject, placeholder=_("Subject"), id="ar-subject", compact=True)
        yield TextArea(body, id="ar-text", soft_wrap=True)
        with Horizontal(classes="period"):
            yield from _period_fields(r, "ar")
            yield PlainInput(
                str(r.days) if r else "7", placeholder=_("Days"), id="ar-days", compact=True
            )

    def action_other_language(self) -> None:
        from helpdesk.forwards.texts import example

        self.lang = "en" if self.lang == "de" else "de"
        until = self.query_one("#ar-until", PlainInput).value.strip()[:10] or None
        subject, body = example(self.lang, until)
        self.query_one("#ar-subject", PlainInput).value = subject
        self.query_one("#ar-text", TextArea).text = body

    def answer(self) -> ChangeAnswer | None:
        from helpdesk.forwards.model import check_autoreply
        from helpdesk.forwards.times import utcnow

        base = super().answer()
        if base is None:
            return None
        days_text = self.query_one("#ar-days", PlainInput).value.strip()
        try:
            starts, ends = _times(
                self.query_one("#ar-from", PlainInput).value,
                self.query_one("#ar-until", PlainInput).value,
            )
            days = int(days_text) if days_text.isdigit() else 0
            reply = check_autoreply(
                AutoReply(
                    self.query_one("#ar-subject", PlainInput).value,
                    self.query_one("#ar-text", TextArea).text,
                    days,
                    starts,
                    ends,
                ),
                utcnow(),
            )
        except HelpdeskError as exc:
            self.show_error(str(exc), "#ar-subject")
            return None
        return ChangeAnswer(base.ticket, base.reason, reply=reply)


class ForwardsTab(Background, Vertical):
    """The mailbox screen's "Forwards & replies" tab: `ForwardsTab(address)`."""

    STATUS = "#forwards-status"
    # Nothing inside takes the focus: the tab itself does, so that its keys work.
    can_focus = True
    DEFAULT_CSS = """
    ForwardsTab { height: 1fr; }
    ForwardsTab > #forwards-status { height: auto; max-height: 2; }
    ForwardsTab > VerticalScroll { height: 1fr; padding: 0 1; }
    """
    BINDINGS = [
        Binding("f", "set_forward", N_("Forward"), id="forwards.forward"),
        Binding("a", "set_reply", N_("Auto-reply"), id="forwards.reply"),
        Binding("x", "clear_forward", N_("No forward"), id="forwards.clear_forward"),
        # Not `r`: the mailbox screen's reinstate.
        Binding("c", "clear_reply", N_("No reply"), id="forwards.clear_reply"),
        Binding("v", "sieve_chain", N_("Scripts"), id="forwards.sieve_chain"),
    ]

    def __init__(self, address: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.address = address
        self.data: ForwardsData | None = None
        self._asked = False

    def compose(self) -> ComposeResult:
        yield StatusLine(_("Opened on first view."), id="forwards-status")
        with VerticalScroll():
            yield PlainStatic("", id="forwards-summary")

    def on_show(self) -> None:
        if self.screen.focused is None:
            self.focus()
        if not self._asked:
            self._asked = True
            self.reread()

    def reread(self) -> None:
        self.background("read", read_forwards, self.app.database, self.address)

    def read_done(self, data: ForwardsData) -> None:
        self.data = data
        self.query_one("#forwards-summary", Static).update(summary(data))
        self.show_status(_("f forward · a auto-reply · x / c remove them · F2 confirms"))

    def read_failed(self, text: str) -> None:
        self.show_status(text, error=True)

    def _ask(self, kind: str, dialog: TicketDialog) -> None:
        def answered(answer: Any) -> None:
            if answer is not None:
                args = (self.app.database, self.address, kind, answer, self.app.operator)
                self.background("write", write, *args)

        self.app.push_screen(dialog, answered)

    def _customer(self) -> str:
        return self.data.customer if self.data else ""

    def action_set_forward(self) -> None:
        if self.data is None:
            return
        title = _("Forward {address}").format(address=self.address)
        question = _("Mail to this mailbox goes to these addresses; spam never does.")
        dialog = ForwardDialog(
            self.data.forward,
            title=title,
            question=question,
            confirm=_("Save"),
            customer=self._customer(),
        )
        self._ask("forward", dialog)

    def action_set_reply(self) -> None:
        if self.data is None:
            return
        title = _("Auto-reply for {address}").format(address=self.address)
        question = _("Each sender is answered once per period; lists and spam never. F4: language")
        dialog = AutoReplyDialog(
            self.data.reply,
            title=title,
            question=question,
            confirm=_("Save"),
            customer=self._customer(),
        )
        self._ask("autoreply", dialog)

    def _ask_clear(self, kind: str, present: bool, title: str) -> None:
        if not present:
            notify(self, _("Nothing to remove."))
            return
        dialog = TicketDialog(
            title,
            self.address,
            confirm=_("Remove"),
            customer=self._customer(),
        )
        self._ask(kind, dialog)

    def action_clear_forward(self) -> None:
        present = self.data is not None and self.data.forward is not None
        self._ask_clear("forward", present, _("Remove the forward"))

    def action_clear_reply(self) -> None:
        present = self.data is not None and self.data.reply is not None
        self._ask_clear("autoreply", present, _("Remove the auto-reply"))

    def action_sieve_chain(self) -> None:
        from screens.sieve_chain import SieveChainScreen

        self.app.push_screen(SieveChainScreen(self.address, self._customer()))

    def write_done(self, text: str) -> None:
        notify(self, text)
        self.reread()

    def write_failed(self, text: str) -> None:
        self.show_status(text, error=True)
