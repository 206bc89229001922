"""Memory of a long harvest: peak RSS above the baseline while iterating 10^4 .. 10^6 items.

Each size runs in a fresh interpreter (``python -m benchmarks.memory --child ...``): it
imports everything, records its resident set (the baseline), resets the kernel's peak
counter (``/proc/self/clear_refs``), iterates the harvest with ``qps=None`` over an
``httpx.MockTransport`` that builds each page body only when it is asked for, and reports
the peak (``VmHWM``) above the baseline. Nothing the caller does keeps the items.

Shapes: ``ListOTAFirmware`` items (``iter_ota_firmware``) and ``ListOTATaskByJob`` items
(``iter_ota_task_by_job``). A task list reaches at most 100,000 items per listing, and
a harvest splits a deeper one by the 7 task statuses, so 10^6 tasks (about 143,000 per
status) cannot be harvested at all; the task shape stops at 10^5.

The harvest remembers the id of every item it yields (exactly-once across a list that
moves), up to 250,000 ids, and then only a recent window. The reference row measures
what 250,000 such ids cost on their own.
"""

from __future__ import annotations

import gc
import json
import math
from collections.abc import Callable
from typing import Any

import anyio
import httpx

from otaclient import OTAClient

from ._common import (
    PAGE_SIZE,
    Result,
    child_main,
    reset_peak,
    rss_bytes,
    run_child,
    signed_query,
    timed,
    verdict,
)

NAME = "memory"

TARGET_MB = 100.0
MB = 1024 * 1024
STATUSES = ("CONFIRM", "QUEUED", "NOTIFIED", "IN_PROGRESS", "SUCCEEDED", "FAILED", "CANCELED")
LABELS = {"firmware": "iter_ota_firmware", "tasks": "iter_ota_task_by_job"}

Item = Callable[[int, "str | None"], dict[str, Any]]


# --------------------------------------------------------------------------- the child


def _item_id(prefix: str, index: int) -> str:
    return f"{prefix}{index:020d}"  # 26 characters, like the service's ids


def _item_maker(shape: str, template: dict[str, Any]) -> tuple[Item, tuple[str, str]]:
    """Builds item ``index`` of ``shape`` (in a status, for tasks), and the item wrapper."""

    def firmware_item(index: int, _status: str | None) -> dict[str, Any]:
        return {**template, "FirmwareId": _item_id("fw", index), "FirmwareName": f"fw-{index}"}

    def task_item(index: int, status: str | None) -> dict[str, Any]:
        return {
            **template,
            "TaskId": _item_id("tk", index),
            "DeviceName": f"device-{index:08d}",
            "IotId": _item_id("io", index),
            "TaskStatus": status or STATUSES[index % len(STATUSES)],
        }

    if shape == "firmware":
        return firmware_item, ("FirmwareInfo", "SimpleFirmwareInfo")
    return task_item, ("Data", "SimpleOTATaskInfo")


class _Pages:
    """A MockTransport handler that builds each page of ``count`` items when asked."""

    def __init__(self, shape: str, count: int, template: dict[str, Any]) -> None:
        try:
            import orjson

            self.dumps: Callable[[Any], bytes] = orjson.dumps
        except ImportError:  # pragma: no cover
            self.dumps = lambda value: json.dumps(value).encode()
        self.make, self.wrapper = _item_maker(shape, template)
        self.count = count
        self.served = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        page, size = int(params["CurrentPage"]), int(params["PageSize"])
        status = params.get("TaskStatus")
        count = self.count
        # With a status filter, that status's items: every 7th item, by index.
        total = count if status is None else len(range(STATUSES.index(status), count, 7))
        start = (page - 1) * size
        indices = range(start, min(start + size, total))
        if status is not None:
            first = STATUSES.index(status)
            indices = range(first + 7 * indices.start, first + 7 * indices.stop, 7)
        self.served += 1
        body = {
            "RequestId": f"R{self.served}",
            "Success": True,
            "Total": total,
            "PageSize": size,
            "CurrentPage": page,
            "PageCount": math.ceil(total / size) if size else 0,
            self.wrapper[0]: {self.wrapper[1]: [self.make(i, status) for i in indices]},
        }
        return httpx.Response(200, content=self.dumps(body))


async def _harvest(shape: str, pages: _Pages) -> int:
    async with OTAClient(
        endpoint="http://mock",
        access_key_id="id",
        access_key_secret="secret",
        qps=None,
        transport=httpx.MockTransport(pages),
    ) as client:
        seen = 0
        if shape == "firmware":
            async for _ in client.iter_ota_firmware(page_size=PAGE_SIZE):
                seen += 1
        else:
            async for _ in client.iter_ota_task_by_job(job_id="job", page_size=PAGE_SIZE):
                seen += 1
        return seen


def _child(args: list[str]) -> dict[str, Any]:
    """``SHAPE COUNT TEMPLATE``: one harvest (or, for ``ids``, the reference id set)."""
    shape, count = args[0], int(args[1])
    if shape == "ids":
        return _child_ids(count)
    pages = _Pages(shape, count, json.loads(args[2]))
    gc.collect()
    baseline = rss_bytes()
    reset = reset_peak()
    hwm_before = rss_bytes("VmHWM")
    with timed() as took:
        items = anyio.run(_harvest, shape, pages)
    return {
        "shape": shape,
        "count": count,
        "items": items,
        "pages": pages.served,
        "baseline_rss": baseline,
        "hwm_reset": reset,
        "hwm_before": hwm_before,
        "peak_hwm": rss_bytes("VmHWM"),
        "rss_after": rss_bytes(),
        "wall_s": took.wall,
    }


def _child_ids(count: int) -> dict[str, Any]:
    gc.collect()
    baseline = rss_bytes()
    reset = reset_peak()
    ids = {_item_id("fw", i) for i in range(count)}
    peak = rss_bytes("VmHWM")
    return {
        "shape": "ids",
        "count": len(ids),
        "items": len(ids),
        "baseline_rss": baseline,
        "hwm_reset": reset,
        "peak_hwm": peak,
        "rss_after": rss_bytes(),
        "wall_s": 0.0,
    }


# --------------------------------------------------------------------------- setup


def _templates() -> dict[str, dict[str, Any]]:
    """One real item of each shape, from the simulator (PascalCase)."""
    from otaclient.simulator import FleetSpec, Simulator, SimulatorConfig

    sim = Simulator(SimulatorConfig(seed=3, qps=None, fleet=FleetSpec.single_job(10)))
    job_id = sim.fleet.job_ids()[0]

    async def ask(action: str, extra: dict[str, str]) -> dict[str, Any]:
        query = signed_query(action, extra, nonce=f"n{action}")
        async with httpx.AsyncClient(transport=sim.transport()) as http:
            response = await http.post(f"http://sim/?{query}")
        data: dict[str, Any] = response.json()
        return data

    async def main() -> dict[str, dict[str, Any]]:
        firmware = await ask("ListOTAFirmware", {"PageSize": "1", "CurrentPage": "1"})
        tasks = await ask(
            "ListOTATaskByJob", {"JobId": job_id, "PageSize": "1", "CurrentPage": "1"}
        )
        return {
            "firmware": firmware["FirmwareInfo"]["SimpleFirmwareInfo"][0],
            "tasks": tasks["Data"]["SimpleOTATaskInfo"][0],
        }

    return anyio.run(main)


def _plan(smoke: bool) -> list[tuple[str, int]]:
    if smoke:
        return [("firmware", 10_000), ("tasks", 10_000)]
    return [
        ("firmware", 10_000),
        ("firmware", 100_000),
        ("firmware", 1_000_000),
        ("tasks", 10_000),
        ("tasks", 100_000),
    ]


# --------------------------------------------------------------------------- report


def _table_row(row: dict[str, Any]) -> list[Any]:
    row["peak_above_baseline_mb"] = max(0, row["peak_hwm"] - row["baseline_rss"]) / MB
    row["baseline_mb"] = row["baseline_rss"] / MB
    row["items_per_s"] = row["items"] / row["wall_s"] if row["wall_s"] else None
    if row["shape"] == "ids":
        label, target = "reference: a set of that many 26-char ids", "-"
    else:
        label = LABELS[row["shape"]]
        if row["items"] != row["count"]:
            raise AssertionError(f"{label}: {row['items']} items, expected {row['count']}")
        target = verdict(row["peak_above_baseline_mb"] < TARGET_MB)
    return [
        label,
        row["count"],
        row["baseline_mb"],
        row["peak_above_baseline_mb"],
        row["items_per_s"],
        f"< {TARGET_MB:.0f} MB: {target}",
    ]


def _report(rows: list[dict[str, Any]]) -> Result:
    result = Result(
        NAME,
        f"Memory: peak RSS above the baseline while iterating (fresh process per row, "
        f"qps=None, {PAGE_SIZE} items/page, bodies built on demand)",
        ["harvest", "items", "baseline MB", "peak above baseline MB", "items/s", "target"],
    )
    result.rows = [_table_row(row) for row in rows]
    harvests = [r for r in rows if r["shape"] == "firmware"]
    if len(harvests) > 1:
        growth = harvests[-1]["peak_above_baseline_mb"] - harvests[0]["peak_above_baseline_mb"]
        result.notes.append(
            f"iter_ota_firmware: {harvests[0]['count']:,} -> {harvests[-1]['count']:,} items adds "
            f"{growth:.1f} MB of peak; the exactly-once id set (<= 250,000 ids) is the part "
            "that grows with the count (compare the reference row)"
        )
    result.data = {"rows": rows, "target_mb": TARGET_MB}
    return result


def run(smoke: bool) -> Result:
    templates = _templates()
    rows = [
        run_child(NAME, shape, str(count), json.dumps(templates[shape]))
        for shape, count in _plan(smoke)
    ]
    rows.append(run_child(NAME, "ids", str(2_500 if smoke else 250_000), "{}"))
    return _report(rows)


if __name__ == "__main__":
    child_main(_child)
