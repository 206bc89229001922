"""``otaclient audit``: run :func:`otaclient.audit.audit_fleet` and render its report."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import anyio
import click
from rich.console import Console

from ..audit import AuditState, FleetReport, audit_fleet
from .connect import open_session
from .destination import open_output
from .failures import EXIT_INTERRUPTED, CliFailure, run_async
from .live import LiveProgress
from .options import Connection, connection_options
from .report_view import empty_scope_warnings, render_report

__all__ = ["audit"]


@click.command(
    "audit",
    epilog="""\b
Examples:
  otaclient audit --demo
  otaclient audit --region-id cn-shanghai --product-key a1B2c3 --format json -o audit.json
  otaclient audit --demo --format html -o report.html
  otaclient audit --region-id cn-shanghai --state audit.sqlite -o audit.json
""",
)
@connection_options
@click.option(
    "--product-key",
    "product_keys",
    multiple=True,
    metavar="PK",
    help="Audit only this product (repeat for several). Default: every product.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write the report to FILE instead of stdout.",
)
@click.option(
    "--stuck-after",
    type=click.FloatRange(min=0),
    default=24.0,
    show_default=True,
    metavar="HOURS",
    help="A NOTIFIED or IN_PROGRESS task not modified for this long is stuck.",
)
@click.option(
    "--max-devices",
    type=click.IntRange(min=0),
    default=50,
    show_default=True,
    help="Failed and stuck devices listed per job (the counts are always complete).",
)
@click.option(
    "--state",
    "state_path",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Keep what was read in this SQLite file: run again with it after an interruption "
    "and only what was not finished is read; finished batches that did not change are "
    "not read again.",
)
@click.option(
    "--progress/--no-progress",
    "show_progress",
    default=None,
    help="Live progress on stderr. Default: on when stderr is a terminal.",
)
def audit(
    conn: Connection,
    product_keys: tuple[str, ...],
    output: Path | None,
    stuck_after: float,
    max_devices: int,
    state_path: Path | None,
    show_progress: bool | None,
) -> None:
    """Audit every package, batch and device task of the fleet.

    Reads every update package of the chosen products (all products by default), every
    batch (job) of each package and every device task of each batch, concurrently, paced
    by --qps. Reports task counts by status per job, the success rate
    (SUCCEEDED / (SUCCEEDED + FAILED + CANCELED)), failed devices, stuck devices, the
    batches still running (IN_PROGRESS or PLANNED), and fleet totals.

    --format json writes one JSON object whose "jobs" list has, per job, "job_id",
    "firmware_id", "product_key", "job_status" and "task_counts" (task status -> number
    of device tasks), and more; jsonl writes one job per line; csv one row per job with a
    column per task status; html one self-contained page with charts (no script, nothing
    fetched); table (the default) prints a summary and per-job tables.

    Ctrl-C stops the audit and writes what it has, with "complete": false, then exits
    130. With --state FILE, running the same command again resumes the interrupted audit.
    """
    stderr = Console(stderr=True, highlight=False)
    live = show_progress if show_progress is not None else stderr.is_terminal

    reused: list[int] = []

    async def main() -> FleetReport:
        stop = anyio.Event()
        # The signal watcher outermost: the session names the endpoint in its errors first.
        async with _stopped_by_ctrl_c(stop), open_session(conn) as session:
            click.echo(f"auditing {session.target}", err=True)
            async with _state(state_path) as state:
                with LiveProgress(stderr, enabled=live) as display:
                    report = await audit_fleet(
                        session.client,
                        product_keys=product_keys or None,
                        stuck_after=timedelta(hours=stuck_after),
                        progress=display,
                        max_devices_per_job=max_devices,
                        stop=stop,
                        state=state,
                    )
                reused.append(state.reused if state is not None else 0)
                return report

    report = run_async(main)
    for warning in empty_scope_warnings(report):
        click.echo(warning, err=True)
    with open_output(output) as out:
        render_report(report, conn.output_format, out)
    totals = report.totals
    where = f"; report written to {output}" if output else ""
    if not report.complete:
        resume = f"; run it again with --state {state_path} to resume" if state_path else ""
        raise CliFailure(
            f"interrupted: the report holds the {totals.jobs} batches finished, marked "
            f'"complete": false{where}{resume}',
            exit_code=EXIT_INTERRUPTED,
        )
    from_state = f"; {reused[0]} batches taken from {state_path}" if reused and reused[0] else ""
    click.echo(
        f"audited {totals.firmware} packages, {totals.jobs} batches, "
        f"{totals.tasks.total:,} device tasks in {report.stats.elapsed_seconds:.1f} s "
        f"({report.stats.requests} requests, {report.stats.throttled} throttled{from_state})"
        + where,
        err=True,
    )


@contextlib.asynccontextmanager
async def _stopped_by_ctrl_c(stop: anyio.Event) -> AsyncIterator[None]:
    """While the block runs, the first Ctrl-C (SIGINT) sets ``stop`` instead of raising
    KeyboardInterrupt, so the audit can end with what it has; a second one interrupts."""

    async def wait() -> None:
        with anyio.open_signal_receiver(signal.SIGINT) as signals:
            async for _ in signals:
                stop.set()
                return

    async with anyio.create_task_group() as group:
        group.start_soon(wait)
        try:
            yield
        finally:
            group.cancel_scope.cancel()


@contextlib.asynccontextmanager
async def _state(path: Path | None) -> AsyncIterator[AuditState | None]:
    if path is None:
        yield None
        return
    async with await AuditState.open(path) as state:
        yield state
