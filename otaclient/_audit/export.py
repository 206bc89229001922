"""A report as plain, JSON-ready data (str, int, float, bool, None, lists and dicts).

Times become ISO 8601 UTC strings ending in ``Z``; rates are rounded to 4 places. The
shape of ``report_to_dict`` is what ``otaclient audit --format json`` writes:

    {"generated_at", "scope": {"product_keys"}, "stuck_after_seconds",
     "success_rate_definition", "totals": {...}, "firmware": [...], "jobs": [...], "stats": {...}}

Each job has ``job_id``, ``firmware_id``, ``product_key``, ``job_status`` and
``task_counts`` (every task status -> number of device tasks), and more.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from .report import (
    SUCCESS_RATE_DEFINITION,
    DeviceIssue,
    FirmwareReport,
    FleetReport,
    JobReport,
    TaskSummary,
)

__all__ = ["iso_time", "job_to_dict", "report_to_dict", "summary_to_dict"]


def iso_time(value: datetime | None) -> str | None:
    """``2024-09-12T08:14:42.214Z`` (milliseconds kept when present), or ``None``."""
    if value is None:
        return None
    value = value.astimezone(UTC)
    if value.microsecond:
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _rate(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def summary_to_dict(summary: TaskSummary) -> dict[str, Any]:
    """Counts and rates of a ``TaskSummary``."""
    return {
        "total": summary.total,
        "task_counts": dict(summary.counts),
        "finished": summary.finished,
        "unfinished": summary.unfinished,
        "succeeded": summary.succeeded,
        "failed": summary.failed,
        "stuck": summary.stuck,
        "success_rate": _rate(summary.success_rate),
        "completion_rate": _rate(summary.completion_rate),
    }


def _issue_to_dict(issue: DeviceIssue) -> dict[str, Any]:
    return {
        "device_name": issue.device_name,
        "product_key": issue.product_key,
        "iot_id": issue.iot_id,
        "task_id": issue.task_id,
        "task_status": issue.task_status,
        "utc_modified": iso_time(issue.utc_modified),
        "task_desc": issue.task_desc,
        "progress": issue.progress,
    }


def job_to_dict(job: JobReport) -> dict[str, Any]:
    """One batch: identity, status, task counts and rates, failed and stuck devices."""
    summary = job.tasks
    return {
        "job_id": job.job_id,
        "firmware_id": job.firmware_id,
        "product_key": job.product_key,
        "job_status": job.job_status,
        "job_type": job.job_type,
        "selection_type": job.selection_type,
        "target_selection": job.target_selection,
        "running": job.running,
        "utc_create": iso_time(job.utc_create),
        "utc_start_time": iso_time(job.utc_start_time),
        "utc_end_time": iso_time(job.utc_end_time),
        "task_counts": dict(summary.counts),
        "total_tasks": summary.total,
        "finished": summary.finished,
        "success_rate": _rate(summary.success_rate),
        "completion_rate": _rate(summary.completion_rate),
        "failed_count": summary.failed,
        "failed_devices": [_issue_to_dict(issue) for issue in job.failed_devices],
        "stuck_count": summary.stuck,
        "stuck_devices": [_issue_to_dict(issue) for issue in job.stuck_devices],
        "complete": job.complete,
    }


def _firmware_to_dict(firmware: FirmwareReport) -> dict[str, Any]:
    return {
        "firmware_id": firmware.firmware_id,
        "firmware_name": firmware.firmware_name,
        "product_key": firmware.product_key,
        "product_name": firmware.product_name,
        "module_name": firmware.module_name,
        "src_version": firmware.src_version,
        "dest_version": firmware.dest_version,
        "status": firmware.status,
        "type": firmware.type,
        "utc_create": iso_time(firmware.utc_create),
        "job_ids": [job.job_id for job in firmware.jobs],
        "running_jobs": len(firmware.running_jobs),
        **summary_to_dict(firmware.tasks),
    }


def report_to_dict(report: FleetReport) -> dict[str, Any]:
    """The whole report (see the module docstring for its shape)."""
    totals = report.totals
    return {
        "generated_at": iso_time(report.generated_at),
        "scope": {
            "product_keys": list(report.product_keys) if report.product_keys else None,
        },
        "stuck_after_seconds": report.stuck_after.total_seconds(),
        "success_rate_definition": SUCCESS_RATE_DEFINITION,
        "totals": {
            "products": totals.products,
            "firmware": totals.firmware,
            "jobs": totals.jobs,
            "running_jobs": totals.running_jobs,
            "jobs_by_status": dict(totals.jobs_by_status),
            **summary_to_dict(totals.tasks),
        },
        "firmware": [_firmware_to_dict(firmware) for firmware in report.firmware],
        "jobs": [job_to_dict(job) for job in report.jobs],
        "stats": {
            "requests": report.stats.requests,
            "retries": report.stats.retries,
            "throttled": report.stats.throttled,
            "pages": report.stats.pages,
            "elapsed_seconds": report.stats.elapsed_seconds,
        },
    }
