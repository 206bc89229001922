"""``otaclient jobs watch``: follow a running batch's task counts until it finishes.

Each poll counts the batch's tasks by status with :func:`otaclient.audit.count_tasks`: the
first poll reads every status and the batch's total (8 requests); later ones read only the
statuses that can still change (one request each; a status with no unfinished task
upstream of it cannot), and everything again when the counts stop adding up. The batch is
finished when no task is left unfinished: exit 0. Ctrl-C: exit 130.

Abort criteria (AWS IoT Jobs' name; the OTA API has none): with ``--abort-failure-rate P``,
once ``--min-finished N`` tasks have finished and more than P % of the finished ones
``FAILED``, the batch's remaining tasks are cancelled (CancelOTATaskByJob, every
unfinished state), after confirmation unless ``--yes``; exit 3.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime

import anyio
import attrs
import click
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from .. import OTAClient, TaskStatus
from ..audit import TaskCounts, count_tasks, statuses_that_can_change
from .connect import open_session
from .failures import CliFailure, run_async
from .options import Connection, connection_options

__all__ = ["EXIT_ABORTED", "Poll", "watch"]

EXIT_ABORTED = 3
"""The abort criteria were met and the batch's remaining tasks were cancelled."""


@attrs.frozen
class Poll:
    """One reading of the batch: its counts, the change since the reading before, and the
    rates observed since the watch began."""

    number: int
    at: datetime
    counts: TaskCounts
    change: dict[str, int]
    requests: int
    finished_per_minute: float | None
    eta_seconds: float | None

    @property
    def done(self) -> bool:
        """No task can change any more: the batch has finished."""
        return not statuses_that_can_change(self.counts)

    def as_dict(self) -> dict[str, object]:
        """The poll as one JSON object (``--format json``)."""
        counts = self.counts
        return {
            "poll": self.number,
            "at": self.at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "task_counts": counts.counts,
            "change": self.change,
            "total": counts.total,
            "finished": counts.finished,
            "success_rate": _rounded(counts.success_rate),
            "failure_rate": _rounded(counts.failure_rate),
            "finished_per_minute": _rounded(self.finished_per_minute),
            "eta_seconds": _rounded(self.eta_seconds),
            "complete": counts.complete,
            "requests": self.requests,
        }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    minutes, whole = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{whole:02d}" if hours else f"{minutes:02d}:{whole:02d}"


def poll_line(poll: Poll) -> str:
    """One line per poll, for a log or a pipe.

    >>> counts = TaskCounts({"IN_PROGRESS": 2, "SUCCEEDED": 7, "FAILED": 1}, total=10,
    ...                     complete=True)
    >>> poll = Poll(2, datetime(2025, 1, 1, 8, tzinfo=UTC), counts,
    ...             {"IN_PROGRESS": -3, "SUCCEEDED": 3}, 4, 3.0, 40.0)
    >>> for part in poll_line(poll).split(" | "):
    ...     print(part)
    08:00:00 IN_PROGRESS 2 (-3) · SUCCEEDED 7 (+3) · FAILED 1
    finished 8/10 · success 87.5% · 3.0/min · ETA 00:40
    """
    counts = poll.counts
    parts = []
    for status in TaskStatus:
        count, moved = counts.counts[status], poll.change.get(status, 0)
        if count or moved:
            parts.append(f"{status} {count:,}" + (f" ({moved:+,})" if moved else ""))
    rate = "-" if poll.finished_per_minute is None else f"{poll.finished_per_minute:.1f}/min"
    line = (
        f"{poll.at:%H:%M:%S} {' · '.join(parts) or 'no tasks'} | "
        f"finished {counts.finished:,}/{counts.total:,} · "
        f"success {_percent(counts.success_rate)} · {rate} · ETA {_duration(poll.eta_seconds)}"
    )
    if not counts.complete:
        line += " · counts moved while read"
    return line


def poll_table(poll: Poll, job_id: str) -> Group:
    """The live display: a table of counts and changes, and a summary line."""
    table = Table()
    table.add_column("status")
    table.add_column("tasks", justify="right")
    table.add_column("change", justify="right")
    for status in TaskStatus:
        moved = poll.change.get(status, 0)
        table.add_row(
            str(status), f"{poll.counts.counts[status]:,}", f"{moved:+,}" if moved else ""
        )
    summary = poll_line(poll).split(" | ", 1)[1]
    return Group(Text(f"batch {job_id} · poll {poll.number}", style="bold"), table, Text(summary))


class JobWatch:
    """Polls one batch's counts; ``poll()`` returns the next :class:`Poll`."""

    def __init__(
        self,
        client: OTAClient,
        job_id: str,
        *,
        clock: Callable[[], float] = anyio.current_time,
    ) -> None:
        self._client = client
        self._job_id = job_id
        self._clock = clock
        self._last: TaskCounts | None = None
        self._start: tuple[float, int] | None = None
        self._polls = 0

    async def poll(self) -> Poll:
        """Count the batch again (only the statuses that can still change)."""
        last = self._last
        if last is None:
            counts = await count_tasks(self._client, self._job_id)
        else:
            counts = await count_tasks(
                self._client,
                self._job_id,
                statuses=statuses_that_can_change(last),
                known=last.counts,
                total=last.total,
            )
        now = self._clock()
        self._polls += 1
        change = {}
        if last is not None:
            change = {
                status: counts.counts[status] - last.counts[status]
                for status in counts.counts
                if counts.counts[status] != last.counts[status]
            }
        if self._start is None:
            self._start = (now, counts.finished)
        began, finished_then = self._start
        rate = eta = None
        if now > began:
            rate = (counts.finished - finished_then) / (now - began) * 60
            if rate > 0:
                eta = counts.unfinished / rate * 60
        self._last = counts
        return Poll(
            self._polls,
            datetime.now(UTC),
            counts,
            change,
            counts.requests,
            rate,
            eta,
        )


def _should_abort(poll: Poll, rate: float | None, min_finished: int) -> bool:
    counts = poll.counts
    failure = counts.failure_rate
    return (
        rate is not None
        and failure is not None
        and counts.finished >= min_finished
        and failure * 100 > rate
        and counts.unfinished > 0
    )


@click.command("watch")
@connection_options
@click.argument("job_id")
@click.option(
    "--interval",
    type=click.FloatRange(min=0.01),
    default=10.0,
    show_default=True,
    metavar="SECONDS",
    help="Seconds between polls (each costs one request per status that can still change).",
)
@click.option(
    "--abort-failure-rate",
    type=click.FloatRange(min=0, max=100),
    metavar="PERCENT",
    help="Cancel the batch's remaining tasks when more than PERCENT of the finished "
    "tasks FAILED (after --min-finished have finished).",
)
@click.option(
    "--min-finished",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    metavar="N",
    help="Finished tasks needed before --abort-failure-rate applies.",
)
@click.option("--yes", "-y", is_flag=True, help="Cancel without asking when the criteria are met.")
def watch(
    conn: Connection,
    job_id: str,
    interval: float,
    abort_failure_rate: float | None,
    min_finished: int,
    yes: bool,
) -> None:
    """Follow a running batch live: task counts by status, the change since the last
    poll, success rate, and an ETA from the rate observed so far.

    Ends when no task of the batch is left unfinished (exit 0), or on Ctrl-C (130). On a
    terminal the counts are a live table; otherwise (or with --format json, one JSON
    object per poll) one line per poll. With --abort-failure-rate, the batch's remaining
    tasks are cancelled (CancelOTATaskByJob) once the criteria are met, after
    confirmation unless --yes; exit 3.

    \b
    Examples:
      otaclient jobs watch JOB_ID --interval 30
      otaclient jobs watch JOB_ID --abort-failure-rate 5 --min-finished 100 --yes
    """
    if abort_failure_rate is not None and not yes and not sys.stdin.isatty():
        raise click.UsageError(
            "--abort-failure-rate asks before cancelling, and stdin is not a terminal: "
            "add --yes to cancel without asking"
        )
    fmt = conn.output_format
    console = Console(highlight=False)
    live = console.is_terminal and fmt not in ("json", "jsonl")

    def show(poll: Poll) -> None:
        if fmt in ("json", "jsonl"):
            click.echo(json.dumps(poll.as_dict()))
        elif not live:
            click.echo(poll_line(poll))

    async def main() -> int:
        async with open_session(conn) as session:
            watcher = JobWatch(session.client, job_id)
            display = Live(console=console, auto_refresh=False) if live else None
            with display or contextlib.nullcontext():
                asked = False
                while True:
                    poll = await watcher.poll()
                    if display is not None:
                        display.update(poll_table(poll, job_id), refresh=True)
                    show(poll)
                    if poll.done:
                        return 0
                    if not asked and _should_abort(poll, abort_failure_rate, min_finished):
                        asked = True
                        if await _confirmed(poll, abort_failure_rate, yes, display):
                            await session.client.cancel_ota_task_by_job(
                                job_id=job_id,
                                cancel_unconfirmed_task=True,
                                cancel_queued_task=True,
                                cancel_notified_task=True,
                                cancel_in_progress_task=True,
                                cancel_scheduled_task=True,
                            )
                            return EXIT_ABORTED
                        click.echo("not cancelled; watching on", err=True)
                    await anyio.sleep(interval)

    code = run_async(main)
    if code == EXIT_ABORTED:
        raise CliFailure(
            f"abort criteria met: more than {abort_failure_rate:g}% of the finished tasks "
            f"failed; the batch's remaining tasks were cancelled",
            exit_code=EXIT_ABORTED,
        )
    click.echo(f"batch {job_id} finished", err=True)


async def _confirmed(poll: Poll, rate: float | None, yes: bool, display: Live | None) -> bool:
    counts = poll.counts
    message = (
        f"{_percent(counts.failure_rate)} of {counts.finished:,} finished tasks failed "
        f"(over {rate:g}%): cancel the batch's {counts.unfinished:,} remaining tasks?"
    )
    if yes:
        click.echo(message.replace("?", ": yes (--yes)"), err=True)
        return True
    if display is not None:
        display.stop()  # the prompt must not fight the live display for the terminal
    answer: bool = await anyio.to_thread.run_sync(
        lambda: click.confirm(message, default=False, err=True)
    )
    if display is not None:
        display.start()
    return answer
