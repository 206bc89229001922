"""The token bucket, in virtual time under asyncio and trio."""

from __future__ import annotations

import itertools
import math
from typing import Any

import anyio
import httpx
import pytest

from otaclient import (
    OTAClient,
    PerActionLimiter,
    RateLimiter,
    RedisRateLimiter,
    TokenBucket,
    Unlimited,
    ValidationError,
)
from otaclient._limiter import lacking

from ._helpers import Recorder, make_client

pytestmark = [pytest.mark.anyio, pytest.mark.virtual_time]

# Grant times are compared with this much slack: the bucket may space grants a hair over
# 1/rate (it adds a microsecond so float sums never squeeze rate + 1 grants into a second).
SLACK = 1e-3
SPACING = 1.005  # grants are 1/rate apart plus the bucket's 0.5% safety margin
EPSILON = 1e-9


async def _grant_times(bucket: TokenBucket, count: int) -> list[float]:
    """Start ``count`` tasks that each take one token; return the grant times, sorted."""
    times: list[float] = []

    async def take() -> None:
        await bucket.acquire()
        times.append(anyio.current_time())

    async with anyio.create_task_group() as tg:
        for _ in range(count):
            tg.start_soon(take)
    return sorted(times)


def _most_in_any_window(times: list[float], width: float = 1.0) -> int:
    """The largest number of grants inside any half-open window [t, t + width)."""
    return max(sum(1 for u in times if t <= u < t + width - EPSILON) for t in times)


async def test_virtual_clock_is_in_use() -> None:
    # Guard for the fixture: an hour's sleep returns at once but moves the clock an hour.
    start = anyio.current_time()
    await anyio.sleep(3600)
    assert anyio.current_time() - start == pytest.approx(3600)


# --------------------------------------------------------------------------- pacing


async def test_achieved_rate_matches_the_configured_rate() -> None:
    bucket = TokenBucket(10.0)
    start = anyio.current_time()
    for _ in range(51):
        await bucket.acquire()
    elapsed = anyio.current_time() - start
    assert elapsed == pytest.approx(
        5.0 * SPACING, abs=SLACK
    )  # 50 intervals of 0.1 s after the first grant
    assert bucket.granted == 51


async def test_concurrent_waiters_are_spaced_one_interval_apart() -> None:
    times = await _grant_times(TokenBucket(10.0), 30)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) == pytest.approx(0.1 * SPACING, abs=SLACK)
    assert times[-1] - times[0] == pytest.approx(2.9 * SPACING, abs=SLACK)


@pytest.mark.parametrize("rate", [1.0, 3.0, 10.0, 20.0])
async def test_no_one_second_window_sees_more_than_rate_grants(rate: float) -> None:
    times = await _grant_times(TokenBucket(rate), int(rate * 3) + 1)
    assert _most_in_any_window(times) == int(rate)


async def test_a_burst_allows_rate_plus_burst_minus_one_in_a_window() -> None:
    times = await _grant_times(TokenBucket(10.0, burst=3), 40)
    assert times[:3] == [times[0]] * 3  # the burst is granted at once
    assert _most_in_any_window(times) <= 10 + 3 - 1


async def test_an_idle_bucket_does_not_bank_more_than_its_burst() -> None:
    bucket = TokenBucket(10.0)
    await bucket.acquire()
    await anyio.sleep(60)  # a long idle time must not turn into a burst
    times = await _grant_times(bucket, 11)
    assert _most_in_any_window(times) == 10


async def test_waiters_are_served_first_come_first_served() -> None:
    bucket = TokenBucket(10.0)
    await bucket.acquire()  # the next token is 0.1 s away: everyone below waits
    served: list[int] = []

    async def take(index: int, *, task_status: Any = anyio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        await bucket.acquire()
        served.append(index)

    async with anyio.create_task_group() as tg:
        for index in range(8):
            await tg.start(take, index)
    assert served == list(range(8))


async def test_a_cancelled_waiter_takes_no_token() -> None:
    bucket = TokenBucket(10.0)
    start = anyio.current_time()
    await bucket.acquire()  # grant at 0.0; the next slot is 0.1
    with anyio.move_on_after(0.05) as scope:
        await bucket.acquire()
    assert scope.cancelled_caught
    await bucket.acquire()
    assert anyio.current_time() - start == pytest.approx(
        0.1, abs=SLACK
    )  # the cancelled slot is reused
    assert bucket.granted == 2


async def test_a_waiter_cancelled_in_the_queue_takes_no_token() -> None:
    bucket = TokenBucket(10.0)
    start = anyio.current_time()
    await bucket.acquire()
    granted: dict[str, float] = {}

    async def take(name: str, *, task_status: Any = anyio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        await bucket.acquire()
        granted[name] = anyio.current_time() - start

    async with anyio.create_task_group() as tg:
        await tg.start(take, "head")
        async with anyio.create_task_group() as doomed:
            await doomed.start(take, "cancelled")
            doomed.cancel_scope.cancel()
        await tg.start(take, "last")
    assert "cancelled" not in granted
    assert granted["head"] == pytest.approx(0.1, abs=SLACK)
    assert granted["last"] == pytest.approx(0.2, abs=SLACK)


async def test_a_late_wake_up_does_not_let_the_next_grants_catch_up_in_a_burst() -> None:
    # The injected clock jumps 5 s ahead while the second waiter sleeps: as if the process
    # was descheduled. The slots it "missed" must not be handed out back to back afterwards.
    offset = [0.0]
    bucket = TokenBucket(10.0, clock=lambda: anyio.current_time() + offset[0])
    await bucket.acquire()
    async with anyio.create_task_group() as tg:
        tg.start_soon(bucket.acquire)
        await anyio.sleep(0.05)  # the waiter sleeps towards its slot at 0.1
        offset[0] = 5.0
    woke = anyio.current_time()
    times = [woke]
    for _ in range(3):
        await bucket.acquire()
        times.append(anyio.current_time())
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert gaps == pytest.approx([0.1 * SPACING] * 3, abs=SLACK)
    assert bucket.granted == 5


# --------------------------------------------------------------------------- throttling


async def test_report_throttled_halves_the_current_rate() -> None:
    bucket = TokenBucket(10.0)
    await bucket.acquire()
    bucket.report_throttled()
    assert bucket.current_rate == pytest.approx(5.0)
    assert bucket.rate == 10.0
    assert bucket.throttled == 1


async def test_report_throttled_spaces_grants_further_apart() -> None:
    bucket = TokenBucket(10.0, recovery_seconds=60.0)
    await bucket.acquire()
    bucket.report_throttled()
    times = await _grant_times(bucket, 5)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) > 0.1 + SLACK


async def test_current_rate_recovers_after_recovery_seconds() -> None:
    bucket = TokenBucket(10.0, recovery_seconds=10.0)
    await bucket.acquire()
    bucket.report_throttled()
    await anyio.sleep(1.0)
    assert 5.0 < bucket.current_rate < 10.0  # climbing back
    await anyio.sleep(10.0)
    assert bucket.current_rate == pytest.approx(10.0)


async def test_pacing_recovers_after_recovery_seconds() -> None:
    bucket = TokenBucket(10.0, recovery_seconds=10.0)
    await bucket.acquire()
    bucket.report_throttled()
    await anyio.sleep(10.0)
    times = await _grant_times(bucket, 11)
    assert times[-1] - times[0] == pytest.approx(1.0 * SPACING, abs=SLACK)


def test_current_rate_can_be_read_outside_an_event_loop() -> None:
    assert TokenBucket(10.0).current_rate == 10.0


async def test_several_reports_within_a_second_halve_only_once() -> None:
    bucket = TokenBucket(10.0, recovery_seconds=1000.0)
    await bucket.acquire()
    for _ in range(5):
        bucket.report_throttled()
    assert bucket.current_rate == pytest.approx(5.0)
    await anyio.sleep(1.0)
    bucket.report_throttled()
    assert bucket.current_rate < 5.0


async def test_the_rate_never_drops_below_its_floor() -> None:
    bucket = TokenBucket(10.0, min_fraction=0.1, recovery_seconds=1e9)
    for _ in range(20):
        bucket.report_throttled()
        await anyio.sleep(1.0)
    assert bucket.current_rate == pytest.approx(1.0)


async def test_a_non_adaptive_bucket_keeps_its_rate() -> None:
    bucket = TokenBucket(10.0, adaptive=False)
    bucket.report_throttled()
    assert bucket.current_rate == 10.0
    times = await _grant_times(bucket, 11)
    assert times[-1] - times[0] == pytest.approx(1.0 * SPACING, abs=SLACK)


async def test_retry_after_pauses_the_bucket() -> None:
    bucket = TokenBucket(10.0)
    start = anyio.current_time()
    await bucket.acquire()
    bucket.report_throttled(retry_after=2.0)
    await bucket.acquire()
    assert anyio.current_time() - start == pytest.approx(2.0, abs=SLACK)


# --------------------------------------------------------------------------- Unlimited


async def test_unlimited_never_waits() -> None:
    limiter = Unlimited()
    start = anyio.current_time()
    for _ in range(1000):
        await limiter.acquire("ListOTAFirmware")
    limiter.report_throttled(5.0)
    await limiter.acquire()
    assert anyio.current_time() == start


def test_both_limiters_satisfy_the_protocol() -> None:
    assert isinstance(TokenBucket(1.0), RateLimiter)
    assert isinstance(Unlimited(), RateLimiter)


class _RedisStandIn:
    """Enough of a redis client to build a RedisRateLimiter that never reaches Redis."""

    def register_script(self, script: str) -> object:
        return object()


@pytest.mark.parametrize(
    "make",
    [
        lambda: TokenBucket(1.0),
        Unlimited,
        PerActionLimiter,
        lambda: RedisRateLimiter(key="k", client=_RedisStandIn()),
    ],
    ids=["TokenBucket", "Unlimited", "PerActionLimiter", "RedisRateLimiter"],
)
def test_every_limiter_offers_everything_the_protocol_names(make: Any) -> None:
    limiter = make()
    assert isinstance(limiter, RateLimiter)
    assert lacking(limiter) == []
    assert (limiter.granted, limiter.throttled) == (0, 0)
    assert limiter.rate is None or limiter.rate > 0
    assert limiter.current_rate == limiter.rate


async def test_unlimited_has_no_rate_yet_counts_what_passes_and_what_is_throttled() -> None:
    limiter = Unlimited()
    for _ in range(3):
        await limiter.acquire("ListOTAFirmware")
    limiter.report_throttled()
    assert (limiter.rate, limiter.current_rate) == (None, None)
    assert (limiter.granted, limiter.throttled) == (3, 1)


def test_a_per_action_limiter_reports_its_overall_limiters_rates() -> None:
    overall = TokenBucket(4.0, recovery_seconds=1000.0, clock=lambda: 0.0)
    limiter = PerActionLimiter({"A": 20.0}, overall=overall)
    overall.report_throttled()
    assert (limiter.rate, limiter.current_rate) == (4.0, 2.0)


def test_lacking_names_the_members_a_limiter_does_not_have() -> None:
    class OldStyle:
        async def acquire(self, action: str | None = None) -> None: ...

        def report_throttled(self, retry_after: float | None = None) -> None: ...

    assert lacking(OldStyle()) == ["rate", "current_rate", "granted", "throttled"]


# --------------------------------------------------------------------------- options

_NOT_POSITIVE = [0, -1, math.inf, -math.inf, math.nan, True, "10", None]


@pytest.mark.parametrize("rate", _NOT_POSITIVE)
def test_a_bucket_refuses_a_rate_that_is_not_a_positive_finite_number(rate: Any) -> None:
    with pytest.raises(ValidationError, match="rate"):
        TokenBucket(rate)


@pytest.mark.parametrize("burst", [0, -1, 1.5, math.nan, math.inf, True, "2", None])
def test_a_bucket_refuses_a_burst_that_is_not_an_integer_of_at_least_one(burst: Any) -> None:
    with pytest.raises(ValidationError, match="burst"):
        TokenBucket(10.0, burst=burst)


@pytest.mark.parametrize("seconds", _NOT_POSITIVE)
def test_a_bucket_refuses_recovery_seconds_that_are_not_positive_and_finite(
    seconds: Any,
) -> None:
    with pytest.raises(ValidationError, match="recovery_seconds"):
        TokenBucket(10.0, recovery_seconds=seconds)


@pytest.mark.parametrize("fraction", [0, -0.1, 1.5, math.inf, math.nan, True, "0.1", None])
def test_a_bucket_refuses_a_min_fraction_outside_zero_to_one(fraction: Any) -> None:
    with pytest.raises(ValidationError, match="min_fraction"):
        TokenBucket(10.0, min_fraction=fraction)


@pytest.mark.parametrize("adaptive", [1, 0, "yes", None])
def test_a_bucket_refuses_an_adaptive_flag_that_is_not_a_bool(adaptive: Any) -> None:
    with pytest.raises(ValidationError, match="adaptive"):
        TokenBucket(10.0, adaptive=adaptive)


def test_a_bucket_refuses_a_clock_that_cannot_be_called() -> None:
    with pytest.raises(ValidationError, match="clock"):
        TokenBucket(10.0, clock=1.0)  # type: ignore[arg-type]


async def test_a_bucket_with_a_tiny_recovery_time_survives_throttling() -> None:
    # recovery_seconds=0 used to pass construction and divide by zero here.
    bucket = TokenBucket(10.0, recovery_seconds=1e-9)
    await bucket.acquire()
    bucket.report_throttled()
    await bucket.acquire()
    assert bucket.granted == 2


@pytest.mark.parametrize("edge", [1, 1.0, 1e-6])
def test_a_bucket_accepts_a_min_fraction_up_to_one(edge: float) -> None:
    assert TokenBucket(10, min_fraction=edge, burst=3, adaptive=False).rate == 10.0


# --------------------------------------------------------------------------- PerActionLimiter


async def _sequential_grants(limiter: PerActionLimiter, action: str, count: int) -> list[float]:
    times: list[float] = []
    for _ in range(count):
        await limiter.acquire(action)
        times.append(anyio.current_time())
    return times


async def test_each_action_runs_at_its_own_quota() -> None:
    limiter = PerActionLimiter({"Fast": 20.0, "Slow": 5.0})
    results: dict[str, list[float]] = {}

    async def run(action: str) -> None:
        results[action] = await _sequential_grants(limiter, action, 40)

    async with anyio.create_task_group() as tg:
        tg.start_soon(run, "Fast")
        tg.start_soon(run, "Slow")
    assert _most_in_any_window(results["Fast"]) == 20
    assert _most_in_any_window(results["Slow"]) == 5
    # 40 grants at 20/s take about 2 s, at 5/s about 8 s: they did not share one bucket.
    assert results["Fast"][-1] - results["Fast"][0] == pytest.approx(39 / 20 * SPACING, abs=SLACK)
    assert results["Slow"][-1] - results["Slow"][0] == pytest.approx(39 / 5 * SPACING, abs=SLACK)


async def test_an_action_without_a_quota_runs_at_the_default() -> None:
    limiter = PerActionLimiter({"Fast": 20.0}, default=4.0)
    times = await _sequential_grants(limiter, "Other", 9)
    assert times[-1] - times[0] == pytest.approx(8 / 4 * SPACING, abs=SLACK)
    assert limiter.rate_of("Other") == 4.0


async def test_overall_cap_bounds_the_sum_and_each_action() -> None:
    limiter = PerActionLimiter({"A": 20.0, "B": 20.0}, overall=10.0)
    times: dict[str, list[float]] = {}

    async def run(action: str) -> None:
        times[action] = await _sequential_grants(limiter, action, 30)

    async with anyio.create_task_group() as tg:
        tg.start_soon(run, "A")
        tg.start_soon(run, "B")
    both = sorted(times["A"] + times["B"])
    assert _most_in_any_window(both) == 10
    assert both[-1] - both[0] == pytest.approx(59 / 10 * SPACING, abs=SLACK)
    assert limiter.granted == 60


async def test_per_action_report_throttled_slows_the_overall_cap() -> None:
    overall = TokenBucket(10.0, recovery_seconds=1000.0)
    limiter = PerActionLimiter({"A": 20.0}, overall=overall)
    await limiter.acquire("A")
    limiter.report_throttled()
    assert (limiter.throttled, overall.throttled) == (1, 1)
    assert limiter.current_rate == pytest.approx(5.0)
    times = await _sequential_grants(limiter, "A", 6)
    # At the halved overall rate, not at A's 20/s nor the overall's 10/s.
    assert times[-1] - times[0] == pytest.approx(5 / 5.0 * SPACING, rel=0.01)


async def test_per_action_report_throttled_passes_the_retry_hint_on() -> None:
    limiter = PerActionLimiter({"A": 20.0}, overall=10.0)
    start = anyio.current_time()
    await limiter.acquire("A")
    limiter.report_throttled(retry_after=3.0)
    await limiter.acquire("A")
    assert anyio.current_time() - start == pytest.approx(3.0, abs=SLACK)


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


@pytest.mark.parametrize(
    "quotas",
    [
        {"A": 0},
        {"A": -1.0},
        {"A": math.nan},
        {"A": math.inf},
        {"A": True},
        {"A": "10"},
        {"": 10.0},
        {1: 10.0},
        [("A", 10.0)],
        "A",
    ],
)
def test_per_action_limiter_refuses_bad_quotas(quotas: Any) -> None:
    with pytest.raises(ValidationError, match="quota"):
        PerActionLimiter(quotas)


@pytest.mark.parametrize("default", _NOT_POSITIVE)
def test_per_action_limiter_refuses_a_bad_default(default: Any) -> None:
    with pytest.raises(ValidationError, match="default"):
        PerActionLimiter(default=default)


@pytest.mark.parametrize("overall", [0, -1, math.nan, math.inf, True, "10", object()])
def test_per_action_limiter_refuses_a_bad_overall_cap(overall: Any) -> None:
    with pytest.raises(ValidationError, match="overall"):
        PerActionLimiter(overall=overall)


def test_per_action_limiter_refuses_a_clock_that_cannot_be_called() -> None:
    with pytest.raises(ValidationError, match="clock"):
        PerActionLimiter(clock="monotonic")  # type: ignore[arg-type]


def test_per_action_limiter_accepts_any_limiter_as_overall_cap() -> None:
    overall = Unlimited()
    assert PerActionLimiter(overall=overall, default=5).rate == 5.0


# --------------------------------------------------------------------------- through the client


def _timed(recorder_times: list[float]) -> Recorder:
    def respond(request: httpx.Request) -> httpx.Response:
        recorder_times.append(anyio.current_time())
        return httpx.Response(200, json={"RequestId": "r", "Success": True, "Data": []})

    return Recorder(respond)


async def _fire(client: Any, count: int) -> None:
    async with anyio.create_task_group() as tg:
        for _ in range(count):
            tg.start_soon(lambda: client.list_ota_module_by_product(product_key="pk"))


async def test_client_qps_none_uses_no_limit() -> None:
    times: list[float] = []
    start = anyio.current_time()
    async with make_client(_timed(times), qps=None) as client:
        assert isinstance(client.limiter, Unlimited)
        await _fire(client, 50)
    assert len(times) == 50
    assert anyio.current_time() == start


async def test_client_qps_paces_every_call() -> None:
    times: list[float] = []
    async with make_client(_timed(times), qps=10.0) as client:
        assert isinstance(client.limiter, TokenBucket)
        await _fire(client, 21)
    assert times[-1] - times[0] == pytest.approx(2.0 * SPACING, abs=SLACK)
    assert _most_in_any_window(sorted(times)) == 10


async def test_one_bucket_shared_by_two_clients_paces_both_together() -> None:
    bucket = TokenBucket(10.0)
    times: list[float] = []
    async with (
        make_client(_timed(times), limiter=bucket) as first,
        make_client(_timed(times), limiter=bucket) as second,
    ):
        assert first.limiter is second.limiter is bucket
        async with anyio.create_task_group() as tg:
            tg.start_soon(_fire, first, 15)
            tg.start_soon(_fire, second, 15)
    times.sort()
    assert len(times) == 30
    assert times[-1] - times[0] == pytest.approx(2.9 * SPACING, abs=SLACK)
    assert _most_in_any_window(times) == 10
