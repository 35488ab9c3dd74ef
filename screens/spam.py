"""The spam tab of the mailbox screen: the ladder, the sender lists, and a live preview.

Edits are a draft until saved: every change is validated at once and the preview recomputed
from the mailbox's recent scored mail (read once, in a worker). Saving asks for the ticket.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Label, Static

from helpdesk.errors import HelpdeskError
from helpdesk.ladder import (
    Ladder,
    Rule,
    parse_rule,
    parse_sender,
    shift,
    validate,
    validate_senders,
)
from helpdesk.preview import Scored, judge
from helpdesk.spamsettings import SpamSettings
from screens.messages import ActionDone
from screens.ticket import TicketAnswer, TicketDialog

PREVIEW_ROWS = 50


@dataclass
class SpamLoaded(Message):
    settings: SpamSettings
    messages: list[Scored]
    inherited: Ladder = ()
    note: str = ""


@dataclass
class SpamSaved(Message):
    settings: SpamSettings
    warnings: list[str]


@dataclass
class SpamFailed(Message):
    text: str


class PromptDialog(ModalScreen[str | None]):
    """One line of input (a rule, a sender); dismisses with the text or None."""

    DEFAULT_CSS = """
    PromptDialog { align: center middle; }
    PromptDialog > Vertical {
        width: 64; max-width: 100%; height: auto;
        border: thick $accent; background: $panel; padding: 1 2;
    }
    PromptDialog #prompt-error { color: $error; height: auto; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="spam.prompt.cancel")]

    def __init__(self, title: str, placeholder: str, check=None) -> None:
        super().__init__()
        self._title = title
        self._placeholder = placeholder
        self._check = check

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self._title)
            yield Input(placeholder=self._placeholder, id="prompt-input")
            yield Static("", id="prompt-error")

    def on_mount(self) -> None:
        self.query_one("#prompt-input", Input).focus()

    @on(Input.Submitted, "#prompt-input")
    def _submitted(self, event: Input.Submitted) -> None:
        value = event.value.strip()
        if not value:
            self.dismiss(None)
            return
        if self._check is not None:
            try:
                self._check(value)
            except HelpdeskError as exc:
                self.query_one("#prompt-error", Static).update(str(exc))
                return
        self.dismiss(value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class SpamTab(Vertical):
    """Tab content for one mailbox; `SpamTab(address)`."""

    DEFAULT_CLASSES = "spam-tab"
    BINDINGS = [
        Binding("a", "add_rule", "Add rule", id="spam.add_rule"),
        Binding("x,delete", "remove", "Remove", id="spam.remove"),
        Binding("shift+up", "move(-1)", "Move rule up", id="spam.move_up"),
        Binding("shift+down", "move(1)", "Move rule down", id="spam.move_down"),
        Binding("plus,equals_sign", "nudge(5)", "Threshold +0.5", id="spam.nudge_up"),
        Binding("minus", "nudge(-5)", "Threshold −0.5", id="spam.nudge_down"),
        Binding("l", "add_sender('allow')", "Allow sender", id="spam.allow"),
        Binding("b", "add_sender('block')", "Block sender", id="spam.block"),
        Binding("i", "inherit", "Domain default", id="spam.inherit"),
        Binding("ctrl+s", "save", "Save", id="spam.save"),
        Binding("ctrl+z", "revert", "Undo edits", id="spam.revert"),
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
        yield Static("Loading …", id="spam-state")
        with Horizontal(id="spam-top"):
            yield DataTable(id="spam-ladder", cursor_type="row", zebra_stripes=True)
            yield DataTable(id="spam-senders", cursor_type="row")
        yield Static("", id="spam-preview-summary")
        yield DataTable(id="spam-preview", cursor_type="row")
        yield Static(
            "a add  x del  ⇧↑↓ move  +/− 0.5  l allow  b block  i default  ^s save",
            id="spam-keys",
        )

    def on_mount(self) -> None:
        self.query_one("#spam-ladder", DataTable).add_columns("From", "Action")
        self.query_one("#spam-senders", DataTable).add_columns("List", "Sender")
        self.query_one("#spam-preview", DataTable).add_columns(
            "When", "Score", "Where", "Sender", "Subject"
        )
        self.load()

    # --- workers ------------------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="spam", name="load spam")
    def load(self) -> None:
        from helpdesk.preview import recent_scores
        from helpdesk.sendlog_settings import SendlogSettings
        from helpdesk.sieve import SpamOptions
        from helpdesk.spamsettings import inherited_ladder, load

        try:
            with self.app.db.connect() as conn:
                settings = load(conn, self.address)
                inherited, _ = inherited_ladder(conn, settings)
            options = SpamOptions.from_config(self.app.config)
            self.block_action = options.block_action
            patterns = SendlogSettings.from_config(self.app.config).paths
        except HelpdeskError as exc:
            self.post_message(SpamFailed(str(exc)))
            return
        note = ""
        try:
            messages = recent_scores(patterns, settings.scope.target, limit=options.preview_limit)
        except HelpdeskError as exc:
            # The ladder stays editable without a log; the preview says why it is empty.
            messages, note = [], f"no preview: {exc}"
        if not messages and not note:
            note = "no scored mail for this mailbox in the Exim log"
        self.post_message(SpamLoaded(settings, messages, inherited, note))

    @work(thread=True, exclusive=True, exit_on_error=False, group="spam-write", name="save spam")
    def write(self, answer: TicketAnswer) -> None:
        from helpdesk.sieve import SpamOptions
        from helpdesk.spamsettings import save

        current = self.settings
        if current is None:
            return
        try:
            options = SpamOptions.from_config(self.app.config)
            with self.app.db.begin() as conn:
                updated, warnings = save(
                    conn,
                    current,
                    ladder=None if self.inherit else self.ladder,
                    inherit=self.inherit,
                    allow=list(self.allow),
                    block=list(self.block),
                    ticket=answer.ticket,
                    reason=answer.reason or None,
                    operator=self.app.operator,
                    options=options,
                )
        except HelpdeskError as exc:
            self.post_message(SpamFailed(str(exc)))
            return
        self.post_message(SpamSaved(updated, warnings))

    # --- messages -----------------------------------------------------------------------

    def on_spam_loaded(self, message: SpamLoaded) -> None:
        message.stop()
        self.messages = message.messages
        self.inherited_ladder = message.inherited
        self._take(message.settings)
        if message.note:
            self.query_one("#spam-preview-summary", Static).update(message.note)

    def on_spam_saved(self, message: SpamSaved) -> None:
        message.stop()
        self._take(message.settings)
        text = "Spam settings saved: the next delivered message follows them."
        if message.warnings:
            text += " Warning: " + "; ".join(message.warnings)
        mailbox = message.settings.scope.mailbox
        if mailbox is not None:
            # The mailbox screen notifies and reloads: the version moved, the audit tab grew.
            self.post_message(ActionDone(text, mailbox))
        else:
            self.app.notify(text)

    def on_spam_failed(self, message: SpamFailed) -> None:
        message.stop()
        self._state(message.text, error=True)

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
            table.add_row(rule.score_text, _action_text(rule))
        if self.ladder:
            table.move_cursor(row=max(0, min(keep, len(self.ladder) - 1)))
        senders = self.query_one("#spam-senders", DataTable)
        keep_sender = senders.cursor_row
        senders.clear()
        for sender in self.allow:
            senders.add_row("allow", sender)
        for sender in self.block:
            senders.add_row("block", sender)
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
            self._state(f"Cannot save: {exc}", error=True)
            return
        self.error = None
        if self.inherit and self.settings is not None:
            source = self.settings.inherited_from or "no default"
            origin = f"inherited from {source}"
        else:
            origin = "own ladder"
        parts = [origin + (" · unsaved changes" if self.dirty else "")]
        parts += [f"warning: {w}" for w in warnings]
        self._state(" · ".join(parts), error=False)

    def _preview(self) -> None:
        result = judge(
            self.ladder, self.messages, allow=self.allow, block=self.block,
            block_action=self.block_action,
        )  # fmt: skip
        if self.messages:
            self.query_one("#spam-preview-summary", Static).update(result.summary())
        table = self.query_one("#spam-preview", DataTable)
        table.clear()
        for verdict in list(reversed(result.verdicts))[:PREVIEW_ROWS]:
            m = verdict.message
            where = verdict.where + (" +fwd" if verdict.forwarded_to else "")
            table.add_row(
                f"{m.time:%m-%d %H:%M}", f"{m.score:.1f}", where, m.sender or "<>",
                (m.subject or "")[:40],
            )  # fmt: skip

    def _state(self, text: str, *, error: bool) -> None:
        state = self.query_one("#spam-state", Static)
        state.update(text)
        state.set_class(error, "-error")

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
                rule = parse_rule(value)
                rest = tuple(r for r in self.ladder if r.tenths != rule.tenths)
                ladder = tuple(sorted((*rest, rule), key=lambda r: r.tenths))
                self._edit(ladder, ladder.index(rule))

        self.app.push_screen(
            PromptDialog("Add a rule (replaces one at the same score)",
                         "SCORE:ACTION[:ARG], e.g. 6:junk or 8:forward:boss@example.org",
                         check=parse_rule),
            added,
        )  # fmt: skip

    def action_remove(self) -> None:
        senders = self.query_one("#spam-senders", DataTable)
        if senders.has_focus and senders.row_count:
            row = senders.cursor_row
            kind, sender = senders.get_row_at(row)
            if kind == "allow":
                self.allow = tuple(s for s in self.allow if s != sender)
            else:
                self.block = tuple(s for s in self.block if s != sender)
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

        title = "Always deliver to the inbox" if kind == "allow" else "Block sender"
        self.app.push_screen(PromptDialog(title, "address or @domain", check=parse_sender), added)

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
            self.app.notify(self.error, severity="error")
            return
        if not self.dirty:
            self.app.notify("Nothing changed.")
            return
        if self.inherit:
            what = "Back to the domain default ladder."
        else:
            what = "; ".join(r.describe() for r in self.ladder) or "no rules: deliver everything"
        senders = f" Allow: {', '.join(self.allow) or '-'}. Block: {', '.join(self.block) or '-'}."

        def answered(answer: TicketAnswer | None) -> None:
            if answer is not None:
                self.write(answer)

        self.app.push_screen(
            TicketDialog(f"Save spam ladder of {self.address}", what + senders, confirm="Save"),
            answered,
        )


def _action_text(rule: Rule) -> str:
    if rule.action == "forward":
        return f"forward → {rule.arg}"
    return {"none": "deliver", "mark": "mark", "junk": "Junk", "delete": "delete"}[rule.action]
