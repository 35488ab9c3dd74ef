"""The spam tab of the mailbox screen: the ladder, the sender lists, and a live preview.

Edits are a draft until saved: every change is validated at once and the preview recomputed
from the mailbox's recent scored mail (read once, in a worker). Saving asks for the ticket.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import DataTable, Static

from helpdesk.errors import HelpdeskError
from helpdesk.i18n import N_, _
from helpdesk.localtime import SHORT, header, log_time_text
from helpdesk.spam.ladder import (
    Ladder,
    Rule,
    parse_rules,
    parse_sender,
    shift,
    validate,
    validate_senders,
)
from helpdesk.spam.preview import Scored, judge
from helpdesk.spam.settings import SpamSettings
from screens.background import Background
from screens.dialogs.prompt import PromptDialog
from screens.dialogs.ticket import TicketAnswer, TicketDialog
from screens.widgets import PlainStatic, cell, notify
from screens.widgets.status import StatusLine

PREVIEW_ROWS = 50
# Cells are cut with "…" to these widths; the sender lists and the ladder hold whole values.
SENDER_WIDTH = 28
SUBJECT_WIDTH = 30
ACTION_WIDTH = 30

KEYS_HINT = N_("a add  x del  ⇧↑↓ move  +/− 0.5  l allow  b block  i default  ^s save")
# The ladder's actions and the preview's places as the tables show them; the stored values
# and the CLI's --json keep the English words.
ACTIONS = {
    "none": N_("deliver"),
    "mark": N_("mark"),
    "junk": N_("Junk"),
    "delete": N_("delete"),
}
PLACES = {
    "inbox": N_("inbox"),
    "marked": N_("marked"),
    "junk": N_("junk"),
    "deleted": N_("deleted"),
    "nowhere": N_("deleted"),
}


@dataclass
class SpamData:
    settings: SpamSettings
    messages: list[Scored]
    inherited: Ladder
    note: str
    block_action: str


@dataclass(frozen=True)
class Draft:
    """What the operator wants saved, taken from the tab on the event loop."""

    settings: SpamSettings
    ladder: Ladder | None
    inherit: bool
    allow: list[str]
    block: list[str]


def load_spam(db: Any, config: Any, address: str, cancelled: Callable[[], bool]) -> SpamData:
    from helpdesk.sendlog.settings import SendlogSettings
    from helpdesk.spam.preview import recent_scores
    from helpdesk.spam.script import SpamOptions
    from helpdesk.spam.settings import inherited_ladder, load

    with db.connect() as conn:
        settings = load(conn, address)
        inherited, _source = inherited_ladder(conn, settings)
    options = SpamOptions.from_config(config)
    patterns = SendlogSettings.from_config(config).paths
    note = ""
    try:
        messages = recent_scores(
            patterns, settings.scope.target, limit=options.preview_limit, cancelled=cancelled
        )
    except HelpdeskError as exc:
        # The ladder stays editable without a log (or when `c` stopped reading it); the
        # preview says why it is empty.
        messages, note = [], _("no preview: {reason}").format(reason=exc)
    if not messages and not note:
        note = _("no scored mail for this mailbox in the Exim log")
    return SpamData(settings, messages, inherited, note, options.block_action)


def save_spam(
    db: Any, config: Any, draft: Draft, answer: TicketAnswer, operator: str
) -> tuple[SpamSettings, list[str]]:
    from helpdesk.spam.script import SpamOptions
    from helpdesk.spam.settings import save

    options = SpamOptions.from_config(config)
    with db.begin() as conn:
        return save(
            conn,
            draft.settings,
            ladder=draft.ladder,
            inherit=draft.inherit,
            allow=draft.allow,
            block=draft.block,
            ticket=answer.ticket,
            reason=answer.reason or None,
            operator=operator,
            options=options,
        )


class SpamTab(Background, Vertical):
    """Tab content for one mailbox; `SpamTab(address)`."""

    # Fits the mailbox screen at 80x24.
    DEFAULT_CSS = """
    SpamTab {
        height: 1fr;
    }

    #spam-state {
        height: 1;
        padding: 0 1;
    }

    #spam-state.-error {
        color: $error;
        text-style: bold;
    }

    #spam-top {
        height: 7;
    }

    #spam-ladder {
        width: 1fr;
        height: 100%;
    }

    #spam-senders {
        width: 1fr;
        height: 100%;
        margin-left: 1;
    }

    #spam-preview-summary {
        height: 1;
        padding: 0 1;
        background: $boost;
    }

    #spam-preview {
        height: 1fr;
    }

    #spam-keys {
        height: 1;
        padding: 0 1;
        color: $text-muted;
    }
    """

    @dataclass
    class Saved(Message):
        """Settings were saved: the mailbox screen says so and reloads."""

        text: str

    STATUS = "#spam-state"
    DEFAULT_CLASSES = "spam-tab"
    BINDINGS = [
        Binding("a", "add_rule", N_("Add rule"), id="spam.add_rule"),
        Binding("x,delete", "remove", N_("Remove"), id="spam.remove"),
        Binding("shift+up", "move(-1)", N_("Move rule up"), id="spam.move_up"),
        Binding("shift+down", "move(1)", N_("Move rule down"), id="spam.move_down"),
        Binding("plus,equals_sign", "nudge(5)", N_("Threshold +0.5"), id="spam.nudge_up"),
        Binding("minus", "nudge(-5)", N_("Threshold −0.5"), id="spam.nudge_down"),
        Binding("l", "add_sender('allow')", N_("Allow sender"), id="spam.allow"),
        Binding("b", "add_sender('block')", N_("Block sender"), id="spam.block"),
        Binding("i", "inherit", N_("Domain default"), id="spam.inherit"),
        Binding("ctrl+s", "save", N_("Save"), id="spam.save"),
        Binding("ctrl+z", "revert", N_("Undo edits"), id="spam.revert"),
        Binding("c", "cancel", N_("Stop reading the log"), id="spam.cancel"),
    ]

    def __init__(self, address: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.address = address
        self.settings: SpamSettings | None = None
        self.ladder: Ladder = ()
        self.allow: tuple[str, ...] = ()
        self.block: tuple[str, ...] = ()
        self.inherit = False
        self.messages: list[Scored] = []
        self.block_action = "junk"
        self.error: str | None = None
        self.inherited_ladder: Ladder = ()

    def compose(self) -> ComposeResult:
        yield StatusLine(_("Loading …"), id="spam-state")
        with Horizontal(id="spam-top"):
            yield DataTable(id="spam-ladder", cursor_type="row", zebra_stripes=True)
            yield DataTable(id="spam-senders", cursor_type="row")
        yield PlainStatic("", id="spam-preview-summary")
        yield DataTable(id="spam-preview", cursor_type="row")
        # The keys a caller's complaint needs, in one line: the footer has room for few.
        yield Static(_(KEYS_HINT), id="spam-keys")

    def on_mount(self) -> None:
        self.query_one("#spam-ladder", DataTable).add_columns(_("From"), _("Action"))
        self.query_one("#spam-senders", DataTable).add_columns(_("List"), _("Sender"))
        self.query_one("#spam-preview", DataTable).add_columns(
            header(_("When")), _("Score"), _("Where"), _("Sender"), _("Subject")
        )
        self.load()

    # --- background work ----------------------------------------------------------------

    def load(self) -> None:
        args = (self.app.database, self.app.config, self.address, self.stop_flag("load"))
        self.background("load", load_spam, *args)

    def action_cancel(self) -> None:
        if not self.stop("load"):
            notify(self, _("Nothing is being read."))

    def load_done(self, data: SpamData) -> None:
        self.messages = data.messages
        self.inherited_ladder = data.inherited
        self.block_action = data.block_action
        self._take(data.settings)
        if data.note:
            self.query_one("#spam-preview-summary", Static).update(data.note)

    def write(self, answer: TicketAnswer) -> None:
        if self.settings is None:
            return
        draft = Draft(
            self.settings,
            None if self.inherit else self.ladder,
            self.inherit,
            list(self.allow),
            list(self.block),
        )
        args = (self.app.database, self.app.config, draft, answer, self.app.operator)
        self.background("save", save_spam, *args)

    def save_done(self, result: tuple[SpamSettings, list[str]]) -> None:
        settings, warnings = result
        self._take(settings)
        text = _("Spam settings saved: the next delivered message follows them.")
        if warnings:
            text += " " + _("Warning: {warnings}").format(warnings="; ".join(map(str, warnings)))
        if settings.scope.mailbox is not None:
            self.post_message(self.Saved(text))
        else:
            notify(self.app, text)

    def _take(self, settings: SpamSettings) -> None:
        self.settings = settings
        self.ladder = settings.ladder
        self.allow, self.block = settings.allow, settings.block
        self.inherit = settings.inherited
        self.refresh_all()

    # --- drawing ------------------------------------------------------------------------

    @property
    def dirty(self) -> bool:
        s = self.settings
        if s is None:
            return False
        return (
            self.ladder != s.ladder
            or self.allow != s.allow
            or self.block != s.block
            or self.inherit != s.inherited
        )

    def refresh_all(self, cursor: int | None = None) -> None:
        table = self.query_one("#spam-ladder", DataTable)
        keep = table.cursor_row if cursor is None else cursor
        table.clear()
        for rule in self.ladder:
            table.add_row(rule.score_text, cell(_action_text(rule), ACTION_WIDTH))
        if self.ladder:
            table.move_cursor(row=max(0, min(keep, len(self.ladder) - 1)))
        senders = self.query_one("#spam-senders", DataTable)
        keep_sender = senders.cursor_row
        senders.clear()
        for sender in self.allow:
            senders.add_row(_("allow"), cell(sender, SENDER_WIDTH))
        for sender in self.block:
            senders.add_row(_("block"), cell(sender, SENDER_WIDTH))
        if senders.row_count:
            senders.move_cursor(row=min(keep_sender, senders.row_count - 1))
        self._validate()
        self._preview()

    def _validate(self) -> None:
        try:
            warnings = validate(self.ladder, self.address)
            validate_senders(self.allow, self.block)
        except HelpdeskError as exc:
            self.error = str(exc)
            self.show_status(_("Cannot save: {error}").format(error=exc), error=True)
            return
        self.error = None
        if self.inherit and self.settings is not None:
            source = self.settings.inherited_from or _("no default")
            origin = _("inherited from {source}").format(source=source)
        else:
            origin = _("own ladder")
        parts = [origin + (" · " + _("unsaved changes") if self.dirty else "")]
        parts += [_("warning: {warning}").format(warning=w) for w in warnings]
        self.show_status(" · ".join(parts))

    def _preview(self) -> None:
        result = judge(
            self.ladder, self.messages, allow=self.allow, block=self.block,
            block_action=self.block_action,
        )  # fmt: skip
        if self.messages:
            self.query_one("#spam-preview-summary", Static).update(str(result.summary()))
        table = self.query_one("#spam-preview", DataTable)
        table.clear()
        for verdict in list(reversed(result.verdicts))[:PREVIEW_ROWS]:
            m = verdict.message
            where = _(PLACES.get(verdict.where, verdict.where))
            if verdict.forwarded_to:
                where += " " + _("+fwd")
            table.add_row(
                log_time_text(m.time, SHORT), f"{m.score:.1f}", where,
                cell(m.sender or "<>", SENDER_WIDTH), cell(m.subject or "", SUBJECT_WIDTH),
            )  # fmt: skip

    # --- actions ------------------------------------------------------------------------

    def _edit(self, ladder: Ladder, cursor: int | None = None) -> None:
        self.ladder = tuple(sorted(ladder, key=lambda r: r.tenths))
        self.inherit = False
        self.refresh_all(cursor)

    def _selected(self) -> int | None:
        table = self.query_one("#spam-ladder", DataTable)
        if not self.ladder:
            return None
        return max(0, min(table.cursor_row, len(self.ladder) - 1))

    def action_add_rule(self) -> None:
        def added(value: str | None) -> None:
            if value:
                rules = parse_rules(value)
                scores = {r.tenths for r in rules}
                rest = tuple(r for r in self.ladder if r.tenths not in scores)
                ladder = tuple(sorted((*rest, *rules), key=lambda r: r.tenths))
                self._edit(ladder, ladder.index(rules[-1]))

        self.app.push_screen(
            PromptDialog(_("Add rules (each replaces one at the same score)"),
                         _("SCORE:ACTION[:ARG] …, e.g. 6:junk 12:delete"),
                         check=parse_rules),
            added,
        )  # fmt: skip

    def action_remove(self) -> None:
        senders = self.query_one("#spam-senders", DataTable)
        if senders.has_focus and senders.row_count:
            row = senders.cursor_row
            # Rows are the allow list, then the block list (cells are cut: not the value).
            if row < len(self.allow):
                self.allow = self.allow[:row] + self.allow[row + 1 :]
            else:
                row -= len(self.allow)
                self.block = self.block[:row] + self.block[row + 1 :]
            self.refresh_all()
            return
        index = self._selected()
        if index is not None:
            self._edit(self.ladder[:index] + self.ladder[index + 1 :], index)

    def action_move(self, step: int) -> None:
        """Swap this rule's action with its neighbour's; thresholds stay where they are."""
        index = self._selected()
        if index is None or not 0 <= index + step < len(self.ladder):
            return
        a, b = self.ladder[index], self.ladder[index + step]
        rules = list(self.ladder)
        rules[index] = Rule(a.tenths, b.action, b.arg)
        rules[index + step] = Rule(b.tenths, a.action, a.arg)
        self._edit(tuple(rules), index + step)

    def action_nudge(self, delta: int) -> None:
        index = self._selected()
        if index is None:
            return
        ladder = shift(self.ladder, index, delta)
        moved = ladder[index]
        self._edit(ladder, sorted(ladder, key=lambda r: r.tenths).index(moved))

    def action_add_sender(self, kind: str) -> None:
        def added(value: str | None) -> None:
            if not value:
                return
            sender = parse_sender(value)
            if kind == "allow":
                self.allow = tuple(sorted({*self.allow, sender}))
            else:
                self.block = tuple(sorted({*self.block, sender}))
            self.refresh_all()

        title = _("Always deliver to the inbox") if kind == "allow" else _("Block sender")
        prompt = PromptDialog(title, _("address or @domain"), check=parse_sender)
        self.app.push_screen(prompt, added)

    def action_inherit(self) -> None:
        if self.settings is None or self.settings.scope.kind == "site":
            return
        self.inherit = True
        self.ladder = self.inherited_ladder
        self.refresh_all()

    def action_revert(self) -> None:
        if self.settings is not None:
            self._take(self.settings)

    def action_save(self) -> None:
        if self.settings is None:
            return
        if self.error:
            notify(self.app, self.error, severity="error")
            return
        if not self.dirty:
            notify(self.app, _("Nothing changed."))
            return
        if self.inherit:
            what = _("Back to the domain default ladder.")
        else:
            rules = "; ".join(str(r.describe()) for r in self.ladder)
            what = rules or _("no rules: deliver everything")
        senders = " " + _("Allow: {allow}. Block: {block}.").format(
            allow=", ".join(self.allow) or "-", block=", ".join(self.block) or "-"
        )

        def answered(answer: TicketAnswer | None) -> None:
            if answer is not None:
                self.write(answer)

        self.app.push_screen(
            TicketDialog(
                _("Save spam ladder of {address}").format(address=self.address),
                what + senders,
                confirm=_("Save"),
            ),
            answered,
        )


def _action_text(rule: Rule) -> str:
    if rule.action == "forward":
        return _("forward → {address}").format(address=rule.arg)
    return _(ACTIONS[rule.action])
