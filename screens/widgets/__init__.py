"""Small widgets and helpers every screen uses; `text` holds the rule for outside text."""

from screens.widgets.text import (
    FindInput,
    PlainInput,
    PlainStatic,
    cell,
    line,
    lines,
    notify,
    plain,
    safe,
)

__all__ = [
    "FindInput",
    "PlainInput",
    "PlainStatic",
    "cell",
    "line",
    "lines",
    "notify",
    "plain",
    "safe",
]
