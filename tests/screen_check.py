"""What a screen would write, checked: the tools of the hostile TUI tests.

`check(app, where)` renders the top screen the way the driver writes it and walks every
segment, every widget's whole content (also what is scrolled out of view), every notification
and every dialog: no unsafe character (tests/hostile.py), no interpreted markup, no escape
sequence but Textual's own, and the app is still running with no markup action run.
`WatchedApp` is the real app recording notifications and the actions markup could start.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from textual.screen import ModalScreen
from textual.widgets import DataTable, Static
from textual.widgets._data_table import default_cell_formatter

from screens.app import HelpdeskApp
from tests.hostile import assert_clean, assert_markup_shown

# What Textual itself writes: SGR colours and cursor moves. Anything else with ESC came from data.
_OWN_SEQUENCES = re.compile(r"\x1b\[[0-9;]*m|\x1b\[[0-9]+;[0-9]+H")


class WatchedApp(HelpdeskApp):
    """The real app; it only records notifications and the actions markup could have run."""

    # Textual resolves a relative CSS path beside the class's module: here, beside the app's.
    CSS_PATH = Path(inspect.getfile(HelpdeskApp)).parent / str(HelpdeskApp.CSS_PATH)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.notes: list[tuple[str, str, bool]] = []
        self.ran: list[str] = []
        self.seen: list[str] = []

    def notify(self, message: str, *, title: str = "", markup: bool = True, **kwargs: Any):
        self.notes.append((message, title, markup))
        return super().notify(message, title=title, markup=markup, **kwargs)

    def action_screenshot(self, *args: Any, **kwargs: Any) -> None:
        self.ran.append(f"screenshot{args}")

    async def action_quit(self) -> None:
        self.ran.append("quit")


def screen_output(app: HelpdeskApp) -> tuple[str, str]:
    """The top screen (with what shows through from below) as text, and as terminal bytes."""
    screen = app.screen
    update = screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    text = "\n".join(
        "".join(segment.text for strip in strips for segment in strip) for strips in update.strips
    )
    return text, update.render_segments(app.console)


def widget_texts(screen) -> Iterator[tuple[str, str]]:
    """Every Static's whole content and every table cell, also the parts scrolled out of view."""
    for widget in screen.query(Static):
        rendered = widget.render()
        yield f"{type(widget).__name__}#{widget.id}", getattr(rendered, "plain", str(rendered))
    for table in screen.query(DataTable):
        for row_key in table.rows:
            for value in table.get_row(row_key):
                rendered = default_cell_formatter(value)
                yield f"DataTable#{table.id}", getattr(rendered, "plain", str(rendered))


def check(app: WatchedApp, where: str) -> str:
    """Everything the operator could see now is text, safe, and the app runs on."""
    assert app.is_running and app.return_code is None, f"the app ended at {where}"
    assert not app.ran, f"markup ran an action at {where}: {app.ran}"
    text, raw = screen_output(app)
    assert_clean(text, where=f"{where}: screen")
    assert_markup_shown(text, where=f"{where}: screen")
    written = _OWN_SEQUENCES.sub("", raw)
    assert "\x1b" not in written, f"{where}: an escape sequence from the data: {written!r:.300}"
    assert_clean(written, where=f"{where}: terminal bytes")
    for screen in app.screen_stack:
        for name, content in widget_texts(screen):
            assert_clean(content, where=f"{where}: {name}")
            assert_markup_shown(content, where=f"{where}: {name}")
    for message, title, markup in app.notes:
        assert not markup or "[" not in message, f"{where}: notification parsed as markup"
        assert_clean(message + title, where=f"{where}: notification")
        assert_markup_shown(message, where=f"{where}: notification")
    app.seen.append(text)
    return text


async def settle(app, pilot, pause: float = 0.0) -> None:
    for _ in range(3):
        await pilot.pause(pause) if pause else await pilot.pause()
        await app.workers.wait_for_complete()
    await pilot.pause()


async def look(app, pilot, where: str) -> str:
    await settle(app, pilot)
    return check(app, where)


async def glance(app, pilot, where: str) -> str:
    """For a step that starts no background work (a dialog, a detail): one refresh is enough."""
    await pilot.pause()
    return check(app, where)


async def click_on(app, pilot, word: str, where: str) -> bool:
    """Click where `word` is on the screen (a link, if markup had made one); False if absent."""
    text, _ = screen_output(app)
    for y, row in enumerate(text.split("\n")):
        x = row.find(word)
        if x >= 0:
            await pilot.click(offset=(x + 1, y))
            await settle(app, pilot)
            check(app, f"{where}: after clicking {word}")
            return True
    return False


async def close_dialog(app, pilot) -> None:
    if isinstance(app.screen, ModalScreen):
        await pilot.press("escape")
        await pilot.pause()
