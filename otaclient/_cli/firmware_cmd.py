"""``otaclient firmware list`` (ListOTAFirmware)."""

from __future__ import annotations

from enum import IntEnum
from pathlib import Path
from typing import Any

import click

from .. import FirmwareStatus, FirmwareType
from .listing import output_option, show_items
from .options import Connection, connection_options

__all__ = ["firmware"]

FIRMWARE_COLUMNS = (
    "firmware_id",
    "firmware_name",
    "product_key",
    "module_name",
    "src_version",
    "dest_version",
    "status",
    "type",
    "utc_create",
)


@click.group()
def firmware() -> None:
    """Update packages (firmware)."""


@firmware.command("list")
@connection_options
@click.option("--product-key", metavar="PK", help="Only this product's packages.")
@click.option("--dest-version", metavar="VERSION", help="Only packages of this version.")
@output_option
def firmware_list(
    conn: Connection, product_key: str | None, dest_version: str | None, output: Path | None
) -> None:
    """List update packages (ListOTAFirmware, every page).

    The table words status and type (VERIFIED, DELTA); json, jsonl and csv keep the
    service's integers.
    """
    show_items(
        conn,
        output,
        FIRMWARE_COLUMNS,
        "Update packages",
        lambda s: s.client.iter_ota_firmware(product_key=product_key, dest_version=dest_version),
        table_text={"status": _named(FirmwareStatus), "type": _named(FirmwareType)},
    )


def _named(enum: type[IntEnum]) -> Any:
    def name(value: object) -> str | None:
        # An undocumented number stays visible as itself.
        if not isinstance(value, int):
            return None if value is None else str(value)
        try:
            return enum(value).name
        except ValueError:
            return str(value)

    return name
