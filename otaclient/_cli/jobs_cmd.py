"""``otaclient jobs``: list a package's or a device's batches, show one, create and cancel.

The create commands take their option choices and ranges from the operation table, so the
command line never disagrees with the client; they and ``jobs cancel`` are writes
(``writes.py``: ``--dry-run``, confirmation, sent once).
"""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from .. import CreatedJob, DownloadProtocol, GroupType, OTATag, TargetSelection
from ..operations import OPERATIONS
from .connect import Session
from .listing import output_option, show_items
from .options import Connection, connection_options
from .output import record, write_records
from .watch_cmd import watch
from .writes import Call, Plan, carry_out, write_options

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
@click.option("--firmware-id", metavar="ID", help="The package's ID.")
@click.option("--product-key", metavar="PK", help="With --device-name: one device's batches.")
@click.option(
    "--device-name",
    metavar="NAME",
    help="List the batches of this device (ListOTAJobByDevice; needs --product-key; "
    "without --firmware-id, of every package of the product).",
)
@output_option
def jobs_list(
    conn: Connection,
    firmware_id: str | None,
    product_key: str | None,
    device_name: str | None,
    output: Path | None,
) -> None:
    """List a package's batches (ListOTAJobByFirmware), or one device's
    (ListOTAJobByDevice, with --product-key and --device-name)."""
    if bool(product_key) != bool(device_name):
        raise click.UsageError("--product-key and --device-name go together")
    if not firmware_id and not device_name:
        raise click.UsageError(
            "name the package (--firmware-id) or the device (--product-key and --device-name)"
        )

    def items(session: Session) -> AsyncIterator[Any]:
        if product_key and device_name:
            return _device_jobs(session, firmware_id, product_key, device_name)
        assert firmware_id is not None
        return session.client.iter_ota_job_by_firmware(firmware_id=firmware_id)

    show_items(conn, output, JOB_COLUMNS, "Batches", items)


async def _device_jobs(
    session: Session, firmware_id: str | None, product_key: str, device_name: str
) -> AsyncIterator[Any]:
    # ListOTAJobByDevice needs a package: without one, ask for each package of the product.
    if firmware_id:
        packages = [firmware_id]
    else:
        packages = [
            package.firmware_id
            async for package in session.client.iter_ota_firmware(product_key=product_key)
            if package.firmware_id
        ]
    for package in packages:
        async for job in session.client.iter_ota_job_by_device(
            firmware_id=package, product_key=product_key, device_name=device_name
        ):
            yield job


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


def _as_int(ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
    return None if value is None else int(value)


# Each option is named after the library argument it feeds (messages then name the option).
# Option choices and ranges come from the action's own entry in the operation table.
Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def _documented_values(action: str, name: str, help: str) -> Decorator:
    choices = OPERATIONS[action].param(name).choices or ()
    option = "--" + name.replace("_", "-")
    return click.option(
        option, name, type=click.Choice([str(v) for v in choices]), callback=_as_int, help=help
    )


def _documented_range(action: str, option: str, name: str, help: str) -> Decorator:
    param = OPERATIONS[action].param(name)
    return click.option(option, name, type=click.IntRange(param.low, param.high), help=help)


def _job_options(action: str, *, upgrade: bool) -> Callable[[Callable[..., Any]], Any]:
    """The options of ``action`` that the create commands share."""
    options: list[Decorator] = [
        click.option("--firmware-id", required=True, metavar="ID", help="The package to install."),
        click.option("--product-key", required=True, metavar="PK", help="The product."),
    ]
    if upgrade:
        options += [
            _documented_values(
                action, "retry_interval", "Minutes before retrying a failed device."
            ),
            _documented_values(action, "retry_count", "Retries per device."),
        ]
    options.append(
        _documented_range(action, "--timeout-minutes", "timeout_in_minutes", "Per-device timeout.")
    )
    if upgrade:
        options += [
            _documented_range(
                action, "--maximum-per-minute", "maximum_per_minute", "Devices pushed per minute."
            ),
            _documented_values(
                action, "overwrite_mode", "1: keep a device's earlier task; 2: replace it."
            ),
            click.option(
                "--multi-module-mode/--no-multi-module-mode",
                default=None,
                help="Let a device take tasks for several modules at once.",
            ),
        ]
    options += [
        click.option(
            "--need-push/--no-need-push", default=None, help="Push the upgrade to devices."
        ),
        click.option(
            "--need-confirm/--no-need-confirm",
            default=None,
            help="Devices wait for ConfirmOTATask.",
        ),
        click.option("--download-protocol", type=_choice(DownloadProtocol), help="HTTPS or MQTT."),
        click.option(
            "--tag",
            "tags",
            multiple=True,
            callback=_tag,
            metavar="KEY=VALUE",
            help="A batch tag (repeatable).",
        ),
    ]

    def decorate(func: Callable[..., Any]) -> Any:
        for option in reversed(options):
            func = option(func)
        return func

    return decorate


def _arguments(raw: dict[str, Any]) -> dict[str, Any]:
    # click gives () for a repeatable option not used; the client wants None (left out).
    return {
        name: (list(v) or None) if isinstance(v, tuple | list) else v for name, v in raw.items()
    }


def _create(
    conn: Connection,
    action: str,
    summary: str,
    arguments: dict[str, Any],
    *,
    yes: bool,
    dry_run: bool,
) -> None:
    plan = Plan(
        [Call(action, arguments)],
        summary=summary,
        check_with=f"otaclient jobs list --firmware-id {arguments['firmware_id']} "
        "(the batch may exist: check before creating it again)",
    )
    carry_out(
        conn, plan, yes=yes, dry_run=dry_run, done=lambda made: _print_created(conn, made[0][1])
    )


def _print_created(conn: Connection, created: CreatedJob) -> None:
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


def _devices(names: list[str] | None) -> str:
    return f" ({len(names)} devices)" if names else ""


_STATIC = "CreateOTAStaticUpgradeJob"


@jobs.command("create-static")
@connection_options
@_job_options(_STATIC, upgrade=True)
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
    "target_device_names",
    multiple=True,
    help="A target device for SPECIFIC (repeatable, at most 200).",
)
@click.option("--dn-list-file-url", metavar="URL", help="SPECIFIC via a device-list file.")
@click.option("--gray-percent", metavar="PERCENT", help="Share of devices for GRAY, e.g. 10.5.")
@click.option("--group-id", metavar="ID", help="The device group for GROUP.")
@click.option("--group-type", type=_choice(GroupType), help="Group type for GROUP.")
@click.option(
    "--schedule-time",
    callback=_when,
    metavar="TIME",
    help="Start at this ISO 8601 time (5 min to 7 days ahead).",
)
@click.option(
    "--schedule-finish-time", callback=_when, metavar="TIME", help="Stop at this ISO 8601 time."
)
@write_options
def jobs_create_static(conn: Connection, yes: bool, dry_run: bool, **raw: Any) -> None:
    """Create a static upgrade batch (CreateOTAStaticUpgradeJob) and print its job ID.

    Asks for confirmation first unless --yes is given. The request is never retried once
    it may have reached the service: after an ambiguous failure, the error names the
    command that shows whether the batch exists.
    """
    arguments = _arguments(raw)
    arguments["target_selection"] = arguments["target_selection"].upper()
    summary = (
        f"Create a static upgrade batch: package {arguments['firmware_id']}, "
        f"product {arguments['product_key']}, target {arguments['target_selection']}"
        f"{_devices(arguments['target_device_names'])}"
    )
    _create(conn, _STATIC, summary, arguments, yes=yes, dry_run=dry_run)


_DYNAMIC = "CreateOTADynamicUpgradeJob"


@jobs.command("create-dynamic")
@connection_options
@_job_options(_DYNAMIC, upgrade=True)
@click.option(
    "--src-version",
    "src_versions",
    multiple=True,
    help="Upgrade devices that report this version (repeatable, at most 10; required "
    "unless --group-id and --group-type are given).",
)
@click.option("--group-id", metavar="ID", help="A dynamic device group instead of versions.")
@click.option("--group-type", type=_choice(GroupType), help="LINK_PLATFORM_DYNAMIC.")
@_documented_values(
    _DYNAMIC,
    "dynamic_mode",
    "1: keep upgrading every device that matches (default); 2: only devices that later "
    "report a matching version.",
)
@write_options
def jobs_create_dynamic(conn: Connection, yes: bool, dry_run: bool, **raw: Any) -> None:
    """Create a dynamic upgrade batch (CreateOTADynamicUpgradeJob) and print its job ID.

    A dynamic batch keeps adding devices that match; stop it with `otaclient jobs cancel
    JOB_ID --policy`. Asks for confirmation first unless --yes; never retried once it
    may have reached the service.
    """
    arguments = _arguments(raw)
    versions = ", ".join(arguments["src_versions"] or ()) or "-"
    summary = (
        f"Create a dynamic upgrade batch: package {arguments['firmware_id']}, "
        f"product {arguments['product_key']}, from versions {versions}"
    )
    _create(conn, _DYNAMIC, summary, arguments, yes=yes, dry_run=dry_run)


_VERIFY = "CreateOTAVerifyJob"


@jobs.command("create-verify")
@connection_options
@_job_options(_VERIFY, upgrade=False)
@click.option(
    "--device-name",
    "target_device_names",
    multiple=True,
    required=True,
    help="A device to verify the package on (repeatable, at most 10).",
)
@write_options
def jobs_create_verify(conn: Connection, yes: bool, dry_run: bool, **raw: Any) -> None:
    """Create a verification batch for a package (CreateOTAVerifyJob) and print its job ID.

    A package must be verified on a few devices before a fleet upgrade. Asks for
    confirmation first unless --yes; never retried once it may have reached the service.
    """
    arguments = _arguments(raw)
    summary = (
        f"Create a verification batch: package {arguments['firmware_id']}, "
        f"product {arguments['product_key']}{_devices(arguments['target_device_names'])}"
    )
    _create(conn, _VERIFY, summary, arguments, yes=yes, dry_run=dry_run)


# --cancel flags -> CancelOTATaskByJob arguments, in the order they are listed.
_CANCEL_FLAGS = {
    "unconfirmed": ("cancel_unconfirmed_task", "CONFIRM"),
    "queued": ("cancel_queued_task", "QUEUED"),
    "notified": ("cancel_notified_task", "NOTIFIED"),
    "in_progress": ("cancel_in_progress_task", "IN_PROGRESS"),
    "scheduled": ("cancel_scheduled_task", "scheduled"),
}


@jobs.command("cancel")
@connection_options
@click.argument("job_id")
@click.option("--unfinished", is_flag=True, help="Every task not finished yet: all five below.")
@click.option("--unconfirmed", is_flag=True, help="Tasks waiting for confirmation (CONFIRM).")
@click.option("--queued", is_flag=True, help="Tasks not pushed yet (QUEUED).")
@click.option("--notified", is_flag=True, help="Tasks pushed to the device (NOTIFIED).")
@click.option("--in-progress", is_flag=True, help="Tasks the device is running (IN_PROGRESS).")
@click.option("--scheduled", is_flag=True, help="Tasks of a scheduled batch not started yet.")
@click.option(
    "--policy",
    is_flag=True,
    help="Stop a dynamic batch from adding devices (CancelOTAStrategyByJob); the batch "
    "becomes CANCELED. Sent before any task cancellation.",
)
@write_options
def jobs_cancel(
    conn: Connection,
    job_id: str,
    unfinished: bool,
    policy: bool,
    yes: bool,
    dry_run: bool,
    **flags: bool,
) -> None:
    """Cancel a batch's tasks by status (CancelOTATaskByJob), its dynamic policy, or both.

    Name what to cancel: --unfinished, or some of --unconfirmed, --queued, --notified,
    --in-progress, --scheduled; and/or --policy. Finished tasks (SUCCEEDED, FAILED,
    CANCELED) are never touched. Asks for confirmation first unless --yes.
    """
    chosen = [name for name in _CANCEL_FLAGS if unfinished or flags[name]]
    if not chosen and not policy:
        raise click.UsageError(
            "name what to cancel: --unfinished, --unconfirmed, --queued, --notified, "
            "--in-progress, --scheduled, or --policy"
        )
    calls = []
    parts = []
    if policy:
        calls.append(Call("CancelOTAStrategyByJob", {"job_id": job_id}))
        parts.append("its dynamic policy")
    if chosen:
        calls.append(
            Call(
                "CancelOTATaskByJob",
                {"job_id": job_id, **{_CANCEL_FLAGS[name][0]: True for name in chosen}},
            )
        )
        parts.append("its tasks " + ", ".join(_CANCEL_FLAGS[name][1] for name in chosen))
    plan = Plan(
        calls,
        summary=f"Cancel {' and '.join(parts)} of batch {job_id}",
        check_with=f"otaclient jobs show {job_id}; otaclient tasks list --job-id {job_id}",
    )

    def done(made: Sequence[tuple[Call, Any]]) -> None:
        click.echo(f"canceled {' and '.join(parts)} of batch {job_id}")

    carry_out(conn, plan, yes=yes, dry_run=dry_run, done=done)


jobs.add_command(watch)
