"""``otaclient tasks``: a device's unfinished tasks, a batch's device tasks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from .. import TaskStatus
from .connect import Session
from .listing import output_option, show_items
from .options import Connection, connection_options

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
def tasksshow_items(conn: Connection, job_id: str, status: str | None, output: Path | None) -> None:
    """List a batch's device tasks (ListOTATaskByJob, every page)."""
    show_items(
        conn,
        output,
        TASK_COLUMNS,
        "Device tasks",
        lambda s: s.client.iter_ota_task_by_job(
            job_id=job_id, task_status=status.upper() if status else None
        ),
    )
