"""What the list subcommands share: fetch every item, then write them in ``--format``.

Tables show the main columns; json, jsonl and csv carry every field of the items.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import click

from .connect import Session, open_session
from .destination import check_output, open_output
from .failures import run_async
from .options import Connection
from .output import record, write_records

__all__ = ["output_option", "show_items"]

output_option = click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write to FILE instead of stdout.",
)

Items = Callable[[Session], AsyncIterator[Any] | Awaitable[list[Any]]]


def show_items(
    conn: Connection, output: Path | None, columns: Sequence[str], title: str, items: Items
) -> None:
    """Open a session, collect what ``items`` returns (every page), write it out."""
    check_output(output)

    async def main() -> list[dict[str, Any]]:
        async with open_session(conn) as session:
            found = items(session)
            if isinstance(found, AsyncIterator):
                return [record(item) async for item in found]
            return [record(item) for item in await found]

    rows = run_async(main)
    with open_output(output) as out:
        write_records(rows, conn.output_format, out, columns=columns, title=title)
