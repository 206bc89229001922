"""What an action handler gets, plus the helpers every handler shares (paging, lookups)."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Any

import attrs

from ..config import Dialect
from ..errors import BusinessError
from ..fleet import Fleet
from ..model import Firmware, Job, Product
from ..params import Params

__all__ = [
    "ActionContext",
    "Handler",
    "Tree",
    "page_slice",
    "page_window",
    "paging_keys",
]

Tree = dict[str, Any]


@attrs.define
class ActionContext:
    """One verified request, as an action handler sees it."""

    action: str
    params: Params
    fleet: Fleet
    dialect: Dialect
    #: Wall-clock time of the request, epoch milliseconds.
    now_ms: int
    #: Seeded randomness for values the service makes up (upload tickets, ...).
    rng: random.Random
    #: Emit documented oddities (``COMPLETE``, ``VERFIY_FIRMWARE``) in the aliyun dialect.
    odd_enums: bool = True

    @property
    def tuya(self) -> bool:
        """Whether the tuya-hosted dialect is spoken."""
        return self.dialect == "tuya"

    # Lookups that fail the way the service does -------------------------------------

    def firmware(self, name: str = "FirmwareId") -> Firmware:
        """The package named by a required parameter."""
        firmware_id = self.params.required(name)
        firmware = self.fleet.firmware.get(firmware_id)
        if firmware is None:
            raise BusinessError(
                "iot.ota.FirmwareNotExist", f"The update package {firmware_id} does not exist."
            )
        return firmware

    def job(self, name: str = "JobId") -> Job:
        """The job named by a required parameter."""
        job_id = self.params.required(name)
        job = self.fleet.job(job_id, self.now_ms)
        if job is None:
            raise BusinessError("iot.ota.JobNotExist", f"The update batch {job_id} does not exist.")
        return job

    def product(self, name: str = "ProductKey", *, required: bool = True) -> Product | None:
        """The product named by a (by default required) parameter."""
        key = self.params.text(name, required=required)
        if key is None:
            return None
        product = self.fleet.product(key)
        if product is None:
            raise BusinessError("iot.prod.NotExistedProduct", f"The product {key} does not exist.")
        return product

    def required_product(self, name: str = "ProductKey") -> Product:
        """The product named by a required parameter."""
        product = self.product(name)
        assert product is not None
        return product

    def device(self, product: Product, name: str) -> int:
        """Index of a device of ``product``, or the service's not-found error."""
        index = product.device_index(name)
        if index is None:
            raise BusinessError(
                "iot.device.NotExistedDevice", f"The device {name} does not exist in {product.key}."
            )
        return index

    def device_by_identity(self) -> tuple[Product, int]:
        """The device named by ``IotId`` (wins) or ``ProductKey`` + ``DeviceName``."""
        iot_id = self.params.text("IotId")
        if iot_id is not None:
            found = self.fleet.device_by_iot_id(iot_id)
            if found is None:
                raise BusinessError(
                    "iot.device.NotExistedDevice", f"The device {iot_id} does not exist."
                )
            return found
        product_key = self.params.text("ProductKey")
        device_name = self.params.text("DeviceName")
        if product_key is None or device_name is None:
            raise BusinessError(
                "iot.check.InvalidFormattedParameter",
                "Specify IotId, or ProductKey together with DeviceName.",
            )
        product = self.required_product()
        return product, self.device(product, device_name)


Handler = Callable[[ActionContext], Tree]


def page_window(
    ctx: ActionContext, max_size: int, *, required: bool = True, default_size: int = 10
) -> tuple[int, int]:
    """Validate ``CurrentPage``/``PageSize`` and return them.

    Missing required values are ``Missing<Name>``; values out of range are
    ``iot.common.InvalidPageParams`` (PageSize 1..max, CurrentPage >= 1).
    """
    size = ctx.params.integer("PageSize", required=required)
    page = ctx.params.integer("CurrentPage", required=required)
    size = default_size if size is None else size
    page = 1 if page is None else page
    if not 1 <= size <= max_size:
        raise BusinessError.page_params(f"PageSize must be within [1, {max_size}], got {size}.")
    if page < 1:
        raise BusinessError.page_params(f"CurrentPage must be at least 1, got {page}.")
    return page, size


def paging_keys(total: int, page: int, size: int) -> Tree:
    """The four paging keys of a list response (PageCount is 0 when there is nothing)."""
    return {
        "CurrentPage": page,
        "PageSize": size,
        "PageCount": math.ceil(total / size) if total else 0,
        "Total": total,
    }


def page_slice(total: int, page: int, size: int) -> range:
    """Indices of page ``page`` (empty past the end)."""
    start = min((page - 1) * size, total)
    return range(start, min(start + size, total))
