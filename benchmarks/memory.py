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
import subprocess
import sys
import time
from typing import Any

from ._common import ROOT, Result, rss_bytes

NAME = "memory"

TARGET_MB = 100.0
PAGE_SIZE = 100
MB = 1024 * 1024


# --------------------------------------------------------------------------- the child


def _item_id(prefix: str, index: int) -> str:
    return f"{prefix}{index:020d}"  # 26 characters, like the service's ids


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset VmHWM to the current RSS (Linux >= 4.0)
        return True
    except OSError:
        return False


def _child(shape: str, count: int, template: dict[str, Any]) -> dict[str, Any]:
    import anyio
    import httpx

    from otaclient import OTAClient

    try:
        import orjson

        dumps = orjson.dumps
    except ImportError:  # pragma: no cover

        def dumps(value: Any) -> bytes:
            return json.dumps(value).encode()

    statuses = ("CONFIRM", "QUEUED", "NOTIFIED", "IN_PROGRESS", "SUCCEEDED", "FAILED", "CANCELED")

    def firmware_item(index: int, _status: str | None) -> dict[str, Any]:
        return {**template, "FirmwareId": _item_id("fw", index), "FirmwareName": f"fw-{index}"}

    def task_item(index: int, status: str | None) -> dict[str, Any]:
        return {
            **template,
            "TaskId": _item_id("tk", index),
            "DeviceName": f"device-{index:08d}",
            "IotId": _item_id("io", index),
            "TaskStatus": status or statuses[index % len(statuses)],
        }

    make, wrapper = (
        (firmware_item, ("FirmwareInfo", "SimpleFirmwareInfo"))
        if shape == "firmware"
        else (task_item, ("Data", "SimpleOTATaskInfo"))
    )
    served = [0]

    def handler(request: httpx.Request) -> httpx.Response:
        params = request.url.params
        page, size = int(params["CurrentPage"]), int(params["PageSize"])
        status = params.get("TaskStatus")
        # With a status filter, that status's items: every 7th item, by index.
        total = count if status is None else len(range(statuses.index(status), count, 7))
        start = (page - 1) * size
        indices = range(start, min(start + size, total))
        if status is not None:
            indices = range(
                statuses.index(status) + 7 * indices.start,
                statuses.index(status) + 7 * indices.stop,
                7,
            )
        items = [make(i, status) for i in indices]
        served[0] += 1
        body = {
            "RequestId": f"R{served[0]}",
            "Success": True,
            "Total": total,
            "PageSize": size,
            "CurrentPage": page,
            "PageCount": math.ceil(total / size) if size else 0,
            wrapper[0]: {wrapper[1]: items},
        }
        return httpx.Response(200, content=dumps(body))

    async def harvest() -> int:
        async with OTAClient(
            endpoint="http://mock",
            access_key_id="id",
            access_key_secret="secret",
            qps=None,
            transport=httpx.MockTransport(handler),
        ) as client:
            seen = 0
            if shape == "firmware":
                async for _ in client.iter_ota_firmware(page_size=PAGE_SIZE):
                    seen += 1
            else:
                async for _ in client.iter_ota_task_by_job(job_id="job", page_size=PAGE_SIZE):
                    seen += 1
            return seen

    gc.collect()
    baseline = rss_bytes()
    reset = _reset_peak()
    hwm_before = rss_bytes("VmHWM")
    started = time.perf_counter()
    items = anyio.run(harvest)
    wall = time.perf_counter() - started
    return {
        "shape": shape,
        "count": count,
        "items": items,
        "pages": served[0],
        "baseline_rss": baseline,
        "hwm_reset": reset,
        "hwm_before": hwm_before,
        "peak_hwm": rss_bytes("VmHWM"),
        "rss_after": rss_bytes(),
        "wall_s": wall,
    }


def _child_ids(count: int) -> dict[str, Any]:
    gc.collect()
    baseline = rss_bytes()
    reset = _reset_peak()
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


# --------------------------------------------------------------------------- the parent


def _templates() -> dict[str, dict[str, Any]]:
    """One real item of each shape, from the simulator (PascalCase)."""
    import anyio

    from otaclient._signing import canonical_query, percent_encode, sign
    from otaclient.simulator import (
        DEMO_ACCESS_KEY_ID,
        DEMO_ACCESS_KEY_SECRET,
        FleetSpec,
        Simulator,
        SimulatorConfig,
    )

    sim = Simulator(SimulatorConfig(seed=3, qps=None, fleet=FleetSpec.single_job(10)))
    job_id = sim.fleet.job_ids()[0]

    async def ask(action: str, extra: dict[str, str]) -> dict[str, Any]:
        import httpx

        params = {
            "Format": "JSON",
            "Version": "2018-01-20",
            "AccessKeyId": DEMO_ACCESS_KEY_ID,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureVersion": "1.0",
            "SignatureNonce": f"n{action}",
            "Timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "Action": action,
            **extra,
        }
        query = canonical_query(params)
        signature = percent_encode(sign("POST", query, DEMO_ACCESS_KEY_SECRET))
        async with httpx.AsyncClient(transport=sim.transport()) as http:
            response = await http.post(f"http://sim/?{query}&Signature={signature}")
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


def _spawn(args: list[str]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.memory", "--child", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"memory child {args[:2]} failed:\n{out.stderr[-2000:]}")
    data: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return data


def run(smoke: bool) -> Result:
    templates = _templates()
    plan = (
        [("firmware", 10_000), ("tasks", 10_000)]
        if smoke
        else [
            ("firmware", 10_000),
            ("firmware", 100_000),
            ("firmware", 1_000_000),
            ("tasks", 10_000),
            ("tasks", 100_000),
        ]
    )
    rows = []
    for shape, count in plan:
        rows.append(_spawn([shape, str(count), json.dumps(templates[shape])]))
    rows.append(_spawn(["ids", str(2_500 if smoke else 250_000), "{}"]))

    result = Result(
        NAME,
        f"Memory: peak RSS above the baseline while iterating (fresh process per row, "
        f"qps=None, {PAGE_SIZE} items/page, bodies built on demand)",
        ["harvest", "items", "baseline MB", "peak above baseline MB", "items/s", "target"],
    )
    for row in rows:
        row["peak_above_baseline_mb"] = max(0, row["peak_hwm"] - row["baseline_rss"]) / MB
        row["baseline_mb"] = row["baseline_rss"] / MB
        row["items_per_s"] = row["items"] / row["wall_s"] if row["wall_s"] else None
        if row["shape"] == "ids":
            label = "reference: a set of that many 26-char ids"
            target = "-"
        else:
            label = {"firmware": "iter_ota_firmware", "tasks": "iter_ota_task_by_job"}[row["shape"]]
            if row["items"] != row["count"]:
                raise AssertionError(f"{label}: {row['items']} items, expected {row['count']}")
            target = "MET" if row["peak_above_baseline_mb"] < TARGET_MB else "MISSED"
        result.rows.append(
            [
                label,
                row["count"],
                row["baseline_mb"],
                row["peak_above_baseline_mb"],
                row["items_per_s"],
                f"< {TARGET_MB:.0f} MB: {target}",
            ]
        )
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


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "--child":
        shape, count = sys.argv[2], int(sys.argv[3])
        if shape == "ids":
            print(json.dumps(_child_ids(count)))
        else:
            print(json.dumps(_child(shape, count, json.loads(sys.argv[4]))))
