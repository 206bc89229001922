"""The simulated account's state and the invariants every mutation keeps.

Invariant worth knowing: a device has at most one *unfinished* task (CONFIRM, QUEUED,
NOTIFIED, IN_PROGRESS) per module. ``Fleet`` keeps one int array per (product, module)
holding, for each device, ``job.number + 1`` of the job whose task is unfinished (0 when
none). Every status change goes through :meth:`Fleet.set_task_status`, which maintains it,
so "is this device busy?" is O(1) even with a million tasks.

Tests use the public lookups (:meth:`Fleet.job_ids`, :meth:`Fleet.task_ids`,
:meth:`Fleet.task_status_counts`, ...) as ground truth.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections.abc import Iterator
from typing import Any, Literal

import attrs

from ._time import DAY_MS, HOUR_MS
from .config import Dialect
from .ids import IdCodec
from .model import Firmware, Job, Product
from .tasks import (
    CANCELED,
    CONFIRM,
    FAILED,
    IN_PROGRESS,
    NOTIFIED,
    QUEUED,
    SUCCEEDED,
    TASK_STATUSES,
    UNFINISHED,
)

__all__ = ["Fleet", "TaskFields", "mix64"]

_M64 = (1 << 64) - 1

_FAILURE_TEXTS = (
    "Device upgrade timed out.",
    "Device reported an upgrade failure: -2 (download failed).",
    "Device reported an upgrade failure: -3 (signature verification failed).",
    "Device reported an upgrade failure: -4 (flash write failed).",
)
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


class Fleet:
    """Products, packages, batches and device tasks of one simulated account."""

    def __init__(self, *, seed: int, dialect: Dialect, anchor_ms: int) -> None:
        self.seed = seed
        self.dialect: Dialect = dialect
        self.anchor_ms = anchor_ms
        style: Literal["opaque", "numeric"] = "opaque" if dialect == "aliyun" else "numeric"
        self.firmware_codec = IdCodec("firmware", style, seed)
        self.job_codec = IdCodec("job", style, seed)
        self.task_codec = IdCodec("task", style, seed)
        # IotIds are opaque in both dialects (seed 002 shows "OZs5tjTkzRRTZSCekmbRk1****").
        self.device_codec = IdCodec("device", "opaque", seed)
        self.products: list[Product] = []
        self.products_by_key: dict[str, Product] = {}
        self.firmware: dict[str, Firmware] = {}
        self.next_firmware_number = 0
        self.jobs: list[Job] = []
        self.jobs_by_id: dict[str, Job] = {}
        self.jobs_by_firmware: dict[str, list[Job]] = {}
        self.jobs_by_product: dict[str, list[Job]] = {}
        self.next_task_number = 0
        self.next_device_number = 0
        #: DnListFileUrl values handed out by GenerateDeviceNameListURL -> uploaded names.
        self.device_lists: dict[str, list[str] | None] = {}
        self._task_bases: list[int] = []
        self._busy: dict[tuple[int, str], array[int]] = {}
        self._versions: dict[tuple[int, str], array[int]] = {}

    # ----------------------------------------------------------------- registration

    def add_product(self, product: Product) -> None:
        """Register a product (its ``device_base`` must be :attr:`next_device_number`)."""
        self.products.append(product)
        self.products_by_key[product.key] = product
        self.next_device_number = product.device_base + product.n_devices

    def add_firmware(self, firmware: Firmware) -> None:
        """Register a package."""
        self.firmware[firmware.firmware_id] = firmware
        self.jobs_by_firmware.setdefault(firmware.firmware_id, [])
        self.next_firmware_number = max(self.next_firmware_number, firmware.number + 1)

    def new_job_number(self) -> int:
        """Number the next job will get."""
        return len(self.jobs)

    def new_job(self, product: Product, firmware: Firmware, **fields: Any) -> Job:
        """The next job of ``firmware`` (not yet registered: see ``add_job``).

        Fills what follows from the package and the numbering; ``fields`` gives the rest.
        """
        number = self.new_job_number()
        return Job(
            number=number,
            job_id=self.job_codec.encode(number),
            firmware_id=firmware.firmware_id,
            firmware_name=firmware.name,
            product_key=product.key,
            product_index=product.index,
            module_key=firmware.module_key,
            dest_version=firmware.dest_version,
            **fields,
        )

    def add_job(self, job: Job) -> int:
        """Register a job and claim its devices' unfinished slots.

        A generated task that would give a device a second unfinished task for the same
        module is turned into a CANCELED one; returns how many were turned. (Jobs created
        over the API filter such devices out beforehand, so nothing is turned for them.)
        """
        if job.number != len(self.jobs) or job.tasks.base_number != self.next_task_number:
            raise ValueError("jobs must be added in number order with consecutive task numbers")
        self.jobs.append(job)
        self.jobs_by_id[job.job_id] = job
        self.jobs_by_firmware.setdefault(job.firmware_id, []).append(job)
        self.jobs_by_product.setdefault(job.product_key, []).append(job)
        self._task_bases.append(job.tasks.base_number)
        self.next_task_number += len(job.tasks)
        busy = self.busy_array(self.products[job.product_index], job.module_key)
        owner = job.number + 1
        status = job.tasks.status
        devices = job.tasks.devices
        turned = 0
        for row, code in enumerate(status):
            if code in UNFINISHED:
                device = devices[row]
                if busy[device]:
                    status[row] = CANCELED
                    turned += 1
                else:
                    busy[device] = owner
        return turned

    def busy_array(self, product: Product, module_key: str) -> array[int]:
        """Per-device owner of the unfinished task for ``module_key`` (job number + 1, 0 = none)."""
        key = (product.index, module_key)
        busy = self._busy.get(key)
        if busy is None:
            busy = self._busy[key] = array("i", bytes(4 * product.n_devices))
        return busy

    # ----------------------------------------------------------------- lookups

    def product(self, product_key: str | None) -> Product | None:
        """The product with this key, if any."""
        return None if product_key is None else self.products_by_key.get(product_key)

    def iot_id(self, product: Product, device: int) -> str:
        """IotId of a device."""
        return self.device_codec.encode(product.device_base + device)

    def device_by_iot_id(self, iot_id: str) -> tuple[Product, int] | None:
        """``(product, device index)`` of an IotId, or ``None``."""
        number = self.device_codec.decode(iot_id)
        if number is None or number >= self.next_device_number:
            return None
        for product in self.products:
            if product.device_base <= number < product.device_base + product.n_devices:
                return product, number - product.device_base
        return None

    def job(self, job_id: str | None, now_ms: int) -> Job | None:
        """The job with this ID (its scheduled start applied as of ``now_ms``), if any."""
        job = None if job_id is None else self.jobs_by_id.get(job_id)
        if job is not None:
            self.refresh(job, now_ms)
        return job

    def refresh(self, job: Job, now_ms: int) -> None:
        """Start a PLANNED batch whose schedule time has come."""
        if job.status == "PLANNED" and job.schedule_ms is not None and now_ms >= job.schedule_ms:
            job.status = "IN_PROGRESS"
            job.utc_start_ms = job.schedule_ms
            job.utc_modified_ms = max(job.utc_modified_ms, job.schedule_ms)

    def task_id(self, job: Job, row: int) -> str:
        """TaskId of row ``row`` of ``job``."""
        return self.task_codec.encode(job.tasks.base_number + row)

    def locate_task(self, task_id: str) -> tuple[Job, int] | None:
        """``(job, row)`` of a TaskId, or ``None`` if there is no such task."""
        number = self.task_codec.decode(task_id)
        if number is None or number >= self.next_task_number:
            return None
        index = bisect_right(self._task_bases, number) - 1
        if index < 0:
            return None
        job = self.jobs[index]
        row = number - job.tasks.base_number
        return (job, row) if row < len(job.tasks) else None

    def task_fields(self, job: Job, row: int) -> TaskFields:
        """All fields of one task (derived from the job seed unless a mutation set them)."""
        tasks = job.tasks
        code = tasks.status[row]
        digest = mix64(job.seed ^ row)
        created = job.utc_create_ms + (digest & 1023)
        modified = tasks.modified_override(row)
        if not modified:
            modified = self._derived_modified(job, code, digest, created)
        has_desc, desc = tasks.desc_override(row)
        if not has_desc:
            if code == FAILED:
                desc = _FAILURE_TEXTS[(digest >> 30) % len(_FAILURE_TEXTS)]
            elif code == CANCELED:
                desc = CANCELED_TEXT
            else:
                desc = None
        progress = tasks.progress_override(row)
        if progress is None:
            if code == SUCCEEDED:
                progress = 100
            elif code == IN_PROGRESS:
                progress = 1 + (digest >> 40) % 99
            elif code == FAILED:
                progress = (digest >> 40) % 100
            else:
                progress = 0
        if tasks.src_codes is not None:
            src: str | None = job.src_version_table[tasks.src_codes[row]]
        elif job.src_versions:
            src = job.src_versions[(digest >> 8) % len(job.src_versions)]
        else:
            src = job.default_src_version
        product = self.products[job.product_index]
        device = tasks.devices[row]
        return TaskFields(
            task_id=self.task_codec.encode(tasks.base_number + row),
            row=row,
            device_index=device,
            device_name=product.device_name(device),
            iot_id=self.iot_id(product, device),
            status=TASK_STATUSES[code],
            progress=progress,
            desc=desc,
            src_version=src,
            utc_create_ms=created,
            utc_modified_ms=max(modified, created),
        )

    @staticmethod
    def _derived_modified(job: Job, code: int, digest: int, created: int) -> int:
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

    def device_version(self, product: Product, device: int, module_key: str) -> str:
        """The version a device currently runs for a module.

        A device starts on one of the module's first two versions and moves to the
        destination version of every generated batch in which its task SUCCEEDED. API
        mutations never make a task SUCCEEDED, so the table is built once, lazily.
        """
        key = (product.index, module_key)
        table = self._versions.get(key)
        ladder = product.versions.setdefault(module_key, ["1.0.0"])
        if table is None:
            starts = min(2, len(ladder))
            seed = self.seed * 1_000_003 + product.index
            table = array("H", (mix64(seed ^ d) % starts for d in range(product.n_devices)))
            positions = {version: i for i, version in enumerate(ladder)}
            for job in self.jobs_by_product.get(product.key, ()):
                position = positions.get(job.dest_version)
                if job.module_key != module_key or position is None:
                    continue
                devices = job.tasks.devices
                for row in job.tasks.rows_with_status(SUCCEEDED):
                    table[devices[row]] = position
            self._versions[key] = table
        return ladder[table[device]]

    # ----------------------------------------------------------------- mutations

    def set_task_status(
        self, job: Job, row: int, code: int, now_ms: int, desc: str | None = None
    ) -> None:
        """Change a task's status, keeping the one-unfinished-task-per-module invariant.

        Callers check that a task moving to an unfinished status has a free device.
        """
        tasks = job.tasks
        old = tasks.status[row]
        device = tasks.devices[row]
        busy = self.busy_array(self.products[job.product_index], job.module_key)
        owner = job.number + 1
        if old in UNFINISHED and code not in UNFINISHED:
            if busy[device] == owner:
                busy[device] = 0
        elif old not in UNFINISHED and code in UNFINISHED:
            if busy[device] not in (0, owner):
                raise ValueError("device already has an unfinished task for this module")
            busy[device] = owner
        tasks.set_status(row, code, now_ms, desc)

    def busy_owner(self, product: Product, device: int, module_key: str) -> tuple[Job, int] | None:
        """``(job, row)`` of the device's unfinished task for a module, if any."""
        key = (product.index, module_key)
        busy = self._busy.get(key)
        if busy is None or not busy[device]:
            return None
        job = self.jobs[busy[device] - 1]
        row = job.tasks.row_of_device(device)
        return None if row is None else (job, row)

    def unfinished_tasks(self, product: Product, device: int) -> list[tuple[Job, int]]:
        """Every unfinished ``(job, row)`` of a device (one per module at most), oldest first."""
        found = []
        for (product_index, _module), busy in self._busy.items():
            if product_index == product.index and busy[device]:
                job = self.jobs[busy[device] - 1]
                row = job.tasks.row_of_device(device)
                if row is not None:
                    found.append((job, row))
        return sorted(found, key=lambda pair: pair[0].number)

    def firmware_sorted(self) -> list[Firmware]:
        """Packages, newest first (ties broken by creation order)."""
        return sorted(
            self.firmware.values(), key=lambda f: (f.utc_create_ms, f.number), reverse=True
        )

    # ----------------------------------------------------------------- ground truth

    def job_ids(self) -> list[str]:
        """IDs of every job, in creation order."""
        return [job.job_id for job in self.jobs]

    def firmware_ids(self) -> list[str]:
        """IDs of every package still present, in creation order."""
        return list(self.firmware)

    def task_ids(self, job_id: str, status: str | None = None) -> list[str]:
        """TaskIds of a job (optionally only those in ``status``), in listing order."""
        job = self.jobs_by_id[job_id]
        if status is None:
            rows: Iterator[int] | array[int] = iter(range(len(job.tasks)))
        else:
            rows = job.tasks.rows_with_status(TASK_STATUSES.index(status))
        return [self.task_id(job, row) for row in rows]

    def task_status_counts(self, job_id: str) -> dict[str, int]:
        """Number of tasks per TaskStatus of a job."""
        return self.jobs_by_id[job_id].tasks.counts()

    @property
    def total_tasks(self) -> int:
        """Number of device tasks across every job."""
        return self.next_task_number
