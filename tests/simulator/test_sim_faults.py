"""Seeded fault injection and latency."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import anyio
import httpx
import pytest
from simhelpers import FakeClock, SimClient, in_process, make_app

from otaclient.simulator import FaultSpec, Simulator

pytestmark = pytest.mark.anyio

LIST = {"CurrentPage": 1, "PageSize": 3}


async def _classify(client: SimClient, action: str = "ListOTAFirmware", params: Any = LIST) -> str:
    try:
        response = await client.send(action, params)
    except httpx.RemoteProtocolError:
        return "drop"
    if response.status_code in (500, 503):
        return f"http_{response.status_code}"
    assert int(response.headers["content-length"]) == len(response.content)
    try:
        body = response.json()
    except json.JSONDecodeError:
        return "truncate"
    if body.get("Code") == "iot.system.SystemException":
        return "system_error"
    return "ok"


async def _run(app: Simulator, clock: FakeClock, count: int) -> list[str]:
    async with in_process(app) as http:
        client = SimClient(http, clock=clock)
        return [await _classify(client) for _ in range(count)]


MIX = FaultSpec(http_500=0.1, http_503=0.1, system_error=0.05, drop=0.1, truncate=0.1)


async def test_fault_rates_are_roughly_as_configured() -> None:
    clock = FakeClock()
    app = make_app(clock, qps=None, seed=4, faults=MIX)
    outcomes = Counter(await _run(app, clock, 1000))
    expected = {"http_500": 100, "http_503": 100, "system_error": 50, "drop": 100, "truncate": 100}
    for kind, mean in expected.items():
        assert abs(outcomes[kind] - mean) < 45, outcomes  # > 4 standard deviations
    assert outcomes["ok"] == 1000 - sum(outcomes[k] for k in expected)
    assert dict(app.stats.faults) == {k: outcomes[k] for k in expected}


async def test_faults_are_deterministic_for_a_seed() -> None:
    first_clock, second_clock, other_clock = FakeClock(), FakeClock(), FakeClock()
    first = await _run(make_app(first_clock, qps=None, seed=8, faults=MIX), first_clock, 60)
    second = await _run(make_app(second_clock, qps=None, seed=8, faults=MIX), second_clock, 60)
    other = await _run(make_app(other_clock, qps=None, seed=9, faults=MIX), other_clock, 60)
    assert first == second
    assert first != other


async def test_fault_seed_can_differ_from_the_fleet_seed() -> None:
    a_clock, b_clock = FakeClock(), FakeClock()
    spec = FaultSpec(http_503=0.3, seed=77)
    a = await _run(make_app(a_clock, qps=None, seed=1, faults=spec), a_clock, 40)
    b = await _run(make_app(b_clock, qps=None, seed=2, faults=spec), b_clock, 40)
    assert a == b


async def test_dropped_connection_surfaces_as_remote_protocol_error() -> None:
    clock = FakeClock()
    app = make_app(clock, faults=FaultSpec(drop=1.0))
    async with in_process(app) as http:
        with pytest.raises(httpx.RemoteProtocolError):
            await SimClient(http, clock=clock).send("ListOTAFirmware", LIST)


async def test_truncated_body_is_a_complete_response_with_a_cut_document() -> None:
    clock = FakeClock()
    app = make_app(clock, faults=FaultSpec(truncate=1.0))
    async with in_process(app) as http:
        response = await SimClient(http, clock=clock).send("ListOTAFirmware", LIST)
    assert response.status_code == 200
    assert int(response.headers["content-length"]) == len(response.content)
    assert response.content.startswith(b"{")
    with pytest.raises(json.JSONDecodeError):
        response.json()


async def test_faults_can_target_selected_actions() -> None:
    clock = FakeClock()
    app = make_app(clock, qps=None, faults=FaultSpec(http_503=1.0, actions={"QueryOTAJob"}))
    async with in_process(app) as http:
        client = SimClient(http, clock=clock)
        listing = await client.send("ListOTAFirmware", LIST)
        query = await client.send("QueryOTAJob", {"JobId": app.fleet.jobs[0].job_id})
    assert listing.status_code == 200
    assert query.status_code == 503
    assert query.json()["Code"] == "ServiceUnavailable"


def _create_params(app: Simulator) -> dict[str, str]:
    firmware = next(f for f in app.fleet.firmware.values() if f.status in (1, -1))
    return {
        "FirmwareId": firmware.firmware_id,
        "ProductKey": firmware.product_key or "",
        "TargetSelection": "ALL",
    }


@pytest.mark.parametrize(
    ("kind", "phase", "created"),
    [
        ("drop", "after", True),
        ("drop", "before", False),
        ("http_500", "after", True),
        ("http_503", "before", False),
        ("system_error", "after", True),
        ("truncate", "before", True),  # a truncated answer always follows processing
    ],
)
async def test_create_outcome_depends_on_the_fault_phase(
    kind: str, phase: str, created: bool
) -> None:
    clock = FakeClock()
    spec = FaultSpec(**{kind: 1.0}, phase=phase, actions={"CreateOTAStaticUpgradeJob"})  # type: ignore[arg-type]
    app = make_app(clock, faults=spec)
    before = len(app.fleet.jobs)
    async with in_process(app) as http:
        outcome = await _classify(
            SimClient(http, clock=clock), "CreateOTAStaticUpgradeJob", _create_params(app)
        )
    assert outcome == kind
    assert (len(app.fleet.jobs) == before + 1) is created


async def test_either_phase_mixes_before_and_after() -> None:
    clock = FakeClock()
    spec = FaultSpec(http_500=1.0, phase="either", actions={"CreateOTAFirmware"})
    app = make_app(clock, qps=None, faults=spec)
    before = len(app.fleet.firmware)
    async with in_process(app) as http:
        client = SimClient(http, clock=clock)
        for i in range(40):
            response = await client.send(
                "CreateOTAFirmware",
                {"FirmwareName": f"fw{i}", "DestVersion": "9.9", "FirmwareUrl": "https://x/f.bin"},
            )
            assert response.status_code == 500
    created = len(app.fleet.firmware) - before
    assert 8 <= created <= 32  # about half ran before their 500 was sent


async def test_latency_delays_responses() -> None:
    clock = FakeClock()
    app = make_app(clock, latency=0.05, jitter=0.01)
    async with in_process(app) as http:
        client = SimClient(http, clock=clock)
        started = anyio.current_time()
        await client.send("ListOTAFirmware", LIST)
        elapsed = anyio.current_time() - started
    assert 0.04 <= elapsed < 1.0


async def test_concurrent_requests_overlap_their_latency() -> None:
    clock = FakeClock()
    app = make_app(clock, latency=0.1)
    async with in_process(app) as http:
        client = SimClient(http, clock=clock)
        started = anyio.current_time()
        async with anyio.create_task_group() as group:
            for _ in range(5):
                group.start_soon(client.send, "ListOTAFirmware", LIST)
        elapsed = anyio.current_time() - started
    assert elapsed < 0.4


def test_fault_probabilities_must_not_exceed_one() -> None:
    with pytest.raises(ValueError, match="sum"):
        FaultSpec(http_500=0.6, drop=0.6)
