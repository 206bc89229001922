"""The JSON shape of a report, registered on the library's one unstructure converter.

``otaclient.audit`` calls ``configure_converter`` on that converter (``otaclient.to_plain``'s),
which already turns every attrs class into a dict of its fields, times into ISO 8601 UTC
strings ending in ``Z`` and enums into their values. What is registered here is only what a
report says beyond its fields, and where: the counts and rates derived from a
``TaskSummary`` (rates rounded to 4 places), a package's batch ids, the scope. Each class's
shape is its fields' dict with some keys replaced in place (``_spliced``). The shape is what
``otaclient audit --format json`` writes:

    {"generated_at", "scope": {"product_keys"}, "stuck_after_seconds",
     "success_rate_definition", "totals": {...}, "firmware": [...], "jobs": [...], "stats": {...}}

Each job has ``job_id``, ``firmware_id``, ``product_key``, ``job_status`` and
``task_counts`` (every task status -> number of device tasks), ``failed_count`` and
``stuck_count``, and more (CONTRACT.md, "Command line"); ``moved`` (the statuses whose
count changed while the audit read them) only when there are some. A report of a stopped
audit starts with ``"complete": false``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import cattrs

from .report import (
    SUCCESS_RATE_DEFINITION,
    FirmwareReport,
    FleetReport,
    FleetTotals,
    JobReport,
    TaskSummary,
)

__all__ = ["configure_converter"]

Plain = dict[str, Any]
Splice = Callable[[Any, Plain], Plain]
"""``splice(value, fields)``: what takes the place of one key of ``value``'s fields dict."""


def _rate(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _nothing(value: Any, fields: Plain) -> Plain:
    return {}


def _spliced(conv: cattrs.Converter, cls: type[Any], **splices: Splice) -> Callable[[Any], Plain]:
    """A hook: ``cls``'s fields as the converter gives them, each key named in ``splices``
    replaced, where it stood, by what its splice returns."""
    fields_of = conv.get_unstructure_hook(cls)  # the generic one, before ours replaces it

    def hook(value: Any) -> Plain:
        fields = fields_of(value)
        out: Plain = {}
        for key, item in fields.items():
            splice = splices.get(key)
            if splice is None:
                out[key] = item
            else:
                out.update(splice(value, fields))
        return out

    return hook


def _summary_shape(conv: cattrs.Converter) -> Callable[[Any], Plain]:
    def counts(summary: TaskSummary, fields: Plain) -> Plain:
        return {
            "total": summary.total,
            "task_counts": fields["counts"],
            "finished": summary.finished,
            "unfinished": summary.unfinished,
            "succeeded": summary.succeeded,
            "failed": summary.failed,
        }

    def stuck(summary: TaskSummary, fields: Plain) -> Plain:
        return {
            "stuck": fields["stuck"],
            "success_rate": _rate(summary.success_rate),
            "completion_rate": _rate(summary.completion_rate),
        }

    return _spliced(conv, TaskSummary, counts=counts, stuck=stuck)


def _job_shape(conv: cattrs.Converter) -> Callable[[Any], Plain]:
    # The contract's names for a job's counts: task_counts, failed_count, stuck_count.
    def target_selection(job: JobReport, fields: Plain) -> Plain:
        return {"target_selection": fields["target_selection"], "running": job.running}

    def tasks(job: JobReport, fields: Plain) -> Plain:
        summary = fields["tasks"]
        return {
            "task_counts": summary["task_counts"],
            "total_tasks": summary["total"],
            "finished": summary["finished"],
            "success_rate": summary["success_rate"],
            "completion_rate": summary["completion_rate"],
            "failed_count": summary["failed"],
        }

    def stuck_devices(job: JobReport, fields: Plain) -> Plain:
        return {"stuck_count": fields["tasks"]["stuck"], "stuck_devices": fields["stuck_devices"]}

    def moved(job: JobReport, fields: Plain) -> Plain:
        # Only where counts moved while read: a job read still keeps the shape it always had.
        return {"moved": list(job.moved)} if job.moved else {}

    return _spliced(
        conv,
        JobReport,
        target_selection=target_selection,
        tasks=tasks,
        stuck_devices=stuck_devices,
        moved=moved,
    )


def _firmware_shape(conv: cattrs.Converter) -> Callable[[Any], Plain]:
    def jobs(firmware: FirmwareReport, fields: Plain) -> Plain:
        return {
            "job_ids": [job.job_id for job in firmware.jobs],
            "running_jobs": len(firmware.running_jobs),
        }

    return _spliced(conv, FirmwareReport, jobs=jobs, tasks=_summary_in_place)


def _summary_in_place(value: Any, fields: Plain) -> Plain:
    summary: Plain = fields["tasks"]
    return summary


def _report_shape(conv: cattrs.Converter) -> Callable[[Any], Plain]:
    def stuck_after(report: FleetReport, fields: Plain) -> Plain:
        return {
            "scope": {"product_keys": list(report.product_keys) if report.product_keys else None},
            "stuck_after_seconds": fields["stuck_after"],
            "success_rate_definition": SUCCESS_RATE_DEFINITION,
        }

    def firmware(report: FleetReport, fields: Plain) -> Plain:
        return {
            "totals": fields["totals"],
            "firmware": fields["firmware"],
            "jobs": [conv.unstructure(job) for job in report.jobs],
        }

    return _spliced(
        conv,
        FleetReport,
        stuck_after=stuck_after,
        product_keys=_nothing,
        firmware=firmware,
        totals=_nothing,
    )


def configure_converter(conv: cattrs.Converter) -> None:
    """Register the reports' JSON shapes on ``conv`` (the summary's first: the others
    contain one)."""
    conv.register_unstructure_hook(TaskSummary, _summary_shape(conv))
    conv.register_unstructure_hook(JobReport, _job_shape(conv))
    conv.register_unstructure_hook(FirmwareReport, _firmware_shape(conv))
    conv.register_unstructure_hook(
        FleetTotals, _spliced(conv, FleetTotals, tasks=_summary_in_place)
    )
    conv.register_unstructure_hook(FleetReport, _report_shape(conv))
