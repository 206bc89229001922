"""The audit's live progress display: one rich progress line on stderr.

It shows the phase, requests done of those the audit plans (``~`` while the plan is an
estimate: batches not yet sized count as the average), device tasks counted, the measured
request rate against the limiter's cap, throttling answers so far and the ETA. It is only
drawn when stderr is a terminal (and not ``--no-progress``); otherwise it does nothing, so
pipes and log files stay clean.
"""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskID, TextColumn

from ..audit import AuditProgress

__all__ = ["LiveProgress", "progress_line"]


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    whole = round(seconds)
    minutes, whole = divmod(whole, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{whole:02d}" if hours else f"{minutes:02d}:{whole:02d}"


def progress_line(progress: AuditProgress) -> str:
    """The display's text for one snapshot (without the bar).

    >>> from otaclient.audit import AuditProgress
    >>> progress_line(AuditProgress("harvesting", 12, 44, 30, 60, None, 90, 3000, 61, 0, 1,
    ...                             9.8, 10.0, 10.0, 6.1, 3.0))
    'requests 60/~90 · 3,000 tasks · 9.8/10 qps · throttled 1 · ETA 00:03'
    """
    total = (
        f"{progress.pages_total}"
        if progress.pages_total is not None
        else f"~{progress.pages_estimated}"
    )
    cap = f"{progress.qps_cap:g}" if progress.qps_cap is not None else "∞"
    in_force = progress.qps_in_force
    if in_force is not None and progress.qps_cap and in_force < progress.qps_cap - 0.05:
        cap = f"{in_force:.1f} (cap {cap})"
    return (
        f"requests {progress.pages_done}/{total} · {progress.items:,} tasks · "
        f"{progress.qps:.1f}/{cap} qps · throttled {progress.throttled} · "
        f"ETA {_duration(progress.eta)}"
    )


class LiveProgress:
    """A ``ProgressCallback`` drawing on ``console`` while ``enabled``; use as a context."""

    def __init__(self, console: Console, *, enabled: bool) -> None:
        self.enabled = enabled
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(bar_width=24),
            TextColumn("{task.fields[line]}"),
            console=console,
            transient=True,
            refresh_per_second=8,
            disable=not enabled,
        )
        self._task: TaskID | None = None

    def __enter__(self) -> LiveProgress:
        if self.enabled:
            self._progress.start()
            self._task = self._progress.add_task("auditing", total=None, line="starting")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.enabled:
            self._progress.stop()

    def __call__(self, progress: AuditProgress) -> None:
        if self._task is None:
            return
        total = progress.pages_total or progress.pages_estimated or None
        self._progress.update(
            self._task,
            description=progress.phase,
            completed=progress.pages_done,
            total=total,
            line=progress_line(progress),
        )
