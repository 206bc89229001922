"""Deterministic fleet generation from a :class:`FleetSpec` and a seed.

All randomness comes from one ``random.Random(seed)``: the same spec, seed, dialect and
anchor always give the same products, packages, jobs, task statuses and IDs.
"""

from __future__ import annotations

import hashlib
import random
import string
from typing import Any

from ._time import DAY_MS, HOUR_MS, MINUTE_MS
from .config import Dialect, FleetSpec
from .fleet import Fleet
from .model import DEFAULT_MODULE, Firmware, Group, Job, Module, Product
from .tasks import FAILED

__all__ = ["build_fleet"]

_PRODUCT_NAMES = (
    ("Smart Lock", "lock-"),
    ("Air Purifier", "purifier-"),
    ("EV Charger", "charger-"),
    ("Door Sensor", "sensor-"),
    ("Thermostat", "thermo-"),
    ("Smart Plug", "plug-"),
    ("Edge Gateway", "gw-"),
    ("Camera", "cam-"),
)
_MODULE_NAMES = ("ble", "wifi", "mcu", "modem", "bootloader", "display", "zigbee", "audio")
_ALNUM = string.ascii_letters + string.digits

# Task-status weights (CONFIRM, QUEUED, NOTIFIED, IN_PROGRESS, SUCCEEDED, FAILED, CANCELED).
_WEIGHTS = {
    "IN_PROGRESS": (0, 15, 10, 15, 35, 10, 5),
    "IN_PROGRESS_CONFIRM": (12, 12, 8, 13, 35, 10, 5),
    "COMPLETED": (0, 0, 0, 0, 80, 15, 5),
    "CANCELED": (0, 0, 0, 0, 30, 10, 60),
    "VERIFYING": (0, 30, 20, 30, 20, 0, 0),
    "VERIFY_FAILED": (0, 0, 0, 0, 50, 50, 0),
    "PLANNED": (0, 100, 0, 0, 0, 0, 0),
    "PLANNED_CONFIRM": (100, 0, 0, 0, 0, 0, 0),
}
_CODES = range(7)


def _statuses(rng: random.Random, weights: tuple[int, ...], count: int) -> bytearray:
    return bytearray(rng.choices(_CODES, weights, k=count))


def _product_key(rng: random.Random, dialect: Dialect) -> str:
    # aliyun keys look like "a19mzPZ****", tuya-hosted ones like "k1h9drZ****".
    prefix = "a1" if dialect == "aliyun" else "k1"
    return prefix + "".join(rng.choice(_ALNUM) for _ in range(9))


def _ladder(rng: random.Random, length: int) -> list[str]:
    major, minor, patch = 1, 0, 0
    versions = []
    for _ in range(length):
        versions.append(f"{major}.{minor}.{patch}")
        step = rng.random()
        if step < 0.15:
            major, minor, patch = major + 1, 0, 0
        elif step < 0.7:
            minor, patch = minor + 1, 0
        else:
            patch += 1
    return versions


def _device_range(rng: random.Random, n_devices: int, count: int, step: int = 1) -> range:
    span = (count - 1) * step + 1
    start = rng.randrange(0, n_devices - span + 1)
    return range(start, start + span, step)


class _Builder:
    def __init__(self, spec: FleetSpec, seed: int, dialect: Dialect, anchor_ms: int) -> None:
        self.spec = spec
        self.rng = random.Random(seed)
        self.dialect: Dialect = dialect
        self.anchor = anchor_ms
        self.fleet = Fleet(seed=seed, dialect=dialect, anchor_ms=anchor_ms)
        self.upgrade_jobs = 0
        self.confirm_job_made = False

    def build(self) -> Fleet:
        for index in range(self.spec.products):
            product = self._product(index)
            self.fleet.add_product(product)
        for product in self.fleet.products:
            self._firmware_of(product)
        return self.fleet

    def _product(self, index: int) -> Product:
        rng, spec = self.rng, self.spec
        name, prefix = _PRODUCT_NAMES[index % len(_PRODUCT_NAMES)]
        if index >= len(_PRODUCT_NAMES):
            round_ = index // len(_PRODUCT_NAMES) + 1
            name, prefix = f"{name} {round_}", f"{prefix[:-1]}{round_}-"
        key = _product_key(rng, self.dialect)
        created = self.anchor - rng.randrange(400, 800) * DAY_MS
        modules = {
            DEFAULT_MODULE: Module(DEFAULT_MODULE, key, None, "Whole firmware", created, created)
        }
        custom = list(_MODULE_NAMES)
        rng.shuffle(custom)
        for module_name in custom[: min(spec.modules_per_product, 10)]:
            modules[module_name] = Module(
                module_name, key, module_name.upper(), f"{module_name} module", created, created
            )
        ladder_length = spec.firmware_per_product + 3
        versions = {module: _ladder(rng, ladder_length) for module in modules}
        group_ids = [
            "".join(rng.choice(_ALNUM) for _ in range(10)) + f"{index:02d}{g}" for g in range(2)
        ]
        groups = {
            gid: Group(gid, f"{prefix[:-1]}-group-{g + 1}", "LINK_PLATFORM", 3, g)
            for g, gid in enumerate(group_ids)
        }
        return Product(
            index=index,
            key=key,
            name=name,
            device_prefix=prefix,
            n_devices=spec.devices_per_product,
            device_base=self.fleet.next_device_number,
            modules=modules,
            versions=versions,
            groups=groups,
        )

    def _firmware_status(self, number: int) -> int:
        if not self.spec.verify_jobs:
            return -1
        # The first packages cover every status; later ones are mostly usable for upgrades.
        forced = {1: 2, 2: 3, 3: 0}
        if number in forced:
            return forced[number]
        return self.rng.choice((1, 1, 1, 1, -1, -1))

    def _firmware_of(self, product: Product) -> None:
        rng, fleet = self.rng, self.fleet
        module_names = list(product.modules)
        per_module: dict[str, int] = {}
        for k in range(self.spec.firmware_per_product):
            module = module_names[k % len(module_names)]
            position = per_module.get(module, 0)
            per_module[module] = position + 1
            ladder = product.versions[module]
            delta = rng.random() < 0.3
            created = self.anchor - rng.randrange(60 * DAY_MS, 360 * DAY_MS)
            dest = ladder[min(2 + position, len(ladder) - 1)]
            digest = hashlib.md5(f"{product.key}/{module}/{dest}".encode()).hexdigest()
            status = self._firmware_status(fleet.next_firmware_number)
            short = product.device_prefix[:-1]
            firmware = fleet.create_firmware(
                name=f"{short}-{module}-v{dest.replace('.', '_')}",  # names allow no dots
                product_key=product.key,
                product_name=product.name,
                module_name=module,
                dest_version=dest,
                src_version=ladder[min(1 + position, len(ladder) - 2)] if delta else None,
                type=1 if delta else 0,
                status=status,
                verify_progress={1: 100, 2: rng.randrange(10, 90), 3: 100}.get(status, 0),
                sign_method="MD5",
                sign=digest,
                size=rng.randrange(64_000, 16_000_000),
                url=f"https://iotx-ota.oss-cn-shanghai.aliyuncs.com/ota/{digest[:16]}/{dest}.bin",
                multi_files=[],
                desc=f"{product.name} {module} {dest}",
                udi=None,
                utc_create_ms=created,
                utc_modified_ms=created,
            )
            self._jobs_of(product, firmware)

    def _jobs_of(self, product: Product, firmware: Firmware) -> None:
        rng = self.rng
        if firmware.status in (1, 2, 3):
            self._verify_job(product, firmware)
        if firmware.status not in (1, -1):
            return
        count = rng.randint(*self.spec.jobs_per_firmware)
        # Creation times ascend with job number, so "newest first" is well defined.
        earliest = firmware.utc_create_ms + DAY_MS
        times = sorted(
            rng.randrange(earliest, max(earliest + 1, self.anchor - 3 * DAY_MS))
            for _ in range(count)
        )
        dynamic_running = False
        for created in times:
            dynamic_running = self._upgrade_job(product, firmware, created, dynamic_running)

    def _history(self, status: str, created: int) -> tuple[int | None, int]:
        """When a batch created at ``created`` ended (if it did) and was last modified."""
        rng = self.rng
        if status == "COMPLETED":
            finished = min(created + rng.randrange(HOUR_MS, 10 * DAY_MS), self.anchor - HOUR_MS)
            return max(created, finished), max(created, finished)
        if status == "CANCELED":
            return None, min(created + rng.randrange(HOUR_MS, 5 * DAY_MS), self.anchor - HOUR_MS)
        if status == "PLANNED":
            return None, created
        return None, max(created, self.anchor - rng.randrange(0, 2 * DAY_MS))

    def _job(
        self,
        product: Product,
        firmware: Firmware,
        *,
        job_type: str,
        selection: str,
        target: str,
        status: str,
        created: int,
        devices: range,
        weights: tuple[int, ...],
        src_versions: list[str],
        **extra: Any,
    ) -> Job:
        rng = self.rng
        ladder = product.versions[firmware.module_key]
        end, modified = self._history(status, created)
        if status == "PLANNED":
            weights = _WEIGHTS["PLANNED_CONFIRM" if extra.get("need_confirm") else "PLANNED"]
        start = None if status == "PLANNED" else created + rng.randrange(0, MINUTE_MS)
        statuses = _statuses(rng, weights, len(devices))
        if job_type == "VERIFY_FIRMWARE" and status == "COMPLETED" and firmware.status == 3:
            statuses[0] = FAILED  # a failed verification has at least one failure
        seed = rng.getrandbits(63)
        return self.fleet.create_job(
            product,
            firmware,
            devices=devices,
            statuses=statuses,
            job_type=job_type,
            selection_type=selection,
            target_selection=target,
            status=status,
            src_versions=src_versions,
            utc_create_ms=created,
            utc_modified_ms=max(created, modified),
            utc_start_ms=start,
            utc_end_ms=end,
            seed=seed,
            default_src_version=firmware.src_version or ladder[0],
            anchor_ms=self.anchor,
            stuck_percent=self.spec.stuck_percent,
            timeout_in_minutes=rng.choice((None, 60, 1440)),
            **extra,
        )

    def _verify_job(self, product: Product, firmware: Firmware) -> None:
        rng = self.rng
        count = min(rng.randint(1, 10), product.n_devices)
        step = max(1, min(50, product.n_devices // count))
        devices = _device_range(rng, product.n_devices, count, step)
        status = "IN_PROGRESS" if firmware.status == 2 else "COMPLETED"
        weights = {
            1: (0, 0, 0, 0, 100, 0, 0),
            2: _WEIGHTS["VERIFYING"],
            3: _WEIGHTS["VERIFY_FAILED"],
        }[firmware.status]
        created = firmware.utc_create_ms + rng.randrange(HOUR_MS, DAY_MS)
        if status == "IN_PROGRESS":
            created = max(created, self.anchor - 2 * DAY_MS)
        self._job(
            product,
            firmware,
            job_type="VERIFY_FIRMWARE",
            selection="STATIC",
            target="SPECIFIC",
            status=status,
            created=created,
            devices=devices,
            weights=weights,
            src_versions=[],
        )

    def _next_status(self) -> str:
        statuses = self.spec.job_statuses
        index = self.upgrade_jobs
        self.upgrade_jobs += 1
        if statuses:
            return statuses[index % len(statuses)]
        cover = ("IN_PROGRESS", "COMPLETED", "CANCELED", "PLANNED")
        if index < len(cover):
            return cover[index]
        return self.rng.choice(("IN_PROGRESS",) * 4 + ("COMPLETED",) * 4 + ("CANCELED", "PLANNED"))

    def _upgrade_job(
        self, product: Product, firmware: Firmware, created: int, dynamic_running: bool
    ) -> bool:
        """One generated upgrade batch; returns whether a dynamic batch of ``firmware`` is
        now running (a package has at most one)."""
        rng, spec = self.rng, self.spec
        n = product.n_devices
        count = min(rng.randint(*spec.tasks_per_job), n)
        status = self._next_status()
        dynamic = (
            count > 0
            and not dynamic_running
            and status in ("IN_PROGRESS", "CANCELED")
            and spec.job_statuses is None
            and rng.random() < 0.2
        )
        created, extra = self._schedule(status, created)
        need_confirm = self._needs_confirmation(status, dynamic)
        extra.update(self._rollout(need_confirm))
        ladder = product.versions[firmware.module_key]
        src_versions = [ladder[0]] if rng.random() < 0.5 else []
        if firmware.type == 1 and firmware.src_version is not None:
            src_versions = [firmware.src_version]  # a delta package only applies to its source
        if dynamic:
            selection, target = "DYNAMIC", "ALL"
            extra["dynamic_mode"] = rng.choice((1, 2))
            devices = _device_range(rng, n, count)
            src_versions = src_versions or [ladder[0]]
        else:
            selection = "STATIC"
            target, devices = self._static_targets(product, count, extra)
        self._job(
            product,
            firmware,
            job_type="UPGRADE_FIRMWARE",
            selection=selection,
            target=target,
            status=status,
            created=created,
            devices=devices,
            weights=_WEIGHTS[
                "IN_PROGRESS_CONFIRM" if status == "IN_PROGRESS" and need_confirm else status
            ],
            src_versions=src_versions,
            **extra,
        )
        return dynamic_running or (dynamic and status == "IN_PROGRESS")

    def _schedule(self, status: str, created: int) -> tuple[int, dict[str, object]]:
        """The creation time a batch in ``status`` can have, and its schedule if PLANNED."""
        rng = self.rng
        extra: dict[str, object] = {}
        if status == "PLANNED":
            created = self.anchor - rng.randrange(HOUR_MS, 2 * DAY_MS)
            schedule = self.anchor + rng.randrange(HOUR_MS, 6 * DAY_MS)
            extra["schedule_ms"] = schedule
            if rng.random() < 0.5:
                extra["schedule_finish_ms"] = schedule + rng.randrange(HOUR_MS, 7 * DAY_MS)
        elif status == "IN_PROGRESS":
            created = min(created, self.anchor - 3 * DAY_MS)
        return created, extra

    def _needs_confirmation(self, status: str, dynamic: bool) -> bool:
        need_confirm = not dynamic and self.rng.random() < 0.25
        if status == "IN_PROGRESS" and not dynamic and not self.confirm_job_made:
            need_confirm = True  # make sure CONFIRM tasks exist somewhere in the fleet
        self.confirm_job_made = self.confirm_job_made or (need_confirm and status == "IN_PROGRESS")
        return need_confirm

    def _rollout(self, need_confirm: bool) -> dict[str, object]:
        """How a batch reaches its devices: confirmation, push, retries, protocol, rate, tags."""
        rng = self.rng
        options: dict[str, object] = {"need_confirm": need_confirm}
        options["need_push"] = rng.random() < 0.9
        if rng.random() < 0.4:
            options["retry_interval"] = rng.choice((0, 10, 30))
            options["retry_count"] = rng.choice((1, 2, 5))
        options["download_protocol"] = "HTTPS" if rng.random() < 0.9 else "MQTT"
        options["maximum_per_minute"] = rng.choice((100, 1000, 10000))
        if rng.random() < 0.4:
            options["tags"] = [
                ("env", rng.choice(("prod", "staging"))),
                ("wave", str(rng.randint(1, 9))),
            ]
        return options

    def _static_targets(
        self, product: Product, count: int, extra: dict[str, object]
    ) -> tuple[str, range]:
        """A static batch's TargetSelection and its ``count`` devices (group and gray
        details go into ``extra``)."""
        rng, n = self.rng, product.n_devices
        choices = ["ALL", "ALL", "GRAY"]
        if count <= 200:
            choices += ["SPECIFIC", "SPECIFIC"]
        if count * 3 <= n and product.groups:
            choices.append("GROUP")
        target = rng.choice(choices) if self.spec.job_statuses is None else "ALL"
        if target == "SPECIFIC":
            step = rng.randint(1, max(1, min(7, (n - 1) // max(count - 1, 1))))
            return target, _device_range(rng, n, count, step)
        if target == "GROUP":
            group = rng.choice(list(product.groups.values()))
            extra["group_id"], extra["group_name"] = group.group_id, group.name
            members = group.devices(n)
            return target, members[: min(count, len(members))]
        devices = _device_range(rng, n, count)
        if target == "GRAY":
            extra["gray_percent"] = rng.choice(("5", "10", "20", "33.3", "50"))
        return target, devices


def build_fleet(spec: FleetSpec, *, seed: int, dialect: Dialect, anchor_ms: int) -> Fleet:
    """Generate the fleet described by ``spec``.

    >>> fleet = build_fleet(FleetSpec.demo(), seed=1, dialect="aliyun", anchor_ms=1_700_000_000_000)
    >>> len(fleet.products), len(fleet.firmware)
    (3, 12)
    """
    return _Builder(spec, seed, dialect, anchor_ms).build()
