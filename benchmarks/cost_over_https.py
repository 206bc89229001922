"""What one call costs over HTTPS, as the real endpoint is served: otaclient against the SDK.

The server is ``_page_server`` in its own process (HTTPS with a ``trustme`` test CA, the same
100-firmware ``ListOTAFirmware`` page for every request, almost no server CPU), so
requests/s is set by the clients. ``list_ota_firmware(page_size=100)`` runs with 32 in
flight through otaclient (``DefaultTransport`` verifying with one context that trusts the
test CA) and through the official async SDK (``RuntimeOptions(ca=...)``: it builds an SSL
context, loads the CA file and opens a new TLS connection for every request). Rounds are
interleaved; medians are reported.
"""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path
from typing import Any

import anyio
import httpx

from otaclient import OTAClient
from otaclient._constants import KEEPALIVE_EXPIRY
from otaclient._transport import DefaultTransport

from ._common import DEMO_KEY, Result, ratio, timed, verdict
from .transports import page_server

NAME = "cost_over_https"

IN_FLIGHT = 32
SPEED_TARGET = 5.0  # otaclient requests/s >= 5x the official SDK's over HTTPS
OURS = "otaclient (HTTPS)"
SDK = "official async SDK (HTTPS)"


async def _drive(calls: int, call: Any) -> tuple[float, float]:
    remaining = iter(range(calls))

    async def worker() -> None:
        for _ in remaining:
            await call()

    with timed() as took:
        async with anyio.create_task_group() as group:
            for _ in range(IN_FLIGHT):
                group.start_soon(worker)
    return took.wall, took.cpu


async def _otaclient(url: str, tls: Any, ca_file: Path, calls: int) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=IN_FLIGHT, keepalive_expiry=KEEPALIVE_EXPIRY)
    client = OTAClient(
        endpoint=url,
        access_key_id=DEMO_KEY[0],
        access_key_secret=DEMO_KEY[1],
        qps=None,
        transport=DefaultTransport(limits=limits, verify=tls),
    )
    items: list[int] = []
    async with client:

        async def call() -> None:
            items.append(len((await client.list_ota_firmware(page_size=100)).items))

        await _drive(IN_FLIGHT, call)  # the pool's TLS handshakes, not timed
        wall, cpu = await _drive(calls, call)
    return {"wall_s": wall, "cpu_s": cpu, "items_per_call": items[-1]}


async def _sdk(url: str, tls: Any, ca_file: Path, calls: int) -> dict[str, Any]:
    from alibabacloud_iot20180120 import models
    from alibabacloud_iot20180120.client import Client
    from alibabacloud_tea_openapi.models import Config
    from alibabacloud_tea_util.models import RuntimeOptions

    client = Client(
        Config(
            access_key_id=DEMO_KEY[0],
            access_key_secret=DEMO_KEY[1],
            endpoint=url.removeprefix("https://"),
            protocol="https",
            signature_algorithm="v2",  # the v1 RPC signer in tea-openapi 0.4.x
        )
    )
    # Generous timeouts: 32 handshakes at once on a loaded machine exceed the 5-s default.
    runtime = RuntimeOptions(ca=str(ca_file), connect_timeout=60_000, read_timeout=60_000)
    items: list[int] = []

    async def call() -> None:
        response = await client.list_otafirmware_with_options_async(
            models.ListOTAFirmwareRequest(current_page=1, page_size=100), runtime
        )
        items.append(len(response.body.firmware_info.simple_firmware_info))

    await _drive(IN_FLIGHT, call)
    wall, cpu = await _drive(calls, call)
    return {"wall_s": wall, "cpu_s": cpu, "items_per_call": items[-1]}


def run(smoke: bool) -> Result:
    rounds, calls = (1, 64) if smoke else (3, 600)
    runners = {OURS: _otaclient, SDK: _sdk}
    runs: dict[str, list[dict[str, Any]]] = {label: [] for label in runners}
    with page_server() as server, tempfile.TemporaryDirectory() as folder:
        ca_file = Path(folder) / "ca.pem"
        server.ca.cert_pem.write_to_path(ca_file)
        url = server.urls["https"]
        for _ in range(rounds):
            for label, runner in runners.items():
                runs[label].append(
                    anyio.run(runner, url, server.tls, ca_file, calls, backend="asyncio")
                )
    rows = {
        label: {
            "req_per_s": statistics.median(calls / r["wall_s"] for r in done),
            "cpu_ms_per_call": statistics.median(r["cpu_s"] / calls * 1000 for r in done),
            "req_per_s_rounds": [calls / r["wall_s"] for r in done],
            "items_per_call": done[-1]["items_per_call"],
        }
        for label, done in runs.items()
    }
    speed = ratio(rows[OURS]["req_per_s"], rows[SDK]["req_per_s"])
    cpu = ratio(rows[OURS]["cpu_ms_per_call"], rows[SDK]["cpu_ms_per_call"])
    result = Result(
        NAME,
        f"Cost per call over HTTPS: list_ota_firmware(page_size=100), {rounds} x {calls:,} "
        f"calls per row, {IN_FLIGHT} in flight, a test CA, the page server in its own process",
        ["client", "req/s", "req/s vs SDK", "client CPU ms / call", "CPU vs SDK"],
    )
    for label, row in rows.items():
        result.rows.append(
            [
                label,
                row["req_per_s"],
                ratio(row["req_per_s"], rows[SDK]["req_per_s"]),
                row["cpu_ms_per_call"],
                ratio(row["cpu_ms_per_call"], rows[SDK]["cpu_ms_per_call"]),
            ]
        )
    result.notes.append(
        f"target otaclient req/s >= {SPEED_TARGET:.0f}x SDK over HTTPS: {speed:.2f}x -> "
        f"{verdict(speed >= SPEED_TARGET)} (CPU per call {cpu:.2f}x the SDK's)"
    )
    result.data = {
        "rounds": rounds,
        "calls_per_round": calls,
        "in_flight": IN_FLIGHT,
        "rows": rows,
        "targets": {"speed_vs_sdk_min": SPEED_TARGET, "speed_vs_sdk": speed, "cpu_vs_sdk": cpu},
    }
    return result
