"""Screens in the operator's language, also after a switch while the app runs.

Binding descriptions are English message ids (`N_("Open mailbox")`): every screen translates
them where the footer reads them (`active_bindings`), and the `?` panel and the palette do the
same, so that a language switch reaches them without rebuilding anything.

Everything else on a screen is written when the screen is built. A switch therefore builds
each open screen again: `reopen()` returns a fresh screen showing the same thing (the same
mailbox and tab, the same filter); a screen that returns None (a dialog) is closed, which never
writes anything.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from textual.binding import Binding
from textual.screen import ModalScreen

from helpdesk.i18n import _, language

_cache: dict[tuple[int, str], Binding] = {}


def translated(binding: Binding) -> Binding:
    """`binding` with its description and tooltip in the UI language."""
    key = (id(binding), language())
    found = _cache.get(key)
    if found is None or found.action != binding.action:
        found = replace(
            binding,
            description=_(binding.description) if binding.description else "",
            tooltip=_(binding.tooltip) if binding.tooltip else "",
        )
        _cache[key] = found
    return found


class Translated:
    """Mixed into every screen of the app (a test checks it)."""

    @property
    def active_bindings(self) -> dict[str, Any]:
        bindings = super().active_bindings  # type: ignore[misc]
        return {
            key: active._replace(
                binding=translated(active.binding),
                tooltip=_(active.tooltip) if active.tooltip else "",
            )
            for key, active in bindings.items()
        }

    def reopen(self) -> Any:
        """A new screen that shows what this one shows, built in the new language; None closes
        this one. Screens that take arguments override this."""
        if isinstance(self, ModalScreen):
            return None
        try:
            return type(self)()
        except TypeError:
            return None
