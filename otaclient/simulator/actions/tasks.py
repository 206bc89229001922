"""Device-task actions (reference section 11)."""

from __future__ import annotations

from collections.abc import Sequence

from ..derive import CANCELED_TEXT
from ..errors import BusinessError
from ..model import Job
from ..tasks import (
    CANCELED,
    CONFIRM,
    FAILED,
    IN_PROGRESS,
    NOTIFIED,
    QUEUED,
    TASK_STATUSES,
    UNFINISHED,
    status_code,
)
from ._context import ActionContext, Tree, page_slice, page_window, paging_keys
from ._items import task_item

__all__ = ["HANDLERS"]

_MAX_TASK_OFFSET = 100_000
_UNFINISHED_NAMES = ("CONFIRM", "QUEUED", "NOTIFIED", "IN_PROGRESS")


def list_ota_task_by_job(ctx: ActionContext) -> Tree:
    """ListOTATaskByJob: a job's device tasks in a stable order, optionally by status.

    Without a status filter a page costs O(page size); with one, the job's rows in that
    status are indexed once and cached until a task changes status. A page's items are
    kept while the job is unchanged (:mod:`..pages`), for the next client that reads it.
    """
    p = ctx.params
    p.required("JobId")
    page, size = page_window(ctx, 100, required=False)
    if page * size > _MAX_TASK_OFFSET:
        raise BusinessError.page_params(
            f"CurrentPage * PageSize must not exceed {_MAX_TASK_OFFSET}, got {page * size}."
        )
    status = p.choice("TaskStatus", TASK_STATUSES)
    names = p.repeat("DeviceNames", max_items=50)
    job = ctx.job()
    tasks = job.tasks
    if names:
        # Device names given: paging is ignored, every matching task is returned.
        product = ctx.fleet.products[job.product_index]
        found = {product.device_index(name) for name in names}
        rows = sorted(
            row
            for row in (tasks.row_of_device(d) for d in found if d is not None)
            if row is not None and (status is None or tasks.status[row] == status_code(status))
        )
        items = [task_item(ctx, job, row) for row in rows]
        return {**paging_keys(len(items), page, size), "Data": {"SimpleOTATaskInfo": items}}
    if status is None:
        total = len(tasks)
        on_page: Sequence[int] = page_slice(total, page, size)
    else:
        indexed = tasks.rows_with_status(status_code(status))
        total = len(indexed)
        on_page = [indexed[i] for i in page_slice(total, page, size)]
    kept = ctx.fleet.task_pages.items(
        job, (status, page, size), lambda: [task_item(ctx, job, row) for row in on_page]
    )
    return {**paging_keys(total, page, size), "Data": {"SimpleOTATaskInfo": kept}}


def cancel_ota_task_by_job(ctx: ActionContext) -> Tree:
    """CancelOTATaskByJob: cancel a job's tasks in the statuses the flags name."""
    p = ctx.params
    job = ctx.job()
    scheduled = p.boolean("CancelScheduledTask")
    queued = p.boolean("CancelQueuedTask")
    notified = p.boolean("CancelNotifiedTask")
    in_progress = p.boolean("CancelInProgressTask")
    unconfirmed = p.boolean("CancelUnconfirmedTask")
    if not any((scheduled, queued, notified, in_progress, unconfirmed)):
        raise BusinessError(
            "iot.ota.CancelTaskParamsInvalid",
            "At least one of CancelScheduledTask, CancelQueuedTask, CancelNotifiedTask, "
            "CancelInProgressTask and CancelUnconfirmedTask must be true.",
        )
    codes: set[int] = set()
    if queued:
        codes.add(QUEUED)
        if unconfirmed is None:  # documented: QUEUED also cancels CONFIRM unless told otherwise
            codes.add(CONFIRM)
    if notified:
        codes.add(NOTIFIED)
    if in_progress:
        codes.add(IN_PROGRESS)
    if unconfirmed:
        codes.add(CONFIRM)
    if scheduled and job.status == "PLANNED":
        codes.update((QUEUED, CONFIRM))
        ctx.fleet.cancel_job(job, ctx.now_ms)
    for code in sorted(codes):
        # Copy: the cached row index is invalidated by the first status change.
        for row in list(job.tasks.rows_with_status(code)):
            ctx.fleet.set_task_status(job, row, CANCELED, ctx.now_ms, CANCELED_TEXT)
    ctx.fleet.touch_job(job, ctx.now_ms)
    return {}


def cancel_ota_task_by_device(ctx: ActionContext) -> Tree:
    """CancelOTATaskByDevice: cancel QUEUED / NOTIFIED / IN_PROGRESS tasks of named devices."""
    p = ctx.params
    product = ctx.required_product()
    firmware = ctx.firmware()
    names = p.repeat("DeviceName", required=True, max_items=100)
    if firmware.product_key != product.key:
        raise BusinessError(
            "iot.ota.FirmwareNotExist",
            f"The update package {firmware.firmware_id} does not belong to {product.key}.",
        )
    devices = [ctx.device(product, name) for name in names]
    if p.text("JobId") is not None:
        job = ctx.job()
        if job.firmware_id != firmware.firmware_id:
            raise BusinessError(
                "iot.ota.JobNotExist",
                f"The update batch {job.job_id} is not a batch of this package.",
            )
        jobs: list[Job] = [job]
    else:
        jobs = list(ctx.fleet.jobs_by_firmware.get(firmware.firmware_id, ()))
    for job in jobs:
        for device in devices:
            row = job.tasks.row_of_device(device)
            if row is not None and job.tasks.status[row] in (QUEUED, NOTIFIED, IN_PROGRESS):
                ctx.fleet.set_task_status(job, row, CANCELED, ctx.now_ms, CANCELED_TEXT)
    return {}


def _located(ctx: ActionContext, task_ids: list[str]) -> list[tuple[Job, int]]:
    found = []
    for task_id in task_ids:
        located = ctx.fleet.locate_task(task_id)
        if located is None:
            raise BusinessError(
                "iot.ota.TaskNotExist", f"The update task {task_id} does not exist."
            )
        found.append(located)
    return found


def confirm_ota_task(ctx: ActionContext) -> Tree:
    """ConfirmOTATask: CONFIRM -> QUEUED for up to 10 tasks; other statuses are left alone."""
    task_ids = ctx.params.repeat("TaskId", required=True, max_items=10)
    located = _located(ctx, task_ids)
    for job, _ in located:
        ctx.fleet.refresh(job, ctx.now_ms)
        outside = job.status == "PLANNED" or (
            job.schedule_finish_ms is not None and ctx.now_ms > job.schedule_finish_ms
        )
        if outside:
            raise BusinessError(
                "iot.ota.NotInScheduleWindow",
                f"Tasks of the scheduled batch {job.job_id} can only be confirmed "
                "within its schedule window.",
            )
    for job, row in located:
        if job.tasks.status[row] == CONFIRM:
            ctx.fleet.set_task_status(job, row, QUEUED, ctx.now_ms)
            ctx.fleet.touch_job(job, ctx.now_ms)
    return {}


def list_ota_unfinished_task_by_device(ctx: ActionContext) -> Tree:
    """ListOTAUnfinishedTaskByDevice: a device's CONFIRM/QUEUED/NOTIFIED/IN_PROGRESS tasks."""
    p = ctx.params
    module_name = p.text("ModuleName")
    status = p.choice("TaskStatus", _UNFINISHED_NAMES)
    statuses = set(p.repeat("TaskStatusList", max_items=4))
    for name in statuses:
        if name not in _UNFINISHED_NAMES:
            raise BusinessError.invalid("TaskStatusList", f"unknown status {name}")
    if status is not None:
        statuses.add(status)
    wanted = {status_code(name) for name in statuses} or set(UNFINISHED)
    product, device = ctx.device_by_identity()
    items = []
    for job, row in ctx.fleet.unfinished_tasks(product, device):
        if module_name is not None and job.module_key != module_name.lower():
            continue
        if job.tasks.status[row] in wanted:
            items.append(task_item(ctx, job, row, unfinished_variant=True))
    return {"Data": {"SimpleOTATaskInfo": items}}


def reupgrade_ota_task(ctx: ActionContext) -> Tree:
    """ReupgradeOTATask: put FAILED / CANCELED tasks of a job back in the queue."""
    job = ctx.job()
    task_ids = ctx.params.repeat("TaskId", required=True, max_items=100)
    located = _located(ctx, task_ids)
    if job.status == "CANCELED":
        raise BusinessError(
            "iot.ota.InvalidJobStatus", f"The update batch {job.job_id} is CANCELED."
        )
    product = ctx.fleet.products[job.product_index]
    rows = []
    for (owner_job, row), task_id in zip(located, task_ids, strict=True):
        if owner_job is not job:
            raise BusinessError(
                "iot.ota.TaskNotExist", f"The update task {task_id} is not a task of {job.job_id}."
            )
        if job.tasks.status[row] not in (FAILED, CANCELED):
            raise BusinessError(
                "iot.ota.InvalidTaskStatus",
                f"The update task {task_id} is {TASK_STATUSES[job.tasks.status[row]]}; "
                "only FAILED or CANCELED tasks can be upgraded again.",
            )
        if ctx.fleet.busy_owner(product, job.tasks.devices[row], job.module_key) is not None:
            raise BusinessError(
                "iot.ota.DeviceHasUnfinishedTask",
                f"The device of task {task_id} already has an unfinished update task.",
            )
        rows.append(row)
    ctx.fleet.requeue_tasks(job, list(dict.fromkeys(rows)), ctx.now_ms)
    return {}


HANDLERS = {
    "ListOTATaskByJob": list_ota_task_by_job,
    "CancelOTATaskByJob": cancel_ota_task_by_job,
    "CancelOTATaskByDevice": cancel_ota_task_by_device,
    "ConfirmOTATask": confirm_ota_task,
    "ListOTAUnfinishedTaskByDevice": list_ota_unfinished_task_by_device,
    "ReupgradeOTATask": reupgrade_ota_task,
}
