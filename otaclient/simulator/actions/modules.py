"""Module actions (reference section 12) and the device-list upload ticket (section 13)."""

from __future__ import annotations

import re

from .._time import format_utc_ms
from ..errors import BusinessError
from ..model import Module
from ._context import ActionContext, Tree, page_slice, page_window, paging_keys
from ._tickets import OSS_HOST, random_hex, upload_ticket

__all__ = ["HANDLERS"]

_MODULE_NAME = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")
_MAX_CUSTOM_MODULES = 10


def _module(ctx: ActionContext) -> tuple[Module, str]:
    product = ctx.required_product()
    name = ctx.params.required("ModuleName")
    module = product.modules.get(name.lower())
    if module is None:
        raise BusinessError(
            "iot.ota.ModuleNotExist", f"The module {name} does not exist in {product.key}."
        )
    return module, product.key


def create_ota_module(ctx: ActionContext) -> Tree:
    """CreateOTAModule: a custom module; names are unique per product ignoring case."""
    p = ctx.params
    product = ctx.required_product()
    name = p.required("ModuleName")
    alias = p.text("AliasName", max_len=64)
    desc = p.text("Desc", max_len=100)
    if not _MODULE_NAME.match(name):
        raise BusinessError.invalid("ModuleName", "1-64 letters, digits, '.', '-' or '_'")
    if name.lower() in product.modules:
        raise BusinessError(
            "iot.ota.ModuleNameExisted", f"The module {name} already exists in {product.key}."
        )
    custom = sum(1 for module in product.modules.values() if not module.is_default)
    if custom >= _MAX_CUSTOM_MODULES:
        raise BusinessError(
            "iot.ota.ModuleCountExceeded",
            f"A product can have at most {_MAX_CUSTOM_MODULES} custom modules.",
        )
    ctx.fleet.add_module(product, Module(name, product.key, alias, desc, ctx.now_ms, ctx.now_ms))
    return {}


def update_ota_module(ctx: ActionContext) -> Tree:
    """UpdateOTAModule: change a module's alias or description."""
    module, _ = _module(ctx)
    alias = ctx.params.text("AliasName", max_len=64)
    desc = ctx.params.text("Desc", max_len=100)
    ctx.fleet.update_module(module, ctx.now_ms, alias=alias, desc=desc)
    return {}


def delete_ota_module(ctx: ActionContext) -> Tree:
    """DeleteOTAModule: not the default module, not while packages use it."""
    module, product_key = _module(ctx)
    if module.is_default:
        raise BusinessError(
            "iot.ota.DefaultModuleCannotDelete", "The default module cannot be deleted."
        )
    for firmware in ctx.fleet.firmware.values():
        if firmware.product_key == product_key and firmware.module_key == module.name.lower():
            raise BusinessError(
                "iot.ota.ModuleHasFirmware",
                f"The module {module.name} still has update packages, e.g. {firmware.firmware_id}.",
            )
    ctx.fleet.remove_module(ctx.fleet.products_by_key[product_key], module)
    return {}


def list_ota_module_by_product(ctx: ActionContext) -> Tree:
    """ListOTAModuleByProduct: every module, as a bare list under ``Data``."""
    product = ctx.required_product()
    return {
        "Data": [
            {
                "ModuleName": module.name,
                "AliasName": module.alias_name,
                "Desc": module.desc,
                "ProductKey": product.key,
                "GmtCreate": format_utc_ms(module.gmt_create_ms),
                "GmtModified": format_utc_ms(module.gmt_modified_ms),
            }
            for module in product.modules.values()
        ]
    }


def list_ota_module_versions_by_device(ctx: ActionContext) -> Tree:
    """ListOTAModuleVersionsByDevice: the version a device runs for each module."""
    page, size = page_window(ctx, 200)
    product, device = ctx.device_by_identity()
    modules = list(product.modules.values())
    iot_id = ctx.fleet.iot_id(product, device)
    name = product.device_name(device)
    items = [
        {
            "DeviceName": name,
            "IotId": iot_id,
            "ModuleName": modules[i].name,
            "ModuleVersion": ctx.fleet.device_version(product, device, modules[i].name.lower()),
            "ProductKey": product.key,
        }
        for i in page_slice(len(modules), page, size)
    ]
    return {**paging_keys(len(modules), page, size), "Data": {"SimpleOTAModuleInfo": items}}


def generate_device_name_list_url(ctx: ActionContext) -> Tree:
    """GenerateDeviceNameListURL: a ticket for a device-name CSV.

    Nothing can be uploaded to it; tests fill it with ``Simulator.upload_device_list``.
    """
    key = f"dn-list/{random_hex(ctx, 128)}.csv"
    data = upload_ticket(ctx, key, key_id_name="AccessKeyId")
    data["FileUrl"] = f"{OSS_HOST}/{key}"
    ctx.fleet.issue_device_list(data["FileUrl"])
    return {"Data": data}


HANDLERS = {
    "CreateOTAModule": create_ota_module,
    "UpdateOTAModule": update_ota_module,
    "DeleteOTAModule": delete_ota_module,
    "ListOTAModuleByProduct": list_ota_module_by_product,
    "ListOTAModuleVersionsByDevice": list_ota_module_versions_by_device,
    "GenerateDeviceNameListURL": generate_device_name_list_url,
}
