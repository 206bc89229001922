"""Batch (job) actions (reference section 10)."""

from __future__ import annotations

import functools
import re
from array import array
from collections.abc import Iterable
from typing import Any

from .._time import DAY_MS, HOUR_MS, MINUTE_MS, format_utc_ms
from ..derive import mix64
from ..errors import BusinessError
from ..model import Firmware, Group, Job, Product
from ..tasks import CANCELED, CONFIRM, NOTIFIED, QUEUED
from ._context import ActionContext, Tree, page_slice, page_window, paging_keys
from ._items import job_detail, job_item

__all__ = ["HANDLERS", "read_tags"]

_TARGETS = ("ALL", "SPECIFIC", "GRAY", "GROUP")
_TAG_KEY = re.compile(r"^[A-Za-z0-9.]{1,30}$")
_GRAY = re.compile(r"^\d{1,3}(\.\d{1,3})?$")
_OVERWRITABLE = (CONFIRM, QUEUED, NOTIFIED)


def read_tags(ctx: ActionContext, name: str) -> list[tuple[str, str]] | None:
    """``Tag.N.Key``/``Tag.N.Value`` (or ``Tags.N.*``): <= 10 tags, checked as documented."""
    raw = ctx.params.structs(name, ("Key", "Value"), max_items=10)
    if not raw:
        return None
    tags: list[tuple[str, str]] = []
    for index, item in enumerate(raw, start=1):
        key, value = item.get("Key"), item.get("Value")
        if not key:
            raise BusinessError.missing(f"{name}.{index}.Key")
        if not value:
            raise BusinessError.missing(f"{name}.{index}.Value")
        if not _TAG_KEY.match(key):
            raise BusinessError.invalid(f"{name}.{index}.Key", "1-30 letters, digits or '.'")
        if len(value) > 1024:
            raise BusinessError.invalid(f"{name}.{index}.Value", "at most 1024 characters")
        tags.append((key, value))
    if sum(len(k) + len(v) for k, v in tags) > 4096:
        raise BusinessError.invalid(name, "tags may total at most 4096 characters")
    return tags


def _job_options(ctx: ActionContext) -> dict[str, Any]:
    """The options shared by the three create actions."""
    p = ctx.params
    timeout = p.integer("TimeoutInMinutes", low=1, high=1440)
    retry_interval = p.integer("RetryInterval", allowed=(0, 10, 30, 60, 1440))
    retry_count = p.integer("RetryCount", allowed=(1, 2, 5))
    if retry_interval is not None and retry_count is None:
        raise BusinessError.missing("RetryCount")
    if retry_interval is not None and timeout is not None and retry_interval >= timeout:
        raise BusinessError.invalid("RetryInterval", "must be less than TimeoutInMinutes")
    overwrite = p.integer("OverwriteMode", allowed=(1, 2))
    multi_module = p.boolean("MultiModuleMode") or False
    if overwrite == 2 and multi_module:
        raise BusinessError.invalid("OverwriteMode", "2 cannot be combined with MultiModuleMode")
    need_push = p.boolean("NeedPush")
    # The tuya sample writes "Https"; accept any letter case there, canonical case here.
    protocol = p.choice("DownloadProtocol", ("HTTPS", "MQTT"), case_insensitive=True)
    return {
        "timeout_in_minutes": timeout,
        "retry_interval": retry_interval,
        "retry_count": retry_count if retry_interval is not None else None,
        "overwrite_mode": overwrite or 1,
        "multi_module_mode": multi_module,
        "need_push": True if need_push is None else need_push,
        "need_confirm": p.boolean("NeedConfirm") or False,
        "download_protocol": protocol or "HTTPS",
        "maximum_per_minute": p.integer("MaximumPerMinute", low=10, high=10000) or 10000,
        "tags": read_tags(ctx, "Tag") or [],
    }


def _package_for(ctx: ActionContext, *, upgrade: bool) -> tuple[Firmware, Product]:
    firmware = ctx.firmware()
    product = ctx.required_product()
    if firmware.product_key != product.key:
        raise BusinessError(
            "iot.ota.FirmwareNotExist",
            f"The update package {firmware.firmware_id} does not belong to {product.key}.",
        )
    if upgrade and firmware.status not in (1, -1):
        raise BusinessError(
            "iot.ota.FirmwareNotVerified",
            f"The update package {firmware.firmware_id} has not passed verification.",
        )
    return firmware, product


def _busy_error(product: Product, device: int, module: str) -> BusinessError:
    return BusinessError(
        "iot.ota.DeviceHasUnfinishedTask",
        f"The device {product.device_name(device)} already has an unfinished update task "
        f"for module {module}.",
    )


class _Targets:
    """Devices picked for a new job, with their current versions and displaced tasks."""

    def __init__(self) -> None:
        self.devices: array[int] = array("I")
        self.versions: list[str] = []
        self.overwritten: list[tuple[Job, int]] = []


def _select(
    ctx: ActionContext,
    product: Product,
    firmware: Firmware,
    candidates: Iterable[int],
    *,
    src_versions: list[str],
    overwrite: bool,
    strict: bool,
) -> _Targets:
    """Keep candidates that can take the package.

    Skipped: devices already on the destination version, not on a listed source version,
    or (delta packages) not on the package's source version. A device with an unfinished
    task for the module is skipped, or an error when ``strict`` (named devices), unless
    ``overwrite`` displaces a task that has not started.
    """
    fleet = ctx.fleet
    module = firmware.module_key
    wanted = set(src_versions)
    targets = _Targets()
    for device in candidates:
        version = fleet.device_version(product, device, module)
        if version == firmware.dest_version:
            continue
        if (wanted and version not in wanted) or (
            firmware.type == 1 and version != firmware.src_version
        ):
            continue
        owner = fleet.busy_owner(product, device, module)
        if owner is not None:
            job, row = owner
            if overwrite and job.tasks.status[row] in _OVERWRITABLE:
                targets.overwritten.append(owner)
            elif strict:
                raise _busy_error(product, device, firmware.module_name)
            else:
                continue
        targets.devices.append(device)
        targets.versions.append(version)
    return targets


def _create_job(
    ctx: ActionContext,
    product: Product,
    firmware: Firmware,
    targets: _Targets,
    *,
    job_type: str,
    selection: str,
    target: str,
    options: dict[str, Any],
    src_versions: list[str],
    schedule_ms: int | None = None,
    schedule_finish_ms: int | None = None,
    **extra: Any,
) -> Job:
    fleet, now = ctx.fleet, ctx.now_ms
    for job, row in targets.overwritten:
        fleet.set_task_status(job, row, CANCELED, now, "Overwritten by a newer batch.")
    status = "PLANNED" if schedule_ms is not None else "IN_PROGRESS"
    initial = CONFIRM if options["need_confirm"] else QUEUED
    version_table = sorted(set(targets.versions))
    positions = {version: i for i, version in enumerate(version_table)}
    return fleet.create_job(
        product,
        firmware,
        devices=targets.devices,
        statuses=bytearray([initial]) * len(targets.devices),
        src_codes=array("H", (positions[v] for v in targets.versions)),
        job_type=job_type,
        selection_type=selection,
        target_selection=target,
        status=status,
        src_versions=src_versions,
        utc_create_ms=now,
        utc_modified_ms=now,
        utc_start_ms=None if status == "PLANNED" else now,
        utc_end_ms=None,
        seed=ctx.rng.getrandbits(63),
        default_src_version=None,
        src_version_table=version_table,
        anchor_ms=now,
        stuck_percent=0,
        schedule_ms=schedule_ms,
        schedule_finish_ms=schedule_finish_ms,
        **options,
        **extra,
    )


def _created(ctx: ActionContext, job: Job, *, quirk: bool = False) -> Tree:
    # Seed 003: the tuya-hosted service answers the new job's ID under "firmwareId".
    key = "FirmwareId" if quirk and ctx.tuya else "JobId"
    return {"Data": {key: job.job_id, "UtcCreate": format_utc_ms(job.utc_create_ms)}}


def _named_devices(ctx: ActionContext, product: Product, names: list[str]) -> list[int]:
    return sorted({ctx.device(product, name) for name in names})


def create_ota_verify_job(ctx: ActionContext) -> Tree:
    """CreateOTAVerifyJob: verify a package on up to 10 named devices."""
    firmware, product = _package_for(ctx, upgrade=False)
    names = ctx.params.repeat("TargetDeviceName", required=True, max_items=10)
    options = _job_options(ctx)
    if firmware.status in (1, 2):
        raise BusinessError(
            "iot.ota.VerifyJobExisted",
            f"The update package {firmware.firmware_id} is being verified or already verified.",
        )
    devices = _named_devices(ctx, product, names)
    targets = _Targets()
    for device in devices:
        if ctx.fleet.busy_owner(product, device, firmware.module_key) is not None:
            raise _busy_error(product, device, firmware.module_name)
        targets.devices.append(device)
        targets.versions.append(ctx.fleet.device_version(product, device, firmware.module_key))
    job = _create_job(
        ctx,
        product,
        firmware,
        targets,
        job_type="VERIFY_FIRMWARE",
        selection="STATIC",
        target="SPECIFIC",
        options=options,
        src_versions=[],
    )
    ctx.fleet.start_verification(firmware, ctx.now_ms)
    return _created(ctx, job)


def _gray_percent(text: str) -> float:
    if not _GRAY.match(text) or not 0 < float(text) <= 100:
        raise BusinessError.invalid("GrayPercent", "a percentage in (0, 100] with <= 3 decimals")
    return float(text)


def _schedule_window(ctx: ActionContext) -> tuple[int | None, int | None]:
    """``ScheduleTime`` (5 minutes to 7 days ahead) and ``ScheduleFinishTime`` (1 hour to
    30 days after it), epoch ms."""
    p, now = ctx.params, ctx.now_ms
    schedule = p.integer("ScheduleTime")
    finish = p.integer("ScheduleFinishTime")
    if schedule is not None and not now + 5 * MINUTE_MS <= schedule <= now + 7 * DAY_MS:
        raise BusinessError.invalid("ScheduleTime", "must be 5 minutes to 7 days ahead (epoch ms)")
    if finish is not None:
        if schedule is None:
            raise BusinessError.missing("ScheduleTime")
        if not schedule + HOUR_MS <= finish <= schedule + 30 * DAY_MS:
            raise BusinessError.invalid(
                "ScheduleFinishTime", "1 hour to 30 days after ScheduleTime"
            )
    return schedule, finish


def _specific_devices(ctx: ActionContext, product: Product) -> tuple[Iterable[int], bool]:
    """SPECIFIC targets: the named devices (strict: each must be able to take the package),
    or the existing ones of a device-list file (not strict)."""
    p = ctx.params
    names = p.repeat("TargetDeviceName", max_items=200)
    url = p.text("DnListFileUrl")
    if names and url:
        raise BusinessError.invalid(
            "DnListFileUrl", "give TargetDeviceName or DnListFileUrl, not both"
        )
    if url is not None:
        listed = ctx.fleet.device_lists.get(url)
        if listed is None:
            raise BusinessError(
                "iot.ota.DeviceListFileNotExist", f"The device list file {url} does not exist."
            )
        indices = (product.device_index(name) for name in listed)
        return sorted({i for i in indices if i is not None}), False
    if names:
        return _named_devices(ctx, product, names), True
    raise BusinessError.missing("TargetDeviceName")


def _group(product: Product, group_id: str) -> Group:
    group = product.groups.get(group_id)
    if group is None:
        raise BusinessError("iot.group.NotExistedGroup", f"The group {group_id} does not exist.")
    return group


def _gray_sample(targets: _Targets, percent: float, seed: int) -> _Targets:
    """``percent`` of the targets (rounded down), picked by a hash of ``seed`` and each
    device, in device order."""
    keep = int(len(targets.devices) * percent / 100)  # "rounded down"
    ranked = sorted(range(len(targets.devices)), key=lambda i: mix64(seed ^ targets.devices[i]))
    chosen = sorted(ranked[:keep])
    sample = _Targets()
    sample.devices = array("I", (targets.devices[i] for i in chosen))
    sample.versions = [targets.versions[i] for i in chosen]
    picked = set(sample.devices)
    sample.overwritten = [
        (job, row) for job, row in targets.overwritten if job.tasks.devices[row] in picked
    ]
    return sample


def create_ota_static_upgrade_job(ctx: ActionContext) -> Tree:
    """CreateOTAStaticUpgradeJob: a batch over a fixed set of devices (seed 003)."""
    p = ctx.params
    firmware, product = _package_for(ctx, upgrade=True)
    target = p.choice("TargetSelection", _TARGETS, required=True, case_insensitive=ctx.tuya)
    assert target is not None
    src_versions = p.repeat("SrcVersion")
    options = _job_options(ctx)
    schedule, finish = _schedule_window(ctx)
    select = functools.partial(
        _select,
        ctx,
        product,
        firmware,
        src_versions=src_versions,
        overwrite=options["overwrite_mode"] == 2,
        strict=False,
    )
    extra: dict[str, Any] = {}
    if target == "SPECIFIC":
        candidates, strict = _specific_devices(ctx, product)
        targets = select(candidates, strict=strict)
    elif target == "GROUP":
        group_id = p.required("GroupId")
        p.choice("GroupType", ("LINK_PLATFORM",), required=True)
        group = _group(product, group_id)
        extra.update(group_id=group.group_id, group_name=group.name)
        targets = select(group.devices(product.n_devices))
    else:
        percent = _gray_percent(p.required("GrayPercent")) if target == "GRAY" else 100.0
        targets = select(range(product.n_devices))
        if target == "GRAY":
            extra["gray_percent"] = p.required("GrayPercent")
            targets = _gray_sample(targets, percent, seed=ctx.now_ms ^ firmware.number)
    job = _create_job(
        ctx,
        product,
        firmware,
        targets,
        job_type="UPGRADE_FIRMWARE",
        selection="STATIC",
        target=target,
        options=options,
        src_versions=src_versions,
        schedule_ms=schedule,
        schedule_finish_ms=finish,
        **extra,
    )
    return _created(ctx, job, quirk=True)


def _dynamic_sources(ctx: ActionContext, firmware: Firmware) -> tuple[str | None, list[str]]:
    """The group (with its type) or the source versions a dynamic batch follows."""
    p = ctx.params
    group_id = p.text("GroupId")
    group_type = p.choice("GroupType", ("LINK_PLATFORM_DYNAMIC",))
    src_versions = p.repeat("SrcVersion")
    if group_id is None or group_type is None:
        if group_id is not None:
            raise BusinessError.missing("GroupType")
        if not src_versions:
            raise BusinessError.missing("SrcVersion")
    if len(set(src_versions)) > 10:
        raise BusinessError.invalid("SrcVersion", "at most 10 distinct versions")
    if firmware.type == 1 and src_versions and set(src_versions) != {firmware.src_version}:
        raise BusinessError.invalid("SrcVersion", "must equal the delta package's SrcVersion")
    return group_id, src_versions


def _refuse_second_dynamic_job(ctx: ActionContext, firmware: Firmware) -> None:
    for job in ctx.fleet.jobs_by_firmware.get(firmware.firmware_id, ()):
        if job.selection_type == "DYNAMIC" and job.status == "IN_PROGRESS":
            raise BusinessError(
                "iot.ota.DynamicJobExisted",
                f"The update package {firmware.firmware_id} already has a running dynamic batch.",
            )


def create_ota_dynamic_upgrade_job(ctx: ActionContext) -> Tree:
    """CreateOTADynamicUpgradeJob: keep upgrading devices that match (one per package)."""
    firmware, product = _package_for(ctx, upgrade=True)
    group_id, src_versions = _dynamic_sources(ctx, firmware)
    mode = ctx.params.integer("DynamicMode", allowed=(1, 2)) or 1
    options = _job_options(ctx)
    _refuse_second_dynamic_job(ctx, firmware)
    extra: dict[str, Any] = {"dynamic_mode": mode}
    candidates: Iterable[int] = range(product.n_devices)
    if group_id is not None:
        group = _group(product, group_id)
        extra.update(group_id=group.group_id, group_name=group.name)
        candidates = group.devices(product.n_devices)
    # Mode 2 only reaches devices that report a matching version later: no tasks now.
    targets = (
        _select(
            ctx,
            product,
            firmware,
            candidates,
            src_versions=src_versions,
            overwrite=options["overwrite_mode"] == 2,
            strict=False,
        )
        if mode == 1
        else _Targets()
    )
    job = _create_job(
        ctx,
        product,
        firmware,
        targets,
        job_type="UPGRADE_FIRMWARE",
        selection="DYNAMIC",
        target="ALL",
        options=options,
        src_versions=src_versions,
        **extra,
    )
    return _created(ctx, job)


def _require_running(job: Job) -> None:
    if job.status not in ("IN_PROGRESS", "PLANNED"):
        raise BusinessError(
            "iot.ota.InvalidJobStatus", f"The update batch {job.job_id} is {job.status}."
        )


def update_ota_job(ctx: ActionContext) -> Tree:
    """UpdateOTAJob (undocumented): change rate, timeout, source versions and tags."""
    p = ctx.params
    job = ctx.job()
    target = p.choice("TargetSelection", _TARGETS, required=True, case_insensitive=ctx.tuya)
    p.required("UpgradeType")
    rate = p.integer("MaximumPerMinute", required=True, low=10, high=10000)
    timeout = p.integer("TimeoutInMinutes", low=1, high=1440)
    src_versions = p.repeat("SrcVersionList")
    tags = read_tags(ctx, "Tags")
    if target != job.target_selection:
        raise BusinessError.invalid("TargetSelection", f"the batch's is {job.target_selection}")
    _require_running(job)
    assert rate is not None
    ctx.fleet.update_job(
        job,
        ctx.now_ms,
        maximum_per_minute=rate,
        timeout_in_minutes=timeout,
        src_versions=src_versions,
        tags=tags,
    )
    return {}


def query_ota_job(ctx: ActionContext) -> Tree:
    """QueryOTAJob: one batch in detail."""
    return {"Data": job_detail(ctx, ctx.job())}


def _jobs_newest_first(ctx: ActionContext, jobs: Iterable[Job]) -> list[Job]:
    listed = list(jobs)
    for job in listed:
        ctx.fleet.refresh(job, ctx.now_ms)
    return sorted(listed, key=lambda job: (job.utc_create_ms, job.number), reverse=True)


def list_ota_job_by_firmware(ctx: ActionContext) -> Tree:
    """ListOTAJobByFirmware: a package's batches, newest first (seed 000)."""
    ctx.params.required("FirmwareId")
    page, size = page_window(ctx, 200)
    firmware = ctx.firmware()
    jobs = _jobs_newest_first(ctx, ctx.fleet.jobs_by_firmware.get(firmware.firmware_id, ()))
    items = [job_item(ctx, jobs[i]) for i in page_slice(len(jobs), page, size)]
    return {**paging_keys(len(jobs), page, size), "Data": {"SimpleOTAJobInfo": items}}


def list_ota_job_by_device(ctx: ActionContext) -> Tree:
    """ListOTAJobByDevice: the batches of a package that include a device (seed 004)."""
    p = ctx.params
    p.required("FirmwareId")
    p.required("ProductKey")
    device_name = p.required("DeviceName")
    page, size = page_window(ctx, 100)
    firmware = ctx.firmware()
    product = ctx.required_product()
    device = ctx.device(product, device_name)
    jobs = _jobs_newest_first(
        ctx,
        (
            job
            for job in ctx.fleet.jobs_by_firmware.get(firmware.firmware_id, ())
            if job.product_key == product.key and job.tasks.row_of_device(device) is not None
        ),
    )
    items = [job_item(ctx, jobs[i]) for i in page_slice(len(jobs), page, size)]
    return {**paging_keys(len(jobs), page, size), "Data": {"SimpleOTAJobInfo": items}}


def cancel_ota_strategy_by_job(ctx: ActionContext) -> Tree:
    """CancelOTAStrategyByJob: stop a dynamic batch's policy; the batch becomes CANCELED."""
    job = ctx.job()
    if job.selection_type != "DYNAMIC":
        raise BusinessError(
            "iot.ota.NotDynamicJob", f"The update batch {job.job_id} is not a dynamic batch."
        )
    _require_running(job)
    ctx.fleet.cancel_job(job, ctx.now_ms)
    return {}


HANDLERS = {
    "CreateOTAVerifyJob": create_ota_verify_job,
    "CreateOTAStaticUpgradeJob": create_ota_static_upgrade_job,
    "CreateOTADynamicUpgradeJob": create_ota_dynamic_upgrade_job,
    "UpdateOTAJob": update_ota_job,
    "QueryOTAJob": query_ota_job,
    "ListOTAJobByFirmware": list_ota_job_by_firmware,
    "ListOTAJobByDevice": list_ota_job_by_device,
    "CancelOTAStrategyByJob": cancel_ota_strategy_by_job,
}
