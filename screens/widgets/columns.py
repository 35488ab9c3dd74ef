"""Table columns that fit the terminal: fixed ones keep their width, the rest share the space.

At 80 columns every column gets at least its minimum (what it needs to carry its meaning);
a wider terminal gives the extra to the columns with long values (addresses, subjects).
"""

from __future__ import annotations

from collections.abc import Sequence

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
