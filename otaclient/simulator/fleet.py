"""The simulated account's state and the invariants every mutation keeps.

Invariant worth knowing: a device has at most one *unfinished* task (CONFIRM, QUEUED,
NOTIFIED, IN_PROGRESS) per module. ``Fleet`` keeps one int array per (product, module)
holding, for each device, ``job.number + 1`` of the job whose task is unfinished (0 when
none). Every status change goes through :meth:`Fleet.set_task_status`, which maintains it,
so "is this device busy?" is O(1) even with a million tasks.

Action handlers change the fleet only through its methods (the mutations below), so the
rules stay in one place. What a task reports beyond its status is derived, see
:mod:`otaclient.simulator.derive`.

Tests use the public lookups (:meth:`Fleet.job_ids`, :meth:`Fleet.task_ids`,
:meth:`Fleet.task_status_counts`, ...) as ground truth.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from typing import Any, Literal

from .config import Dialect
from .derive import TaskFields, derive_task, mix64
from .ids import IdCodec
from .model import Firmware, Job, Module, Product
from .pages import PageCache
from .tasks import (
    CANCELED,
    CONFIRM,
    QUEUED,
    SUCCEEDED,
    TASK_STATUSES,
    UNFINISHED,
    TaskTable,
)

__all__ = ["Fleet"]


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
        #: Recently read pages of ListOTATaskByJob, kept while their job is unchanged.
        self.task_pages = PageCache()
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

    def create_firmware(self, **fields: Any) -> Firmware:
        """Number, name and register the next package; ``fields`` gives the rest."""
        number = self.next_firmware_number
        firmware = Firmware(number=number, firmware_id=self.firmware_codec.encode(number), **fields)
        self.add_firmware(firmware)
        return firmware

    def create_job(
        self,
        product: Product,
        firmware: Firmware,
        *,
        devices: Sequence[int],
        statuses: bytearray,
        src_codes: array[int] | None = None,
        **fields: Any,
    ) -> Job:
        """The next job of ``firmware``, one task per device in ``statuses``, registered.

        Fills what follows from the package and the numbering (see :meth:`add_job` for
        the devices' unfinished slots); ``src_codes`` index ``fields["src_version_table"]``
        per task; ``fields`` gives the rest.
        """
        tasks = TaskTable(devices, statuses, self.next_task_number)
        tasks.src_codes = src_codes
        number = len(self.jobs)
        job = Job(
            number=number,
            job_id=self.job_codec.encode(number),
            firmware_id=firmware.firmware_id,
            firmware_name=firmware.name,
            product_key=product.key,
            product_index=product.index,
            module_key=firmware.module_key,
            dest_version=firmware.dest_version,
            tasks=tasks,
            **fields,
        )
        self.add_job(job)
        return job

    def add_job(self, job: Job) -> int:
        """Register a job built elsewhere and claim its devices' unfinished slots.

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
        product = self.products[job.product_index]
        device = job.tasks.devices[row]
        return derive_task(
            job,
            row,
            task_id=self.task_id(job, row),
            device_name=product.device_name(device),
            iot_id=self.iot_id(product, device),
        )

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

    def modify_firmware(
        self,
        firmware: Firmware,
        now_ms: int,
        *,
        name: str | None = None,
        desc: str | None = None,
        udi: str | None = None,
    ) -> None:
        """Rename or re-describe a package (``None`` keeps a field as it is)."""
        if name is not None:
            firmware.name = name
        if desc is not None:
            firmware.desc = desc
        if udi is not None:
            firmware.udi = udi
        firmware.utc_modified_ms = now_ms

    def start_verification(self, firmware: Firmware, now_ms: int) -> None:
        """The package's verify batch was created: it is verifying, from 0 %."""
        firmware.status, firmware.verify_progress = 2, 0
        firmware.utc_modified_ms = now_ms

    def remove_firmware(self, firmware: Firmware) -> None:
        """Forget a package and its list of batches (the batches themselves stay)."""
        del self.firmware[firmware.firmware_id]
        self.jobs_by_firmware.pop(firmware.firmware_id, None)

    def add_module(self, product: Product, module: Module) -> None:
        """Register a custom module (names are unique per product, ignoring case)."""
        product.modules[module.name.lower()] = module

    def update_module(
        self, module: Module, now_ms: int, *, alias: str | None, desc: str | None
    ) -> None:
        """Change a module's alias or description (``None`` keeps it as it is)."""
        if alias is not None:
            module.alias_name = alias
        if desc is not None:
            module.desc = desc
        module.gmt_modified_ms = now_ms

    def remove_module(self, product: Product, module: Module) -> None:
        """Forget a module of ``product``."""
        del product.modules[module.name.lower()]

    def issue_device_list(self, file_url: str) -> None:
        """A GenerateDeviceNameListURL ticket: ``file_url`` exists, nothing uploaded yet."""
        self.device_lists[file_url] = None

    def fill_device_list(self, file_url: str, device_names: list[str]) -> None:
        """The device names uploaded to an issued device-list ticket."""
        if file_url not in self.device_lists:
            raise KeyError(f"{file_url} was not issued by GenerateDeviceNameListURL")
        if len(device_names) > 10_000:
            raise ValueError("a device list file holds at most 10,000 names")
        self.device_lists[file_url] = list(device_names)

    def update_job(
        self,
        job: Job,
        now_ms: int,
        *,
        maximum_per_minute: int,
        timeout_in_minutes: int | None,
        src_versions: list[str],
        tags: list[tuple[str, str]] | None,
    ) -> None:
        """New rate, and timeout, source versions or tags when given (empty or ``None``
        keeps them)."""
        job.maximum_per_minute = maximum_per_minute
        if timeout_in_minutes is not None:
            job.timeout_in_minutes = timeout_in_minutes
        if src_versions:
            job.src_versions = src_versions
        if tags is not None:
            job.tags = tags
        job.utc_modified_ms = now_ms

    def touch_job(self, job: Job, now_ms: int) -> None:
        """Stamp a batch as modified now (something about it or its tasks changed)."""
        job.utc_modified_ms = now_ms

    def cancel_job(self, job: Job, now_ms: int) -> None:
        """The batch is CANCELED (its tasks are left as they are)."""
        job.status = "CANCELED"
        job.utc_modified_ms = now_ms

    def requeue_tasks(self, job: Job, rows: Sequence[int], now_ms: int) -> None:
        """Put finished tasks of ``job`` back in the queue; a COMPLETED batch runs again.

        Tasks of a batch that needs confirmation go back to CONFIRM. Callers check that
        each task's device is free.
        """
        code = CONFIRM if job.need_confirm else QUEUED
        for row in rows:
            self.set_task_status(job, row, code, now_ms)
        if job.status == "COMPLETED":
            job.status, job.utc_end_ms = "IN_PROGRESS", None
        job.utc_modified_ms = now_ms

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
