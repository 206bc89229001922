"""The list items and detail structs of the OTA responses (reference section 8).

Built with aliyun (PascalCase) names; the renderer lower-cases first letters for tuya.
"""

from __future__ import annotations

from .._time import format_utc_ms
from ..derive import mix64
from ..model import Firmware, Job
from ._context import ActionContext, Tree

__all__ = [
    "firmware_detail",
    "firmware_item",
    "job_detail",
    "job_item",
    "job_status_text",
    "job_type_text",
    "task_item",
]


def _utc(epoch_ms: int | None) -> str | None:
    return None if epoch_ms is None else format_utc_ms(epoch_ms)


def _drop_none(tree: Tree, keep: tuple[str, ...] = ()) -> Tree:
    return {key: value for key, value in tree.items() if value is not None or key in keep}


def job_status_text(ctx: ActionContext, job: Job, *, in_list: bool) -> str:
    """JobStatus as this dialect and action print it.

    The aliyun job lists document ``COMPLETE`` while QueryOTAJob and the samples say
    ``COMPLETED``; with ``odd_enums`` about half the completed jobs (fixed per job) are
    listed as ``COMPLETE`` so clients must accept both.
    """
    if (
        job.status == "COMPLETED"
        and in_list
        and not ctx.tuya
        and ctx.odd_enums
        and mix64(job.seed) & 1
    ):
        return "COMPLETE"
    return job.status


def job_type_text(ctx: ActionContext, job: Job) -> str:
    """JobType: aliyun documents the verify type misspelt ``VERFIY_FIRMWARE``."""
    if job.job_type == "VERIFY_FIRMWARE" and not ctx.tuya and ctx.odd_enums:
        return "VERFIY_FIRMWARE"
    return job.job_type


def _tags(job: Job) -> Tree | None:
    if not job.tags:
        return None
    return {"OtaTagDTO": [{"Key": key, "Value": value} for key, value in job.tags]}


def firmware_item(ctx: ActionContext, firmware: Firmware) -> Tree:
    """SimpleFirmwareInfo (ListOTAFirmware). ``SrcVersion`` is null for full packages.

    Built once per revision of the package and handed out again (building is most of what
    a page of packages costs the simulator): callers render it, never change it.
    """
    listed = firmware.listed
    if listed is not None and listed[0] == firmware.revision:
        return listed[1]
    item = _firmware_item(firmware)
    # Stored under the revision it was built from: storing moves no revision (see model).
    firmware.listed = (firmware.revision, item)
    return item


def _firmware_item(firmware: Firmware) -> Tree:
    single = not firmware.multi_files
    return _drop_none(
        {
            "FirmwareId": firmware.firmware_id,
            "FirmwareName": firmware.name,
            "FirmwareDesc": firmware.desc,
            "FirmwareSign": firmware.sign if single else None,
            "FirmwareSize": firmware.size if single else None,
            "SignMethod": firmware.sign_method,
            "SrcVersion": firmware.src_version,
            "DestVersion": firmware.dest_version,
            "ModuleName": firmware.module_name,
            "ProductKey": firmware.product_key,
            "ProductName": firmware.product_name,
            # -1 ("no verification required") is documented for QueryOTAFirmware only.
            "Status": max(firmware.status, 0),
            "Type": firmware.type,
            "UtcCreate": _utc(firmware.utc_create_ms),
            "UtcModified": _utc(firmware.utc_modified_ms),
        },
        keep=("SrcVersion",),
    )


def firmware_detail(ctx: ActionContext, firmware: Firmware) -> Tree:
    """FirmwareInfo (QueryOTAFirmware)."""
    single = not firmware.multi_files
    return _drop_none(
        {
            "FirmwareId": firmware.firmware_id,
            "FirmwareName": firmware.name,
            "FirmwareDesc": firmware.desc,
            "FirmwareSign": firmware.sign if single else None,
            "FirmwareUrl": firmware.url if single else None,
            "FirmwareSize": firmware.size if single else None,
            "MultiFiles": None if single else [dict(item) for item in firmware.multi_files],
            "SignMethod": firmware.sign_method,
            "SrcVersion": firmware.src_version,
            "DestVersion": firmware.dest_version,
            "ModuleName": firmware.module_name,
            "ProductKey": firmware.product_key,
            "ProductName": firmware.product_name,
            "Status": firmware.status,
            "Type": firmware.type,
            "VerifyProgress": firmware.verify_progress,
            "Udi": firmware.udi,
            "UtcCreate": _utc(firmware.utc_create_ms),
            "UtcModified": _utc(firmware.utc_modified_ms),
        },
        keep=("SrcVersion",),
    )


def job_item(ctx: ActionContext, job: Job) -> Tree:
    """SimpleOTAJobInfo (ListOTAJobByFirmware / ListOTAJobByDevice).

    The tuya-hosted sample (seed 000) has no start/end times and no tags.
    """
    item: Tree = {
        "JobId": job.job_id,
        "FirmwareId": job.firmware_id,
        "ProductKey": job.product_key,
        "JobStatus": job_status_text(ctx, job, in_list=True),
        "JobType": job_type_text(ctx, job),
        "SelectionType": job.selection_type,
        "TargetSelection": job.target_selection,
        "UtcCreate": _utc(job.utc_create_ms),
        "UtcModified": _utc(job.utc_modified_ms),
    }
    if not ctx.tuya:
        item["UtcStartTime"] = _utc(job.utc_start_ms)
        item["UtcEndTime"] = _utc(job.utc_end_ms) if job.status == "COMPLETED" else None
        item["Tags"] = _tags(job)
    return _drop_none(item)


def job_detail(ctx: ActionContext, job: Job) -> Tree:
    """The ``Data`` struct of QueryOTAJob."""
    dynamic = job.selection_type == "DYNAMIC"
    return _drop_none(
        {
            "JobId": job.job_id,
            "FirmwareId": job.firmware_id,
            "ProductKey": job.product_key,
            "Name": job.firmware_name,
            "JobDesc": job.desc,
            "JobStatus": job_status_text(ctx, job, in_list=False),
            "JobType": job_type_text(ctx, job),
            "SelectionType": job.selection_type,
            "TargetSelection": job.target_selection,
            "DestVersion": job.dest_version,
            "SrcVersions": {"SrcVersion": list(job.src_versions)},
            "Tags": _tags(job) or {"OtaTagDTO": []},
            "GrayPercent": job.gray_percent,
            "GroupId": job.group_id,
            "GroupName": job.group_name,
            "DownloadProtocol": job.download_protocol,
            "DynamicMode": job.dynamic_mode if dynamic else None,
            "OverwriteMode": job.overwrite_mode,
            "MaximumPerMinute": job.maximum_per_minute,
            "RetryCount": job.retry_count,
            "RetryInterval": job.retry_interval,
            "TimeoutInMinutes": job.timeout_in_minutes,
            "MultiModuleMode": job.multi_module_mode,
            "NeedPush": job.need_push,
            "NeedConfirm": job.need_confirm,
            "UtcCreate": _utc(job.utc_create_ms),
            "UtcModified": _utc(job.utc_modified_ms),
            "UtcStartTime": _utc(job.utc_start_ms),
            "UtcEndTime": _utc(job.utc_end_ms) if job.status == "COMPLETED" else None,
            "UtcScheduleTime": _utc(job.schedule_ms),
            "UtcScheduleFinishTime": _utc(job.schedule_finish_ms),
        }
    )


def task_item(ctx: ActionContext, job: Job, row: int, *, unfinished_variant: bool = False) -> Tree:
    """SimpleOTATaskInfo: the ListOTATaskByJob variant, or the unfinished-by-device one."""
    fields = ctx.fleet.task_fields(job, row)
    product = ctx.fleet.products[job.product_index]
    item: Tree = {
        "TaskId": fields.task_id,
        "JobId": job.job_id,
        "FirmwareId": job.firmware_id,
        "IotId": fields.iot_id,
        "ProductKey": job.product_key,
        "ProductName": product.name,
        "DeviceName": fields.device_name,
    }
    if unfinished_variant:
        module = product.modules.get(job.module_key)
        item["ModuleName"] = module.name if module is not None else job.module_key
    item["SrcVersion"] = fields.src_version
    item["DestVersion"] = job.dest_version
    item["TaskStatus"] = fields.status
    if not unfinished_variant:
        item["Progress"] = str(fields.progress)
        item["TaskDesc"] = fields.desc
        item["Timeout"] = None if job.timeout_in_minutes is None else str(job.timeout_in_minutes)
    item["UtcCreate"] = format_utc_ms(fields.utc_create_ms)
    item["UtcModified"] = format_utc_ms(fields.utc_modified_ms)
    return _drop_none(item, keep=("Timeout",))
