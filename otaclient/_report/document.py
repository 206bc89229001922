"""An audit report read back from its JSON: checked once, then read through typed views.

The checks are those the diff and the page rely on. A field they do not read is not
checked, and a field a report lacks gets a neutral default, so an older or hand-made report
still works. Refused, with a :class:`~otaclient.ReportError` naming the document and the
field: text that is not JSON; a document that is not an object or has no ``"jobs"`` list; a
job that is not an object, has no ``"job_id"``, or repeats another job's; counts that are
not whole numbers >= 0; device lists that are not lists of objects; texts and times that
are not strings.

>>> report = read_report({"jobs": [{"job_id": "J1", "task_counts": {"FAILED": 2}}]})
>>> job = report.jobs[0]
>>> job.job_id, job.total, job.failed_count, job.success_rate
('J1', 2, 2, 0.0)
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import attrs

from .._errors import ReportError
from ..audit import FINISHED, RUNNING_JOB_STATUSES

__all__ = ["Device", "Job", "Package", "Report", "parse_report", "read_report"]


@attrs.frozen
class Device:
    """One failed or stuck device task, as a report lists it."""

    name: str
    """``device_name``, else ``iot_id``, else ``task_id``: what identifies the device."""
    product_key: str | None
    task_status: str | None
    modified: datetime | None
    """``utc_modified``, parsed; ``None`` when absent or not an ISO 8601 time."""
    modified_text: str | None
    """``utc_modified`` as the report wrote it."""
    reason: str | None
    """``task_desc``: the service's account of the task (why it failed)."""
    progress: str | None


@attrs.frozen
class Package:
    """One update package (firmware) of the report's ``"firmware"`` list."""

    firmware_id: str
    name: str | None
    version: str | None
    """The version it installs (``dest_version``)."""
    product_key: str | None
    product_name: str | None

    @property
    def label(self) -> str:
        """``name (version)``, or what of it the report has, else the firmware id."""
        if self.name and self.version and self.version not in self.name:
            return f"{self.name} ({self.version})"
        return self.name or self.version or self.firmware_id


@attrs.frozen
class Job:
    """One batch (job) of the report."""

    job_id: str
    firmware_id: str | None
    product_key: str | None
    job_status: str | None
    running: bool
    task_counts: Mapping[str, int]
    failed_count: int
    """Tasks ``FAILED``: exact, whatever the length of ``failed_devices``."""
    stuck_count: int
    """Tasks stuck: exact, whatever the length of ``stuck_devices``."""
    failed_devices: tuple[Device, ...]
    stuck_devices: tuple[Device, ...]
    complete: bool
    """``False`` when the audit could not read every task of the job."""

    @property
    def total(self) -> int:
        """Device tasks, all statuses."""
        return sum(self.task_counts.values())

    @property
    def finished(self) -> int:
        """Tasks in a terminal status (``SUCCEEDED``, ``FAILED``, ``CANCELED``)."""
        return sum(self.task_counts.get(status, 0) for status in FINISHED)

    @property
    def success_rate(self) -> float | None:
        """``SUCCEEDED / finished``, ``None`` while nothing has finished."""
        finished = self.finished
        return self.task_counts.get("SUCCEEDED", 0) / finished if finished else None

    @property
    def lists_every_failed_device(self) -> bool:
        """Whether ``failed_devices`` names every failed task (the list was not cut)."""
        return self.complete and len(self.failed_devices) >= self.failed_count


@attrs.frozen
class Report:
    """A checked audit report."""

    source: str
    """What the report was read from (a file name), for messages."""
    generated_at: datetime | None
    generated_at_text: str | None
    product_keys: tuple[str, ...] | None
    """The audit's scope; ``None``: every product."""
    stuck_after_seconds: float | None
    jobs: tuple[Job, ...]
    packages: Mapping[str, Package]
    """By firmware id."""

    def package_of(self, job: Job) -> Package | None:
        """The package a job installs, when the report lists it."""
        return self.packages.get(job.firmware_id) if job.firmware_id else None


def parse_report(text: str | bytes, *, source: str = "report") -> Report:
    """Read and check a report from JSON text (what ``audit --format json`` writes)."""
    if not text.strip():
        raise ReportError(f"{source} is empty, not an audit report")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReportError(
            f"{source} is not JSON ({exc.msg} at line {exc.lineno} column {exc.colno}), "
            "so not an audit report"
        ) from None
    except UnicodeDecodeError:
        raise ReportError(f"{source} is not UTF-8 text, so not an audit report") from None
    except RecursionError:
        raise ReportError(f"{source} is nested too deeply to be an audit report") from None
    return read_report(data, source=source)


def read_report(data: object, *, source: str = "report") -> Report:
    """Check an already parsed report (e.g. ``report_to_dict(report)``) and view it."""
    return _Reader(source).report(data)


class _Reader:
    """The checks, with messages that name the document and the field."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, problem: str) -> ReportError:
        return ReportError(
            f"{self.source} is not an audit report (otaclient audit --format json): "
            f"{where} {problem}"
        )

    def report(self, data: object) -> Report:
        if not isinstance(data, Mapping):
            raise self.fail("the document", f"is a JSON {_kind(data)}, not an object")
        if "jobs" not in data:
            raise self.fail("the document", 'has no "jobs" list')
        jobs = tuple(
            self.job(item, f"jobs[{n}]") for n, item in enumerate(self.items(data, "jobs", ""))
        )
        seen: set[str] = set()
        for job in jobs:
            if job.job_id in seen:
                raise self.fail(f"job {job.job_id}", "appears twice")
            seen.add(job.job_id)
        packages = (
            self.package(item, f"firmware[{n}]")
            for n, item in enumerate(self.items(data, "firmware", ""))
        )
        scope = data.get("scope")
        keys = scope.get("product_keys") if isinstance(scope, Mapping) else None
        stuck_after = data.get("stuck_after_seconds")
        generated_text = self.text(data, "generated_at", "")
        return Report(
            source=self.source,
            generated_at=_time(generated_text),
            generated_at_text=generated_text,
            product_keys=tuple(str(key) for key in keys) if isinstance(keys, list) else None,
            stuck_after_seconds=float(stuck_after)
            if isinstance(stuck_after, int | float) and not isinstance(stuck_after, bool)
            else None,
            jobs=jobs,
            packages={package.firmware_id: package for package in packages},
        )

    def job(self, item: object, where: str) -> Job:
        if not isinstance(item, Mapping):
            raise self.fail(where, f"is a JSON {_kind(item)}, not an object")
        job_id = item.get("job_id")
        if not isinstance(job_id, str) or not job_id:
            raise self.fail(where, 'has no "job_id"')
        where = f"job {job_id}"
        counts_data = item.get("task_counts", {})
        if not isinstance(counts_data, Mapping):
            raise self.fail(where, '"task_counts" is not an object')
        counts = {
            str(status): self.count(value, where, f"task_counts.{status}")
            for status, value in counts_data.items()
        }
        failed = tuple(self.devices(item, where, "failed_devices"))
        stuck = tuple(self.devices(item, where, "stuck_devices"))
        status = self.text(item, "job_status", where)
        running = item.get("running")
        return Job(
            job_id=job_id,
            firmware_id=self.text(item, "firmware_id", where),
            product_key=self.text(item, "product_key", where),
            job_status=status,
            running=running if isinstance(running, bool) else status in RUNNING_JOB_STATUSES,
            task_counts=counts,
            failed_count=self.count(
                item.get("failed_count", counts.get("FAILED", 0)), where, "failed_count"
            ),
            stuck_count=self.count(item.get("stuck_count", len(stuck)), where, "stuck_count"),
            failed_devices=failed,
            stuck_devices=stuck,
            complete=item.get("complete") is not False,
        )

    def devices(self, job: Mapping[str, Any], where: str, key: str) -> list[Device]:
        devices = []
        for n, item in enumerate(self.items(job, key, where)):
            here = f"{where} {key}[{n}]"
            if not isinstance(item, Mapping):
                raise self.fail(here, f"is a JSON {_kind(item)}, not an object")
            modified = self.text(item, "utc_modified", here)
            names = (self.text(item, name, here) for name in ("device_name", "iot_id", "task_id"))
            devices.append(
                Device(
                    name=next((name for name in names if name), "?"),
                    product_key=self.text(item, "product_key", here),
                    task_status=self.text(item, "task_status", here),
                    modified=_time(modified),
                    modified_text=modified,
                    reason=self.text(item, "task_desc", here),
                    progress=_scalar_text(item.get("progress")),
                )
            )
        return devices

    def package(self, item: object, where: str) -> Package:
        if not isinstance(item, Mapping):
            raise self.fail(where, f"is a JSON {_kind(item)}, not an object")
        firmware_id = self.text(item, "firmware_id", where)
        if not firmware_id:
            raise self.fail(where, 'has no "firmware_id"')
        return Package(
            firmware_id=firmware_id,
            name=self.text(item, "firmware_name", where),
            version=self.text(item, "dest_version", where),
            product_key=self.text(item, "product_key", where),
            product_name=self.text(item, "product_name", where),
        )

    def items(self, data: Mapping[str, Any], key: str, where: str) -> Sequence[object]:
        value = data.get(key, [])
        if not isinstance(value, list):
            raise self.fail(where or "the document", f'has a "{key}" that is not a list')
        return value

    def text(self, data: Mapping[str, Any], key: str, where: str) -> str | None:
        value = data.get(key)
        if value is not None and not isinstance(value, str):
            raise self.fail(where or "the document", f'has a "{key}" that is not text')
        return value

    def count(self, value: object, where: str, key: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self.fail(where, f'has "{key}": {value!r}, not a whole number >= 0')
        return value


def _kind(value: object) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    return "number" if isinstance(value, int | float) else type(value).__name__


def _time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _scalar_text(value: object) -> str | None:
    return None if value is None or isinstance(value, Mapping | list) else str(value)
