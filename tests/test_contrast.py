"""The selected row of a DataTable is readable and stands out from both zebra stripes, measured
on the colours a real table renders in the running app (default theme)."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable

from helpdesk.config import Config
from helpdesk.mailcenter.mailboxes import create_mailbox
from screens.app import HelpdeskApp

pytestmark = pytest.mark.tui

WCAG_AA = 4.5


def _luminance(rgb: tuple[int, int, int]) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    light, dark = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_contrast_formula():
    assert contrast((0, 0, 0), (255, 255, 255)) == pytest.approx(21.0)
    assert contrast((118, 118, 118), (255, 255, 255)) == pytest.approx(4.54, abs=0.01)


def _row_colours(table: DataTable, row: int) -> tuple[tuple, tuple]:
    """Background and text colour of a data row as rendered (line 0 is the header)."""
    strip = table.render_line(row + 1)
    styles = [seg.style for seg in strip if seg.text.strip() and seg.style]
    assert styles, f"row {row} rendered no text"
    style = styles[0]
    return tuple(style.bgcolor.get_truecolor()), tuple(style.color.get_truecolor())


def _assert_selection_readable(table: DataTable) -> tuple:
    cursor_bg, cursor_fg = _row_colours(table, 0)
    stripes = {_row_colours(table, 1)[0], _row_colours(table, 2)[0]}
    assert len(stripes) == 2, "the zebra stripes differ"
    assert contrast(cursor_fg, cursor_bg) >= WCAG_AA, (cursor_fg, cursor_bg)
    for stripe in stripes:
        assert contrast(cursor_bg, stripe) >= WCAG_AA, (cursor_bg, stripe)
    return cursor_bg


async def test_selected_row_stands_out_from_both_stripes(db):
    with db.begin() as conn:
        for i in range(4):
            create_mailbox(conn, f"k{i}.schaefer@bau.de", realname=f"Käthe Schäfer {i}")
    config = Config(None, {"database": {"url": db.url.render_as_string(hide_password=False)}})
    app = HelpdeskApp(config, db=db)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*"schaefer")
        await pilot.pause(0.3)
        await app.workers.wait_for_complete()
        await pilot.pause()
        # The search results keep the focus in the search box: the unfocused selection.
        results = app.screen.query_one("#results", DataTable)
        assert results.row_count == 4 and results.zebra_stripes and not results.has_focus
        blurred = _assert_selection_readable(results)

        # A table that takes the focus (send log, activity, blocked mail), under the app's CSS.
        table = DataTable(cursor_type="row", zebra_stripes=True)
        await app.screen.mount(table)
        table.add_columns("Address", "Name")
        table.add_rows([(f"k{i}.schaefer@bau.de", f"Käthe Schäfer {i}") for i in range(4)])
        table.focus()
        await pilot.pause()
        assert table.has_focus and table.cursor_row == 0
        focused = _assert_selection_readable(table)
        assert focused != blurred, "a focused selection looks different"
