"""What the keys do on a screen: one list for the `?` panel and the palette.

The screen's own actions come first (the screen, then its widgets and tabs in the order they
are shown, whatever has the focus), then the app-wide ones, then Textual's generic widget keys
(cursor moves, text editing) last: those are the same on every screen.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.dom import DOMNode
from textual.screen import ModalScreen, Screen

from helpdesk.i18n import N_, _
from screens.translated import Translated
from screens.widgets import PlainStatic, lines, plain


@dataclass(frozen=True)
class KeyAction:
    node: DOMNode
    binding: Binding
    generic: bool

    @property
    def description(self) -> str:
        return _(self.binding.description)

    def key_text(self, app: App) -> str:
        keys = self.binding.key_display or ", ".join(
            app.get_key_display(Binding(k.strip(), "")) for k in self.binding.key.split(",")
        )
        return keys


def _own_bindings(node: DOMNode) -> list[tuple[Binding, bool]]:
    """The bindings `node`'s classes declare, each marked generic when Textual declared it."""
    found: list[tuple[Binding, bool]] = []
    for cls in type(node).__mro__:
        for binding in cls.__dict__.get("BINDINGS", ()):
            if isinstance(binding, Binding) and binding.description:
                found.append((binding, cls.__module__.startswith("textual")))
    return found


def key_actions(screen: Screen, app: App) -> list[KeyAction]:
    """Every action of `screen` and its tabs once (by description), the screen's own first."""
    own: list[KeyAction] = []
    generic: list[KeyAction] = []
    tab_count = len(screen.query("TabPane")) if screen.is_mounted else 0
    for node in (screen, *screen.walk_children(with_self=False)):
        for binding, is_generic in _own_bindings(node):
            # "Tab 7" on a screen with five tabs would be a key that does nothing.
            is_tab_key = binding.action.startswith("tab(") and binding.key.isdigit()
            if is_tab_key and int(binding.key) > tab_count:
                continue
            (generic if is_generic else own).append(KeyAction(node, binding, is_generic))
    # What the footer shows is what matters most; the rest (cursor moves, 1–9) after it.
    own.sort(key=lambda a: not a.binding.show)
    app_wide: list[KeyAction] = []
    for binding, is_generic in _own_bindings(app):
        (generic if is_generic else app_wide).append(KeyAction(app, binding, is_generic))
    seen: set[str] = set()
    result: list[KeyAction] = []
    for action in (*own, *app_wide, *generic):
        name = action.description.casefold()
        if name in seen:
            continue
        seen.add(name)
        result.append(action)
    return result


class KeysScreen(Translated, ModalScreen[None]):
    """The `?` panel: the keys of the screen below, its own first, scrollable at any size."""

    DEFAULT_CSS = """
    KeysScreen { align: center middle; }
    KeysScreen > VerticalScroll {
        width: 60; max-width: 100%; height: auto; max-height: 100%;
        border: thick $primary; background: $panel; padding: 0 1;
    }
    """
    BINDINGS = [
        Binding("escape,question_mark,f1", "close", N_("Close"), id="keys.close"),
    ]

    def __init__(self, below: Screen) -> None:
        super().__init__()
        self.below = below

    def compose(self) -> ComposeResult:
        actions = key_actions(self.below, self.app)
        rows: list[object] = [_("Keys · ↑↓ PgUp PgDn scroll · Esc closes"), ""]
        heading = None
        for action in actions:
            if action.generic:
                group = _("Lists and text fields")
            else:
                group = _("Everywhere") if action.node is self.app else _("This screen")
            if group != heading:
                if heading is not None:
                    rows.append("")
                rows.append(plain(group, style="bold"))
                heading = group
            rows.append(plain(f"{action.key_text(self.app):>12}  {action.description}"))
        with VerticalScroll(id="keys-scroll"):
            yield PlainStatic(lines(rows), id="keys-text")

    def on_mount(self) -> None:
        self.query_one("#keys-scroll").focus()

    def action_close(self) -> None:
        self.dismiss(None)
