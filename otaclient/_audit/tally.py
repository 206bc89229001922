"""A job's device tasks, folded in as they stream past: counts plus two bounded lists.

Memory per job is constant: a counter per status and at most ``keep`` failed and ``keep``
stuck devices. Which ones are kept does not depend on the order pages arrive in: the most
recently modified failures and the longest-stuck tasks (ties by device name, then task id).
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from .. import OTAJob, OTATask, TaskStatus
from .report import STUCK_STATUSES, DeviceIssue, JobReport, TaskSummary, from_fields

__all__ = ["JobTally", "canonical", "is_stuck"]


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def canonical(value: object) -> str | None:
    """A job status or type as text. The models already decode documented variant
    spellings to the canonical member (``COMPLETE`` -> ``COMPLETED``), so this is its text."""
    return _text(value)


def is_stuck(task: OTATask, *, now: datetime, stuck_after: timedelta) -> bool:
    """Whether ``task`` is ``NOTIFIED``/``IN_PROGRESS`` and last modified before
    ``now - stuck_after`` (its creation time stands in when the body has no modified time).
    """
    if task.task_status not in STUCK_STATUSES:
        return False
    last = task.utc_modified or task.utc_create
    return last is not None and now - last > stuck_after


Key = tuple[float, str, str]


class _Best:
    """The ``size`` issues with the smallest keys offered so far (a max-heap of ``size``)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._heap: list[tuple[_Largest, DeviceIssue]] = []

    def offer(self, key: Key, issue: DeviceIssue) -> None:
        if self._size <= 0:
            return
        entry = (_Largest(key), issue)
        if len(self._heap) < self._size:
            heapq.heappush(self._heap, entry)
        elif key < self._heap[0][0].key:
            heapq.heapreplace(self._heap, entry)

    def sorted(self) -> tuple[DeviceIssue, ...]:
        return tuple(issue for _, issue in sorted(self._heap, key=lambda entry: entry[0].key))


class _Largest:
    """Orders keys backwards, so that ``heapq``'s min-heap keeps the largest on top."""

    __slots__ = ("key",)

    def __init__(self, key: Key) -> None:
        self.key = key

    def __lt__(self, other: _Largest) -> bool:
        return other.key < self.key


def _timestamp(value: datetime | None) -> float:
    return value.timestamp() if value is not None else 0.0


class JobTally:
    """Counts of one job's tasks, fed one task at a time, turned into a ``JobReport``."""

    def __init__(
        self, job: OTAJob, *, now: datetime, stuck_after: timedelta, keep: int = 50
    ) -> None:
        self.job = job
        self._now = now
        self._stuck_after = stuck_after
        self._counts: Counter[str] = Counter()
        self._stuck = 0
        self._failed: _Best = _Best(keep)
        self._stuck_devices: _Best = _Best(keep)
        self._keep = keep
        self.complete = True
        """Set to ``False`` when the listing could not reach every task."""
        self.moved: tuple[str, ...] = ()
        """Statuses whose count changed while they were counted."""
        self.done = False
        """Set once every task of the job has been counted (or taken from a state file)."""
        self._kept: tuple[tuple[DeviceIssue, ...], tuple[DeviceIssue, ...]] | None = None

    @property
    def total(self) -> int:
        """Tasks counted so far."""
        return sum(self._counts.values())

    def reset(self) -> None:
        """Forget every task offered so far (the job is about to be read another way)."""
        self._counts.clear()
        self._stuck = 0
        self._failed = _Best(self._keep)
        self._stuck_devices = _Best(self._keep)

    def add(self, task: OTATask) -> None:
        """Count one task, and keep it if it is one of the failed or stuck to list."""
        status = _text(task.task_status) or "UNKNOWN"
        self._counts[status] += 1
        self.examine(task)

    def set_counts(
        self, counts: Mapping[str, int], *, complete: bool, moved: Iterable[str]
    ) -> None:
        """The job's counts, read by status rather than task by task."""
        self._counts = Counter({status: count for status, count in counts.items() if count})
        self.complete = self.complete and complete
        self.moved = tuple(moved)

    def restore(
        self,
        summary: TaskSummary,
        failed: tuple[DeviceIssue, ...],
        stuck: tuple[DeviceIssue, ...],
        *,
        complete: bool,
        moved: tuple[str, ...],
    ) -> None:
        """The job as an earlier audit read it (``otaclient.audit.AuditState``)."""
        self.set_counts(summary.counts, complete=complete, moved=moved)
        self._stuck = summary.stuck
        self._kept = (failed, stuck)
        self.done = True

    def examine(self, task: OTATask) -> None:
        """Keep ``task`` if it is one of the failed or stuck devices to list; a stuck task
        adds to the stuck count. (Its status is not counted: see ``add``.)"""
        status = _text(task.task_status) or "UNKNOWN"
        tiebreak = (task.device_name or "", task.task_id or "")
        if status == TaskStatus.FAILED:
            newest_first = -_timestamp(task.utc_modified or task.utc_create)
            self._failed.offer((newest_first, *tiebreak), self._issue(task))
        elif is_stuck(task, now=self._now, stuck_after=self._stuck_after):
            self._stuck += 1
            oldest_first = _timestamp(task.utc_modified or task.utc_create)
            self._stuck_devices.offer((oldest_first, *tiebreak), self._issue(task))

    def report(self) -> JobReport:
        """The job's report as counted so far."""
        job = self.job
        return from_fields(
            JobReport,
            job,
            job_id=str(job.job_id),
            job_status=canonical(job.job_status),
            job_type=canonical(job.job_type),
            selection_type=_text(job.selection_type),
            target_selection=_text(job.target_selection),
            tasks=TaskSummary(dict(self._counts), self._stuck),
            failed_devices=self._kept[0] if self._kept else self._failed.sorted(),
            stuck_devices=self._kept[1] if self._kept else self._stuck_devices.sorted(),
            complete=self.complete,
            moved=self.moved,
        )

    def _issue(self, task: OTATask) -> DeviceIssue:
        return from_fields(
            DeviceIssue,
            task,
            product_key=task.product_key or self.job.product_key,
            task_status=_text(task.task_status),
            utc_modified=task.utc_modified or task.utc_create,
        )
