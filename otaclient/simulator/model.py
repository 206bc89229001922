"""Entities of the simulated account: products, modules, groups, packages, batches.

These are plain mutable records; the rules that keep them consistent live in
:mod:`otaclient.simulator.fleet`. Devices and device tasks are not objects at all (see
:mod:`otaclient.simulator.tasks`): a device is an index within its product.
"""

from __future__ import annotations

from typing import Any

import attrs

from .tasks import TaskTable

__all__ = [
    "JOB_STATUSES",
    "Firmware",
    "Group",
    "Job",
    "Module",
    "Product",
]

#: Canonical JobStatus values (the dialects may spell COMPLETED differently).
JOB_STATUSES: tuple[str, ...] = ("PLANNED", "IN_PROGRESS", "COMPLETED", "CANCELED")
DEFAULT_MODULE = "default"


@attrs.define(eq=False)
class Module:
    """An OTA module of a product (``default`` is the whole firmware)."""

    name: str
    product_key: str
    alias_name: str | None
    desc: str | None
    gmt_create_ms: int
    gmt_modified_ms: int

    @property
    def is_default(self) -> bool:
        """Whether this is the product's built-in default module."""
        return self.name == DEFAULT_MODULE


@attrs.define(eq=False)
class Group:
    """A device group: the product's devices ``remainder, remainder + modulus, ...``."""

    group_id: str
    name: str
    group_type: str
    modulus: int
    remainder: int

    def devices(self, n_devices: int) -> range:
        """Device indices of the group."""
        return range(self.remainder, n_devices, self.modulus)


@attrs.define(eq=False)
class Product:
    """A product: its devices are ``0..n_devices-1``, named ``{device_prefix}{index}``."""

    index: int
    key: str
    name: str
    device_prefix: str
    n_devices: int
    #: Global device number of device 0 (IotIds encode ``device_base + index``).
    device_base: int
    #: Modules by lower-cased name (module names are unique case-insensitively).
    modules: dict[str, Module]
    #: Version ladder per module (lower-cased name); devices start on one of the first two.
    versions: dict[str, list[str]]
    groups: dict[str, Group]

    @property
    def name_width(self) -> int:
        """Digits in a device name's number (fixed per product, so names parse back)."""
        return max(6, len(str(max(self.n_devices - 1, 0))))

    def device_name(self, index: int) -> str:
        """Name of device ``index``."""
        return f"{self.device_prefix}{index:0{self.name_width}d}"

    def device_index(self, name: str) -> int | None:
        """Index of the device called ``name``, or ``None`` if there is none."""
        prefix = self.device_prefix
        if not name.startswith(prefix):
            return None
        digits = name[len(prefix) :]
        if len(digits) != self.name_width or not digits.isascii() or not digits.isdigit():
            return None
        index = int(digits)
        return index if index < self.n_devices else None


_BOOKKEEPING = frozenset({"revision", "listed"})


def _count_change(record: Firmware | Job, attribute: attrs.Attribute[Any], value: Any) -> Any:
    # Every assignment after __init__ (attrs runs no on_setattr hook there) moves the stamp,
    # except those of the stamp itself and of what is kept under it.
    if attribute.name not in _BOOKKEEPING:
        object.__setattr__(record, "revision", record.revision + 1)
    return value


@attrs.define(eq=False, on_setattr=_count_change)
class Firmware:
    """An update package."""

    number: int
    firmware_id: str
    name: str
    product_key: str | None
    product_name: str | None
    module_name: str
    dest_version: str
    src_version: str | None
    type: int
    #: 0 unverified, 1 verified, 2 verifying, 3 verification failed, -1 no verification.
    status: int
    verify_progress: int
    sign_method: str
    sign: str | None
    size: int | None
    url: str | None
    multi_files: list[dict[str, Any]]
    desc: str | None
    udi: str | None
    utc_create_ms: int
    utc_modified_ms: int
    #: Assignments to this package's fields so far: what its kept list item is checked
    #: against (``actions._items.firmware_item``). ``multi_files`` is replaced, never
    #: changed in place.
    revision: int = attrs.field(default=0, init=False, repr=False)
    listed: tuple[int, dict[str, Any]] | None = attrs.field(default=None, init=False, repr=False)

    @property
    def module_key(self) -> str:
        """Lower-cased module name (the key modules are unique by)."""
        return self.module_name.lower()


@attrs.define(eq=False, on_setattr=_count_change)
class Job:
    """An update batch (verify or upgrade, static or dynamic) and its device tasks."""

    number: int
    job_id: str
    firmware_id: str
    firmware_name: str
    product_key: str
    product_index: int
    module_key: str
    #: ``UPGRADE_FIRMWARE`` or ``VERIFY_FIRMWARE`` (canonical; aliyun prints ``VERFIY_...``).
    job_type: str
    selection_type: str
    target_selection: str
    #: Canonical JobStatus (``PLANNED``/``IN_PROGRESS``/``COMPLETED``/``CANCELED``).
    status: str
    dest_version: str
    src_versions: list[str]
    utc_create_ms: int
    utc_modified_ms: int
    utc_start_ms: int | None
    utc_end_ms: int | None
    tasks: TaskTable
    #: Per-job hash seed for derived task fields.
    seed: int
    #: Source version reported by tasks without an explicit one.
    default_src_version: str | None
    tags: list[tuple[str, str]] = attrs.field(factory=list)
    desc: str | None = None
    gray_percent: str | None = None
    group_id: str | None = None
    group_name: str | None = None
    download_protocol: str = "HTTPS"
    dynamic_mode: int | None = None
    overwrite_mode: int = 1
    maximum_per_minute: int = 10000
    retry_count: int | None = None
    retry_interval: int | None = None
    timeout_in_minutes: int | None = None
    multi_module_mode: bool = False
    need_push: bool = True
    need_confirm: bool = False
    schedule_ms: int | None = None
    schedule_finish_ms: int | None = None
    #: Source-version strings indexed by ``tasks.src_codes`` (jobs created over the API).
    src_version_table: list[str] = attrs.field(factory=list)
    #: Reference time for derived task times (the fleet anchor for generated jobs).
    anchor_ms: int = 0
    #: Percentage of NOTIFIED / IN_PROGRESS tasks that look stuck for days.
    stuck_percent: int = 0
    #: Assignments to this job's fields so far (see :attr:`stamp`).
    revision: int = attrs.field(default=0, init=False, repr=False)

    @property
    def stamp(self) -> tuple[int, int]:
        """Moves whenever a field of this job is assigned or one of its tasks changes
        status: what a kept page of its tasks is checked against (:mod:`.pages`)."""
        return self.revision, self.tasks.revision
