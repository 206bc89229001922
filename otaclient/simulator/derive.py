"""What a device task reports when no mutation set it, derived from its job's seed.

A job stores one status byte per task (:mod:`otaclient.simulator.tasks`). Everything else
a task reports (creation and modification times, progress, error text, source version) is
computed here from ``mix64(job.seed ^ row)``, so a million tasks cost a megabyte and read
the same on every request. Only values a mutation wrote (the task table's overrides) win.
"""

from __future__ import annotations

import attrs

from ._time import DAY_MS, HOUR_MS
from .model import Job
from .tasks import (
    CANCELED,
    CONFIRM,
    FAILED,
    IN_PROGRESS,
    NOTIFIED,
    QUEUED,
    SUCCEEDED,
    TASK_STATUSES,
)

__all__ = ["CANCELED_TEXT", "TaskFields", "derive_task", "mix64"]

_M64 = (1 << 64) - 1

_FAILURE_TEXTS = (
    "Device upgrade timed out.",
    "Device reported an upgrade failure: -2 (download failed).",
    "Device reported an upgrade failure: -3 (signature verification failed).",
    "Device reported an upgrade failure: -4 (flash write failed).",
)
#: The description of a task canceled over the API.
CANCELED_TEXT = "Canceled by user."


def mix64(value: int) -> int:
    """SplitMix64 finaliser: a cheap, well-spread hash of one integer."""
    value = (value + 0x9E3779B97F4A7C15) & _M64
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & _M64
    return value ^ (value >> 31)


@attrs.frozen
class TaskFields:
    """Every field of one device task, computed on demand."""

    task_id: str
    row: int
    device_index: int
    device_name: str
    iot_id: str
    status: str
    progress: int
    desc: str | None
    src_version: str | None
    utc_create_ms: int
    utc_modified_ms: int


def derive_task(job: Job, row: int, *, task_id: str, device_name: str, iot_id: str) -> TaskFields:
    """Row ``row`` of ``job``, with the names the fleet gives it."""
    tasks = job.tasks
    code = tasks.status[row]
    digest = mix64(job.seed ^ row)
    created = job.utc_create_ms + (digest & 1023)
    modified = tasks.modified_override(row) or _modified(job, code, digest, created)
    has_desc, desc = tasks.desc_override(row)
    if not has_desc:
        desc = _desc(code, digest)
    progress = tasks.progress_override(row)
    if progress is None:
        progress = _progress(code, digest)
    return TaskFields(
        task_id=task_id,
        row=row,
        device_index=tasks.devices[row],
        device_name=device_name,
        iot_id=iot_id,
        status=TASK_STATUSES[code],
        progress=progress,
        desc=desc,
        src_version=_src_version(job, row, digest),
        utc_create_ms=created,
        utc_modified_ms=max(modified, created),
    )


def _modified(job: Job, code: int, digest: int, created: int) -> int:
    if code in (CONFIRM, QUEUED):
        return created
    anchor = job.anchor_ms
    if code in (NOTIFIED, IN_PROGRESS):
        if (digest >> 12) % 100 < job.stuck_percent:
            # Stuck: last heard of between 2 and 20 days before the anchor.
            return anchor - (2 * DAY_MS + (digest >> 20) % (18 * DAY_MS))
        return anchor - (digest >> 20) % (6 * HOUR_MS)
    end = job.utc_end_ms or job.utc_modified_ms or anchor
    return created + (digest >> 20) % max(1, end - created)


def _desc(code: int, digest: int) -> str | None:
    if code == FAILED:
        return _FAILURE_TEXTS[(digest >> 30) % len(_FAILURE_TEXTS)]
    if code == CANCELED:
        return CANCELED_TEXT
    return None


def _progress(code: int, digest: int) -> int:
    if code == SUCCEEDED:
        return 100
    if code == IN_PROGRESS:
        return 1 + (digest >> 40) % 99
    if code == FAILED:
        return (digest >> 40) % 100
    return 0


def _src_version(job: Job, row: int, digest: int) -> str | None:
    tasks = job.tasks
    if tasks.src_codes is not None:
        return job.src_version_table[tasks.src_codes[row]]
    if job.src_versions:
        return job.src_versions[(digest >> 8) % len(job.src_versions)]
    return job.default_src_version
