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

from helpdesk.i18n import N_, _
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
from screens.forwards import TAB_LABEL as FORWARDS_TAB_LABEL
from screens.forwards import ForwardsTab
from screens.limits import LIMITS_KEY, LimitsPanel
from screens.logins import TAB_LABEL as LOGINS_TAB_LABEL
from screens.logins import LoginsTab
from screens.search import status_word
from screens.sending import SendingActions
from screens.spam import SpamTab
from screens.sweep import TAB_LABEL as SWEEP_TAB_LABEL
from screens.sweep import SweepTab
from screens.translated import Translated
from screens.widgets import PlainStatic, cell, line, lines, notify
from screens.widgets.columns import column_widths
from screens.widgets.status import StatusLine

# Audit columns at 80 (when, operator, action, ticket, change); a wider terminal gives the
# most to the change, which is whole one Enter away.
AUDIT_MINIMUMS = (16, 10, 11, 10, 12)
AUDIT_WEIGHTS = (0, 1, 0, 1, 6)
AUDIT_TITLES = (N_("Operator"), N_("Action"), N_("Ticket"), N_("Change"))
# The tabs in their on-screen order: (id, label). Labels at most 10 characters in every
# language, so that the tab bar shows them all at 80 columns.
TABS = (
    ("tab-overview", N_("Overview")),
    ("tab-audit", N_("Audit")),
    ("tab-spam", N_("Spam")),
    ("tab-activity", N_("Activity")),
    ("tab-blocked", N_("Blocked")),
    ("tab-logins", LOGINS_TAB_LABEL),
    ("tab-forwards", FORWARDS_TAB_LABEL),
    ("tab-sweep", SWEEP_TAB_LABEL),
)

# The keys 1–9 (a binding's description is a fixed text, translated where it is shown).
_TAB_KEYS = (
    N_("Tab 1"),
    N_("Tab 2"),
    N_("Tab 3"),
    N_("Tab 4"),
    N_("Tab 5"),
    N_("Tab 6"),
    N_("Tab 7"),
    N_("Tab 8"),
    N_("Tab 9"),
)


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


class MailboxScreen(Translated, SendingActions, Screen[None]):
    STATUS = "#mailbox-status"
    CSS_PATH = "mailbox.tcss"
    BINDINGS = [
        Binding("escape", "back", N_("Back"), show=False, id="mailbox.back"),
        Binding("s", "suspend", N_("Suspend sending"), id="mailbox.suspend"),
        Binding("r", "reinstate", N_("Reinstate"), id="mailbox.reinstate"),
        Binding("p", "reset_password", N_("Reset password"), id="mailbox.reset_password"),
        # Not in the footer (the German one is full): the Overview's limits name the key.
        Binding(LIMITS_KEY, "limits", N_("Limits"), show=False, id="mailbox.limits"),
        Binding("f5", "reload", N_("Reload"), show=False, id="mailbox.reload"),
        *(
            Binding(
                str(n),
                f"tab({n})",
                _TAB_KEYS[n - 1],  # i18n: not text (marked in _TAB_KEYS)
                show=False,
                id=f"mailbox.tab{n}",
            )
            for n in range(1, 10)
        ),
    ]

    def __init__(self, address: str, *, tab: str | None = None) -> None:
        super().__init__()
        self.address = address
        # Set when the screen is built again (a language switch): the tab to show, and the
        # mailbox is not "opened" again for Ctrl+R.
        self._reopened_tab = tab
        self.mailbox: Mailbox | None = None
        self._audit: list[AuditEntry] = []
        self._audit_widths = list(AUDIT_MINIMUMS)

    def compose(self) -> ComposeResult:
        yield Header()
        yield PlainStatic(clip(self.address, 78), id="mailbox-title")
        yield StatusLine(_("Loading …"), id="mailbox-status")
        label = {id_: _(text) for id_, text in TABS}
        with TabbedContent(id="mailbox-tabs", initial=self._reopened_tab or ""):
            with TabPane(label["tab-overview"], id="tab-overview"), VerticalScroll():
                yield Static("", id="mailbox-details")
                yield LimitsPanel(self.address, id="mailbox-limits")
            with TabPane(label["tab-audit"], id="tab-audit"):
                table = DataTable(id="mailbox-audit", cursor_type="row")
                yield table
            with TabPane(label["tab-spam"], id="tab-spam"):
                yield SpamTab(self.address)
            with TabPane(label["tab-activity"], id="tab-activity"):
                yield ActivityTab(self.address)
            with TabPane(label["tab-blocked"], id="tab-blocked"):
                # Asks rspamd only when the tab is first shown.
                yield BlockedList(user=self.address, id="mailbox-blocked")
            with TabPane(label["tab-logins"], id="tab-logins"):
                yield LoginsTab(self.address)
            with TabPane(label["tab-forwards"], id="tab-forwards"):
                yield ForwardsTab(self.address)
            with TabPane(label["tab-sweep"], id="tab-sweep"):
                yield SweepTab(self.address)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#mailbox-audit", DataTable)
        self._audit_widths = column_widths(self.size.width, AUDIT_MINIMUMS, AUDIT_WEIGHTS)
        labels = (header(_("When")), *(_(title) for title in AUDIT_TITLES))
        for label, width in zip(labels, self._audit_widths, strict=True):
            table.add_column(label, width=width)
        self.load()
        opened = getattr(self.app, "opened", None)
        if callable(opened) and self._reopened_tab is None:
            opened(self.address)

    def reopen(self) -> MailboxScreen:
        """The same mailbox on the same tab, in the language just chosen."""
        active = self.query_one("#mailbox-tabs", TabbedContent).active
        return MailboxScreen(self.address, tab=active or "tab-overview")

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
                status=status_word(m.status),
            )
        )
        label = {
            "login": _("Login & receive"),
            "sending": _("Sending"),
            "password": _("Password set"),
            "quota": _("Quota"),
            "domain": _("Domain"),
            "created": _("Created"),
            "customer": _("Customer"),
            "name": _("Name"),
            "alias": _("Alias"),
            "forward": _("Forward"),
        }
        # The values start in one column, after the longest label of the language shown.
        width = max(len(text) for text in label.values()) + 3
        label = {key: text.ljust(width) for key, text in label.items()}
        yes = _("yes")
        changed = time_text(m.password_changed_at, DAY) if m.password_changed_at else _("never")
        must_change = "  " + _("[b yellow]must change at next login[/]")
        rows = [
            line("${l}" + (yes if m.enabled else _("[b red]disabled[/]")), l=label["login"]),
            line(
                "${l}" + (yes if m.smtp_enabled else _("[b red]SUSPENDED[/] (mail still arrives)")),
                l=label["sending"],
            ),
            line(
                "${l}$v" + (must_change if m.must_change_password else ""),
                l=label["password"],
                v=changed,
            ),
            line("${l}$v", l=label["quota"], v=_("{mb} MB").format(mb=m.quota_mb)),
            line(
                "${l}$v" + ("" if m.domain_enabled else " " + _("[red](disabled)[/]")),
                l=label["domain"],
                v=m.domain,
            ),
            line("${l}$v", l=label["created"], v=time_text(m.created_at, DAY))
            if m.created_at
            else line("${l}", l=label["created"].rstrip()),
            # Whole here, and below the state lines: a long one only pushes itself down.
            line("${l}$v", l=label["customer"], v=m.customer_ref or "—"),
            line("${l}$v", l=label["name"], v=m.realname or "—"),
        ]
        for alias in message.aliases:
            rows.append(
                line("${l}$a → $t", l=label["alias"], a=alias["address"], t=alias["target"])
            )
        for fwd in message.forwards:
            rows.append(line("${l}→ $t", l=label["forward"], t=fwd["target"]))
        self.query_one("#mailbox-details", Static).update(lines(rows))
        self._audit = list(message.audit)
        self._fill_audit()
        self.show_status(_("s suspend · r reinstate · p password · ? keys · Esc back"))

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
        self.query_one(LimitsPanel).load()

    def action_limits(self) -> None:
        self.query_one(LimitsPanel).ask()

    def on_limits_panel_saved(self, message: LimitsPanel.Saved) -> None:
        notify(self, message.text)
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
                notify(self, _("New password set for {address}.").format(address=outcome.address))
                self.load()

        self.app.push_screen(ResetPasswordScreen(self.mailbox), closed)

    def _ask_sending(self, allowed: bool) -> None:
        if self.mailbox is not None:
            self.ask_sending(self.mailbox, allowed)


def audit_text(e: AuditEntry) -> Content:
    label = {
        "when": _("When"),
        "operator": _("Operator"),
        "action": _("Action"),
        "ticket": _("Ticket"),
        "reason": _("Reason"),
        "change": _("Change"),
    }
    width = max(len(text) for text in label.values()) + 2

    def row(key: str, template: str = "$v", **values: object) -> Content:
        return line("[b]${l}[/b]" + template, l=label[key].ljust(width), **values)

    # The audit row's values are outside text: template variables, never markup.
    operator = "$v"
    if e.client_addr:
        operator += _(" from {address}").format(address="$a")
    return lines(
        [
            row("when", v=time_text(e.at, SECOND, zone=True)),
            row("operator", operator, v=e.operator, a=e.client_addr or ""),
            row(
                "action",
                _("{action} on {target}").format(action="$v", target="$t"),
                v=e.action,
                t=e.target,
            ),
            row("ticket", v=e.ticket or "—"),
            row("reason", v=e.reason or "—"),
            row("change", v=e.summary()),
        ]
    )
