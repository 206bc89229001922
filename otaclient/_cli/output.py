"""Records (one dict per item) written as a table, JSON, JSON lines or CSV.

Records come from ``otaclient.to_plain`` (the library's one unstructure converter):

* ``json``: one JSON array of objects (times as ISO 8601 UTC strings);
* ``jsonl``: one JSON object per line;
* ``csv``: a header row, then one row per record (lists joined with ``;``);
* ``table``: a rich table of the chosen columns.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import IO, Any

from rich.console import Console
from rich.table import Table

from .. import to_plain

__all__ = ["cell", "make_console", "record", "write_records"]


def cell(value: Any) -> str:
    """``value`` as the text of one table or CSV cell."""
    value = to_plain(value)
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return ";".join(cell(item) for item in value)
    if isinstance(value, dict):
        if set(value) == {"key", "value"}:
            return f"{value['key']}={value['value']}"
        return ",".join(f"{key}={cell(item)}" for key, item in value.items())
    return str(value)


def record(item: Any) -> dict[str, Any]:
    """An attrs model as a JSON-ready dict (``otaclient.to_plain``)."""
    data = to_plain(item)
    if not isinstance(data, dict):
        raise TypeError(f"a record is made from a model, not a {type(item).__name__}")
    return data


def make_console(out: IO[str]) -> Console:
    """A rich console writing to ``out``: wide and colourless unless it is a terminal."""
    terminal = out.isatty()
    return Console(
        file=out,
        width=None if terminal else 200,
        force_terminal=False if not terminal else None,
        no_color=not terminal,
        highlight=False,
        soft_wrap=False,
    )


def write_records(
    records: Iterable[Mapping[str, Any]],
    fmt: str,
    out: IO[str],
    *,
    columns: Sequence[str],
    title: str | None = None,
) -> int:
    """Write ``records`` in ``fmt``; ``columns`` are the table's (the others show them all).

    Returns how many records were written.
    """
    count = 0
    if fmt == "json":
        out.write("[")
        for count, item in enumerate(records, start=1):
            out.write(",\n  " if count > 1 else "\n  ")
            out.write(json.dumps(dict(item), ensure_ascii=False))
        out.write("\n]\n" if count else "]\n")
    elif fmt == "jsonl":
        for item in records:
            out.write(json.dumps(dict(item), ensure_ascii=False) + "\n")
            count += 1
    elif fmt == "csv":
        rows = list(records)
        count = len(rows)
        names = list(columns)
        for row in rows:
            names.extend(key for key in row if key not in names)
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(names)
        for row in rows:
            writer.writerow([cell(row.get(name)) for name in names])
    else:
        table = Table(title=title, show_lines=False)
        for name in columns:
            table.add_column(name, overflow="fold")
        for item in records:
            table.add_row(*(cell(item.get(name)) for name in columns))
            count += 1
        make_console(out).print(table)
    return count
