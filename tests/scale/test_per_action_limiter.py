"""PerActionLimiter: each action at its own quota, all of them under one overall cap."""

from __future__ import annotations

import anyio
import pytest
from trio.testing import MockClock

from otaclient import OTAClient, PerActionLimiter

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> tuple[str, dict[str, MockClock]]:
    # Virtual time: the limiter's sleeps are instant, its clock still advances.
    return ("trio", {"clock": MockClock(autojump_threshold=0)})


async def _grant_times(limiter: PerActionLimiter, action: str, count: int) -> list[float]:
    times: list[float] = []
    for _ in range(count):
        await limiter.acquire(action)
        times.append(anyio.current_time())
    return times


def _max_in_window(times: list[float], window: float = 1.0) -> int:
    times = sorted(times)
    best = 0
    start = 0
    for end, t in enumerate(times):
        while t - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


async def test_each_action_runs_at_its_own_quota() -> None:
    limiter = PerActionLimiter({"Fast": 20.0, "Slow": 5.0})
    results: dict[str, list[float]] = {}

    async def run(action: str) -> None:
        results[action] = await _grant_times(limiter, action, 40)

    async with anyio.create_task_group() as tg:
        tg.start_soon(run, "Fast")
        tg.start_soon(run, "Slow")
    assert _max_in_window(results["Fast"]) <= 20
    assert _max_in_window(results["Slow"]) <= 5
    # 40 grants at 20/s take about 2 s, at 5/s about 8 s: they did not share one bucket.
    assert results["Fast"][-1] - results["Fast"][0] == pytest.approx(39 / 20, rel=0.05)
    assert results["Slow"][-1] - results["Slow"][0] == pytest.approx(39 / 5, rel=0.05)


async def test_overall_cap_bounds_the_sum_and_each_action() -> None:
    limiter = PerActionLimiter({"A": 20.0, "B": 20.0}, overall=10.0)
    times: dict[str, list[float]] = {}

    async def run(action: str) -> None:
        times[action] = await _grant_times(limiter, action, 30)

    async with anyio.create_task_group() as tg:
        tg.start_soon(run, "A")
        tg.start_soon(run, "B")
    assert _max_in_window(times["A"] + times["B"]) <= 10
    assert _max_in_window(times["A"]) <= 20
    assert _max_in_window(times["B"]) <= 20


async def test_client_builds_per_action_buckets_from_the_operation_table() -> None:
    async with OTAClient(
        access_key_id="id",
        access_key_secret="secret",
        endpoint="http://127.0.0.1:1",
        per_action_quotas=True,
        qps=None,
    ) as client:
        limiter = client.limiter
        assert isinstance(limiter, PerActionLimiter)
        assert limiter.rate_of("QueryOTAFirmware") == 20.0
        assert limiter.rate_of("CancelOTATaskByJob") == 5.0
        assert limiter.rate_of("ListOTATaskByJob") == 10.0
