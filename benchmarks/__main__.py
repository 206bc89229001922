"""``python -m benchmarks [--smoke] [--only NAME ...] [--json PATH]``.

Runs the benchmarks in order, prints one table per benchmark, and (full runs) writes
``benchmarks/results.json`` with the machine and every number. ``--smoke`` runs every
benchmark at a small size (what CI runs; a few seconds each) and writes no file unless
``--json`` is given. ``--only`` runs the named benchmarks and, in a full run, updates just
their entries in results.json.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from ._common import Result, fmt, machine_info, timed

BENCHMARKS = (
    "harvest_at_cap",
    "cost_per_call",
    "decode",
    "xml_parsers",
    "memory",
    "limiter",
    "many_accounts",
    "per_action_audit",
    "audit_cost",
    "credentials",
    "transports",
    "cost_over_https",
)
RESULTS = Path(__file__).resolve().parent / "results.json"


def render(result: Result) -> Table:
    table = Table(title=result.title, title_justify="left", show_lines=False)
    for index, column in enumerate(result.columns):
        table.add_column(column, justify="left" if index == 0 else "right")
    for row in result.rows:
        table.add_row(*(fmt(cell) for cell in row))
    if result.notes:
        table.caption = "\n".join(result.notes)
        table.caption_justify = "left"
    return table


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="small sizes, a few seconds each")
    parser.add_argument(
        "--only", action="append", choices=BENCHMARKS, metavar="NAME", help="run only NAME"
    )
    parser.add_argument("--json", type=Path, help="write results here (default: full runs only)")
    return parser.parse_args(argv)


def _document(args: argparse.Namespace, out_path: Path | None) -> dict[str, Any]:
    """What results.json will hold: the earlier entries when only some benchmarks run."""
    document: dict[str, Any] = {}
    if out_path is not None and args.only and out_path.exists():
        document = json.loads(out_path.read_text())
    document["machine"] = machine_info()
    document["command"] = "python -m benchmarks" + (" --smoke" if args.smoke else "")
    document["smoke"] = args.smoke
    document.setdefault("benchmarks", {})
    return document


def _run_one(console: Console, name: str, smoke: bool) -> dict[str, Any] | None:
    """Run benchmark ``name`` and print its table; its results.json entry, or ``None``
    when it failed (the traceback is printed)."""
    module = importlib.import_module(f"benchmarks.{name}")
    console.rule(f"[bold]{name}")
    with timed() as took:
        try:
            result: Result = module.run(smoke)
        except Exception:
            console.print_exception()
            return None
    console.print(render(result))
    console.print(f"[dim]{name}: {took.wall:.1f} s[/dim]")
    entry = result.to_json()
    entry["seconds"] = round(took.wall, 2)
    return entry


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    console = Console(width=160)
    out_path: Path | None = args.json or (None if args.smoke else RESULTS)
    document = _document(args, out_path)
    failed: list[str] = []
    with timed() as total:
        for name in args.only or list(BENCHMARKS):
            entry = _run_one(console, name, args.smoke)
            if entry is None:
                failed.append(name)
                continue
            document["benchmarks"][name] = entry
            if out_path is not None:  # after each benchmark, so a long run keeps what it has
                out_path.write_text(json.dumps(document, indent=1, default=str) + "\n")
    console.print(f"[bold]total {total.wall:.1f} s")
    if failed:
        console.print(f"[red]failed: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
