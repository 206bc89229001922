"""What one call costs the client: requests/s and client CPU per 1,000 calls, no rate limit.

The simulator (its own process; no quota, no added latency) serves ``ListOTAFirmware`` over
loopback HTTP, from a fleet of 120 packages, so that every page holds 100 items. ``N``
calls of ``list_ota_firmware(page_size=100)`` run with 32 in flight through:

* ``otaclient`` (``qps=None``): sign, send, read, classify, decode into ``Page[Firmware]``;
* the official async SDK (``alibabacloud-iot20180120`` on ``alibabacloud-tea-openapi``);
* a bare floor: ``httpx.AsyncClient.post`` (on otaclient's ``DefaultTransport``) of URLs
  signed before the clock starts, then ``json.loads`` of the body; no signing, no models.

otaclient also runs at 1, 8 and 128 in flight (``max_concurrency`` raised to 128 for the
last): its CPU per call should not grow with concurrency.

Client CPU is ``time.process_time()`` of this process; the server's CPU is read from /proc
and reported apart. A cProfile run of the otaclient row shows where its CPU goes.
"""

from __future__ import annotations

import cProfile
import json
import pstats
import statistics
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import httpx

from otaclient import OTAClient
from otaclient._constants import KEEPALIVE_EXPIRY
from otaclient._transport import DefaultTransport

from ._common import (
    Result,
    Server,
    otaclient_of,
    ratio,
    sdk_client,
    serve,
    signed_query,
    timed,
    verdict,
)

NAME = "cost_per_call"

CONCURRENCY = 32
SWEEP = (1, 8, 128)  # besides CONCURRENCY: otaclient's CPU per call across concurrency
PAGE_SIZE = 100
FLEET = {"products": 1, "firmware_per_product": 120, "devices_per_product": 10,
         "jobs_per_firmware": [1, 1], "tasks_per_job": [1, 1]}  # fmt: skip
SDK_SPEED_TARGET = 1.5  # otaclient requests/s >= 1.5x the official SDK's
SDK_CPU_TARGET = 0.8  # otaclient CPU/call <= 0.8x the official SDK's
CPU_FLOOR_TARGET = 1.3  # otaclient CPU/call within 1.3x the bare floor
FLAT_TARGET = 1.3  # otaclient CPU/call at 128 in flight within 1.3x of 1 in flight
FLOOR = "bare floor (httpx + json.loads)"
OURS = "otaclient"
SDK = "official async SDK"

Call = Callable[[], Awaitable[Any]]


async def _drive(calls: int, call: Call, concurrency: int = CONCURRENCY) -> tuple[float, float]:
    """Run ``calls`` calls from ``concurrency`` workers; return wall and CPU seconds."""
    remaining = iter(range(calls))

    async def worker() -> None:
        for _ in remaining:
            await call()

    with timed() as took:
        async with anyio.create_task_group() as group:
            for _ in range(concurrency):
                group.start_soon(worker)
    return took.wall, took.cpu


def _otaclient(url: str, concurrency: int = CONCURRENCY) -> OTAClient:
    return otaclient_of(url, qps=None, max_concurrency=max(concurrency, 32))


def _otaclient_at(concurrency: int) -> Any:
    async def run(url: str, calls: int, warmup: int) -> dict[str, Any]:
        async with _otaclient(url, concurrency) as client:
            items = []

            async def call() -> None:
                page = await client.list_ota_firmware(page_size=PAGE_SIZE)
                items.append(len(page.items))

            await _drive(warmup, call, concurrency)
            wall, cpu = await _drive(calls, call, concurrency)
            stats = client.stats
        return {"wall_s": wall, "cpu_s": cpu, "items_per_call": items[-1], "stats": stats}

    return run


_run_otaclient = _otaclient_at(CONCURRENCY)


async def _run_sdk(url: str, calls: int, warmup: int) -> dict[str, Any]:
    from alibabacloud_iot20180120 import models

    client = sdk_client(url)
    items = []

    async def call() -> None:
        response = await client.list_otafirmware_async(
            models.ListOTAFirmwareRequest(current_page=1, page_size=PAGE_SIZE)
        )
        if not response.body.success:
            raise RuntimeError(f"SDK error answer: {response.body.to_map()}")
        items.append(len(response.body.firmware_info.simple_firmware_info))

    await _drive(warmup, call)
    wall, cpu = await _drive(calls, call)
    return {"wall_s": wall, "cpu_s": cpu, "items_per_call": items[-1]}


def presigned_urls(url: str, count: int) -> list[str]:
    """``count`` distinct, correctly signed ListOTAFirmware URLs (signed now, sent later)."""
    base = url.rstrip("/") + "/"
    page = {"CurrentPage": "1", "PageSize": str(PAGE_SIZE)}
    return [
        f"{base}?{signed_query('ListOTAFirmware', page, nonce=uuid.uuid4().hex)}"
        for _ in range(count)
    ]


async def _run_floor(url: str, calls: int, warmup: int) -> dict[str, Any]:
    urls = iter(presigned_urls(url, calls + warmup))
    limits = httpx.Limits(max_connections=CONCURRENCY, keepalive_expiry=KEEPALIVE_EXPIRY)
    async with httpx.AsyncClient(transport=DefaultTransport(limits=limits)) as http:
        items = []

        async def call() -> None:
            response = await http.post(next(urls))
            body = json.loads(response.content)
            if not body.get("Success"):
                raise RuntimeError(f"floor got an error answer: {body}")
            items.append(len(body["FirmwareInfo"]["SimpleFirmwareInfo"]))

        await _drive(warmup, call)
        wall, cpu = await _drive(calls, call)
    return {"wall_s": wall, "cpu_s": cpu, "items_per_call": items[-1]}


def _measure(server: Server, runner: Any, calls: int, backend: str) -> dict[str, Any]:
    warmup = min(50, calls // 4)
    server.reset()
    server_cpu = server.cpu()
    row: dict[str, Any] = anyio.run(runner, server.url, calls, warmup, backend=backend)
    row["server_cpu_s"] = server.cpu() - server_cpu
    stats = server.stats()
    row["errors"] = stats["requests"] - stats["accepted"]
    return row


def _rounds(server: Server, plan: dict[str, tuple[Any, str, int]], rounds: int) -> dict[str, Any]:
    """Run every row ``rounds`` times, interleaved, so machine noise hits them alike."""
    runs: dict[str, list[dict[str, Any]]] = {label: [] for label in plan}
    for _ in range(rounds):
        for label, (runner, backend, calls) in plan.items():
            runs[label].append(_measure(server, runner, calls, backend))
    rows = {}
    for label, (_, backend, calls) in plan.items():
        done = runs[label]
        rates = [calls / r["wall_s"] for r in done]
        cpu = [r["cpu_s"] / calls * 1000 for r in done]
        server_cpu = [r["server_cpu_s"] / calls * 1000 for r in done]
        rows[label] = {
            "backend": backend,
            "calls": calls * rounds,
            "rounds": rounds,
            "items_per_call": done[-1]["items_per_call"],
            "req_per_s": statistics.median(rates),
            "req_per_s_rounds": rates,
            "cpu_s_per_1000": statistics.median(cpu),
            "cpu_s_per_1000_rounds": cpu,
            "server_cpu_s_per_1000": statistics.median(server_cpu),
            "errors": sum(r["errors"] for r in done),
        }
    return rows


# --------------------------------------------------------------------------- profile


def profile_otaclient(url: str, calls: int, top: int = 20) -> dict[str, Any]:
    """cProfile ``calls`` otaclient calls; the top functions and each package's share."""
    entries = _profile(url, calls)
    idle = sum(tt for key, (_, _, tt, _, _) in entries.items() if _idle(key))
    busy = sum(tt for (_, _, tt, _, _) in entries.values()) - idle
    by_package: dict[str, float] = {}
    rows = []
    for (file, line, func), (_, calls_made, tt, ct, _) in entries.items():
        if _idle((file, line, func)):
            continue
        package = _package(file)
        by_package[package] = by_package.get(package, 0.0) + tt
        rows.append((tt, ct, calls_made, f"{_short(file)}:{line}({func})"))
    rows.sort(reverse=True)
    cumulative = sorted(
        (
            (ct, f"{_short(file)}:{line}({func})")
            for (file, line, func), (_, _, _, ct, _) in entries.items()
            if "otaclient" in file
        ),
        reverse=True,
    )
    return {
        "calls": calls,
        "busy_s": busy,
        "idle_poll_s": idle,
        "busy_us_per_call": busy / calls * 1e6,
        "by_package_share": {
            k: round(v / busy, 4) for k, v in sorted(by_package.items(), key=lambda kv: -kv[1])
        },
        "top_tottime": [
            {
                "function": name,
                "tottime_share": round(tt / busy, 4),
                "us_per_call": round(tt / calls * 1e6, 2),
                "ncalls": n,
            }
            for tt, _, n, name in rows[:top]
        ],
        "otaclient_cumtime": [
            {"function": name, "us_per_call": round(ct / calls * 1e6, 2)}
            for ct, name in cumulative[:top]
        ],
    }


def _profile(url: str, calls: int) -> dict[tuple[str, int, str], Any]:
    """cProfile's raw entries for ``calls`` calls, after 20 unprofiled ones."""

    async def main() -> None:
        async with _otaclient(url) as client:

            async def call() -> None:
                await client.list_ota_firmware(page_size=PAGE_SIZE)

            await _drive(20, call)
            profiler.enable()
            await _drive(calls, call)
            profiler.disable()

    profiler = cProfile.Profile()
    anyio.run(main, backend="asyncio")
    entries: dict[tuple[str, int, str], Any] = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    return entries


def _idle(key: tuple[str, int, str]) -> bool:
    """The event loop waiting in poll/epoll (a built-in): time not spent working."""
    file, _, func = key
    return "poll" in func and "~" in file


def _package(file: str) -> str:
    if file.startswith("~") or file.startswith("<"):
        return "builtins"
    if "/otaclient/" in file:
        return "otaclient"
    if "site-packages/" in file:
        return file.split("site-packages/", 1)[1].split("/", 1)[0].removesuffix(".py")
    if "/lib/python" in file:
        return "stdlib:" + file.rsplit("/lib/python", 1)[1].split("/", 2)[1].removesuffix(".py")
    return file


def _short(file: str) -> str:
    for marker in ("site-packages/", "/lib/python3.11/", "/work/main/"):
        if marker in file:
            return file.split(marker, 1)[1]
    return file


# --------------------------------------------------------------------------- run


def _sweep_label(concurrency: int) -> str:
    return f"otaclient, {concurrency} in flight"


def _plan(smoke: bool, calls: int) -> dict[str, tuple[Any, str, int]]:
    """Row label -> (runner, backend, calls per round)."""
    plan: dict[str, tuple[Any, str, int]] = {
        FLOOR: (_run_floor, "asyncio", calls),
        OURS: (_run_otaclient, "asyncio", calls),
    }
    if not smoke:
        plan["bare floor (trio)"] = (_run_floor, "trio", calls)
        plan["otaclient (trio)"] = (_run_otaclient, "trio", calls)
        for concurrency in SWEEP:
            plan[_sweep_label(concurrency)] = (_otaclient_at(concurrency), "asyncio", calls)
    plan[SDK] = (_run_sdk, "asyncio", 40 if smoke else calls)
    return plan


def _table(measured: dict[str, dict[str, Any]], title: str) -> Result:
    floor, sdk = measured[FLOOR], measured[SDK]
    result = Result(
        NAME,
        title,
        [
            "client",
            "loop",
            "calls",
            "req/s",
            "req/s vs SDK",
            "client CPU s / 1000 calls",
            "CPU vs SDK",
            "CPU vs floor",
            "server CPU s / 1000",
            "errors",
        ],
    )
    for label, row in measured.items():
        row["speed_vs_sdk"] = ratio(row["req_per_s"], sdk["req_per_s"])
        row["cpu_vs_sdk"] = ratio(row["cpu_s_per_1000"], sdk["cpu_s_per_1000"])
        row["cpu_vs_floor"] = ratio(row["cpu_s_per_1000"], floor["cpu_s_per_1000"])
        result.rows.append(
            [
                label,
                row["backend"],
                row["calls"],
                row["req_per_s"],
                row["speed_vs_sdk"],
                row["cpu_s_per_1000"],
                row["cpu_vs_sdk"],
                row["cpu_vs_floor"],
                row["server_cpu_s_per_1000"],
                row["errors"],
            ]
        )
    return result


def _flatness(measured: dict[str, dict[str, Any]]) -> float | None:
    """otaclient's CPU per call at the most in flight over that at the fewest."""
    if _sweep_label(1) not in measured:
        return None
    low = measured[_sweep_label(1)]["cpu_s_per_1000"]
    high = measured[_sweep_label(max(SWEEP))]["cpu_s_per_1000"]
    return ratio(high, low)


def _notes(measured: dict[str, dict[str, Any]], profile: dict[str, Any]) -> list[str]:
    ours = measured[OURS]
    notes = [
        f"target otaclient req/s >= {SDK_SPEED_TARGET:.1f}x SDK: {ours['speed_vs_sdk']:.2f}x -> "
        f"{verdict(ours['speed_vs_sdk'] >= SDK_SPEED_TARGET)}",
        f"target otaclient CPU/call <= {SDK_CPU_TARGET:.1f}x SDK: {ours['cpu_vs_sdk']:.2f}x -> "
        f"{verdict(ours['cpu_vs_sdk'] <= SDK_CPU_TARGET)}",
        f"otaclient CPU/call vs bare floor: {ours['cpu_vs_floor']:.2f}x "
        f"(within {CPU_FLOOR_TARGET:.1f}x: {verdict(ours['cpu_vs_floor'] <= CPU_FLOOR_TARGET)})",
    ]
    flat = _flatness(measured)
    if flat is not None:
        notes.append(
            f"target CPU/call flat 1 -> {max(SWEEP)} in flight within {FLAT_TARGET:.1f}x: "
            f"{flat:.2f}x -> {verdict(flat <= FLAT_TARGET)}"
        )
    if "otaclient (trio)" in measured:
        trio = ratio(
            measured["otaclient (trio)"]["cpu_s_per_1000"],
            measured["bare floor (trio)"]["cpu_s_per_1000"],
        )
        notes.append(f"on trio: otaclient CPU/call = {trio:.2f}x the trio bare floor")
        measured["otaclient (trio)"]["cpu_vs_trio_floor"] = trio
    return [
        *notes,
        "profile (cProfile, otaclient row, busy time by package): "
        + ", ".join(f"{k} {v:.0%}" for k, v in list(profile["by_package_share"].items())[:6]),
        "top self time: "
        + "; ".join(
            f"{e['function'].rsplit('/', 1)[-1]} {e['tottime_share']:.0%}"
            for e in profile["top_tottime"][:5]
        ),
    ]


def run(smoke: bool) -> Result:
    rounds = 1 if smoke else 5
    calls = 200 if smoke else 600  # per round
    plan = _plan(smoke, calls)
    with serve({"seed": 2, "qps": None, "fleet": FLEET}) as server:
        measured = _rounds(server, plan, rounds)
        profile = profile_otaclient(server.url, 200 if smoke else 1000)

    result = _table(
        measured,
        f"Cost per call: list_ota_firmware(page_size={PAGE_SIZE}), {rounds} x {calls:,} calls "
        f"per row, {CONCURRENCY} in flight unless the row says otherwise, no rate limit, no "
        f"latency ({measured[OURS]['items_per_call']} items/page); medians of interleaved rounds",
    )
    result.notes += _notes(measured, profile)
    ours = measured[OURS]
    flat = _flatness(measured)
    result.data = {
        "rounds": rounds,
        "calls_per_round": calls,
        "sdk_calls_per_round": plan[SDK][2],
        "concurrency": CONCURRENCY,
        "sweep": list(SWEEP),
        "rows": measured,
        "profile": profile,
        "targets": {
            "speed_vs_sdk_min": SDK_SPEED_TARGET,
            "speed_vs_sdk": ours["speed_vs_sdk"],
            "cpu_vs_sdk_max": SDK_CPU_TARGET,
            "cpu_vs_sdk": ours["cpu_vs_sdk"],
            "cpu_vs_floor_max": CPU_FLOOR_TARGET,
            "cpu_vs_floor": ours["cpu_vs_floor"],
            "flat_max": FLAT_TARGET,
            "flat": flat,
            "met_speed": ours["speed_vs_sdk"] >= SDK_SPEED_TARGET,
            "met_cpu": ours["cpu_vs_sdk"] <= SDK_CPU_TARGET,
            "met_flat": None if flat is None else flat <= FLAT_TARGET,
        },
    }
    return result
