"""Update-package actions (reference section 9)."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from .._time import format_utc_ms
from ..errors import BusinessError
from ..model import DEFAULT_MODULE, Firmware, Product
from ._context import ActionContext, Tree, page_slice, page_window, paging_keys
from ._items import firmware_detail, firmware_item
from ._tickets import OSS_HOST, random_hex, upload_ticket

__all__ = ["HANDLERS"]

_FILE_SUFFIXES = ("bin", "dav", "apk", "tar", "gz", "tar.gz", "zip", "gzip")
_FIRMWARE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-()]{0,39}$")
_VERSION = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")
_MAX_FIRMWARE = 500


def generate_ota_upload_url(ctx: ActionContext) -> Tree:
    """GenerateOTAUploadURL: a one-minute OSS ticket for a package file."""
    suffix = ctx.params.choice("FileSuffix", _FILE_SUFFIXES) or "bin"
    key = f"ota/{random_hex(ctx, 128)}/{random_hex(ctx, 64)}.{suffix}"
    data = upload_ticket(ctx, key, key_id_name="OSSAccessKeyId")
    data["FirmwareUrl"] = f"{OSS_HOST}/{key}"
    return {"Data": data}


def _check_name(ctx: ActionContext, name: str, *, exclude: Firmware | None = None) -> None:
    if not _FIRMWARE_NAME.match(name):
        raise BusinessError.invalid(
            "FirmwareName",
            "1-40 letters, digits, '-', '_', '(' or ')', starting with a letter or digit",
        )
    for other in ctx.fleet.firmware.values():
        if other.name == name and other is not exclude:
            raise BusinessError(
                "iot.ota.FirmwareNameExisted", f"An update package named {name} already exists."
            )


def _multi_files(ctx: ActionContext) -> list[dict[str, Any]]:
    raw = ctx.params.structs(
        "MultiFiles", ("Name", "Url", "Size", "SignValue", "FileMd5"), max_items=20
    )
    files: list[dict[str, Any]] = []
    names: set[str] = set()
    for index, item in enumerate(raw, start=1):
        name, url = item.get("Name"), item.get("Url")
        if not name or not url:
            raise BusinessError.missing(f"MultiFiles.{index}.{'Url' if name else 'Name'}")
        if len(name) > 32 or name in names:
            raise BusinessError.invalid(f"MultiFiles.{index}.Name", "1-32 characters, unique")
        names.add(name)
        size_text = item.get("Size")
        if size_text is not None and not size_text.isdigit():
            raise BusinessError.invalid(f"MultiFiles.{index}.Size", "must be an integer")
        digest = hashlib.md5(url.encode()).hexdigest()
        files.append(
            {
                "Name": name,
                "Url": url,
                "Size": int(size_text) if size_text else 1024 + int(digest[:5], 16),
                "SignValue": item.get("SignValue") or digest,
                "FileMd5": item.get("FileMd5") or digest,
            }
        )
    return files


def _package_type(ctx: ActionContext, dest: str) -> tuple[int, str | None]:
    """``Type`` (0 full, 1 delta) and the delta package's ``SrcVersion``."""
    firmware_type = ctx.params.integer("Type", allowed=(0, 1))
    firmware_type = 0 if firmware_type is None else firmware_type
    src = ctx.params.text("SrcVersion")
    if firmware_type != 1:
        return firmware_type, None
    if src is None:
        raise BusinessError.missing("SrcVersion")
    if src == dest:
        raise BusinessError.invalid("SrcVersion", "must differ from DestVersion")
    return firmware_type, src


def _module_name(ctx: ActionContext, product: Product | None) -> str:
    """``ModuleName`` as the product spells it (``default`` unless given)."""
    module_name = ctx.params.text("ModuleName") or DEFAULT_MODULE
    if product is None:
        return module_name
    module = product.modules.get(module_name.lower())
    if module is None:
        raise BusinessError(
            "iot.ota.ModuleNotExist",
            f"The module {module_name} does not exist in {product.key}.",
        )
    return module.name


def create_ota_firmware(ctx: ActionContext) -> Tree:
    """CreateOTAFirmware: register a package (unverified unless NeedToVerify=false)."""
    p, fleet = ctx.params, ctx.fleet
    name = p.required("FirmwareName")
    dest = p.required("DestVersion")
    _check_name(ctx, name)
    if not _VERSION.match(dest):
        raise BusinessError.invalid("DestVersion", "1-64 letters, digits, '.', '-' or '_'")
    files = _multi_files(ctx)
    url = p.text("FirmwareUrl")
    if not files and url is None:
        raise BusinessError.missing("FirmwareUrl")
    product = ctx.product(required=False)
    desc = p.text("FirmwareDesc", max_len=100)
    sign_method = p.choice("SignMethod", ("MD5", "SHA256"), case_insensitive=True) or "MD5"
    firmware_type, src = _package_type(ctx, dest)
    module_name = _module_name(ctx, product)
    need_verify = p.boolean("NeedToVerify")
    udi = p.text("Udi", max_len=4096)
    size = p.integer("FirmwareSize", low=0)
    sign = p.text("FirmwareSign")
    if len(fleet.firmware) >= _MAX_FIRMWARE:
        raise BusinessError(
            "iot.ota.FirmwareCountExceeded",
            f"An account can have at most {_MAX_FIRMWARE} packages.",
        )
    digest = hashlib.md5((url or name).encode()).hexdigest()
    firmware = fleet.create_firmware(
        name=name,
        product_key=None if product is None else product.key,
        product_name=None if product is None else product.name,
        module_name=module_name,
        dest_version=dest,
        src_version=src,
        type=firmware_type,
        status=-1 if need_verify is False else 0,
        verify_progress=0,
        sign_method=sign_method,
        sign=None if files else (sign or digest),
        size=None if files else (size if size is not None else 1024 + int(digest[:5], 16)),
        url=None if files else url,
        multi_files=files,
        desc=desc,
        udi=udi,
        utc_create_ms=ctx.now_ms,
        utc_modified_ms=ctx.now_ms,
    )
    return {"Data": {"FirmwareId": firmware.firmware_id, "UtcCreate": format_utc_ms(ctx.now_ms)}}


def modify_ota_firmware(ctx: ActionContext) -> Tree:
    """ModifyOTAFirmware: rename / re-describe a package."""
    p = ctx.params
    firmware = ctx.firmware()
    product = ctx.required_product()
    if firmware.product_key != product.key:
        raise BusinessError(
            "iot.ota.FirmwareNotExist",
            f"The update package {firmware.firmware_id} does not exist in {product.key}.",
        )
    name = p.text("FirmwareName")
    desc = p.text("FirmwareDesc", max_len=100)
    udi = p.text("FirmwareUdi", max_len=4096)
    if name is not None:
        _check_name(ctx, name, exclude=firmware)
    ctx.fleet.modify_firmware(firmware, ctx.now_ms, name=name, desc=desc, udi=udi)
    return {}


def delete_ota_firmware(ctx: ActionContext) -> Tree:
    """DeleteOTAFirmware: refused while a batch of the package is planned or running."""
    firmware = ctx.firmware()
    fleet = ctx.fleet
    for job in fleet.jobs_by_firmware.get(firmware.firmware_id, ()):
        fleet.refresh(job, ctx.now_ms)
        if job.status in ("IN_PROGRESS", "PLANNED"):
            raise BusinessError(
                "iot.ota.FirmwareInUse",
                f"The update package {firmware.firmware_id} has an unfinished batch {job.job_id}.",
            )
    fleet.remove_firmware(firmware)
    return {}


def list_ota_firmware(ctx: ActionContext) -> Tree:
    """ListOTAFirmware: packages newest first, optionally by product and version."""
    page, size = page_window(ctx, 100)
    product_key = ctx.params.text("ProductKey")
    dest = ctx.params.text("DestVersion")
    matches = [
        firmware
        for firmware in ctx.fleet.firmware_sorted()
        if (product_key is None or firmware.product_key == product_key)
        and (dest is None or firmware.dest_version == dest)
    ]
    items = [firmware_item(ctx, matches[i]) for i in page_slice(len(matches), page, size)]
    return {
        **paging_keys(len(matches), page, size),
        "FirmwareInfo": {"SimpleFirmwareInfo": items},
    }


def query_ota_firmware(ctx: ActionContext) -> Tree:
    """QueryOTAFirmware: one package in detail."""
    return {"FirmwareInfo": firmware_detail(ctx, ctx.firmware())}


HANDLERS = {
    "GenerateOTAUploadURL": generate_ota_upload_url,
    "CreateOTAFirmware": create_ota_firmware,
    "ModifyOTAFirmware": modify_ota_firmware,
    "DeleteOTAFirmware": delete_ota_firmware,
    "ListOTAFirmware": list_ota_firmware,
    "QueryOTAFirmware": query_ota_firmware,
}
