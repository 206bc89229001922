"""RedisRateLimiter when Redis stops answering: a real redis-server, paused with SIGSTOP.

A paused Redis is the hard case: its port still accepts connections (the kernel completes
the handshake from the listen backlog) and every request is read, then nothing answers.
Times here are real (Redis cannot run in virtual time): waits are a few tenths of a second
and the bounds are loose; the rate checks count grants, which the bucket spaces by itself.
"""

from __future__ import annotations

import itertools
import logging
import math
import time
from collections.abc import Callable
from typing import Any

import anyio
import pytest
import redis.asyncio
from _redis_server import RedisServer

from otaclient import RateLimiterError, RedisRateLimiter, ValidationError

# redis.asyncio runs on asyncio only (one test checks what the limiter says under trio).
pytestmark = [pytest.mark.anyio, pytest.mark.backends("asyncio")]

# Small timeouts keep the tests short; the defaults are tested once, on the first test.
FAST = {"connect_timeout": 0.2, "command_timeout": 0.2, "probe_interval": 0.2}
# How late a bounded wait may come back on a loaded 2-core machine.
LATE = 2.5


def _most_in_any_window(times: list[float], width: float = 1.0) -> int:
    times = sorted(times)
    return max(sum(1 for u in times if t <= u < t + width) for t in times)


async def _elapsed(call: Callable[[], Any]) -> float:
    started = time.monotonic()
    await call()
    return time.monotonic() - started


def _warnings(caplog: pytest.LogCaptureFixture, text: str) -> int:
    return sum(
        1 for record in caplog.records if record.name == "otaclient" and text in record.getMessage()
    )


# --------------------------------------------------------------------------- no hang


async def test_a_paused_redis_fails_acquire_within_the_default_timeouts(
    own_redis: RedisServer,
) -> None:
    limiter = RedisRateLimiter(own_redis.url, key="paused", qps=10.0)
    await limiter.acquire()  # a pooled connection, then Redis stops answering on it
    own_redis.pause()
    with anyio.fail_after(1.5 + LATE), pytest.raises(RateLimiterError, match="Redis"):
        await limiter.acquire()
    own_redis.resume()
    await limiter.aclose()


async def test_a_paused_redis_fails_a_first_connection_within_the_timeouts(
    own_redis: RedisServer,
) -> None:
    limiter = RedisRateLimiter(own_redis.url, key="paused", qps=10.0, **FAST)
    own_redis.pause()  # connecting succeeds (backlog); the handshake never gets an answer
    with anyio.fail_after(0.4 + LATE), pytest.raises(RateLimiterError, match=r"within 0\.4 s"):
        await limiter.acquire()
    own_redis.resume()
    await limiter.aclose()


async def test_a_client_built_without_timeouts_is_still_cut_off(
    own_redis: RedisServer,
) -> None:
    # A redis.asyncio client made elsewhere has no socket timeouts: only the limiter's own
    # deadline (connect_timeout + command_timeout) stands between acquire and a hang.
    bare = redis.asyncio.Redis.from_url(own_redis.url, retry=None)
    limiter = RedisRateLimiter(key="bare", qps=10.0, client=bare, **FAST)
    await limiter.acquire()
    own_redis.pause()
    with anyio.fail_after(0.4 + LATE), pytest.raises(RateLimiterError, match=r"within 0\.4 s"):
        await limiter.acquire()
    own_redis.resume()
    await limiter.aclose()


def test_the_connection_gets_the_configured_socket_timeouts() -> None:
    limiter = RedisRateLimiter(key="k", connect_timeout=0.7, command_timeout=0.3)
    pool_options = limiter._redis.connection_pool.connection_kwargs
    assert pool_options["socket_connect_timeout"] == 0.7
    assert pool_options["socket_timeout"] == 0.3


async def test_a_waiter_cancelled_while_redis_is_paused_is_not_held_by_its_release(
    own_redis: RedisServer,
) -> None:
    # No socket timeouts on this client: only the limiter's own bound can end the release.
    bare = redis.asyncio.Redis.from_url(own_redis.url, retry=None)
    limiter = RedisRateLimiter(key="cancel", qps=2.0, client=bare)
    await limiter.acquire()
    async with anyio.create_task_group() as tg:
        tg.start_soon(limiter.acquire)  # reserves the slot 0.5 s away and sleeps
        await anyio.sleep(0.1)
        own_redis.pause()
        cancelled = time.monotonic()
        tg.cancel_scope.cancel()  # its release is shielded: it must give up on its own
    assert time.monotonic() - cancelled < 1.5 + LATE
    own_redis.resume()
    await limiter.aclose()


async def test_closing_the_limiter_while_redis_is_paused_does_not_hang(
    own_redis: RedisServer,
) -> None:
    bare = redis.asyncio.Redis.from_url(own_redis.url, retry=None)
    limiter = RedisRateLimiter(key="close", qps=10.0, client=bare, **FAST)
    await limiter.acquire()
    own_redis.pause()
    with anyio.fail_after(0.4 + LATE):
        await limiter.aclose()


# --------------------------------------------------------------------------- fallback


async def test_a_paused_redis_engages_the_fallback_promptly(
    own_redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    limiter = RedisRateLimiter(own_redis.url, key="fb", qps=10.0, fallback_share=0.5, **FAST)
    await limiter.acquire()
    own_redis.pause()
    with anyio.fail_after(0.4 + LATE):
        await limiter.acquire()
    assert limiter.using_fallback
    assert limiter.granted == 2
    assert _warnings(caplog, "pacing this process alone at 5.00 req/s") == 1
    own_redis.resume()
    await limiter.aclose()


async def test_callers_that_find_redis_gone_together_share_one_fallback_bucket(
    own_redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    limiter = RedisRateLimiter(own_redis.url, key="fb", qps=10.0, fallback_share=0.5, **FAST)
    await limiter.acquire()
    own_redis.pause()
    times: list[float] = []

    async def take() -> None:
        await limiter.acquire()
        times.append(time.monotonic())

    async with anyio.create_task_group() as tg:
        for _ in range(8):
            tg.start_soon(take)  # all eight time out on Redis together
    assert len(times) == 8
    assert _most_in_any_window(times) <= 5  # one bucket at 5/s, not eight
    assert _warnings(caplog, "Redis unreachable") == 1
    own_redis.resume()
    await limiter.aclose()


async def test_a_process_that_never_reached_redis_paces_itself_at_its_share(
    own_redis: RedisServer,
) -> None:
    own_redis.pause()
    limiter = RedisRateLimiter(own_redis.url, key="fb", qps=10.0, fallback_share=0.25, **FAST)
    times = []
    for _ in range(4):
        await limiter.acquire()
        times.append(time.monotonic())
    assert limiter.participants is None  # it never saw the others
    assert limiter.current_rate == 2.0  # floor(10 x 0.25): whole requests per second
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 0.5 * 0.99
    own_redis.resume()
    await limiter.aclose()


async def test_in_fallback_processes_together_stay_under_the_quota(
    own_redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    # Three workers on one key (three limiters: each is its own participant, with its own
    # fallback bucket, as in three processes). At fallback_share=0.5 alone they would send
    # 15 per second together; knowing there are three, each takes floor(10 / 3) = 3.
    limiters = [
        RedisRateLimiter(own_redis.url, key="three", qps=10.0, fallback_share=0.5, **FAST)
        for _ in range(3)
    ]
    for _ in range(2):  # everyone acquires after everyone has joined
        for limiter in limiters:
            await limiter.acquire()
    assert [limiter.participants for limiter in limiters] == [3, 3, 3]
    own_redis.pause()
    grants: dict[int, list[float]] = {i: [] for i in range(3)}

    async def work(index: int) -> None:
        for _ in range(8):
            await limiters[index].acquire()
            grants[index].append(time.monotonic())

    async with anyio.create_task_group() as tg:
        for index in range(3):
            tg.start_soon(work, index)
    assert [limiter.current_rate for limiter in limiters] == [3.0, 3.0, 3.0]
    own_redis.resume()
    for limiter in limiters:
        await limiter.aclose()
    for times in grants.values():
        assert _most_in_any_window(times) <= 3
    together = [t for times in grants.values() for t in times]
    assert _most_in_any_window(together) <= 10
    assert _warnings(caplog, "1/3 of 10 req/s for the 3 participants last seen") == 3


async def test_fallback_returns_to_the_shared_schedule_when_redis_answers_again(
    own_redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="otaclient")
    limiter = RedisRateLimiter(own_redis.url, key="back", qps=10.0, fallback_share=0.5, **FAST)
    direct = redis.asyncio.Redis.from_url(own_redis.url)
    await limiter.acquire()
    own_redis.pause()
    with anyio.fail_after(1.4 + LATE):
        for _ in range(6):  # 1 s alone after the first: several probes fail meanwhile
            await limiter.acquire()
    assert limiter.using_fallback
    own_redis.resume()
    with anyio.fail_after(5):
        while limiter.using_fallback:
            await limiter.acquire()
    await limiter.acquire()  # on the shared schedule: the next reservations follow it
    before = int(await direct.get("otaclient:quota:back"))
    async with anyio.create_task_group() as tg:
        for _ in range(3):
            tg.start_soon(limiter.acquire)
    after = int(await direct.get("otaclient:quota:back"))
    assert after - before >= 3 * round(1_000_000 / 10.0 * 1.02)  # three shared slots
    assert limiter.current_rate == 10.0
    assert _warnings(caplog, "Redis unreachable") == 1  # once per outage, not per probe
    assert _warnings(caplog, "back to the shared quota") == 1
    await direct.aclose()
    await limiter.aclose()


async def test_callers_still_waiting_alone_when_redis_returns_take_shared_slots_too(
    own_redis: RedisServer,
) -> None:
    # A's callers queue in its fallback bucket; Redis comes back while they wait. From then
    # on every grant of A must be on the shared schedule, or A and B together overrun it.
    a = RedisRateLimiter(own_redis.url, key="mix", qps=10.0, fallback_share=0.5, **FAST)
    b = RedisRateLimiter(own_redis.url, key="mix", qps=10.0, **FAST)
    await a.acquire()
    await b.acquire()
    own_redis.pause()
    grants: list[float] = []

    async def take(limiter: RedisRateLimiter) -> None:
        await limiter.acquire()
        grants.append(time.monotonic())

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            for _ in range(14):
                tg.start_soon(take, a)  # 0.4 s to find Redis gone, then 5/s: 2.6 s deep
            await anyio.sleep(0.8)
            own_redis.resume()
            while a.using_fallback:  # noqa: ASYNC110 - the limiter has no event to wait on
                await anyio.sleep(0.01)
            switched = time.monotonic()
            for _ in range(10):
                tg.start_soon(take, b)
    after = [t for t in grants if t >= switched]
    assert len(after) >= 15  # B's ten and at least five of A's
    # Every one of them is a shared slot 102 ms apart; one more than 10 may slip into a
    # window when the event loop wakes a sleeper late on a loaded machine.
    assert _most_in_any_window(after) <= 11
    await a.aclose()
    await b.aclose()


async def test_throttling_in_fallback_slows_the_process_alone(own_redis: RedisServer) -> None:
    limiter = RedisRateLimiter(own_redis.url, key="thr", qps=10.0, fallback_share=0.5, **FAST)
    own_redis.pause()
    await limiter.acquire()
    limiter.report_throttled()
    assert limiter.current_rate == pytest.approx(2.5, rel=0.05)
    assert limiter.throttled == 1
    own_redis.resume()
    await limiter.aclose()


# --------------------------------------------------------------------------- participants


async def test_a_closed_limiter_stops_counting_as_a_participant(redis_url: str) -> None:
    first, second = (RedisRateLimiter(redis_url, key="leave", qps=50.0) for _ in range(2))
    await first.acquire()
    await second.acquire()
    await first.acquire()
    assert first.participants == 2
    await second.aclose()
    await first.acquire()
    assert first.participants == 1
    await first.aclose()


async def test_an_idle_participant_expires_after_participant_ttl(redis_url: str) -> None:
    first = RedisRateLimiter(redis_url, key="ttl", qps=50.0, participant_ttl=0.5)
    second = RedisRateLimiter(redis_url, key="ttl", qps=50.0, participant_ttl=0.5)
    await second.acquire()
    await first.acquire()
    assert first.participants == 2
    for _ in range(8):  # first keeps acquiring, second stays idle longer than 0.5 s
        await anyio.sleep(0.1)
        await first.acquire()
    assert first.participants == 1
    await first.aclose()
    await second.aclose()


# --------------------------------------------------------------------------- trio


@pytest.mark.backends("trio")
async def test_under_trio_the_limiter_says_it_needs_asyncio(redis_url: str) -> None:
    limiter = RedisRateLimiter(redis_url, key="trio", qps=10.0, fallback_share=0.5)
    with pytest.raises(RateLimiterError, match=r"asyncio only.*trio"):
        await limiter.acquire()
    await limiter.aclose()  # nothing was opened: closing is harmless


# --------------------------------------------------------------------------- options


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("qps", 0),
        ("qps", math.nan),
        ("qps", math.inf),
        ("qps", True),
        ("qps", "10"),
        ("burst", 0),
        ("burst", 1.5),
        ("burst", True),
        ("fallback_share", 0),
        ("fallback_share", 1.5),
        ("fallback_share", math.nan),
        ("fallback_share", True),
        ("safety", -0.1),
        ("safety", 1.0),
        ("safety", math.nan),
        ("connect_timeout", 0),
        ("connect_timeout", math.inf),
        ("command_timeout", -1),
        ("command_timeout", math.nan),
        ("command_timeout", None),
        ("probe_interval", 0),
        ("participant_ttl", 0),
        ("participant_ttl", math.inf),
        ("prefix", 5),
        ("key", ""),
        ("key", 7),
        ("url", "http://127.0.0.1:6379"),
        ("url", 6379),
    ],
)
def test_redis_limiter_refuses_bad_options(option: str, value: Any) -> None:
    options: dict[str, Any] = {"url": "redis://127.0.0.1:6379/0", "key": "k", option: value}
    with pytest.raises(ValidationError, match=option):
        RedisRateLimiter(**options)
