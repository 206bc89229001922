"""What the list subcommands share: fetch every item, then write them in ``--format``.

Tables show the main columns; json, jsonl and csv carry every field of the items. An empty
result is not an error (exit status 0), but it is named on stderr with the options that
chose it (``warning: no update packages found (--product-key NOPE123)``): a typo in a key
should not pass for an empty fleet.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import click

from .connect import Session, open_session
from .destination import open_output
from .failures import run_async
from .options import Connection, GlobalOption
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
    conn: Connection,
    output: Path | None,
    columns: Sequence[str],
    title: str,
    items: Items,
    *,
    table_text: Mapping[str, Callable[[Any], str | None]] | None = None,
    noun: str | None = None,
) -> None:
    """Open a session, collect what ``items`` returns (every page), write it out.

    ``noun`` names the items in the warning that none were found (default: the title).

    ``table_text`` words some columns for the table only (firmware ``status`` 1 as
    ``VERIFIED``); json, jsonl and csv keep the values as the service sent them.
    """

    async def main() -> list[dict[str, Any]]:
        async with open_session(conn) as session:
            found = items(session)
            if isinstance(found, AsyncIterator):
                return [record(item) async for item in found]
            return [record(item) for item in await found]

    rows = run_async(main)
    if not rows:
        what = noun or title[:1].lower() + title[1:]  # ids in a title keep their case
        click.echo(f"warning: no {what} found{_scope()}", err=True)
    if table_text and conn.output_format == "table":
        rows = [{**row, **{k: word(row.get(k)) for k, word in table_text.items()}} for row in rows]
    with open_output(output) as out:
        write_records(rows, conn.output_format, out, columns=columns, title=title)


def _scope() -> str:
    """The options that chose what to list, as given: `` (--product-key NOPE123)``."""
    ctx = click.get_current_context()
    given = []
    for param in ctx.command.params:
        value = ctx.params.get(param.name or "")
        if isinstance(param, GlobalOption) or param.name == "output":
            continue
        if value in (None, "", (), False):
            continue
        flag = (
            max(param.opts, key=len)
            if isinstance(param, click.Option)
            else param.human_readable_name
        )
        for item in value if isinstance(value, tuple) else (value,):
            given.append(f"{flag} {item}" if isinstance(param, click.Option) else str(item))
    return f" ({' '.join(given)})" if given else ""
