"""``otaclient diff OLD.json NEW.json``: what changed between two audits."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import IO

import click
from rich.table import Table
from rich.text import Text

from .. import ReportError
from ..report import JobDiff, NewlyFailed, Report, ReportDiff, diff_reports, parse_report
from .destination import check_output
from .failures import CliFailure, describe
from .options import Connection
from .output import make_console, table_width

__all__ = ["diff"]

_FORMATS = ("table", "json")
_NAMES_SHOWN = 5
_CHANGE_STYLES = {"added": "green", "removed": "red", "changed": "yellow"}


@click.command(
    "diff",
    epilog="""\b
Examples:
  otaclient audit --format json -o monday.json
  otaclient audit --format json -o tuesday.json
  otaclient diff monday.json tuesday.json
  otaclient audit --demo --format json | otaclient diff --format json monday.json -
""",
)
@click.argument("old", metavar="OLD.json")
@click.argument("new", metavar="NEW.json")
@click.option(
    "--format",
    "format_",
    type=click.Choice(_FORMATS, case_sensitive=False),
    help="table (default): a table that fits the terminal; json: one object.",
)
def diff(old: str, new: str, format_: str | None) -> None:
    """Compare two audit reports (written by `otaclient audit --format json`).

    Lists the jobs (batches) added, removed and changed between OLD and NEW: the change
    of each task count by status, of the job's status and success rate, and the devices
    newly failed (failed in NEW, not in OLD). A report lists at most --max-devices failed
    devices per job, so where a list was cut the count of newly failed devices is a lower
    bound, shown as "at least". Give - for one of the two to read it from stdin.

    --format json prints {"jobs": [...]} with only the jobs that differ, each with
    "job_id", "change" (added, removed or changed) and "task_count_changes" (task status
    -> new count minus old, statuses that did not change left out), and more.

    Exit status: 0 (with or without differences), 1 when a file is not an audit report,
    2 when a file cannot be read.
    """
    fmt = _format(format_)
    check_output(None)
    if old == "-" and new == "-":
        raise CliFailure("only one of OLD and NEW can be - (stdin)", exit_code=2)
    result = diff_reports(_load(old, "OLD"), _load(new, "NEW"))
    out = sys.stdout
    if fmt == "json":
        out.write(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
        return
    for note in result["notes"]:
        click.echo(f"note: {note}", err=True)
    _write_table(result, out)


def _format(given: str | None) -> str:
    if given:
        return given.lower()
    conn = click.get_current_context().find_object(Connection)
    inherited = conn.format if conn is not None else None
    if inherited and inherited not in _FORMATS:
        raise click.UsageError(f"--format {inherited}: otaclient diff writes table or json")
    return inherited or "table"


def _load(path: str, role: str) -> Report:
    name = "stdin" if path == "-" else path
    try:
        data = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as exc:
        raise CliFailure(
            f"cannot read the {role} report {name}: {exc.strerror or exc}", exit_code=2
        ) from None
    try:
        return parse_report(data, source=name)
    except ReportError as exc:
        raise describe(exc) from None


def _write_table(result: ReportDiff, out: IO[str]) -> None:
    # The width every command's tables fit: the terminal's; piped, $COLUMNS, else unbounded.
    console = make_console(out)
    old, new, summary = result["old"], result["new"], result["summary"]
    when = f"{old['source']} ({old['generated_at'] or 'undated'})"
    then = f"{new['source']} ({new['generated_at'] or 'undated'})"
    if not result["jobs"]:
        console.print(
            f"no differences: {when} and {then} have the same {summary['unchanged']:,} jobs",
            soft_wrap=True,
        )
        return
    console.print(
        Text.assemble(
            f"{when} -> {then}: ",
            (
                f"{summary['added']} added, {summary['removed']} removed, "
                f"{summary['changed']} changed, {summary['unchanged']:,} unchanged",
                "bold",
            ),
        )
    )
    fleet = _deltas(result["task_count_changes"])
    if fleet:
        console.print(f"device tasks: {fleet}")
    console.print(_jobs_view(result["jobs"], table_width(console) or _AS_WIDE_AS_NEEDED))


_AS_WIDE_AS_NEEDED = 100_000
"""The room given to the table when the output is unbounded: a column per aspect."""


def _jobs_view(jobs: list[JobDiff], width: int) -> Table | Text:
    """A table, a column per aspect, where that fits in ``width``; else one block per job,
    its aspects one per line. Either way no id and no word is split."""
    id_width = max(len(job["job_id"]) for job in jobs)
    rows = [
        (
            _job_cell(job),
            _status(job),
            "\n".join(
                f"{status} {delta:+,}" for status, delta in job["task_count_changes"].items()
            ),
            _success(job),
            _newly_failed(job["newly_failed"]),
        )
        for job in jobs
    ]
    headers = ("Job", "Job status", "Tasks", "Success", "Newly failed")
    texts = [[str(row[n]) for row in [headers, *rows]] for n in range(1, len(headers))]
    widths = _fit(
        [_longest(text.split() for text in column) for column in texts],
        [_longest(text.splitlines() for text in column) for column in texts],
        width - id_width - 3 * len(headers) - 1,  # borders and padding
    )
    if widths is not None:
        table = Table(show_lines=True)
        for header, column_width in zip(headers, [id_width, *widths], strict=True):
            table.add_column(header, width=column_width, overflow="fold")
        for row in rows:
            table.add_row(*row)
        return table
    blocks = []
    for first, *aspects in rows:
        lines = [first]
        for name, text in zip(("status", "tasks", "success", "newly failed"), aspects, strict=True):
            if text:
                lines.append(Text.assemble("  ", (f"{name}: ", "bold"), text.replace("\n", ", ")))
        blocks.append(Text("\n").join(lines))
    return Text("\n\n").join(blocks)


def _longest(pieces: Iterable[list[str]]) -> int:
    return max((len(piece) for group in pieces for piece in group), default=1)


def _fit(least: list[int], most: list[int], room: int) -> list[int] | None:
    """Column widths within ``room``, each at least its longest word; ``None`` when even
    that is too wide. The room left is shared fairly: columns that need little get all of
    it, the rest split what remains. (rich would rather squeeze a column below its longest
    word, splitting words, than give up, so the widths are decided here.)
    """
    if sum(least) > room:
        return None
    widths, spare = list(least), room - sum(least)
    wanting = sorted(range(len(least)), key=lambda n: most[n] - least[n])
    for done, n in enumerate(wanting):
        given = min(most[n] - least[n], spare // (len(wanting) - done))
        widths[n] += given
        spare -= given
    return widths


def _job_cell(job: JobDiff) -> Text:
    cell = Text.assemble(job["job_id"], "\n", (job["change"], _CHANGE_STYLES[job["change"]]))
    if job["package"]:
        cell.append(f" {job['package']}")
    return cell


def _status(job: JobDiff) -> str:
    before, after = job["job_status"]["old"], job["job_status"]["new"]
    if job["change"] != "changed" or before == after:
        return str(after or before or "")
    return f"{before or '?'} -> {after or '?'}"


def _success(job: JobDiff) -> str:
    pair = job["success_rate"]
    if job["change"] != "changed":
        return _percent(pair["new"] if job["change"] == "added" else pair["old"])
    before, after = _percent(pair["old"]), _percent(pair["new"])
    return after if before == after else f"{before} -> {after}"


def _percent(value: object) -> str:
    return f"{value:.1%}" if isinstance(value, float | int) else "-"


def _newly_failed(newly: NewlyFailed) -> str:
    if not newly["count"]:
        return ""
    count = f"{newly['count']:,}" if newly["exact"] else f"at least {newly['count']:,}"
    names = newly["devices"][:_NAMES_SHOWN]
    if not names:
        return count
    more = ", ..." if newly["count"] > len(names) else ""
    return f"{count}: {', '.join(names)}{more}"


def _deltas(changes: dict[str, int]) -> str:
    return ", ".join(f"{status} {delta:+,}" for status, delta in changes.items())
