"""Textual's own texts, in German where Textual takes them from the app: the binding
descriptions of every Textual widget the screens use (the `?` panel and the palette list them)
and the palette's system commands. What stays English is listed in docs/i18n.md."""

from __future__ import annotations

import ast
import inspect
import sys

import textual.app
import textual.widgets
from textual.binding import Binding
from textual.command import CommandPalette
from textual.screen import ModalScreen, Screen

from tests.conftest import ROOT

sys.path.insert(0, str(ROOT))
import catalogs  # noqa: E402  (the build script at the top of the repository)


def _widgets_used() -> set[type]:
    """Every class the screens import from textual.widgets, and what they contain."""
    found: set[type] = {textual.app.App, Screen, ModalScreen, CommandPalette}
    for path in sorted((ROOT / "screens").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "textual.widgets"
            ):
                for alias in node.names:
                    obj = getattr(textual.widgets, alias.name, None)
                    if inspect.isclass(obj):
                        found.add(obj)
    # A TextArea brings no other widget; a Select its overlay; Input its suggester: none with
    # keys of their own beyond those classes' bases, which the MRO walk below reaches.
    return found


def _descriptions(cls: type) -> set[str]:
    texts = set()
    for klass in cls.__mro__:
        for binding in vars(klass).get("BINDINGS", []):
            if isinstance(binding, Binding):
                texts.add(binding.description)
            elif len(binding) > 2:
                texts.add(binding[2])
    return {t for t in texts if t}


def test_every_textual_key_the_screens_offer_has_german():
    german = catalogs.german_catalogs()
    used = _widgets_used()
    assert {cls.__name__ for cls in used} >= {"Input", "DataTable", "TextArea", "TabbedContent"}
    missing = sorted(
        f"{cls.__name__}: {text}"
        for cls in used
        for text in _descriptions(cls)
        if text not in german or not german[text].string
    )
    assert missing == [], "\n".join(missing)


def test_every_system_command_of_the_palette_has_german():
    german = catalogs.german_catalogs()
    texts = set()
    for node in ast.walk(ast.parse(inspect.getsource(textual.app))):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "SystemCommand":
            texts |= {a.value for a in node.args[:2] if isinstance(a, ast.Constant)}
    assert {"Quit", "Change the current theme"} <= texts
    assert sorted(t for t in texts if t not in german or not german[t].string) == []
