"""Decoding a page: microseconds per item, from response bytes to typed models.

Bodies come from the in-process simulator (recorded as they cross the transport): a
100-item page of firmware (``ListOTAFirmware``), of jobs (``ListOTAJobByFirmware``) and of
tasks (``ListOTATaskByJob``), as PascalCase JSON (the aliyun dialect), camelCase JSON (the
tuya-hosted dialect) and XML.

The library's path is ``load_body`` (orjson when installed) then the operation's
``result.decode(body, request_id)``; the official SDK's is ``json.loads`` then
``<Action>ResponseBody().from_map(...)`` (PascalCase JSON only: it reads no other form).
The "before" column is the decoder as it was before issue 14 (commit cb56c40: one plan per
key shape interpreted into a kwargs dict, XML through defusedxml's pure-Python parser),
measured by this benchmark in a side-by-side run and recorded in ``decode_baseline.json``.

This machine is shared and noisy, so each figure is the best of many short runs: the
fastest run is the one least disturbed by other processes, and the clock is the
process's CPU time. The runs of all rows are interleaved (``best_per_call``), so that a
slow spell of the machine falls on every row alike.
"""

from __future__ import annotations

import json
import time
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import httpx

from otaclient._operations import OPERATIONS
from otaclient._parse import load_body
from otaclient.simulator import FleetSpec, Simulator, SimulatorConfig

from ._common import Result, otaclient_of, ratio, verdict

NAME = "decode"

ITEMS = 100
KINDS = {
    "firmware": "ListOTAFirmware",
    "jobs": "ListOTAJobByFirmware",
    "tasks": "ListOTATaskByJob",
}
FORMATS = {
    # format name: (simulator dialect, response format)
    "JSON PascalCase": ("aliyun", "json"),
    "JSON camelCase": ("tuya", "json"),
    "XML": ("aliyun", "xml"),
}
#: Microseconds per item the issue allows, by format.
TARGET_US = {"JSON PascalCase": 4.0, "JSON camelCase": 4.0, "XML": 8.0}
BASELINE = Path(__file__).resolve().parent / "decode_baseline.json"


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


def _fleet(*, firmware: int, jobs: int, tasks: int) -> FleetSpec:
    return FleetSpec(
        products=1,
        firmware_per_product=firmware,
        jobs_per_firmware=(jobs, jobs),
        devices_per_product=max(tasks, 1),
        tasks_per_job=(tasks, tasks),
        modules_per_product=0,
        verify_jobs=False,
        anchor_ms=1_732_006_800_000,
    )


async def _recorded(fleet: FleetSpec, dialect: str, response_format: str, kind: str) -> bytes:
    sim = Simulator(SimulatorConfig(seed=11, dialect=dialect, qps=None, fleet=fleet))  # type: ignore[arg-type]
    recorder = _Recorder(sim.transport())
    async with otaclient_of(
        "http://simulator", qps=None, response_format=response_format, transport=recorder
    ) as client:
        if kind == "firmware":
            await client.list_ota_firmware(page_size=ITEMS)
        elif kind == "jobs":
            firmware_id = sim.fleet.firmware_ids()[0]
            await client.list_ota_job_by_firmware(firmware_id=firmware_id, page_size=ITEMS)
        else:
            await client.list_ota_task_by_job(job_id=sim.fleet.job_ids()[0], page_size=ITEMS)
    return recorder.bodies[-1]


def record() -> dict[tuple[str, str], bytes]:
    """One 100-item page of every kind in every format, keyed by (kind, format)."""
    fleets = {
        "firmware": _fleet(firmware=ITEMS, jobs=1, tasks=1),
        "jobs": _fleet(firmware=1, jobs=ITEMS, tasks=1),
        "tasks": _fleet(firmware=1, jobs=1, tasks=ITEMS),
    }
    return {
        (kind, fmt_name): anyio.run(_recorded, fleets[kind], dialect, response_format, kind)
        for kind in KINDS
        for fmt_name, (dialect, response_format) in FORMATS.items()
    }


def _per_call(fn: Callable[[], Any], budget: float, repeat: int) -> float:
    """CPU seconds per call: the best of ``repeat`` runs of about ``budget`` seconds each.

    CPU time, not wall time: on a shared machine the process is often not running at all.
    """
    return best_per_call({"fn": fn}, budget, repeat)["fn"]


def best_per_call(
    fns: dict[Any, Callable[[], Any]], budget: float, repeat: int
) -> dict[Any, float]:
    """CPU seconds per call of each of ``fns``: the best of ``repeat`` runs of about
    ``budget`` seconds each, the runs of all of them interleaved.

    Interleaved, because this VM has slow spells of seconds (a neighbour busy): run one
    function's samples back to back and a spell can cover them all, making that row
    alone look 1.5x dearer; spread over the whole measurement, every row meets the same
    spells and each keeps its quiet samples.
    """
    timers: dict[Any, tuple[timeit.Timer, int]] = {}
    for key, fn in fns.items():
        timer = timeit.Timer(fn, timer=time.process_time)
        took = timer.timeit(number=1)
        timers[key] = timer, max(1, int(budget / max(took, 1e-9)))
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(repeat):
        for key, (timer, number) in timers.items():
            best[key] = min(best[key], timer.timeit(number=number) / number)
    return best


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


def _check(kind: str, fmt_name: str, body: bytes) -> None:
    action = KINDS[kind]
    page = _library(action, body)()
    if len(page.items) != ITEMS:
        raise AssertionError(f"{action} {fmt_name}: {len(page.items)} items, not {ITEMS}")
    if fmt_name == "JSON PascalCase" and _sdk(action, body)().to_map().get("Total") is None:
        raise AssertionError(f"the SDK did not read the {action} page")


def _contenders(kind: str, fmt_name: str, body: bytes) -> dict[Any, Callable[[], Any]]:
    """What is timed for one recorded page: the library, its parse alone, the SDK."""
    action = KINDS[kind]
    fns: dict[Any, Callable[[], Any]] = {
        (kind, fmt_name, "ours"): _library(action, body),
        (kind, fmt_name, "parse"): lambda: load_body(body),
    }
    if fmt_name == "JSON PascalCase":
        fns[kind, fmt_name, "sdk"] = _sdk(action, body)
    return fns


def _row(kind: str, fmt_name: str, body: bytes, best: dict[Any, float]) -> dict[str, Any]:
    """Microseconds per item of one recorded page, by the library and by the SDK."""
    ours = best[kind, fmt_name, "ours"] / ITEMS * 1e6
    parse = best[kind, fmt_name, "parse"] / ITEMS * 1e6
    sdk_s = best.get((kind, fmt_name, "sdk"))
    sdk = None if sdk_s is None else sdk_s / ITEMS * 1e6
    return {
        "kind": kind,
        "action": KINDS[kind],
        "items": ITEMS,
        "format": fmt_name,
        "body_bytes": len(body),
        "otaclient_us_per_item": ours,
        "parse_us_per_item": parse,
        "sdk_us_per_item": sdk,
        "otaclient_over_sdk": None if sdk is None else ratio(ours, sdk),
        "target_us_per_item": TARGET_US[fmt_name],
        "met": ours <= TARGET_US[fmt_name],
    }


def _baseline() -> dict[tuple[str, str], float]:
    if not BASELINE.exists():
        return {}
    rows = json.loads(BASELINE.read_text())["rows"]
    return {(row["kind"], row["format"]): row["otaclient_us_per_item"] for row in rows}


def _report(rows: list[dict[str, Any]], budget: float, repeat: int) -> Result:
    before = _baseline()
    result = Result(
        NAME,
        f"Decode one {ITEMS}-item page: microseconds per item, bytes to models (best of "
        f"{repeat} interleaved runs of ~{budget * 1000:.0f} ms)",
        [
            "items",
            "format",
            "body KB",
            "before us/item",
            "us/item",
            "after / before",
            "of which parse",
            "official SDK us/item",
            "otaclient / SDK",
            "target",
        ],
    )
    for row in rows:
        old = before.get((row["kind"], row["format"]))
        row["before_us_per_item"] = old
        result.rows.append(
            [
                row["kind"],
                row["format"],
                row["body_bytes"] / 1024,
                old,
                row["otaclient_us_per_item"],
                None if old is None else ratio(row["otaclient_us_per_item"], old),
                row["parse_us_per_item"],
                row["sdk_us_per_item"],
                row["otaclient_over_sdk"],
                f"<= {row['target_us_per_item']:g}: {verdict(row['met'])}",
            ]
        )
    result.data = {"rows": rows, "budget_s": budget, "repeat": repeat}
    result.notes.append(
        "otaclient / SDK < 1 means the library is faster; the SDK reads PascalCase JSON only "
        "(its from_map matches keys exactly, converts no types and leaves times as text)"
    )
    return result


def run(smoke: bool) -> Result:
    budget, repeat = (0.002, 2) if smoke else (0.01, 120)
    recorded = record()
    pages = [(kind, fmt_name) for kind in KINDS for fmt_name in FORMATS]
    fns: dict[Any, Callable[[], Any]] = {}
    for kind, fmt_name in pages:
        _check(kind, fmt_name, recorded[kind, fmt_name])
        fns.update(_contenders(kind, fmt_name, recorded[kind, fmt_name]))
    best = best_per_call(fns, budget, repeat)
    rows = [_row(kind, fmt_name, recorded[kind, fmt_name], best) for kind, fmt_name in pages]
    return _report(rows, budget, repeat)
