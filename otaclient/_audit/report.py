"""What an audit returns: frozen attrs classes, from one device task up to the whole fleet.

    FleetReport            generated_at, scope, totals, stats
    ├── FleetTotals        products, firmware, jobs, running jobs, TaskSummary of everything
    └── FirmwareReport     one update package, with its TaskSummary
        └── JobReport      one batch: TaskSummary, failed and stuck devices (bounded lists)
            └── DeviceIssue

Success rate, defined once (``TaskSummary.success_rate``): ``SUCCEEDED / finished``, where
*finished* is a task in a terminal status, ``SUCCEEDED + FAILED + CANCELED`` (the API calls
the other four statuses "unfinished"). It is ``None`` while nothing has finished.
``completion_rate`` is ``finished / total``: how far the batch has got.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, TypeVar

import attrs

from .. import JobStatus, TaskStatus

__all__ = [
    "FINISHED",
    "RUNNING_JOB_STATUSES",
    "STUCK_STATUSES",
    "SUCCESS_RATE_DEFINITION",
    "UNFINISHED",
    "AuditStats",
    "DeviceIssue",
    "FirmwareReport",
    "FleetReport",
    "FleetTotals",
    "JobReport",
    "TaskSummary",
    "from_fields",
]

R = TypeVar("R", bound=attrs.AttrsInstance)

FINISHED: tuple[str, ...] = (TaskStatus.SUCCEEDED, TaskStatus.FAILED, TaskStatus.CANCELED)
"""Terminal task statuses."""
UNFINISHED: tuple[str, ...] = (
    TaskStatus.CONFIRM,
    TaskStatus.QUEUED,
    TaskStatus.NOTIFIED,
    TaskStatus.IN_PROGRESS,
)
"""Task statuses the API calls unfinished."""
STUCK_STATUSES: tuple[str, ...] = (TaskStatus.NOTIFIED, TaskStatus.IN_PROGRESS)
"""A task in one of these, not modified for ``stuck_after``, is stuck."""
RUNNING_JOB_STATUSES: tuple[str, ...] = (JobStatus.IN_PROGRESS, JobStatus.PLANNED)
"""Job statuses of a batch that is still running (or about to)."""
SUCCESS_RATE_DEFINITION = "SUCCEEDED / (SUCCEEDED + FAILED + CANCELED)"


def from_fields(cls: type[R], source: object, **changes: Any) -> R:
    """A ``cls`` (an attrs class) whose fields come from ``source``'s fields of the same
    name, except those in ``changes``: a report made from the model it reports on.

    >>> from otaclient import OTATask
    >>> issue = from_fields(DeviceIssue, OTATask(task_id="t1"), task_status="FAILED")
    >>> issue.task_id, issue.task_status, issue.device_name
    ('t1', 'FAILED', None)
    """
    taken = {
        field.name: getattr(source, field.name)
        for field in attrs.fields(cls)
        if field.name not in changes and hasattr(source, field.name)
    }
    return cls(**taken, **changes)


def _every_status(counts: Mapping[str, int]) -> dict[str, int]:
    # Every documented status, in lifecycle order, then any status the library does not know.
    full = {str(status): int(counts.get(status, 0)) for status in TaskStatus}
    for status, count in counts.items():
        full.setdefault(str(status), int(count))
    return full


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@attrs.frozen
class TaskSummary:
    """Device-task counts of a job, a package or the fleet.

    ``counts`` has every ``TaskStatus`` (zero when absent), in lifecycle order, followed by
    any status the service sent that the library does not know. ``stuck`` counts tasks in
    ``NOTIFIED``/``IN_PROGRESS`` not modified for the audit's ``stuck_after``.

    >>> s = TaskSummary({"SUCCEEDED": 6, "FAILED": 2, "CANCELED": 0, "IN_PROGRESS": 2})
    >>> s.total, s.finished, s.success_rate, s.completion_rate
    (10, 8, 0.75, 0.8)
    """

    counts: dict[str, int] = attrs.field(converter=_every_status)
    stuck: int = 0

    @property
    def total(self) -> int:
        """Number of device tasks."""
        return sum(self.counts.values())

    @property
    def succeeded(self) -> int:
        """Tasks in ``SUCCEEDED``."""
        return self.counts[TaskStatus.SUCCEEDED]

    @property
    def failed(self) -> int:
        """Tasks in ``FAILED``."""
        return self.counts[TaskStatus.FAILED]

    @property
    def finished(self) -> int:
        """Tasks in a terminal status: ``SUCCEEDED``, ``FAILED`` or ``CANCELED``."""
        return sum(self.counts[status] for status in FINISHED)

    @property
    def unfinished(self) -> int:
        """Tasks in ``CONFIRM``, ``QUEUED``, ``NOTIFIED`` or ``IN_PROGRESS``."""
        return sum(self.counts[status] for status in UNFINISHED)

    @property
    def success_rate(self) -> float | None:
        """``SUCCEEDED / finished``; ``None`` while no task has finished."""
        return _ratio(self.succeeded, self.finished)

    @property
    def completion_rate(self) -> float | None:
        """``finished / total``; ``None`` for no tasks at all."""
        return _ratio(self.finished, self.total)

    @classmethod
    def combine(cls, parts: Iterable[TaskSummary]) -> TaskSummary:
        """The sum of several summaries."""
        counts: dict[str, int] = {}
        stuck = 0
        for part in parts:
            for status, count in part.counts.items():
                counts[status] = counts.get(status, 0) + count
            stuck += part.stuck
        return cls(counts, stuck)


@attrs.frozen
class DeviceIssue:
    """One device whose task failed or is stuck."""

    device_name: str | None
    product_key: str | None
    iot_id: str | None
    task_id: str | None
    task_status: str | None
    utc_modified: datetime | None
    task_desc: str | None = None
    """The service's text for the task (the error of a failed one), when it gives one."""
    progress: str | None = None


@attrs.frozen
class JobReport:
    """One upgrade (or verify) batch and its device tasks.

    ``failed_devices`` holds the most recently modified failed tasks and ``stuck_devices``
    the longest-stuck ones, each at most the audit's ``max_devices_per_job``; the full
    numbers are ``tasks.failed`` and ``tasks.stuck``. (A batch large enough to be counted
    by status lists the newest of the first ``max_devices_per_job`` failed tasks the
    service lists: the API documents no order to ask for the newest of all.)

    ``complete`` is ``False`` when the service's paging limit (100,000 tasks per listing)
    kept some tasks out of the counts, or when counts read by status still did not add up
    to the job's total after being read again. ``moved`` names the statuses whose count
    changed while the audit counted them (the counts are as last read).
    ``job_status`` and ``job_type`` use one spelling for documented variants (``COMPLETE``
    is reported as ``COMPLETED``, ``VERFIY_FIRMWARE`` as ``VERIFY_FIRMWARE``).
    """

    job_id: str
    firmware_id: str | None
    product_key: str | None
    job_status: str | None
    job_type: str | None
    selection_type: str | None
    target_selection: str | None
    utc_create: datetime | None
    utc_start_time: datetime | None
    utc_end_time: datetime | None
    tasks: TaskSummary
    failed_devices: tuple[DeviceIssue, ...] = ()
    stuck_devices: tuple[DeviceIssue, ...] = ()
    complete: bool = True
    moved: tuple[str, ...] = ()

    @property
    def running(self) -> bool:
        """Whether the batch is ``IN_PROGRESS`` or ``PLANNED``."""
        return self.job_status in RUNNING_JOB_STATUSES

    @property
    def task_counts(self) -> dict[str, int]:
        """Device tasks by status (``tasks.counts``)."""
        return self.tasks.counts

    @property
    def success_rate(self) -> float | None:
        """``tasks.success_rate``: ``SUCCEEDED / (SUCCEEDED + FAILED + CANCELED)``."""
        return self.tasks.success_rate


@attrs.frozen
class FirmwareReport:
    """One update package, its batches, and the sum of their tasks."""

    firmware_id: str
    firmware_name: str | None
    product_key: str | None
    product_name: str | None
    module_name: str | None
    src_version: str | None
    dest_version: str | None
    status: int | None
    type: int | None
    utc_create: datetime | None
    jobs: tuple[JobReport, ...]
    tasks: TaskSummary

    @property
    def running_jobs(self) -> tuple[JobReport, ...]:
        """Batches still ``IN_PROGRESS`` or ``PLANNED``."""
        return tuple(job for job in self.jobs if job.running)


@attrs.frozen
class FleetTotals:
    """Fleet-wide numbers."""

    products: int
    firmware: int
    jobs: int
    running_jobs: int
    jobs_by_status: dict[str, int]
    tasks: TaskSummary


@attrs.frozen
class AuditStats:
    """What the audit cost: API requests (retries included), retries, throttling answers,
    list pages read, and wall time."""

    requests: int
    retries: int
    throttled: int
    pages: int
    elapsed_seconds: float


@attrs.frozen
class FleetReport:
    """The result of :func:`~otaclient.audit.audit_fleet`.

    ``generated_at`` is the audit's "now" (what ``stuck_after`` is measured from);
    ``product_keys`` is the scope (``None``: every product of the account). ``complete``
    is ``False`` when the audit was stopped before it had read everything (its ``stop``
    event): the report then holds the jobs it had finished, and says so first in JSON.
    """

    complete: bool = attrs.field(default=True, kw_only=True)
    generated_at: datetime
    stuck_after: timedelta
    product_keys: tuple[str, ...] | None
    firmware: tuple[FirmwareReport, ...]
    totals: FleetTotals
    stats: AuditStats

    @property
    def jobs(self) -> tuple[JobReport, ...]:
        """Every batch of every package, package by package."""
        return tuple(job for firmware in self.firmware for job in firmware.jobs)

    @property
    def running_jobs(self) -> tuple[JobReport, ...]:
        """Batches still ``IN_PROGRESS`` or ``PLANNED``."""
        return tuple(job for job in self.jobs if job.running)

    @classmethod
    def build(
        cls,
        *,
        generated_at: datetime,
        stuck_after: timedelta,
        product_keys: tuple[str, ...] | None,
        firmware: tuple[FirmwareReport, ...],
        stats: AuditStats,
        complete: bool = True,
    ) -> FleetReport:
        """Assemble a report, computing the totals."""
        jobs = [job for item in firmware for job in item.jobs]
        by_status: dict[str, int] = {}
        for job in jobs:
            key = job.job_status or "UNKNOWN"
            by_status[key] = by_status.get(key, 0) + 1
        products = {item.product_key for item in firmware if item.product_key}
        products.update(job.product_key for job in jobs if job.product_key)
        totals = FleetTotals(
            products=len(products),
            firmware=len(firmware),
            jobs=len(jobs),
            running_jobs=sum(1 for job in jobs if job.running),
            jobs_by_status=by_status,
            tasks=TaskSummary.combine(item.tasks for item in firmware),
        )
        return cls(
            generated_at, stuck_after, product_keys, firmware, totals, stats, complete=complete
        )
