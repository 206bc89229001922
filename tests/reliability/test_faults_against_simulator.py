"""A harvest and a series of creates through a misbehaving simulator: nothing lost or doubled.

The simulator injects 5% HTTP 5xx, 3% dropped connections and 3% truncated bodies, with
latency jitter, behind a strict per-second window. Rates are high where a test is not
about rate, so the suite stays fast.
"""

from __future__ import annotations

import pytest

from otaclient import APIError, OTAClient, OutcomeUnknownError, RetryPolicy
from otaclient.simulator import (
    DEMO_ACCESS_KEY_ID,
    DEMO_ACCESS_KEY_SECRET,
    FaultSpec,
    FleetSpec,
    Simulator,
    SimulatorConfig,
    running_server,
)

pytestmark = pytest.mark.anyio

FAULTS = dict(http_500=0.025, http_503=0.025, drop=0.03, truncate=0.03)
FAST_RETRIES = RetryPolicy(max_attempts=8, backoff_base=0.005, backoff_cap=0.05)


def _simulator(fleet: FleetSpec, *, phase: str = "either", qps: int | None = 200) -> Simulator:
    return Simulator(
        SimulatorConfig(
            seed=11,
            qps=qps,
            latency=0.002,
            jitter=0.002,
            faults=FaultSpec(phase=phase, **FAULTS),  # type: ignore[arg-type]
            fleet=fleet,
        )
    )


def _client(
    sim: Simulator, *, endpoint: str = "http://sim", qps: float | None = 150.0
) -> OTAClient:
    return OTAClient(
        endpoint=endpoint,
        access_key_id=DEMO_ACCESS_KEY_ID,
        access_key_secret=DEMO_ACCESS_KEY_SECRET,
        qps=qps,
        retry=FAST_RETRIES,
        transport=sim.transport() if endpoint == "http://sim" else None,
    )


async def test_a_harvest_of_20000_tasks_through_faults_yields_each_exactly_once() -> None:
    sim = _simulator(FleetSpec.single_job(20_000))
    (job_id,) = sim.fleet.job_ids()
    async with _client(sim) as client:
        ids = [task.task_id async for task in client.iter_ota_task_by_job(job_id=job_id)]
        retries = client.stats["retries"]
    assert len(ids) == len(set(ids)) == 20_000
    assert set(ids) == set(sim.fleet.task_ids(job_id))
    assert retries > 0  # the faults did happen, and were absorbed
    print(f"retries used: {retries}, faults injected: {sim.stats}")


async def test_the_same_harvest_over_real_loopback_http() -> None:
    sim = _simulator(FleetSpec.single_job(20_000))
    (job_id,) = sim.fleet.job_ids()
    async with running_server(sim, port=0) as url, _client(sim, endpoint=url) as client:
        ids = [task.task_id async for task in client.iter_ota_task_by_job(job_id=job_id)]
    assert len(ids) == len(set(ids)) == 20_000


async def test_creates_through_faults_never_make_two_jobs_for_one_call() -> None:
    sim = _simulator(FleetSpec.demo(), phase="either")
    firmware = [f for f in sim.fleet.firmware_sorted() if f.status in (1, -1)]
    created = ambiguous = refused = 0
    async with _client(sim) as client:
        for index in range(40):
            target = firmware[index % len(firmware)]
            before = set(sim.fleet.job_ids())
            try:
                job = await client.create_ota_static_upgrade_job(
                    firmware_id=target.firmware_id,
                    product_key=target.product_key or "",
                    target_selection="ALL",
                    src_versions=[],
                    overwrite_mode=2,
                )
            except OutcomeUnknownError:
                ambiguous += 1
                assert len(set(sim.fleet.job_ids()) - before) <= 1
                continue
            except APIError:
                refused += 1  # a business refusal: it must not have created anything
                assert set(sim.fleet.job_ids()) == before
                continue
            new = set(sim.fleet.job_ids()) - before
            assert new == {job.job_id}
            created += 1
    assert created + ambiguous + refused == 40
    assert created > 0
    print(f"creates: {created} created, {ambiguous} outcome unknown, {refused} refused")


async def test_a_client_at_the_servers_strict_window_is_never_throttled() -> None:
    # Same faults, but the client's rate equals the server's window: pacing must be exact.
    sim = _simulator(FleetSpec.single_job(10_000), qps=50)
    (job_id,) = sim.fleet.job_ids()
    async with _client(sim, qps=50.0) as client:
        count = sum([1 async for _ in client.iter_ota_task_by_job(job_id=job_id)])
    assert count == 10_000
    assert sim.stats.throttled == 0
