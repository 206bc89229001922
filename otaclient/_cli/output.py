"""Records (one dict per item) written as a table, JSON, JSON lines or CSV.

Records come from ``otaclient.to_plain`` (the library's one unstructure converter):

* ``json``: one JSON array of objects (times as ISO 8601 UTC strings);
* ``jsonl``: one JSON object per line;
* ``csv``: a header row, then one row per record (lists joined with ``;``);
* ``table``: a table of the chosen columns that fits the width (``tables.py``).
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import IO, Any

from rich.console import Console

from .. import to_plain
from .tables import Column, fitted_table

__all__ = ["cell", "make_console", "record", "record_column", "table_width", "write_records"]


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


_UNBOUNDED = 10_000
"""The console width of piped output without ``$COLUMNS``: no line is ever wrapped."""


def make_console(out: IO[str]) -> Console:
    """A rich console writing to ``out``: colourless unless it is a terminal.

    Its width: the terminal's; piped, ``$COLUMNS`` when set, else unbounded (each table
    row on one line, for grep and cut, rather than some fixed width).
    """
    terminal = out.isatty()
    return Console(
        file=out,
        width=None if terminal else _columns() or _UNBOUNDED,
        force_terminal=False if not terminal else None,
        no_color=not terminal,
        highlight=False,
        soft_wrap=False,
    )


def _columns() -> int | None:
    value = os.environ.get("COLUMNS", "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else None


def table_width(console: Console) -> int | None:
    """The width a table must fit in on ``console``; ``None``: as wide as it needs."""
    return None if console.width >= _UNBOUNDED else console.width


# How record fields show in a table: ids, statuses, times and numbers are never cut or
# split; what is left out first when a table does not fit (lowest first).
_WHOLE = ("_id", "_key", "status", "_time", "_create", "_modified", "_type", "_selection")
_NUMBERS = ("status", "type", "progress", "firmware_size")
_KEEP = {
    "task_status": 9,
    "task_desc": 8,  # why a task failed: what an operator reads a task list for
    "job_status": 9,
    "device_name": 9,
    "task_id": 8,
    "job_id": 8,
    "firmware_id": 8,
    "firmware_name": 7,
    "dest_version": 7,
    "product_key": 6,
    "src_version": 6,
    "utc_modified": 4,
    "utc_create": 4,
    "utc_end_time": 2,
    "selection_type": 2,
}


def record_column(name: str) -> Column:
    """The table column of the record field ``name``."""
    whole = name.endswith(_WHOLE) or name in ("device_name", *_NUMBERS)
    if name in _NUMBERS:
        return Column(name, whole=True, keep=_KEEP.get(name, 5), justify="right")
    return Column(name, whole=whole, keep=_KEEP.get(name, 5))


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
        cells = [[cell(item.get(name)) for name in columns] for item in records]
        count = len(cells)
        console = make_console(out)
        specs = [record_column(name) for name in columns]
        console.print(fitted_table(specs, cells, table_width(console), title=title))
    return count
