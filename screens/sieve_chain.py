"""Every Sieve script Dovecot runs for a mailbox, in order, one key away from the Forwards tab
(`v`): each with the rule that decides whether the next one runs, the customer's own rules in
plain words, and `d` to deactivate the customer's script with a ticket (F2)
(docs/forwards.md, "Every script of a mailbox").

`SieveChainScreen(address)` reads the chain in a thread worker when mounted; F5 reads again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header

from helpdesk.i18n import N_, _, render
from screens.background import Background
from screens.dialogs.ticket import TicketAnswer, TicketDialog
from screens.translated import Translated
from screens.widgets import PlainStatic, line, notify
from screens.widgets.status import StatusLine

if TYPE_CHECKING:
    from helpdesk.forwards.chain import Script

# Lines of a script's text shown on screen; the CLI prints it whole.
TEXT_LINES = 40


def read_chain(db: Any, config: Any, address: str) -> list[Script]:
    from helpdesk.forwards.chain import chain
    from helpdesk.mailcenter.mailboxes import get_mailbox

    with db.connect() as conn:
        mailbox = get_mailbox(conn, address)
        return chain(conn, config, mailbox.address)


def deactivate_script(db: Any, config: Any, address: str, answer: TicketAnswer,
                      operator: Any) -> str:  # fmt: skip
    from helpdesk.forwards.chain import deactivate
    from helpdesk.mailcenter.mailboxes import get_mailbox

    with db.begin() as conn:
        mailbox = get_mailbox(conn, address)
        name = deactivate(conn, config, mailbox.address, ticket=answer.ticket,
                          reason=answer.reason or None, operator=operator)  # fmt: skip
    return _("Script {name} deactivated (kept).").format(name=name)


def chain_rows(scripts: list[Script]) -> list[tuple[int, Any]]:
    """(indent, line) per line to show: each its own widget, so that a long line wraps under
    its own start. Outside text only as `line`'s values."""
    rows: list[tuple[int, Any]] = []
    if not scripts:
        rows.append((0, line(_("No Sieve script runs for this mailbox."))))
    for number, script in enumerate(scripts, 1):
        if number > 1:
            rows.append((0, line("")))
        rows.append(
            (0, line("[b]$n. $name[/b]", n=str(number), name=script.name))
        )  # i18n: not text
        rows.append((2, line("$note", note=render(script.note))))  # i18n: not text
        rows.extend(_body(script))
    return rows


def _body(script: Script) -> list[tuple[int, Any]]:
    reading = script.reading
    if script.source == "helpdesk":
        count = len(script.text.splitlines())
        text = _("The helpdesk's script ($n lines): the Spam and Forwards tabs set it.")
        return [(2, line(text, n=str(count)))]
    if reading is not None and reading.understood:
        rows = [(2, line(_("[b]In plain words[/b]")))]
        for depth, words in reading.lines():
            rows.append((4 + 2 * depth, line("- $w", w=words)))  # i18n: not text
        if not reading.rules:
            rows.append((4, line(_("(no rules)"))))
        return rows
    rows = []
    if reading is not None:
        text = _("[b]Not understood[/b] ($e): the script as it is")
        rows.append((2, line(text, e=reading.error)))
    lines_ = script.text.splitlines()
    rows.extend((4, line("$t", t=t)) for t in lines_[:TEXT_LINES])  # i18n: not text
    if len(lines_) > TEXT_LINES:
        more = _("… $n more lines (helpdesk sieve ADDRESS)")
        rows.append((4, line(more, n=str(len(lines_) - TEXT_LINES))))
    return rows


class SieveChainScreen(Translated, Background, Screen[None]):
    """The mailbox's Sieve scripts in the order Dovecot runs them."""

    STATUS = "#chain-status"
    BINDINGS = [
        Binding("escape", "back", N_("Back"), id="chain.back"),
        Binding("f5", "reread", N_("Reload"), id="chain.reload"),
        Binding("d", "deactivate", N_("Deactivate"), id="chain.deactivate"),
    ]
    DEFAULT_CSS = """
    SieveChainScreen #chain-title { padding: 0 1; background: $boost; text-style: bold; }
    SieveChainScreen #chain-status { height: auto; max-height: 2; }
    SieveChainScreen VerticalScroll { height: 1fr; padding: 0 1; }
    SieveChainScreen #chain-body { height: auto; }
    """

    def __init__(self, address: str, customer: str = "") -> None:
        super().__init__()
        self.address = address
        self.customer = customer
        self.scripts: list[Script] | None = None

    def reopen(self) -> SieveChainScreen:
        return SieveChainScreen(self.address, self.customer)

    def compose(self) -> ComposeResult:
        yield Header()
        yield PlainStatic(_("Sieve scripts of {address}").format(address=self.address),
                          id="chain-title")  # fmt: skip
        yield StatusLine(_("Loading …"), id="chain-status")
        with VerticalScroll(id="chain-scroll"):
            yield Vertical(id="chain-body")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#chain-scroll").focus()
        self.action_reread()

    def action_reread(self) -> None:
        config = getattr(self.app, "config", None)
        self.background("read", read_chain, self.app.database, config, self.address)

    def read_done(self, scripts: list[Script]) -> None:
        self.scripts = scripts
        body = self.query_one("#chain-body", Vertical)
        body.remove_children()
        widgets = []
        for indent, content in chain_rows(scripts):
            widget = PlainStatic(content)
            widget.styles.padding = (0, 0, 0, indent)
            widgets.append(widget)
        body.mount_all(widgets)
        self.show_status(
            _("The next script runs only if the one before kept the message in the inbox.")
        )

    def read_failed(self, text: str) -> None:
        self.show_status(text, error=True)

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_deactivate(self) -> None:
        if self.scripts is None:
            return
        personal = [s for s in self.scripts if s.source == "personal"]
        if not personal:
            notify(self, _("The customer has no active script."))
            return
        dialog = TicketDialog(
            _("Deactivate the customer's script"),
            _("{name} stays stored and the customer can activate it again.").format(
                name=personal[0].name
            ),
            confirm=_("Deactivate"),
            customer=self.customer,
        )

        def answered(answer: TicketAnswer | None) -> None:
            if answer is not None:
                config = getattr(self.app, "config", None)
                args = (self.app.database, config, self.address, answer, self.app.operator)
                self.background("write", deactivate_script, *args)

        self.app.push_screen(dialog, answered)

    def write_done(self, text: str) -> None:
        notify(self, text)
        self.action_reread()

    def write_failed(self, text: str) -> None:
        self.show_status(text, error=True)
