"""The mailbox's sending limits on its Overview, as Exim applies them, and the dialog that
changes them (docs/limits.md).

`LimitsPanel(address)` reads the limits (mailbox -> domain -> global) and the usage in two
thread workers: the usage may read the whole mainlog, and must not hold up the limits or the
rest of the Overview. `LimitsDialog` is the ticket dialog with the mailbox's own three values
(empty = inherit), checked by the core, written only with F2.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Input, Label

from helpdesk.errors import HelpdeskError
from helpdesk.i18n import N_, M, _, format_number, number
from helpdesk.limits.store import KINDS, Effective
from helpdesk.limits.usage import Usage
from helpdesk.limits.wording import describe, over_text, source_text
from screens.background import Background
from screens.dialogs.ticket import TicketAnswer, TicketDialog
from screens.widgets import PlainInput, PlainStatic, line, lines, notify

# The key that opens the dialog: a function key, so that a caller's name typed on the
# mailbox screen never opens it.
LIMITS_KEY = "f4"
# The dialog's field labels, one per limit (marked here, translated where drawn).
FIELD_LABELS = {
    "messages_per_hour": N_("Messages per hour"),
    "recipients_per_hour": N_("Recipients per hour"),
    "recipients_per_message": N_("Recipients per message"),
}
_WHOLE = re.compile(r"[0-9]{1,9}")


@dataclass(frozen=True)
class LimitsData:
    address: str
    customer: str
    effective: dict[str, Effective]
    # The mailbox's own row (None = inherit) and what inheriting gives: (value, source).
    own: dict[str, Any]
    inherited: dict[str, tuple[int, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class LimitsAnswer(TicketAnswer):
    changes: dict[str, int | None] = field(default_factory=dict)


def read_limits(db: Any, address: str) -> LimitsData:
    """The mailbox's limits as Exim resolves them (a thread job)."""
    from helpdesk.limits.store import (
        GLOBAL,
        domain_key,
        effective_limits,
        mailbox_key,
        own_limits,
    )
    from helpdesk.mailcenter.mailboxes import get_mailbox

    with db.connect() as conn:
        mailbox = get_mailbox(conn, address)
        effective = effective_limits(conn, mailbox)
        own = own_limits(conn, mailbox_key(mailbox))
        scopes = (
            ("domain", own_limits(conn, domain_key(mailbox.domain_id))),
            ("global", own_limits(conn, GLOBAL)),
        )
    inherited: dict[str, tuple[int, str]] = {}
    for kind in KINDS:
        inherited[kind] = next(
            ((row[kind], name) for name, row in scopes if row[kind] is not None), (0, "none")
        )
    return LimitsData(mailbox.address, mailbox.customer_ref, effective, own, inherited)


def read_usage(config: Any, address: str, cancelled: Any) -> Usage:
    """Exim's own rate, else the mainlog recomputed (a thread job; may read the whole log)."""
    from helpdesk.limits.settings import limit_settings
    from helpdesk.limits.usage import usage
    from helpdesk.sendlog.settings import SendlogSettings

    settings = limit_settings(config)
    paths = SendlogSettings.from_config(config).paths
    return usage(settings, paths, address.strip().lower(), cancelled)


def write_limits(
    db: Any, data: LimitsData, answer: LimitsAnswer, operator: Any
) -> tuple[str, LimitsData]:
    """The audited change of the mailbox's own limits (a thread job): the line to show."""
    from helpdesk.errors import Conflict
    from helpdesk.limits.store import mailbox_key, own_limits, set_limits
    from helpdesk.mailcenter.mailboxes import get_mailbox

    with db.begin() as conn:
        mailbox = get_mailbox(conn, data.address)
        key = mailbox_key(mailbox)
        # The dialog showed `data.own`: a change made meanwhile is not overwritten unseen.
        if own_limits(conn, key) != data.own:
            raise Conflict(
                M(
                    "the limits of {target} were changed by someone else meanwhile; "
                    "nothing was written",
                    target=mailbox.address,
                )
            )
        set_limits(
            conn,
            key,
            mailbox.address,
            dict(answer.changes),
            ticket=answer.ticket,
            reason=answer.reason or None,
            operator=operator,
            mailbox_id=mailbox.id,
        )
    text = _("{target}: limits changed; Exim applies them from the next message").format(
        target=data.address
    )
    return text, read_limits(db, data.address)


def limit_lines(data: LimitsData) -> list[object]:
    """The three limits, each as Exim applies it and where it comes from, and over a limit."""
    rows: list[object] = []
    for kind in KINDS:
        eff = data.effective[kind]
        rows.append(f"{describe(kind, int(eff.value))} · {source_text(eff.source)}")
    rows.append(str(over_text(str(data.effective["over_limit"].value))))
    return rows


def usage_lines(used: Usage | None) -> list[object]:
    if used is None:
        return [_("usage: reading …")]
    if used.source == "none":
        return [str(used.label())]
    amount = _("usage: {messages} messages and {recipients} recipients per hour").format(
        messages=format_number(round(used.messages or 0, 1)),
        recipients=format_number(round(used.recipients or 0, 1)),
    )
    return [amount, f"  {used.label()}"]


class LimitsPanel(Background, PlainStatic):
    """The Overview's "Sending limits" part: limits first, the usage when it is read."""

    DEFAULT_CSS = """
    LimitsPanel {
        height: auto;
        padding: 0 1;
        margin: 1 0 0 0;
    }
    """

    @dataclass
    class Saved(Message):
        """Limits were written: the mailbox screen says so and reloads its audit rows."""

        text: str

    def __init__(self, address: str, **kwargs: Any) -> None:
        super().__init__("", **kwargs)
        self.address = address
        self.data: LimitsData | None = None
        self.used: Usage | None = None
        self._error: str | None = None
        self._usage_error: str | None = None

    def on_mount(self) -> None:
        self.load()

    def load(self) -> None:
        """Read both again: the limits (fast) and the usage (perhaps the whole mainlog)."""
        self.used, self._usage_error = None, None
        self.background("limits", read_limits, self.app.database, self.address)
        cancelled = self.stop_flag("usage")
        self.background("usage", read_usage, self.app.config, self.address, cancelled)
        self._show()

    def limits_done(self, data: LimitsData) -> None:
        self.data, self._error = data, None
        self._show()

    def limits_failed(self, text: str) -> None:
        self._error = text
        self._show()

    def usage_done(self, used: Usage) -> None:
        self.used = used
        self._show()

    def usage_failed(self, text: str) -> None:
        self._usage_error = text
        self._show()

    def _show(self) -> None:
        heading = line(
            _("[b]Sending limits[/b], as Exim applies them ({key} changes)").format(
                key=LIMITS_KEY.upper()
            )
        )
        rows: list[object] = [heading]
        if self._error is not None:
            rows.append(self._error)
        elif self.data is None:
            rows.append(_("Loading …"))
        else:
            rows.extend(limit_lines(self.data))
        if self._usage_error is not None:
            rows.append(_("usage unknown: {why}").format(why=self._usage_error))
        else:
            rows.extend(usage_lines(self.used))
        self.update(lines(rows))

    # --- the change ----------------------------------------------------------------------

    def ask(self) -> None:
        """Open the dialog for the limits shown (nothing while they are still read)."""
        data = self.data
        if data is None:
            notify(self, _("The limits are still being read."))
            return

        def answered(answer: LimitsAnswer | None) -> None:
            if answer is not None:
                args = (self.app.database, data, answer, self.app.operator)
                self.background("write", write_limits, *args)

        self.app.push_screen(LimitsDialog(data), answered)

    def write_done(self, result: tuple[str, LimitsData]) -> None:
        text, data = result
        self.data, self._error = data, None
        self._show()
        self.post_message(self.Saved(text))

    def write_failed(self, text: str) -> None:
        show = getattr(self.screen, "show_status", None)
        if callable(show):
            show(text, error=True)
        else:
            notify(self, text, severity="error")


class LimitsDialog(TicketDialog):
    """The mailbox's own three limits (empty = inherit), then ticket and F2."""

    DEFAULT_CSS = """
    LimitsDialog #dialog { width: 76; max-height: 100%; overflow-y: auto; }
    LimitsDialog #dialog-question { margin: 0 0 1 0; }
    LimitsDialog .limit-row { height: 1; }
    LimitsDialog #limit-row-recipients-per-message { margin: 0 0 1 0; }
    LimitsDialog .limit-row Label { width: 24; }
    LimitsDialog .limit-row PlainInput { width: 11; height: 1; border: none; padding: 0 1; }
    LimitsDialog .limit-row .limit-inherit { width: 1fr; padding: 0 1; color: $text-muted; }
    LimitsDialog #dialog-buttons Button { height: 1; border: none; min-width: 10; }
    """

    def __init__(self, data: LimitsData) -> None:
        question = _(
            "{address}: empty = inherit, 0 = no limit. Exim applies a change from the next message."
        ).format(address=data.address)
        super().__init__(_("Sending limits"), question, confirm=_("Save"), customer=data.customer)
        self.data = data

    def extra_fields(self) -> ComposeResult:
        for kind in KINDS:
            own = self.data.own[kind]
            value, source = self.data.inherited[kind]
            empty = _("empty: {value}, {source}").format(
                value=_("no limit") if value <= 0 else number(value), source=source_text(source)
            )
            with Horizontal(classes="limit-row", id=f"limit-row-{kind}".replace("_", "-")):
                yield Label(_(FIELD_LABELS[kind]))
                yield PlainInput(
                    "" if own is None else str(own), id=f"limit-{kind}".replace("_", "-")
                )
                yield PlainStatic(empty, classes="limit-inherit")

    def _input(self, kind: str) -> Input:
        return self.query_one(f"#limit-{kind}".replace("_", "-"), Input)

    def reason_entered(self) -> None:
        self._input(KINDS[0]).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter in a limit moves to the next; after the last it says which key saves."""
        ids = [f"limit-{kind}".replace("_", "-") for kind in KINDS]
        if event.input.id not in ids:
            return
        event.stop()
        index = ids.index(event.input.id)
        if index + 1 < len(ids):
            self._input(KINDS[index + 1]).focus()
        else:
            super().reason_entered()

    def checked(self, kind: str) -> int | None:
        """The typed limit (None = inherit), checked by the core; raises its one-line error."""
        from helpdesk.limits.settings import limit_value

        text = self._input(kind).value.strip()
        if not text:
            return None
        # Anything but plain digits goes to the core as it is, which refuses it.
        value: Any = int(text) if _WHOLE.fullmatch(text) else text
        return limit_value(value, _(FIELD_LABELS[kind]), hourly=kind.endswith("_per_hour"))

    def answer(self) -> LimitsAnswer | None:
        base = super().answer()
        if base is None:
            return None
        typed: dict[str, int | None] = {}
        for kind in KINDS:
            try:
                typed[kind] = self.checked(kind)
            except HelpdeskError as exc:
                self.show_error(str(exc), f"#limit-{kind}".replace("_", "-"))
                return None
        changes = {k: v for k, v in typed.items() if v != self.data.own[k]}
        if not changes:
            text = M("{target} has these limits already; nothing changed", target=self.data.address)
            self.show_error(str(text))
            return None
        return LimitsAnswer(base.ticket, base.reason, changes=changes)
