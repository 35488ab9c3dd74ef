"""The status line: one line under a screen's title that says what is going on, or what failed.

Every screen and tab has one; background work reports its errors here (screens/background.py).
What it shows is text, never markup, and always one line: an error from a database driver or a
log reader may span several lines or carry control characters from outside.
"""

from __future__ import annotations

import re
from typing import Any

from textual.widgets import Static

from screens.widgets.text import plain

# Line breaks and tabs become one space; any other unsafe character stays visible (`plain`).
_BREAKS = re.compile(r"[\r\n\t]+")


def one_line(text: object) -> str:
    """`text` on one line: line breaks and tabs as single spaces, outer spaces trimmed."""
    return _BREAKS.sub(" ", "" if text is None else str(text)).strip()


class StatusLine(Static):
    """`StatusLine("Loading …", id="x-status")`; `show(text)` or `show(text, error=True)`."""

    DEFAULT_CLASSES = "status"

    def __init__(self, text: str = "", **kwargs: Any) -> None:
        super().__init__(plain(one_line(text)), markup=False, **kwargs)

    def show(self, text: object, *, error: bool = False) -> None:
        self.update(plain(one_line(text)))
        self.set_class(error, "-error")

    @property
    def text(self) -> str:
        """What the line says now, as the operator reads it."""
        return str(self.render())
