"""``otaclient tasks``: a device's unfinished tasks, a batch's device tasks; re-upgrade and
confirm a batch's tasks (writes: ``writes.py``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from .. import TaskStatus
from ..operations import OPERATIONS
from .connect import Session
from .listing import output_option, show_items
from .options import Connection, connection_options
from .writes import Call, Done, Plan, carry_out, in_batches, write_options

__all__ = ["tasks"]

TASK_COLUMNS = (
    "task_id",
    "job_id",
    "device_name",
    "product_key",
    "task_status",
    "src_version",
    "dest_version",
    "progress",
    "task_desc",
    "utc_modified",
)
_STATUS_CHOICE = click.Choice([str(status) for status in TaskStatus], case_sensitive=False)


@click.group()
def tasks() -> None:
    """Device upgrade tasks."""


@tasks.command("unfinished")
@connection_options
@click.option("--product-key", metavar="PK", help="The device's product (with --device-name).")
@click.option("--device-name", metavar="NAME", help="The device (with --product-key).")
@click.option("--iot-id", metavar="ID", help="The device's IotId, instead of the two above.")
@click.option("--module-name", metavar="NAME", help="Only this OTA module.")
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=click.Choice(["CONFIRM", "QUEUED", "NOTIFIED", "IN_PROGRESS"], case_sensitive=False),
    help="Only tasks in this status (repeatable).",
)
@output_option
def tasks_unfinished(
    conn: Connection,
    product_key: str | None,
    device_name: str | None,
    iot_id: str | None,
    module_name: str | None,
    statuses: tuple[str, ...],
    output: Path | None,
) -> None:
    """List a device's unfinished tasks (ListOTAUnfinishedTaskByDevice)."""
    if not iot_id and not (product_key and device_name):
        raise click.UsageError("name the device: --product-key and --device-name, or --iot-id")

    async def items(session: Session) -> list[Any]:
        return await session.client.list_ota_unfinished_task_by_device(
            product_key=product_key,
            device_name=device_name,
            iot_id=iot_id,
            module_name=module_name,
            task_status_list=[status.upper() for status in statuses] or None,
        )

    show_items(conn, output, TASK_COLUMNS, "Unfinished tasks", items)


@tasks.command("list")
@connection_options
@click.option("--job-id", required=True, metavar="ID", help="The batch.")
@click.option("--status", type=_STATUS_CHOICE, help="Only tasks in this status.")
@output_option
def tasks_list(conn: Connection, job_id: str, status: str | None, output: Path | None) -> None:
    """List a batch's device tasks (ListOTATaskByJob, every page).

    The table's task_desc column is the service's reason for a failure or cancellation.
    """
    show_items(
        conn,
        output,
        # One batch: its ID would fill a column with the same 26 characters on every row.
        tuple(column for column in TASK_COLUMNS if column != "job_id"),
        f"Device tasks of job {job_id}",
        lambda s: s.client.iter_ota_task_by_job(
            job_id=job_id, task_status=status.upper() if status else None
        ),
        noun="device tasks",
    )


# ReupgradeOTATask takes 1 to 10 task IDs per call (Alibaba Cloud's API reference; the
# project's reference gives no number, and the client itself refuses only what no request
# can carry): the command line sends batches the service is documented to accept.
REUPGRADE_BATCH = 10
CONFIRM_BATCH = OPERATIONS["ConfirmOTATask"].param("task_ids").max_items or 10
_REUPGRADABLE = click.Choice(["failed", "canceled"], case_sensitive=False)


async def _task_ids(session: Session, job_id: str, statuses: Sequence[str]) -> list[str]:
    """The IDs of ``job_id``'s tasks in ``statuses``, in listing order, each once."""
    found: dict[str, None] = {}
    for status in statuses:
        async for task in session.client.iter_ota_task_by_job(job_id=job_id, task_status=status):
            if task.task_id:
                found[task.task_id] = None
    return list(found)


def _reporter(conn: Connection, where: str, key: str, verb: str) -> Done:
    """Print ``N tasks of job J queued again`` (json: ``{"queued": N, "task_ids": [...]}``),
    counting only the task IDs of calls the service accepted."""

    def report(made: Sequence[tuple[Call, Any]]) -> None:
        task_ids = [task_id for call, _ in made for task_id in call.arguments["task_ids"]]
        if conn.output_format in ("json", "jsonl"):
            click.echo(json.dumps({key: len(task_ids), "task_ids": task_ids}))
        else:
            plural = "s" if len(task_ids) != 1 else ""
            click.echo(f"{len(task_ids)} task{plural} of {where} {verb}")

    return report


_keep_going = click.option(
    "--keep-going",
    is_flag=True,
    help="When the service refuses one call (e.g. a device is busy with another task), "
    "send the others anyway and report the refusals at the end.",
)


_BUSY_DEVICE = frozenset({"iot.ota.DeviceHasUnfinishedTask"})
"""The service refuses a whole ReupgradeOTATask call when one of its tasks' devices is busy
with another batch's task: the others are sent again without it."""


@tasks.command("reupgrade")
@connection_options
@click.option("--job-id", required=True, metavar="ID", help="The batch.")
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=_REUPGRADABLE,
    help="Re-upgrade the tasks in this status (repeatable; default: failed).",
)
@_keep_going
@write_options
def tasks_reupgrade(
    conn: Connection,
    job_id: str,
    statuses: tuple[str, ...],
    keep_going: bool,
    yes: bool,
    dry_run: bool,
) -> None:
    """Upgrade a batch's failed (or canceled) tasks again (ReupgradeOTATask).

    Lists the batch's tasks in those statuses, asks for confirmation unless --yes, then
    sends them in batches of 10 task IDs and prints how many were queued again. A batch
    refused because a device is busy with another batch's task is sent again without that
    task, and the tasks refused alone are named at the end (exit status 1). No call is
    sent twice: after an ambiguous failure it stops and says what to check; running the
    same command again re-upgrades only the tasks still in those statuses.
    """
    wanted = list(dict.fromkeys(status.upper() for status in statuses)) or ["FAILED"]

    async def plan(session: Session) -> Plan:
        queued = await _task_ids(session, job_id, wanted)
        return Plan(
            [
                Call(
                    "ReupgradeOTATask",
                    {"job_id": job_id, "task_ids": batch},
                    split="task_ids",
                    split_on=_BUSY_DEVICE,
                )
                for batch in in_batches(queued, REUPGRADE_BATCH)
            ],
            summary=f"Re-upgrade {len(queued)} {'/'.join(wanted)} tasks of job {job_id}",
            check_with=f"otaclient tasks list --job-id {job_id}"
            + "".join(f" --status {status.lower()}" for status in wanted[:1]),
            nothing=f"no {' or '.join(wanted)} tasks in job {job_id}: nothing to re-upgrade",
        )

    report = _reporter(conn, f"job {job_id}", "queued", "queued again")
    carry_out(conn, plan, yes=yes, dry_run=dry_run, done=report, keep_going=keep_going)


@tasks.command("confirm")
@connection_options
@click.option("--job-id", metavar="ID", help="Confirm every task of this batch waiting in CONFIRM.")
@click.option(
    "--task-id", "task_ids", multiple=True, metavar="ID", help="Confirm this task (repeatable)."
)
@_keep_going
@write_options
def tasks_confirm(
    conn: Connection,
    job_id: str | None,
    task_ids: tuple[str, ...],
    keep_going: bool,
    yes: bool,
    dry_run: bool,
) -> None:
    """Confirm tasks waiting in CONFIRM, so the devices upgrade (ConfirmOTATask).

    Name the tasks with --task-id, or give --job-id to confirm every task of the batch
    waiting for confirmation. Sent in batches of 10 task IDs (the action's limit), each
    once; asks for confirmation unless --yes.
    """
    if bool(job_id) == bool(task_ids):
        raise click.UsageError("give --job-id or --task-id, not both")
    where = f"job {job_id}" if job_id else "the given tasks"

    def plan_of(ids: list[str]) -> Plan:
        return Plan(
            [
                Call("ConfirmOTATask", {"task_ids": batch})
                for batch in in_batches(ids, CONFIRM_BATCH)
            ],
            summary=f"Confirm {len(ids)} tasks of {where}",
            check_with=f"otaclient tasks list --job-id {job_id} --status confirm"
            if job_id
            else "otaclient tasks unfinished --iot-id ID (for each device)",
            nothing=f"no tasks of {where} wait in CONFIRM: nothing to confirm",
        )

    async def listed(session: Session) -> Plan:
        assert job_id is not None
        return plan_of(await _task_ids(session, job_id, ["CONFIRM"]))

    carry_out(
        conn,
        listed if job_id else plan_of(list(dict.fromkeys(task_ids))),
        yes=yes,
        dry_run=dry_run,
        done=_reporter(conn, where, "confirmed", "confirmed"),
        keep_going=keep_going,
    )
