"""One mailbox: everything `helpdesk show` knows, its recent audit rows, and the actions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static, TabbedContent, TabPane, Tabs

from helpdesk.localtime import DAY, SECOND, header, time_text
from helpdesk.mailcenter.audit import AuditEntry, read
from helpdesk.mailcenter.mailboxes import (
    Mailbox,
    get_mailbox,
    mailbox_aliases,
    mailbox_forwards,
)
from helpdesk.plaintext import clip
from screens.activity import ActivityTab
from screens.blocked import BlockedList
from screens.dialogs.detail import DetailScreen
from screens.sending import SendingActions
from screens.spam import SpamTab
from screens.widgets import PlainStatic, cell, line, lines, notify
from screens.widgets.columns import column_widths
from screens.widgets.status import StatusLine

# Audit columns at 80 (when, operator, action, ticket, change); a wider terminal gives the
# most to the change, which is whole one Enter away.
AUDIT_MINIMUMS = (16, 10, 11, 10, 12)
AUDIT_WEIGHTS = (0, 1, 0, 1, 6)


@dataclass
class MailboxData:
    mailbox: Mailbox
    aliases: list[dict]
    forwards: list[dict]
    audit: list[AuditEntry]


def load_mailbox(db: Any, address: str) -> MailboxData:
    with db.connect() as conn:
        mailbox = get_mailbox(conn, address)
        return MailboxData(
            mailbox,
            mailbox_aliases(conn, mailbox),
            mailbox_forwards(conn, mailbox),
            read(conn, target=mailbox.address, limit=20),
        )


class MailboxScreen(SendingActions, Screen[None]):
    STATUS = "#mailbox-status"
    CSS_PATH = "mailbox.tcss"
    BINDINGS = [
        Binding("escape", "back", "Back", show=False, id="mailbox.back"),
        Binding("s", "suspend", "Suspend sending", id="mailbox.suspend"),
        Binding("r", "reinstate", "Reinstate", id="mailbox.reinstate"),
        Binding("p", "reset_password", "Reset password", id="mailbox.reset_password"),
        Binding("f5", "reload", "Reload", show=False, id="mailbox.reload"),
        *(
            Binding(str(n), f"tab({n})", f"Tab {n}", show=False, id=f"mailbox.tab{n}")
            for n in range(1, 10)
        ),
    ]

    def __init__(self, address: str) -> None:
        super().__init__()
        self.address = address
        self.mailbox: Mailbox | None = None
        self._audit: list[AuditEntry] = []
        self._audit_widths = list(AUDIT_MINIMUMS)

    def compose(self) -> ComposeResult:
        yield Header()
        yield PlainStatic(clip(self.address, 78), id="mailbox-title")
        yield StatusLine("Loading …", id="mailbox-status")
        with TabbedContent(id="mailbox-tabs"):
            with TabPane("Overview", id="tab-overview"), VerticalScroll():
                yield Static("", id="mailbox-details")
            with TabPane("Audit", id="tab-audit"):
                table = DataTable(id="mailbox-audit", cursor_type="row")
                yield table
            with TabPane("Spam", id="tab-spam"):
                yield SpamTab(self.address)
            with TabPane("Activity", id="tab-activity"):
                yield ActivityTab(self.address)
            with TabPane("Blocked", id="tab-blocked"):
                # Asks rspamd only when the tab is first shown.
                yield BlockedList(user=self.address, id="mailbox-blocked")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#mailbox-audit", DataTable)
        self._audit_widths = column_widths(self.size.width, AUDIT_MINIMUMS, AUDIT_WEIGHTS)
        labels = (header("When"), "Operator", "Action", "Ticket", "Change")
        for label, width in zip(labels, self._audit_widths, strict=True):
            table.add_column(label, width=width)
        self.load()
        opened = getattr(self.app, "opened", None)
        if callable(opened):
            opened(self.address)

    def action_tab(self, number: int) -> None:
        """1–9: the tabs in their on-screen order."""
        tabs = self.query_one("#mailbox-tabs", TabbedContent)
        panes = [p for p in tabs.query(TabPane) if not p.disabled]
        if 1 <= number <= len(panes):
            tabs.active = panes[number - 1].id or ""

    def on_key(self, event: events.Key) -> None:
        """With the focus on the tab bar (or nowhere), a key the active tab knows is the tab's:
        Enter, `l` and the rest work without first moving the focus into it."""
        # No focus at all happens when the focused widget was on a tab that was left.
        focused = self.focused or self
        if not isinstance(focused, Tabs | MailboxScreen):
            return
        # ←/→ stay the tab bar's, and the screen's and app's keys stay theirs.
        if any(event.key in node._bindings.key_to_bindings for node in focused.ancestors_with_self):
            return
        tabs = self.query_one("#mailbox-tabs", TabbedContent)
        pane = tabs.active_pane
        if pane is None:
            return
        for node in pane.walk_children(with_self=False):
            bindings = node._bindings.key_to_bindings.get(event.key)
            if bindings:
                event.stop()
                event.prevent_default()
                self.run_worker(node.run_action(bindings[0].action), exclusive=False)
                return

    def load(self) -> None:
        self.background("load", load_mailbox, self.app.database, self.address)

    def load_done(self, message: MailboxData) -> None:
        self.mailbox = m = message.mailbox
        # The header line is cut to fit; the Overview tab below has every value whole.
        self.query_one("#mailbox-title", Static).update(
            line(
                "[b]$address[/b]  $name  ·  $ref  ·  $status",
                address=clip(m.address, 40),
                name=clip(m.realname, 24),
                ref=clip(m.customer_ref, 12),
                status=m.status,
            )
        )
        sending = "yes" if m.smtp_enabled else "[b red]SUSPENDED[/] (mail still arrives)"
        changed = time_text(m.password_changed_at, DAY) if m.password_changed_at else "never"
        rows = [
            line(f"Login & receive   {'yes' if m.enabled else '[b red]disabled[/]'}"),
            line(f"Sending           {sending}"),
            line(
                f"Password set      {changed}"
                + ("  [b yellow]must change at next login[/]" if m.must_change_password else "")
            ),
            line(f"Quota             {m.quota_mb} MB"),
            line(
                "Domain            $v" + ("" if m.domain_enabled else " [red](disabled)[/]"),
                v=m.domain,
            ),
            f"Created           {time_text(m.created_at, DAY)}" if m.created_at else "Created",
            # Whole here, and below the state lines: a long one only pushes itself down.
            line("Customer          $v", v=m.customer_ref or "—"),
            line("Name              $v", v=m.realname or "—"),
        ]
        for alias in message.aliases:
            rows.append(f"Alias             {alias['address']} → {alias['target']}")
        for fwd in message.forwards:
            rows.append(f"Forward           → {fwd['target']}")
        self.query_one("#mailbox-details", Static).update(lines(rows))
        self._audit = list(message.audit)
        self._fill_audit()
        self.show_status("s suspend · r reinstate · p password · ? keys · Esc back")

    def _fill_audit(self) -> None:
        table = self.query_one("#mailbox-audit", DataTable)
        cursor = table.cursor_row
        table.clear()
        _, operator, action, ticket, change = self._audit_widths
        for e in self._audit:
            table.add_row(
                time_text(e.at),
                cell(e.operator, operator),
                cell(e.action, action),
                cell(e.ticket or "", ticket),
                cell(e.summary(), change),
            )
        if 0 <= cursor < len(self._audit):
            table.move_cursor(row=cursor)

    def on_resize(self, event: events.Resize) -> None:
        widths = column_widths(event.size.width, AUDIT_MINIMUMS, AUDIT_WEIGHTS)
        if widths == self._audit_widths:
            return
        self._audit_widths = widths
        table = self.query_one("#mailbox-audit", DataTable)
        for column, width in zip(table.columns.values(), widths, strict=True):
            column.width = width
        self._fill_audit()

    @on(DataTable.RowSelected, "#mailbox-audit")
    def _audit_selected(self, event: DataTable.RowSelected) -> None:
        """The table cuts long values; Enter shows the row whole."""
        if 0 <= event.cursor_row < len(self._audit):
            e = self._audit[event.cursor_row]
            self.app.push_screen(DetailScreen(audit_text(e), text_id="audit-detail"))

    def sending_changed(self, text: str, mailbox: Mailbox) -> None:
        notify(self, text)
        self.load()

    def on_spam_tab_saved(self, message: SpamTab.Saved) -> None:
        # The version moved and the audit tab grew: show both.
        notify(self, message.text)
        self.load()

    def action_back(self) -> None:
        from screens.dialogs.leave import leave_or_ask

        leave_or_ask(self.app, [self], self.app.pop_screen)

    def action_reload(self) -> None:
        self.load()

    def action_suspend(self) -> None:
        self._ask_sending(False)

    def action_reinstate(self) -> None:
        self._ask_sending(True)

    def action_reset_password(self) -> None:
        if self.mailbox is None:
            return
        from screens.reset import ResetOutcome, ResetPasswordScreen

        def closed(outcome: ResetOutcome | None) -> None:
            if outcome is not None:
                notify(self, f"New password set for {outcome.address}.")
                self.load()

        self.app.push_screen(ResetPasswordScreen(self.mailbox), closed)

    def _ask_sending(self, allowed: bool) -> None:
        if self.mailbox is not None:
            self.ask_sending(self.mailbox, allowed)


def audit_text(e: AuditEntry) -> Content:
    return lines(
        [
            line("[b]When[/b]      $v", v=time_text(e.at, SECOND, zone=True)),
            line("[b]Operator[/b]  $v", v=e.operator)
            + (line(" from $v", v=e.client_addr) if e.client_addr else Content()),
            line("[b]Action[/b]    $v on $t", v=e.action, t=e.target),
            line("[b]Ticket[/b]    $v", v=e.ticket or "—"),
            line("[b]Reason[/b]    $v", v=e.reason or "—"),
            line("[b]Change[/b]    $v", v=e.summary()),
        ]
    )
