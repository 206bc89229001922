"""Decoding a page: microseconds per item, from response bytes to typed models.

Bodies come from the in-process simulator (recorded as they cross the transport): a
``ListOTATaskByJob`` and a ``ListOTAJobByFirmware`` page of 100 and of 200 items, as
PascalCase JSON (the aliyun dialect), camelCase JSON (the tuya-hosted dialect) and XML.
ListOTATaskByJob pages hold at most 100 tasks, so its 200-item page is two pages joined.

The library's path is ``load_body`` (orjson when installed) then the operation's
``result.decode(body, request_id)``; the official SDK's is ``json.loads`` then
``<Action>ResponseBody().from_map(...)`` (PascalCase JSON only: it reads no other form).
"""

from __future__ import annotations

import json
import timeit
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

import anyio
import httpx

from otaclient._convert import normalise_key
from otaclient._operations import OPERATIONS
from otaclient._parse import load_body
from otaclient.simulator import FleetSpec, Simulator, SimulatorConfig

from ._common import Result, otaclient_of, ratio

NAME = "decode"

SHAPES = ("ListOTATaskByJob", "ListOTAJobByFirmware")
SIZES = (100, 200)
FORMATS = ("JSON PascalCase", "JSON camelCase", "XML")
_PAGING = {"pagesize", "pagecount", "currentpage"}


class _Recorder(httpx.AsyncBaseTransport):
    """Pass requests to the simulator and keep each response body."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.bodies: list[bytes] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        content = await response.aread()
        self.bodies.append(content)
        return httpx.Response(response.status_code, headers=response.headers, content=content)


def _fleet() -> FleetSpec:
    # One package with 200 batches (for a full 200-item job page); batch sizes vary.
    return FleetSpec(
        products=1,
        firmware_per_product=1,
        jobs_per_firmware=(200, 200),
        devices_per_product=400,
        tasks_per_job=(1, 200),
        modules_per_product=0,
        verify_jobs=False,
        anchor_ms=1_732_006_800_000,
    )


async def _record(dialect: str, response_format: str) -> dict[str, bytes]:
    sim = Simulator(SimulatorConfig(seed=11, dialect=dialect, qps=None, fleet=_fleet()))  # type: ignore[arg-type]
    recorder = _Recorder(sim.transport())
    bodies: dict[str, bytes] = {}
    async with otaclient_of(
        "http://simulator", qps=None, response_format=response_format, transport=recorder
    ) as client:
        firmware_id = sim.fleet.firmware_ids()[0]
        await client.list_ota_job_by_firmware(firmware_id=firmware_id, page_size=200)
        bodies["ListOTAJobByFirmware/200"] = recorder.bodies[-1]
        await client.list_ota_job_by_firmware(firmware_id=firmware_id, page_size=100)
        bodies["ListOTAJobByFirmware/100"] = recorder.bodies[-1]
        # The biggest batch, for two full pages of tasks.
        job_id = max(
            sim.fleet.job_ids(), key=lambda j: sum(sim.fleet.task_status_counts(j).values())
        )
        for number in (1, 2):
            await client.list_ota_task_by_job(job_id=job_id, current_page=number, page_size=100)
        first, second = recorder.bodies[-2], recorder.bodies[-1]
        bodies["ListOTATaskByJob/100"] = first
        bodies["ListOTATaskByJob/200"] = _join(first, second, response_format)
    return bodies


def _join(first: bytes, second: bytes, response_format: str) -> bytes:
    """One 200-item page from two 100-item pages."""
    if response_format == "xml":
        root, other = ET.fromstring(first), ET.fromstring(second)
        data, extra = _xml_list(root), _xml_list(other)
        for element in list(extra):
            data.append(element)
        for element in root:
            if normalise_key(element.tag) in _PAGING:
                element.text = "1" if normalise_key(element.tag) != "pagesize" else "200"
        return ET.tostring(root, encoding="utf-8", xml_declaration=True)
    body, more = json.loads(first), json.loads(second)
    _json_list(body).extend(_json_list(more))
    for key in body:
        if normalise_key(key) in _PAGING:
            body[key] = 1 if normalise_key(key) != "pagesize" else 200
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def _xml_list(root: ET.Element) -> ET.Element:
    for element in root:
        if normalise_key(element.tag) == "data":
            return element
    raise ValueError("no Data element")


def _json_list(body: dict[str, Any]) -> list[Any]:
    for key, value in body.items():
        if normalise_key(key) == "data":
            for inner in value.values():
                if isinstance(inner, list):
                    return inner
    raise ValueError("no item list")


def _per_call(fn: Callable[[], Any], budget: float, repeat: int) -> float:
    """Seconds per call: the best of ``repeat`` runs of about ``budget`` seconds each."""
    timer = timeit.Timer(fn)
    took = timer.timeit(number=1)
    number = max(1, int(budget / max(took, 1e-9)))
    return min(timer.repeat(repeat=repeat, number=number)) / number


def _library(action: str, body: bytes) -> Callable[[], Any]:
    decode = OPERATIONS[action].result.decode

    def run() -> Any:
        return decode(load_body(body), "request-id")

    return run


def _sdk(action: str, body: bytes) -> Callable[[], Any]:
    from alibabacloud_iot20180120 import models

    cls = getattr(models, f"{action}ResponseBody")

    def run() -> Any:
        return cls().from_map(json.loads(body))

    return run


def _measure(
    action: str, size: int, fmt_name: str, body: bytes, budget: float, repeat: int
) -> dict[str, Any]:
    """Microseconds per item of one recorded page, by the library and by the SDK."""
    page = _library(action, body)()
    if len(page.items) != size:
        raise AssertionError(f"{action} {fmt_name}: {len(page.items)} items, not {size}")
    ours = _per_call(_library(action, body), budget, repeat)
    parse = _per_call(lambda: load_body(body), budget, repeat)
    sdk = None
    if fmt_name == "JSON PascalCase":
        sdk_items = _sdk(action, body)().data.to_map()
        if len(next(iter(sdk_items.values()))) != size:
            raise AssertionError(f"the SDK read a different number of {action} items")
        sdk = _per_call(_sdk(action, body), budget, repeat)
    return {
        "action": action,
        "items": size,
        "format": fmt_name,
        "body_bytes": len(body),
        "otaclient_us_per_item": ours / size * 1e6,
        "parse_us_per_item": parse / size * 1e6,
        "sdk_us_per_item": None if sdk is None else sdk / size * 1e6,
        "otaclient_over_sdk": None if sdk is None else ratio(ours, sdk),
    }


def _report(rows: list[dict[str, Any]], budget: float, repeat: int) -> Result:
    result = Result(
        NAME,
        "Decode one page: microseconds per item, bytes to models (best of "
        f"{repeat} runs of ~{budget:.2f} s)",
        [
            "items of",
            "items",
            "format",
            "body KB",
            "otaclient us/item",
            "of which parse",
            "official SDK us/item",
            "otaclient / SDK",
        ],
    )
    result.rows = [
        [
            row["action"],
            row["items"],
            row["format"],
            row["body_bytes"] / 1024,
            row["otaclient_us_per_item"],
            row["parse_us_per_item"],
            row["sdk_us_per_item"],
            row["otaclient_over_sdk"],
        ]
        for row in rows
    ]
    result.data = {"rows": rows, "budget_s": budget, "repeat": repeat}
    result.notes.append(
        "otaclient / SDK < 1 means the library is faster; the SDK row reads PascalCase JSON "
        "only (its from_map matches keys exactly, converts no types and leaves times as text)"
    )
    return result


def run(smoke: bool) -> Result:
    budget, repeat = (0.005, 1) if smoke else (0.3, 5)
    recorded = {
        "JSON PascalCase": anyio.run(_record, "aliyun", "json"),
        "JSON camelCase": anyio.run(_record, "tuya", "json"),
        "XML": anyio.run(_record, "aliyun", "xml"),
    }
    rows = [
        _measure(action, size, fmt_name, recorded[fmt_name][f"{action}/{size}"], budget, repeat)
        for action in SHAPES
        for size in SIZES
        for fmt_name in FORMATS
    ]
    return _report(rows, budget, repeat)
