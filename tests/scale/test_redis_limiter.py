"""RedisRateLimiter against a real redis-server: one quota for every client on one key."""

from __future__ import annotations

import time

import anyio
import pytest

from otaclient import RateLimiterError, RedisRateLimiter

# redis.asyncio runs on asyncio only
pytestmark = [pytest.mark.anyio, pytest.mark.backends("asyncio")]


def _max_in_window(times: list[float], window: float = 1.0) -> int:
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


async def test_two_limiters_on_one_key_share_one_rate(redis_url: str) -> None:
    first = RedisRateLimiter(redis_url, key="shared-rate", qps=20.0)
    second = RedisRateLimiter(redis_url, key="shared-rate", qps=20.0)
    stamps: list[float] = []

    async def take(limiter: RedisRateLimiter, count: int) -> None:
        for _ in range(count):
            await limiter.acquire()
            stamps.append(time.monotonic())

    started = time.monotonic()
    async with anyio.create_task_group() as tg:
        tg.start_soon(take, first, 20)
        tg.start_soon(take, second, 20)
    elapsed = time.monotonic() - started
    await first.aclose()
    await second.aclose()
    # The slots are 51 ms apart in Redis; these stamps are taken when each sleeper wakes,
    # and a wake-up late by more than the 2% margin (20 ms a second) on a loaded machine
    # can put a 21st into one window. Two schedules instead of one would put 40 there.
    assert _max_in_window(stamps) <= 21
    assert elapsed >= 39 / 20 * 0.98  # 40 grants at 20/s, one schedule for both


async def test_different_keys_do_not_share(redis_url: str) -> None:
    first = RedisRateLimiter(redis_url, key="key-a", qps=20.0)
    second = RedisRateLimiter(redis_url, key="key-b", qps=20.0)
    started = time.monotonic()
    async with anyio.create_task_group() as tg:
        for limiter in (first, second):
            for _ in range(10):
                tg.start_soon(limiter.acquire)
    elapsed = time.monotonic() - started
    await first.aclose()
    await second.aclose()
    assert elapsed < 0.75  # 10 each at 20/s: about 0.45 s, not the 0.95 s of one schedule


async def test_a_cancelled_waiter_gives_back_its_slot(redis_url: str) -> None:
    limiter = RedisRateLimiter(redis_url, key="cancel", qps=2.0)
    await limiter.acquire()  # the next slot is 0.5 s away
    with anyio.move_on_after(0.05):
        await limiter.acquire()  # reserves that slot, then is cancelled
    started = time.monotonic()
    await limiter.acquire()
    waited = time.monotonic() - started
    await limiter.aclose()
    assert waited < 0.5  # it got the returned slot, not the one after it


async def test_unreachable_redis_is_a_clear_error(free_tcp_port: int) -> None:
    limiter = RedisRateLimiter(f"redis://127.0.0.1:{free_tcp_port}/0", key="k", qps=10.0)
    with pytest.raises(RateLimiterError, match="cannot reach Redis"):
        await limiter.acquire()


async def test_unreachable_redis_falls_back_when_asked(
    free_tcp_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    limiter = RedisRateLimiter(
        f"redis://127.0.0.1:{free_tcp_port}/0", key="k", qps=10.0, fallback_share=0.5
    )
    await limiter.acquire()
    await limiter.acquire()
    assert limiter.granted == 2
    assert "pacing this process alone at 5.00 req/s" in caplog.text
