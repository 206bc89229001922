"""An audit report rendered for ``otaclient audit --format table|json|jsonl|csv``.

* ``json``: ``report_to_dict`` - one object with ``jobs``, ``firmware``, ``totals``, ...;
* ``jsonl``: one job object per line (the objects of ``jobs`` above);
* ``csv``: one row per job, a column per task status;
* ``table``: a fleet summary, a table of jobs, and the devices that failed or are stuck;
* ``html``: one self-contained page (:mod:`otaclient.report`), made from the json form.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from typing import IO

from rich.console import Console
from rich.table import Table

from .. import TaskStatus
from ..audit import FleetReport, JobReport, TaskSummary, iso_time, job_to_dict, report_to_dict
from ..report import read_report, render_html
from .output import cell, make_console, table_width
from .tables import Column, fitted_table

__all__ = ["CSV_FIXED_COLUMNS", "empty_scope_warnings", "render_report"]

CSV_FIXED_COLUMNS = (
    "job_id",
    "firmware_id",
    "product_key",
    "job_status",
    "job_type",
    "running",
    "total_tasks",
)
_CSV_TAIL = ("success_rate", "completion_rate", "failed_count", "stuck_count", "complete")
_DEVICES_SHOWN = 10


def render_report(report: FleetReport, fmt: str, out: IO[str]) -> None:
    """Write ``report`` to ``out`` in ``fmt``."""
    if fmt == "json":
        json.dump(report_to_dict(report), out, indent=2, ensure_ascii=False)
        out.write("\n")
    elif fmt == "jsonl":
        for job in report.jobs:
            out.write(json.dumps(job_to_dict(job), ensure_ascii=False) + "\n")
    elif fmt == "csv":
        _write_csv(report, out)
    elif fmt == "html":
        out.write(render_html(read_report(report_to_dict(report), source="the audit")))
    else:
        _write_tables(report, make_console(out))


def empty_scope_warnings(report: FleetReport) -> list[str]:
    """One stderr line per part of the scope the audit found nothing in.

    An empty scope is not an error (a product may have no packages yet), but a mistyped
    product key must not pass for a fleet without upgrades.

    >>> from datetime import UTC, datetime, timedelta
    >>> from otaclient.audit import AuditStats
    >>> empty = FleetReport.build(generated_at=datetime.now(UTC), stuck_after=timedelta(0),
    ...     product_keys=("NOPE123",), firmware=(), stats=AuditStats(0, 0, 0, 0, 0.0))
    >>> empty_scope_warnings(empty)
    ['warning: no update packages found for --product-key NOPE123']
    """
    found = {item.product_key for item in report.firmware}
    if report.product_keys is None:
        return [] if report.firmware else ["warning: no update packages found in the account"]
    return [
        f"warning: no update packages found for --product-key {key}"
        for key in report.product_keys
        if key not in found
    ]


def _statuses(report: FleetReport) -> list[str]:
    names = [str(status) for status in TaskStatus]
    for job in report.jobs:
        names.extend(status for status in job.task_counts if status not in names)
    return names


def _write_csv(report: FleetReport, out: IO[str]) -> None:
    statuses = _statuses(report)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*CSV_FIXED_COLUMNS, *statuses, *_CSV_TAIL])
    for job in report.jobs:
        data = job_to_dict(job)
        writer.writerow(
            [
                *(cell(data[name]) for name in CSV_FIXED_COLUMNS),
                *(job.task_counts.get(status, 0) for status in statuses),
                *(cell(data[name]) for name in _CSV_TAIL),
            ]
        )


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _summary_table(report: FleetReport) -> Table:
    totals = report.totals
    tasks: TaskSummary = totals.tasks
    scope = ", ".join(report.product_keys) if report.product_keys else "all products"
    table = Table(title=f"Fleet audit - {scope} - as of {iso_time(report.generated_at)}")
    table.add_column("", style="bold")
    table.add_column("", justify="right")
    hours = report.stuck_after.total_seconds() / 3600
    rows = [
        ("Products", f"{totals.products:,}"),
        ("Packages", f"{totals.firmware:,}"),
        ("Batches", f"{totals.jobs:,}"),
        ("Batches running (IN_PROGRESS/PLANNED)", f"{totals.running_jobs:,}"),
        ("Device tasks", f"{tasks.total:,}"),
        *((f"  {status}", f"{count:,}") for status, count in tasks.counts.items()),
        (f"Stuck (NOTIFIED/IN_PROGRESS > {hours:g} h)", f"{tasks.stuck:,}"),
        ("Success rate (SUCCEEDED / finished)", _percent(tasks.success_rate)),
        ("Completion (finished / all)", _percent(tasks.completion_rate)),
        (
            "Requests (retries, throttled)",
            f"{report.stats.requests:,} ({report.stats.retries}, {report.stats.throttled})",
        ),
        ("Elapsed", f"{report.stats.elapsed_seconds:.1f} s"),
    ]
    for name, value in rows:
        table.add_row(name, value)
    return table


def _package_names(report: FleetReport) -> dict[str, str]:
    """Package ID -> ``name version``: what an operator recognises (the ID is in json)."""
    names = {}
    for package in report.firmware:
        words = [w for w in (package.firmware_name, package.dest_version) if w]
        names[package.firmware_id] = " ".join(words) or package.firmware_id
    return names


_JOB_COLUMNS = (
    Column("Job", whole=True, keep=9),
    Column("Package", keep=6),
    Column("Product", whole=True, keep=4),
    Column("Status", whole=True, keep=8),
    Column("Tasks", whole=True, keep=7, justify="right"),
    Column("Succeeded", whole=True, keep=3, justify="right"),
    Column("Failed", whole=True, keep=7, justify="right"),
    Column("Canceled", whole=True, keep=2, justify="right"),
    Column("Unfinished", whole=True, keep=3, justify="right"),
    Column("Stuck", whole=True, keep=6, justify="right"),
    Column("Success", whole=True, keep=7, justify="right"),
)


def _jobs_table(
    jobs: tuple[JobReport, ...], packages: Mapping[str, str], width: int | None
) -> Table:
    rows = []
    for job in jobs:
        tasks = job.tasks
        rows.append(
            [
                job.job_id + ("" if job.complete else " (partial)"),
                packages.get(job.firmware_id or "", job.firmware_id or ""),
                job.product_key or "",
                job.job_status or "",
                f"{tasks.total:,}",
                f"{tasks.succeeded:,}",
                f"{tasks.failed:,}",
                f"{tasks.counts[TaskStatus.CANCELED]:,}",
                f"{tasks.unfinished:,}",
                f"{tasks.stuck:,}",
                _percent(tasks.success_rate),
            ]
        )
    return fitted_table(_JOB_COLUMNS, rows, width, title="Batches")


_DEVICE_COLUMNS = (
    Column("Kind", whole=True, keep=8),
    Column("Device", whole=True, keep=9),
    Column("Product", whole=True, keep=3),
    Column("Job", whole=True, keep=6),
    Column("Status", whole=True, keep=7),
    Column("Last modified", whole=True, keep=4),
    Column("Detail", keep=5),
)


def _devices_table(report: FleetReport, width: int | None) -> Table | None:
    stuck = sorted(
        ((job, issue) for job in report.jobs for issue in job.stuck_devices),
        key=lambda pair: iso_time(pair[1].utc_modified) or "",
    )
    failed = sorted(
        ((job, issue) for job in report.jobs for issue in job.failed_devices),
        key=lambda pair: iso_time(pair[1].utc_modified) or "",
        reverse=True,
    )
    if not stuck and not failed:
        return None
    shown = [("stuck", *pair) for pair in stuck[:_DEVICES_SHOWN]]
    shown += [("failed", *pair) for pair in failed[:_DEVICES_SHOWN]]
    title = (
        f"Devices: longest stuck ({report.totals.tasks.stuck:,} in all) and latest failed "
        f"({report.totals.tasks.failed:,} in all)"
    )
    rows = [
        [
            kind,
            issue.device_name or issue.iot_id or "",
            issue.product_key or "",
            job.job_id,
            issue.task_status or "",
            iso_time(issue.utc_modified) or "",
            issue.task_desc or "",
        ]
        for kind, job, issue in shown
    ]
    caption = "More per job with --format json."
    return fitted_table(_DEVICE_COLUMNS, rows, width, title=title, caption=caption)


def _write_tables(report: FleetReport, console: Console) -> None:
    width = table_width(console)
    console.print(_summary_table(report))
    if report.jobs:
        console.print(_jobs_table(report.jobs, _package_names(report), width))
    devices = _devices_table(report, width)
    if devices is not None:
        console.print(devices)
