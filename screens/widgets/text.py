"""Text from outside, on screen: the one way a screen shows a value it did not write itself.

Subjects, senders, Message-IDs, real names, log lines and error texts come from people who may
be hostile. Textual parses a plain `str` given to `DataTable.add_row`, `Static`, `Label` or
`notify` as markup: `[/]` raises and ends the app, `[@click=app.quit]` becomes a live action,
and a `Text` keeps ESC bytes that the terminal then runs. So:

- `plain(value)`: an outside value as `Text`, never markup, every unsafe character replaced by
  its visible escape (`helpdesk.plaintext.printable`).
- `cell(value, width)`: the same for a table cell, cut to the column with `…`.
- `line(template, **values)`: the app's own markup with outside values as `$name`; the values
  are inserted as text (Textual's template variables), after `printable`.
- `lines(parts)`: several of these (or plain values) as one multi-line Content.
- `notify(node, text)`: a notification that is never markup.
- `PlainStatic`: a Static whose string content is text, not markup.
- `PlainInput`: an Input in which pasted control or invisible characters arrive as their
  visible escapes (an Input draws its value as it is, ESC included).

Text and Content objects built with these pass through untouched; a bare `str` is always text,
and `PlainStatic` escapes even a `Text` someone built from a raw value.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.text import Text
from textual.content import Content
from textual.widgets import Input, Static

from helpdesk.plaintext import clip, printable, printable_lines

__all__ = ["PlainInput", "PlainStatic", "cell", "line", "lines", "notify", "plain", "safe"]


def plain(value: object, *, style: str = "") -> Text:
    """`value` as text that is shown exactly, with unsafe characters made visible."""
    return Text(printable(value), style=style, end="")


def cell(value: object, width: int, *, style: str = "") -> Text:
    """A table cell: `plain(value)` on one line, cut to `width` with `…` (whole in a detail)."""
    return Text(clip(value, width), style=style, end="", no_wrap=True, overflow="ellipsis")


def line(template: str, **values: object) -> Content:
    """The app's markup `template` with `$name` placeholders filled by outside `values`.

    `line("[b]$user[/b] is suspended", user=address)`: the brackets, dollars and escapes in
    `address` are shown as they are; only the template is markup.
    """
    return Content.from_markup(template, **{k: printable(v) for k, v in values.items()})


def lines(parts: Iterable[object]) -> Content:
    """Several lines as one Content: `Content`/`Text` parts as built, any other value as plain."""
    return Content("\n").join(_content(part) for part in parts)


def _content(part: object) -> Content:
    if isinstance(part, Content):
        return part
    return Content.from_rich_text(safe(part))


def safe(content: object) -> Text | Content:
    """Anything a screen wants to show: `Text`/`Content` as built, every other value as plain.

    A `Text` or `Content` made from a raw value (not through these helpers) that holds an
    unsafe character is shown as escaped plain text: its styles are lost, never the rule.
    """
    if isinstance(content, Text | Content):
        # Line breaks between lines are layout; anything else unsafe is not.
        shown = "\n".join(printable_lines(content.plain))
        return content if shown == content.plain else Text(shown, end="")
    return plain(content)


def notify(node: Any, text: object, *, severity: str = "information", **kwargs: Any) -> None:
    """`node.notify(...)` with `text` shown as text, never markup."""
    node.notify(printable(text), markup=False, severity=severity, **kwargs)


class PlainStatic(Static):
    """A Static for outside text: a `str` given to it is text, never markup."""

    def __init__(self, content: object = "", **kwargs: Any) -> None:
        super().__init__(safe(content), markup=False, **kwargs)

    def update(self, content: object = "", *, layout: bool = True) -> None:
        super().update(safe(content), layout=layout)


class PlainInput(Input):
    """An Input for anything but a password: typed or pasted text is made printable first."""

    def replace(self, text: str, start: int, end: int) -> None:
        # Every insertion (key, paste, selection) passes here.
        super().replace(printable(text), start, end)


class FindInput(PlainInput):
    """A search or filter box: `?` opens the keys instead of being typed (no name, address or
    subject anyone searches for holds one)."""

    def check_consume_key(self, key: str, character: str | None) -> bool:
        # Textual drops a binding, even a priority one, for a key the focused input consumes.
        return character != "?" and super().check_consume_key(key, character)
