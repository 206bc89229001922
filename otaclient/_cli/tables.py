"""Tables that fit a width: ids and statuses whole, long text cut with "…", columns left out
last-first by priority, and a caption naming what was left out.

rich, left alone, squeezes every column to fit and splits what it squeezes: at 100 columns
an id wraps over three lines and ``IN_PROGRESS`` reads ``IN_PROGR`` / ``ESS``. Here the
widths are decided before rich sees the table:

1. every column gets the width of its longest cell (or header): the table's natural width;
2. when that is too wide, text columns (names, descriptions) are cut down to a few
   characters, each cut cell ending in "…"; *whole* columns (ids, statuses, times,
   counts) never are;
3. when that is still too wide, columns are left out, lowest ``keep`` first (the
   rightmost among equals), never the first one; the caption names them;
4. the room left is shared among the cut columns, the least demanding first.

``width=None`` (piped output with no ``$COLUMNS``) keeps the natural width: one line per
row, whatever its length, for ``grep`` and ``cut``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import attrs
from rich.table import Table

__all__ = ["Column", "fitted_table"]

_CUT_TO = 10
"""The fewest characters a cut text column keeps (its "…" included)."""


@attrs.frozen
class Column:
    """One column of a fitted table.

    ``whole``: never cut or split (ids, statuses, times, counts). ``keep``: the lower, the
    sooner the column is left out when the table does not fit even with text cut.
    """

    header: str
    whole: bool = False
    keep: int = 5
    justify: Literal["left", "right"] = "left"


def _overhead(count: int) -> int:
    # rich's default box: a border between and around the columns, one space of padding
    # on each side of every cell.
    return 3 * count + 1


def _widths(
    columns: Sequence[Column], rows: Sequence[Sequence[str]], width: int | None
) -> tuple[list[int], list[int]]:
    """(indexes of the columns shown, their widths)."""
    natural = [
        max([len(column.header), *(len(row[n]) for row in rows)])
        for n, column in enumerate(columns)
    ]
    shown = list(range(len(columns)))
    if width is None:
        return shown, natural
    least = [n if c.whole else min(n, _CUT_TO) for c, n in zip(columns, natural, strict=True)]

    def room() -> int:
        return width - _overhead(len(shown)) - sum(least[n] for n in shown)

    if sum(natural) + _overhead(len(shown)) <= width:
        return shown, natural
    while room() < 0 and len(shown) > 1:
        # The lowest `keep` goes first; among equals, the rightmost. The first stays.
        dropped = min(shown[1:], key=lambda n: (columns[n].keep, -n))
        shown.remove(dropped)
    widths = {n: least[n] for n in shown}
    spare = max(room(), 0)
    wanting = sorted((n for n in shown if natural[n] > least[n]), key=lambda n: natural[n])
    for done, n in enumerate(wanting):
        given = min(natural[n] - least[n], spare // (len(wanting) - done))
        widths[n] += given
        spare -= given
    return shown, [widths[n] for n in shown]


def fitted_table(
    columns: Sequence[Column],
    rows: Sequence[Sequence[str]],
    width: int | None,
    *,
    title: str | None = None,
    caption: str | None = None,
) -> Table:
    """A rich table of ``rows`` (cell texts) that fits in ``width`` characters.

    >>> from rich.console import Console
    >>> columns = [Column("Job", whole=True), Column("Name"), Column("Status", whole=True)]
    >>> rows = [["j-0123456789", "a rather long package name", "IN_PROGRESS"]]
    >>> console = Console(width=45)
    >>> console.print(fitted_table(columns, rows, 45))
    ┏━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━┳━━━━━━━━━━━━━┓
    ┃ Job          ┃ Name         ┃ Status      ┃
    ┡━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━╇━━━━━━━━━━━━━┩
    │ j-0123456789 │ a rather lo… │ IN_PROGRESS │
    └──────────────┴──────────────┴─────────────┘
    """
    shown, widths = _widths(columns, rows, width)
    left_out = [columns[n].header for n in range(len(columns)) if n not in shown]
    if left_out:
        note = f"Not shown, for width: {', '.join(left_out)} (wider terminal or --format json)."
        caption = f"{caption} {note}" if caption else note
    table = Table(title=title, caption=caption)
    for n, column_width in zip(shown, widths, strict=True):
        column = columns[n]
        table.add_column(
            column.header,
            width=column_width,
            no_wrap=True,
            overflow="ellipsis",
            justify=column.justify,
        )
    for row in rows:
        table.add_row(*(row[n] for n in shown))
    return table
