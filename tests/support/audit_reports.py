"""Hand-made audit reports, shaped like ``otaclient audit --format json`` output.

Each builder returns plain dicts (what ``json.load`` gives back) with only the fields a
test cares about set by hand; the rest take the audit's usual shape.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

GENERATED_AT = "2026-03-10T12:00:00Z"
#: A name that is markup if anything forgets to escape it, in text or in an attribute.
HOSTILE = "<script>alert(1)</script> & \"quoted\" 'single'"
STATUSES = ("CONFIRM", "QUEUED", "NOTIFIED", "IN_PROGRESS", "SUCCEEDED", "FAILED", "CANCELED")


def device(
    name: str,
    *,
    status: str = "FAILED",
    modified: str = "2026-03-09T12:00:00Z",
    desc: str | None = "Device reported an upgrade failure: -2 (download failed).",
    progress: str | None = "15",
) -> dict[str, Any]:
    """One entry of a job's ``failed_devices`` or ``stuck_devices``."""
    return {
        "device_name": name,
        "product_key": "a1PK",
        "iot_id": f"iot-{name}",
        "task_id": f"task-{name}",
        "task_status": status,
        "utc_modified": modified,
        "task_desc": desc,
        "progress": progress,
    }


def job(
    job_id: str,
    *,
    counts: dict[str, int] | None = None,
    status: str = "IN_PROGRESS",
    firmware_id: str = "FW1",
    failed: list[dict[str, Any]] | None = None,
    failed_count: int | None = None,
    stuck: list[dict[str, Any]] | None = None,
    stuck_count: int | None = None,
    complete: bool = True,
) -> dict[str, Any]:
    """One job; ``failed_count`` defaults to ``counts["FAILED"]``, ``stuck_count`` to the
    number of stuck devices listed."""
    full = {name: 0 for name in STATUSES} | (counts or {})
    return {
        "job_id": job_id,
        "firmware_id": firmware_id,
        "product_key": "a1PK",
        "job_status": status,
        "job_type": "UPGRADE_FIRMWARE",
        "running": status in ("IN_PROGRESS", "PLANNED"),
        "task_counts": full,
        "total_tasks": sum(full.values()),
        "failed_count": full["FAILED"] if failed_count is None else failed_count,
        "failed_devices": failed or [],
        "stuck_count": len(stuck or []) if stuck_count is None else stuck_count,
        "stuck_devices": stuck or [],
        "complete": complete,
    }


def firmware(
    firmware_id: str = "FW1", *, name: str = "fw-main", version: str = "2.0.0"
) -> dict[str, Any]:
    """One entry of the report's ``firmware`` list."""
    return {
        "firmware_id": firmware_id,
        "firmware_name": name,
        "product_key": "a1PK",
        "product_name": "Air Purifier",
        "src_version": "1.0.0",
        "dest_version": version,
    }


def report(
    *jobs: dict[str, Any],
    generated_at: str = GENERATED_AT,
    packages: list[dict[str, Any]] | None = None,
    product_keys: list[str] | None = None,
    stuck_after_seconds: float = 86400.0,
) -> dict[str, Any]:
    """A whole report of these jobs."""
    return {
        "generated_at": generated_at,
        "scope": {"product_keys": product_keys},
        "stuck_after_seconds": stuck_after_seconds,
        "success_rate_definition": "SUCCEEDED / (SUCCEEDED + FAILED + CANCELED)",
        "firmware": packages if packages is not None else [firmware()],
        "jobs": list(jobs),
    }


def many_jobs(count: int) -> dict[str, Any]:
    """A report of ``count`` jobs over ``count // 10`` packages, every third one failing."""
    jobs = []
    for n in range(count):
        failures = [device(f"dev-{n}-{k}") for k in range(2)] if n % 3 == 0 else []
        jobs.append(
            job(
                f"JOB{n:05d}xxxxxxxxxxxxxxxx02",
                counts={"SUCCEEDED": 90 + n % 7, "FAILED": len(failures) * 3, "QUEUED": n % 5},
                firmware_id=f"FW{n // 10}",
                failed=failures,
            )
        )
    packages = [firmware(f"FW{n}", name=f"fw-{n}", version=f"1.{n}.0") for n in range(count // 10)]
    return report(*jobs, packages=packages)


def write(path: Path, data: object) -> Path:
    """``data`` as a JSON file at ``path``; returns the path."""
    path.write_text(json.dumps(data), encoding="utf-8")
    return path
