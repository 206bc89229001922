"""The fleet audit: every package, batch and device task of an account, summarised.

>>> import anyio
>>> from otaclient import OTAClient
>>> from otaclient.audit import audit_fleet, report_to_dict
>>> async def main():                                                # doctest: +SKIP
...     async with OTAClient(region_id="cn-shanghai") as client:
...         report = await audit_fleet(client, product_keys=["a1B2c3"])
...     for job in report.running_jobs:
...         print(job.job_id, job.task_counts, job.success_rate, job.tasks.stuck)
>>> anyio.run(main)                                                  # doctest: +SKIP

The report (:class:`FleetReport`) is a tree of frozen attrs classes; ``report_to_dict``
turns it into JSON-ready data (what ``otaclient audit --format json`` prints), through the
same converter as ``otaclient.to_plain``.

Definitions:

* *success rate* = ``SUCCEEDED / (SUCCEEDED + FAILED + CANCELED)``: of the tasks that reached
  a terminal status, the share that succeeded (``None`` while none has);
  *completion rate* = terminal tasks / all tasks;
* a *stuck* task is ``NOTIFIED`` or ``IN_PROGRESS`` and last modified more than
  ``stuck_after`` (default 24 h) before the audit's ``now``;
* a *running* batch is ``IN_PROGRESS`` or ``PLANNED``.

Memory stays bounded however large the fleet: device tasks are counted as pages arrive and
dropped; each batch keeps at most ``max_devices_per_job`` failed and stuck devices.

What it costs: each job is read by the cheaper plan (``_audit/plan.py``): a small job
whole, a large one counted by status (:func:`count_tasks`, one one-item page per status)
with only its stuck candidates and its first failed devices read task by task.
"""

from __future__ import annotations

from typing import Any

from ._audit.counting import DEFAULT_COUNT_ROUNDS, TaskCounts, count_tasks, statuses_that_can_change
from ._audit.export import configure_converter
from ._audit.progress import AuditProgress, ProgressCallback
from ._audit.report import (
    FINISHED,
    RUNNING_JOB_STATUSES,
    STUCK_STATUSES,
    SUCCESS_RATE_DEFINITION,
    UNFINISHED,
    AuditStats,
    DeviceIssue,
    FirmwareReport,
    FleetReport,
    FleetTotals,
    JobReport,
    TaskSummary,
)
from ._audit.run import DEFAULT_STUCK_AFTER, audit_fleet
from ._audit.state import AuditState, StoredJob
from ._audit.tally import is_stuck
from ._export import converter, iso_time

configure_converter(converter)

__all__ = [
    "DEFAULT_COUNT_ROUNDS",
    "DEFAULT_STUCK_AFTER",
    "FINISHED",
    "RUNNING_JOB_STATUSES",
    "STUCK_STATUSES",
    "SUCCESS_RATE_DEFINITION",
    "StoredJob",
    "UNFINISHED",
    "TaskCounts",
    "AuditProgress",
    "AuditState",
    "AuditStats",
    "DeviceIssue",
    "FirmwareReport",
    "FleetReport",
    "FleetTotals",
    "JobReport",
    "ProgressCallback",
    "TaskSummary",
    "audit_fleet",
    "count_tasks",
    "is_stuck",
    "iso_time",
    "job_to_dict",
    "report_to_dict",
    "statuses_that_can_change",
    "summary_to_dict",
]


def report_to_dict(report: FleetReport) -> dict[str, Any]:
    """The whole report as JSON-ready data (what ``otaclient audit --format json`` writes):
    ``generated_at``, ``scope``, ``stuck_after_seconds``, ``success_rate_definition``,
    ``totals``, ``firmware``, ``jobs`` and ``stats``."""
    data: dict[str, Any] = converter.unstructure(report)
    return data


def job_to_dict(job: JobReport) -> dict[str, Any]:
    """One batch as JSON-ready data: identity, status, ``task_counts`` and rates,
    ``failed_count`` and ``failed_devices``, ``stuck_count`` and ``stuck_devices``."""
    data: dict[str, Any] = converter.unstructure(job)
    return data


def summary_to_dict(summary: TaskSummary) -> dict[str, Any]:
    """A ``TaskSummary``'s counts and rates as JSON-ready data."""
    data: dict[str, Any] = converter.unstructure(summary)
    return data
