"""Two audit reports compared, job by job: what ``otaclient diff OLD NEW`` prints.

The result is JSON-ready data (what ``--format json`` writes)::

    {"old": {"source", "generated_at", "product_keys"}, "new": {...},
     "summary": {"added", "removed", "changed", "unchanged"},
     "task_count_changes": {status: new - old, over every job},
     "notes": [text, ...],
     "jobs": [JobDiff, ...]}

``"jobs"`` lists only the jobs that differ, NEW's order first, then the jobs only OLD has.
Each has ``"job_id"``, ``"change"`` (``"added"``, ``"removed"`` or ``"changed"``),
``"task_count_changes"`` (task status -> new count minus old, statuses that did not change
left out), ``"product_key"``, ``"firmware_id"``, ``"package"`` (name and version where the
report has them), old/new pairs (``None`` on the side without the job) of ``"job_status"``,
``"total_tasks"``, ``"success_rate"``, ``"failed_count"``, ``"stuck_count"`` and
``"complete"``, and ``"newly_failed"``.

A job has *changed* when its status, a task count, its failed or stuck count, or its set of
failed devices differs. *Newly failed* devices are those NEW lists as failed that were not
failed in OLD. A report lists at most ``--max-devices`` failed devices per job (the counts
are exact), so ``"newly_failed"`` is ``{"count", "exact", "devices"}``: ``devices`` are the
ones known to be newly failed, ``count`` is how many there are, or at least are when
``exact`` is false. A device NEW lists and OLD does not counts as newly failed when OLD
listed every failed device of the job, or when its task was modified after OLD was made
(``utc_modified`` later than OLD's ``generated_at``); either way ``count`` is at least
NEW's failed count minus OLD's.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Literal, TypedDict

from .._models import TaskStatus
from .document import Job, Report

__all__ = ["JobDiff", "NewlyFailed", "Pair", "ReportDiff", "diff_reports"]

Change = Literal["added", "removed", "changed"]


class Pair(TypedDict):
    """A value in OLD and in NEW (``None`` where that report has no such job)."""

    old: object
    new: object


class NewlyFailed(TypedDict):
    """Devices failed in NEW that were not failed in OLD."""

    count: int
    """How many; a lower bound unless ``exact``."""
    exact: bool
    devices: list[str]
    """Those known by name (at most ``count``)."""


class JobDiff(TypedDict):
    """One job that differs between the two reports."""

    job_id: str
    change: Change
    product_key: str | None
    firmware_id: str | None
    package: str | None
    job_status: Pair
    task_count_changes: dict[str, int]
    total_tasks: Pair
    success_rate: Pair
    failed_count: Pair
    stuck_count: Pair
    complete: Pair
    newly_failed: NewlyFailed


class Side(TypedDict):
    """Which report, and when it was made."""

    source: str
    generated_at: str | None
    product_keys: list[str] | None


class Summary(TypedDict):
    """How many jobs fall in each kind of change."""

    added: int
    removed: int
    changed: int
    unchanged: int


class ReportDiff(TypedDict):
    """The whole comparison (see the module docstring)."""

    old: Side
    new: Side
    summary: Summary
    task_count_changes: dict[str, int]
    notes: list[str]
    jobs: list[JobDiff]


def diff_reports(old: Report, new: Report) -> ReportDiff:
    """Compare two checked reports (see the module docstring for the result)."""
    old_jobs = {job.job_id: job for job in old.jobs}
    new_ids = {job.job_id for job in new.jobs}
    pairs: list[tuple[Job | None, Job | None]] = [(old_jobs.get(j.job_id), j) for j in new.jobs]
    pairs += [(job, None) for job in old.jobs if job.job_id not in new_ids]
    jobs = [diff for before, after in pairs if (diff := _job_diff(old, new, before, after))]
    kinds = Counter(job["change"] for job in jobs)
    return {
        "old": _side(old),
        "new": _side(new),
        "summary": {
            "added": kinds["added"],
            "removed": kinds["removed"],
            "changed": kinds["changed"],
            "unchanged": len(pairs) - len(jobs),
        },
        "task_count_changes": _count_changes(
            _sum(job.task_counts for job in old.jobs), _sum(job.task_counts for job in new.jobs)
        ),
        "notes": _notes(old, new),
        "jobs": jobs,
    }


def _side(report: Report) -> Side:
    keys = list(report.product_keys) if report.product_keys is not None else None
    return {"source": report.source, "generated_at": report.generated_at_text, "product_keys": keys}


def _notes(old: Report, new: Report) -> list[str]:
    notes = []
    if old.product_keys != new.product_keys:
        notes.append(
            f"the reports cover different products (old: {_scope(old)}, new: {_scope(new)}): "
            "jobs outside either scope show as added or removed"
        )
    if old.stuck_after_seconds != new.stuck_after_seconds:
        notes.append(
            "the reports count stuck tasks with different --stuck-after "
            f"(old: {_hours(old.stuck_after_seconds)}, new: {_hours(new.stuck_after_seconds)})"
        )
    if old.generated_at and new.generated_at and new.generated_at < old.generated_at:
        notes.append("NEW was generated before OLD: the changes run backwards in time")
    return notes


def _scope(report: Report) -> str:
    return ", ".join(report.product_keys) if report.product_keys else "all products"


def _hours(seconds: float | None) -> str:
    return "unknown" if seconds is None else f"{seconds / 3600:g} h"


def _sum(counts: Iterable[Mapping[str, int]]) -> Counter[str]:
    total: Counter[str] = Counter()
    for item in counts:
        total.update(item)
    return total


def _order(status: str) -> tuple[int, str]:
    known = [str(member) for member in TaskStatus]
    return (known.index(status), "") if status in known else (len(known), status)


def _count_changes(old: Mapping[str, int], new: Mapping[str, int]) -> dict[str, int]:
    statuses = sorted(set(old) | set(new), key=_order)
    deltas = ((status, new.get(status, 0) - old.get(status, 0)) for status in statuses)
    return {status: delta for status, delta in deltas if delta}


def _job_diff(old: Report, new: Report, before: Job | None, after: Job | None) -> JobDiff | None:
    job = after or before
    assert job is not None
    newly = _newly_failed(old, before, after)
    changes = _count_changes(
        before.task_counts if before else {}, after.task_counts if after else {}
    )
    if before is None:
        change: Change = "added"
    elif after is None:
        change = "removed"
    elif (
        changes
        or newly["count"]
        or before.job_status != after.job_status
        or before.failed_count != after.failed_count
        or before.stuck_count != after.stuck_count
    ):
        change = "changed"
    else:
        return None
    report = new if after is not None else old
    package = report.package_of(job)
    return {
        "job_id": job.job_id,
        "change": change,
        "product_key": job.product_key,
        "firmware_id": job.firmware_id,
        "package": package.label if package else None,
        "job_status": _pair(before, after, lambda j: j.job_status),
        "task_count_changes": changes,
        "total_tasks": _pair(before, after, lambda j: j.total),
        "success_rate": _pair(before, after, lambda j: _rounded(j.success_rate)),
        "failed_count": _pair(before, after, lambda j: j.failed_count),
        "stuck_count": _pair(before, after, lambda j: j.stuck_count),
        "complete": _pair(before, after, lambda j: j.complete),
        "newly_failed": newly,
    }


def _pair(before: Job | None, after: Job | None, read: Callable[[Job], object]) -> Pair:
    return {
        "old": read(before) if before else None,
        "new": read(after) if after else None,
    }


def _rounded(rate: float | None) -> float | None:
    return None if rate is None else round(rate, 4)


def _newly_failed(old: Report, before: Job | None, after: Job | None) -> NewlyFailed:
    if after is None:
        return {"count": 0, "exact": True, "devices": []}
    if before is None:
        # A new job: every failed task in it is new.
        names = [device.name for device in after.failed_devices]
        return {"count": after.failed_count, "exact": after.complete, "devices": names}
    was_failed = {device.name for device in before.failed_devices}
    known, undecided = [], 0
    for device in after.failed_devices:
        if device.name in was_failed:
            continue
        changed_since = (
            device.modified is not None
            and old.generated_at is not None
            and device.modified > old.generated_at
        )
        if before.lists_every_failed_device or changed_since:
            known.append(device.name)
        else:
            undecided += 1
    exact = after.lists_every_failed_device and undecided == 0
    floor = max(len(known), after.failed_count - before.failed_count)
    return {"count": len(known) if exact else floor, "exact": exact, "devices": known}
