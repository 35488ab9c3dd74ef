"""Table columns that fit the terminal: fixed ones keep their width, the rest share the space.

At 80 columns every column gets at least its minimum (what it needs to carry its meaning);
a wider terminal gives the extra to the columns with long values (addresses, subjects).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rich.text import Text
from textual import events
from textual.message import Message
from textual.widgets import DataTable

from screens.widgets.text import cell

# A DataTable pads each cell by one column on either side and keeps two for its scrollbar.
CELL_PADDING = 2
SCROLLBAR = 2


def column_widths(total: int, minimums: Sequence[int], weights: Sequence[int]) -> list[int]:
    """Widths for a table `total` columns wide: `minimums`, plus the space left over shared by
    `weights` (0: the column does not grow)."""
    available = total - SCROLLBAR - CELL_PADDING * len(minimums)
    widths = list(minimums)
    spare = available - sum(widths)
    share = sum(weights)
    if spare <= 0 or share <= 0:
        return widths
    given = 0
    for index, weight in enumerate(weights):
        extra = spare * weight // share
        widths[index] += extra
        given += extra
    # What integer division left goes to the first growing column.
    first = next(i for i, w in enumerate(weights) if w)
    widths[first] += spare - given
    return widths


# From this many columns on, a table also shows its `wide` columns (extra evidence that an
# 80-column terminal has no room for and that is one Enter away there).
WIDE = 120


@dataclass(frozen=True)
class Column:
    """One column: its header, its key, its width at 80 columns, its share of more, and whether
    it is shown only from WIDE columns on."""

    label: str
    key: str
    minimum: int
    weight: int = 0
    wide: bool = False


# A growing column is never cut below this: its value stays recognisable, the rest is in the
# detail that Enter opens.
NARROWEST = 8


def _shrink(widths: list[int], weights: Sequence[int], available: int) -> None:
    """Where the minimums do not fit (a narrower table than planned for), the growing columns
    give up the difference, the one with the most weight first, never below NARROWEST."""
    excess = sum(widths) - available
    for index in sorted(range(len(widths)), key=lambda i: -weights[i]):
        if excess <= 0 or not weights[index]:
            break
        given = min(excess, max(0, widths[index] - NARROWEST))
        widths[index] -= given
        excess -= given


class FittedColumns:
    """The columns of `table`, their widths following the space the table has.

    `fit(total)` sets the columns for a table `total` columns wide (adding or dropping the wide
    ones) and says whether anything changed: the caller then fills its rows again, each built
    by `row(values)` and so cut to the new widths.
    """

    def __init__(
        self, table: DataTable, columns: Sequence[Column], *, shrink: bool = False
    ) -> None:
        self.table = table
        self.columns = list(columns)
        self.widths: dict[str, int] = {}
        # Fit the table's own width even below the minimums (see _shrink); else they stay.
        self.shrink = shrink

    def fit(self, total: int) -> bool:
        shown = [c for c in self.columns if total >= WIDE or not c.wide]
        widths = column_widths(total, [c.minimum for c in shown], [c.weight for c in shown])
        if self.shrink and total > 0:
            available = total - SCROLLBAR - CELL_PADDING * len(shown)
            _shrink(widths, [c.weight for c in shown], available)
        by_key = {c.key: w for c, w in zip(shown, widths, strict=True)}
        if by_key == self.widths:
            return False
        table = self.table
        if list(by_key) != [str(key.value) for key in table.columns]:
            table.clear(columns=True)
            for c in shown:
                table.add_column(c.label, key=c.key, width=by_key[c.key])
        for key, column in table.columns.items():
            column.width = by_key[str(key.value)]
            column.auto_width = False
        self.widths = by_key
        return True

    def row(self, values: Mapping[str, object]) -> list[Text]:
        """The cells of one row in the shown columns' order, each value cut to its column."""
        return [cell(values[key], width) for key, width in self.widths.items()]


class FittedTable(DataTable):
    """A DataTable whose columns follow its own width, which is what its container leaves it
    (a parent's scrollbar or border included): `fit_columns(columns)` sets them up, and after a
    resize that changed them it posts `Refitted`, on which its owner fills the rows again."""

    class Refitted(Message):
        def __init__(self, table: FittedTable) -> None:
            super().__init__()
            self.table = table

        @property
        def control(self) -> FittedTable:
            return self.table

    fitted: FittedColumns | None = None

    def fit_columns(self, columns: Sequence[Column]) -> FittedColumns:
        # Until the first layout says how wide the table is: as at 80 columns.
        self.fitted = FittedColumns(self, columns, shrink=True)
        self.fitted.fit(self.size.width or 80)
        return self.fitted

    def on_resize(self, event: events.Resize) -> None:
        if self.fitted is not None and event.size.width and self.fitted.fit(event.size.width):
            self.post_message(self.Refitted(self))
