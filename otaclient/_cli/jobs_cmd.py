"""``otaclient jobs``: list a package's or a device's batches, show one, create one."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from .. import CreatedJob, DownloadProtocol, GroupType, OTATag, TargetSelection
from ..operations import OPERATIONS
from .connect import Session, open_session
from .failures import CliFailure, run_async
from .listing import output_option, show_items
from .options import Connection, connection_options
from .output import record, write_records
from .watch_cmd import watch

__all__ = ["jobs"]

JOB_COLUMNS = (
    "job_id",
    "firmware_id",
    "product_key",
    "job_status",
    "job_type",
    "selection_type",
    "target_selection",
    "utc_create",
    "utc_end_time",
)


@click.group()
def jobs() -> None:
    """Upgrade batches (jobs)."""


@jobs.command("list")
@connection_options
@click.option("--firmware-id", required=True, metavar="ID", help="The package's ID.")
@click.option("--product-key", metavar="PK", help="With --device-name: one device's batches.")
@click.option(
    "--device-name",
    metavar="NAME",
    help="List the batches of this device (ListOTAJobByDevice; needs --product-key).",
)
@output_option
def jobsshow_items(
    conn: Connection,
    firmware_id: str,
    product_key: str | None,
    device_name: str | None,
    output: Path | None,
) -> None:
    """List a package's batches (ListOTAJobByFirmware), or one device's
    (ListOTAJobByDevice, with --product-key and --device-name)."""
    if bool(product_key) != bool(device_name):
        raise click.UsageError("--product-key and --device-name go together")

    def items(session: Session) -> AsyncIterator[Any]:
        if product_key and device_name:
            return session.client.iter_ota_job_by_device(
                firmware_id=firmware_id, product_key=product_key, device_name=device_name
            )
        return session.client.iter_ota_job_by_firmware(firmware_id=firmware_id)

    show_items(conn, output, JOB_COLUMNS, "Batches", items)


@jobs.command("show")
@connection_options
@click.argument("job_id")
@output_option
def jobs_show(conn: Connection, job_id: str, output: Path | None) -> None:
    """Show everything about one batch (QueryOTAJob)."""

    async def query(session: Session) -> list[Any]:
        return [await session.client.query_ota_job(job_id=job_id)]

    show_items(conn, output, (*JOB_COLUMNS, "dest_version", "src_versions"), "Batch", query)


def _tag(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> list[OTATag]:
    tags = []
    for value in values:
        key, sep, text = value.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected KEY=VALUE, got {value!r}")
        tags.append(OTATag(key, text))
    return tags


def _when(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"expected an ISO 8601 time, got {value!r}") from None
    if moment.tzinfo is None:
        raise click.BadParameter("give a time zone, e.g. 2025-01-31T08:00:00Z")
    return moment


def _choice(enum: Any) -> click.Choice[str]:
    return click.Choice([str(member) for member in enum], case_sensitive=False)


def _documented_values(name: str) -> click.Choice[str]:
    # The values the operation table documents, so that the CLI never disagrees with it.
    choices = OPERATIONS["CreateOTAStaticUpgradeJob"].param(name).choices or ()
    return click.Choice([str(value) for value in choices])


def _documented_range(name: str) -> click.IntRange:
    param = OPERATIONS["CreateOTAStaticUpgradeJob"].param(name)
    return click.IntRange(param.low, param.high)


@jobs.command("create-static")
@connection_options
@click.option("--firmware-id", required=True, metavar="ID", help="The package to install.")
@click.option("--product-key", required=True, metavar="PK", help="The product.")
@click.option(
    "--target-selection",
    required=True,
    type=_choice(TargetSelection),
    help="Which devices: ALL, SPECIFIC (--device-name), GRAY (--gray-percent), GROUP.",
)
@click.option(
    "--src-version",
    "src_versions",
    multiple=True,
    help="Upgrade only from this version (repeatable).",
)
@click.option(
    "--device-name",
    "device_names",
    multiple=True,
    help="A target device for SPECIFIC (repeatable, at most 200).",
)
@click.option("--dn-list-file-url", metavar="URL", help="SPECIFIC via a device-list file.")
@click.option("--gray-percent", metavar="PERCENT", help="Share of devices for GRAY, e.g. 10.5.")
@click.option("--group-id", metavar="ID", help="The device group for GROUP.")
@click.option("--group-type", type=_choice(GroupType), help="Group type for GROUP.")
@click.option(
    "--retry-interval",
    type=_documented_values("retry_interval"),
    help="Minutes before retrying a failed device.",
)
@click.option("--retry-count", type=_documented_values("retry_count"), help="Retries per device.")
@click.option(
    "--timeout-minutes", type=_documented_range("timeout_in_minutes"), help="Per-device timeout."
)
@click.option(
    "--maximum-per-minute",
    type=_documented_range("maximum_per_minute"),
    help="Devices pushed per minute.",
)
@click.option("--need-push/--no-need-push", default=None, help="Push the upgrade to devices.")
@click.option(
    "--need-confirm/--no-need-confirm", default=None, help="Devices wait for ConfirmOTATask."
)
@click.option("--download-protocol", type=_choice(DownloadProtocol), help="HTTPS or MQTT.")
@click.option(
    "--schedule-time",
    callback=_when,
    metavar="TIME",
    help="Start at this ISO 8601 time (5 min to 7 days ahead).",
)
@click.option(
    "--schedule-finish-time", callback=_when, metavar="TIME", help="Stop at this ISO 8601 time."
)
@click.option(
    "--tag",
    "tags",
    multiple=True,
    callback=_tag,
    metavar="KEY=VALUE",
    help="A batch tag (repeatable).",
)
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
def jobs_create_static(conn: Connection, yes: bool, **arguments: Any) -> None:
    """Create a static upgrade batch (CreateOTAStaticUpgradeJob) and print its job ID.

    Asks for confirmation first unless --yes is given. The request is never retried once
    it may have reached the service: after an ambiguous failure, list the package's
    batches to see whether the batch exists.
    """
    for name in ("retry_interval", "retry_count"):
        if arguments[name] is not None:
            arguments[name] = int(arguments[name])
    arguments["src_versions"] = list(arguments["src_versions"]) or None
    arguments["target_device_names"] = list(arguments.pop("device_names")) or None
    arguments["tags"] = arguments["tags"] or None
    arguments["timeout_in_minutes"] = arguments.pop("timeout_minutes")
    arguments["target_selection"] = arguments["target_selection"].upper()
    where = "the built-in simulator" if conn.demo else "the service"
    if not yes:
        summary = (
            f"Create a static upgrade batch on {where}: package {arguments['firmware_id']}, "
            f"product {arguments['product_key']}, target {arguments['target_selection']}"
        )
        if arguments["target_device_names"]:
            summary += f" ({len(arguments['target_device_names'])} devices)"
        if not click.confirm(summary + "?", err=True):
            raise CliFailure("not confirmed; nothing was created")

    async def main() -> CreatedJob:
        async with open_session(conn) as session:
            return await session.client.create_ota_static_upgrade_job(**arguments)

    created = run_async(main)
    fmt = conn.output_format
    if fmt in ("json", "jsonl"):
        click.echo(json.dumps({"job_id": created.job_id, **_created_rest(created)}))
    elif fmt == "csv":
        write_records([record(created)], "csv", sys.stdout, columns=())
    else:
        click.echo(created.job_id)


def _created_rest(created: CreatedJob) -> dict[str, Any]:
    data = record(created)
    data.pop("job_id", None)
    return data


jobs.add_command(watch)
