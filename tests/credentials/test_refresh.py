"""The refresh rules of CachedProvider, in virtual time under asyncio and trio."""

from __future__ import annotations

import math

import anyio
import pytest

from otaclient import CachedProvider, Credentials, CredentialsError, RefreshPolicy, ValidationError

from ._helpers import FakeSource, at, cached, virtual_wall_clock

pytestmark = [pytest.mark.anyio, pytest.mark.virtual_time]

HOUR = 3600.0


async def _sleep_until(clock_start: float, offset: float) -> None:
    await anyio.sleep(max(0.0, clock_start + offset - anyio.current_time()))


async def test_fresh_credentials_are_answered_from_the_cache() -> None:
    source = FakeSource(virtual_wall_clock())
    provider = cached(source)
    first = await provider.get_credentials()
    for _ in range(100):
        assert await provider.get_credentials() is first
    assert source.calls == 1


def test_asking_for_fresh_credentials_never_suspends() -> None:
    # The request loop asks before every attempt: when nothing is due the coroutine must
    # finish without yielding to the event loop (no lock, no checkpoint).
    credentials = Credentials("id", "secret", "token", expiration=at(10 * HOUR))
    provider = CachedProvider(_never_called, name="fixed", clock=lambda: at(0).timestamp())
    provider._current = credentials
    provider._refresh_at = math.inf
    provider._usable_until = math.inf
    coroutine = provider.get_credentials()
    with pytest.raises(StopIteration) as finished:
        coroutine.send(None)
    assert finished.value.value is credentials


async def _never_called() -> Credentials:
    raise AssertionError("fetch must not run")


@pytest.mark.parametrize(
    ("lifetime", "refresh_after"),
    [
        (HOUR, 2700.0),  # 15 minutes ahead of an hour
        (6 * HOUR, 6 * HOUR - 900.0),  # 15 minutes ahead of six hours
        (30.0, 20.0),  # a third of 30 seconds
    ],
)
async def test_refresh_is_due_at_the_smaller_of_15_minutes_and_a_third_of_the_lifetime(
    lifetime: float, refresh_after: float
) -> None:
    source = FakeSource(virtual_wall_clock(), lifetime=lifetime)
    provider = cached(source)
    start = anyio.current_time()
    first = await provider.get_credentials()
    await _sleep_until(start, refresh_after - 0.001)
    assert await provider.get_credentials() is first
    assert source.calls == 1
    await _sleep_until(start, refresh_after)
    second = await provider.get_credentials()
    assert second is not first
    assert source.calls == 2


async def test_a_long_run_gets_unexpired_credentials_at_every_ask_and_one_fetch_per_lifetime() -> (
    None
):
    clock = virtual_wall_clock()
    source = FakeSource(clock, lifetime=HOUR)
    provider = cached(source)
    duration = 10 * HOUR
    seen: set[str] = set()

    async def asker(offset: float) -> None:
        await anyio.sleep(offset)
        start = clock()
        while clock() - start < duration:
            credentials = await provider.get_credentials()
            assert credentials.expiration is not None
            assert credentials.expiration.timestamp() > clock() + 10  # unexpired, with margin
            seen.add(credentials.access_key_id)
            await anyio.sleep(7.0)

    async with anyio.create_task_group() as group:
        for offset in (0.0, 1.5, 3.0, 4.5):
            group.start_soon(asker, offset)
    # A fetch at 0 s and every 45 minutes after it, for as long as anyone asked.
    expected = math.ceil((duration + 4.5) / 2700.0)
    assert source.calls == expected
    assert len(seen) == expected


async def test_callers_arriving_during_a_refresh_keep_the_old_credentials_without_waiting() -> None:
    source = FakeSource(virtual_wall_clock(), lifetime=HOUR, latency=5.0)
    provider = cached(source)
    old = await provider.get_credentials()
    await anyio.sleep(2700.0)
    answers: list[tuple[float, Credentials]] = []

    async def ask() -> None:
        asked = anyio.current_time()
        credentials = await provider.get_credentials()
        answers.append((anyio.current_time() - asked, credentials))

    async with anyio.create_task_group() as group:
        group.start_soon(ask)  # finds them due and fetches (5 s)
        await anyio.sleep(1.0)
        for _ in range(10):
            group.start_soon(ask)
    assert source.calls == 2
    waited = [delay for delay, credentials in answers if credentials is not old]
    kept = [delay for delay, credentials in answers if credentials is old]
    assert waited == [5.0]
    assert kept == [0.0] * 10


async def test_concurrent_first_asks_share_one_fetch() -> None:
    source = FakeSource(virtual_wall_clock(), latency=1.0)
    provider = cached(source)
    got: list[Credentials] = []

    async def ask() -> None:
        got.append(await provider.get_credentials())

    async with anyio.create_task_group() as group:
        for _ in range(50):
            group.start_soon(ask)
    assert source.calls == 1
    assert len(got) == 50
    assert all(credentials is got[0] for credentials in got)


async def test_callers_waiting_with_nothing_usable_all_get_the_one_fetchs_error() -> None:
    source = FakeSource(virtual_wall_clock(), latency=1.0)
    source.failing = CredentialsError("fake: STS said no", provider="fake")
    provider = cached(source)
    errors: list[CredentialsError] = []

    async def ask() -> None:
        try:
            await provider.get_credentials()
        except CredentialsError as exc:
            errors.append(exc)

    async with anyio.create_task_group() as group:
        for _ in range(20):
            group.start_soon(ask)
    assert source.calls == 1
    assert len(errors) == 20
    assert all("STS said no" in str(exc) for exc in errors)


async def test_a_failed_refresh_keeps_the_old_credentials_and_retries_with_backoff() -> None:
    clock = virtual_wall_clock()
    source = FakeSource(clock, lifetime=HOUR)
    provider = cached(source)
    start = anyio.current_time()
    old = await provider.get_credentials()
    await _sleep_until(start, 2700.0)
    source.failing = CredentialsError("fake: STS is down", provider="fake")
    while anyio.current_time() - start < 3000.0:  # asks every second; nobody sees the outage
        assert await provider.get_credentials() is old
        await anyio.sleep(1.0)
    source.failing = None
    while anyio.current_time() - start < 3100.0:
        latest = await provider.get_credentials()
        await anyio.sleep(1.0)
    assert latest is not old
    # Attempts at 2700, then 1, 2, 4, ... 32 s apart, then every 60 s: 2701, 2703, 2707,
    # 2715, 2731, 2763, 2823, 2883, 2943 (all failed), 3003 (succeeded) -- not one per ask.
    assert source.calls == 1 + 11


async def test_expired_credentials_whose_refresh_fails_raise_credentials_error() -> None:
    source = FakeSource(virtual_wall_clock(), lifetime=HOUR)
    provider = cached(source)
    start = anyio.current_time()
    await provider.get_credentials()
    await _sleep_until(start, 2700.0)
    source.failing = CredentialsError("fake: STS is down", provider="fake")
    failed_at = None
    while failed_at is None:
        try:
            await provider.get_credentials()
        except CredentialsError as exc:
            failed_at = anyio.current_time() - start
            error = exc
        await anyio.sleep(1.0)
    # Usable until 10 s before they expire; after that every ask fails, clearly.
    assert failed_at == 3590.0
    assert "STS is down" in str(error)
    assert "expire at 2023-11-14T23:13:20Z" in str(error)
    assert error.provider == "fake"


async def test_a_forced_refresh_fetches_even_when_the_cache_looks_fresh() -> None:
    source = FakeSource(virtual_wall_clock())
    provider = cached(source)
    old = await provider.get_credentials()
    new = await provider.refresh(rejected=old)
    assert new is not old
    assert source.calls == 2
    assert await provider.get_credentials() is new


async def test_concurrent_forced_refreshes_share_one_fetch() -> None:
    source = FakeSource(virtual_wall_clock(), latency=1.0)
    provider = cached(source)
    old = await provider.get_credentials()
    got: list[Credentials] = []

    async def rejected() -> None:
        got.append(await provider.refresh(rejected=old))

    async with anyio.create_task_group() as group:
        for _ in range(25):
            group.start_soon(rejected)
    assert source.calls == 2
    assert len(got) == 25
    assert all(credentials is got[0] is not old for credentials in got)


async def test_a_forced_refresh_after_someone_else_replaced_the_keys_fetches_nothing() -> None:
    source = FakeSource(virtual_wall_clock())
    provider = cached(source)
    old = await provider.get_credentials()
    new = await provider.refresh(rejected=old)
    assert await provider.refresh(rejected=old) is new
    assert source.calls == 2


async def test_a_failed_forced_refresh_raises_even_though_the_cache_looks_fresh() -> None:
    source = FakeSource(virtual_wall_clock())
    provider = cached(source)
    old = await provider.get_credentials()
    source.failing = CredentialsError("fake: STS is down", provider="fake")
    with pytest.raises(CredentialsError, match="STS is down"):
        await provider.refresh(rejected=old)


async def test_a_cancelled_refresh_does_not_strand_the_callers_waiting_for_it() -> None:
    source = FakeSource(virtual_wall_clock(), latency=10.0)
    provider = cached(source)
    got: list[Credentials] = []
    scope = anyio.CancelScope()

    async def first_asker() -> None:
        with scope:
            await provider.get_credentials()

    async def waiter() -> None:
        got.append(await provider.get_credentials())

    async with anyio.create_task_group() as group:
        group.start_soon(first_asker)
        await anyio.sleep(1.0)  # the first asker is fetching
        group.start_soon(waiter)
        await anyio.sleep(1.0)
        scope.cancel()
    assert len(got) == 1
    assert source.calls == 2  # the cancelled fetch, then the waiter's own


async def test_a_fetch_that_raises_anything_becomes_credentials_error() -> None:
    source = FakeSource(virtual_wall_clock())
    source.failing = ValueError("bad json")
    with pytest.raises(CredentialsError, match="fake: fetching credentials failed: ValueError"):
        await cached(source).get_credentials()


async def test_credentials_that_arrive_expired_are_refused() -> None:
    source = FakeSource(virtual_wall_clock(), lifetime=-5.0)
    with pytest.raises(CredentialsError, match="too soon to use them"):
        await cached(source).get_credentials()


async def test_credentials_handed_out_again_are_asked_for_after_a_third_of_what_is_left() -> None:
    source = FakeSource(virtual_wall_clock(), lifetime=HOUR)
    provider = cached(source)
    start = anyio.current_time()
    first = await provider.get_credentials()
    await _sleep_until(start, 2700.0)
    source.repeat = True  # like a metadata service that has not rotated them yet
    while anyio.current_time() - start < 3580.0:
        assert await provider.get_credentials() == first
        await anyio.sleep(1.0)
    # At 2700 (900 s left), then 3300 (300 s left), 3500 (100 s), 3567 (33 s): not 880.
    assert source.calls == 1 + 4


async def test_fetched_credentials_are_named_after_the_provider() -> None:
    provider = cached(FakeSource(virtual_wall_clock()))
    assert (await provider.get_credentials()).provider_name == "fake"


async def test_credentials_without_expiration_are_kept_until_refreshed() -> None:
    calls = 0

    async def static() -> Credentials:
        nonlocal calls
        calls += 1
        return Credentials("id", "secret")

    provider = CachedProvider(static, name="static", clock=virtual_wall_clock())
    await provider.get_credentials()
    await anyio.sleep(100 * HOUR)
    await provider.get_credentials()
    assert calls == 1


async def test_static_credentials_are_their_own_provider() -> None:
    credentials = Credentials("id", "secret")
    assert await credentials.get_credentials() is credentials
    assert await credentials.refresh(rejected=credentials) is credentials


@pytest.mark.parametrize(
    "bad",
    [{"ahead": -1.0}, {"ahead_fraction": 0.0}, {"ahead_fraction": 1.0}, {"jitter": 1.5}],
)
def test_refresh_policy_refuses_nonsense(bad: dict[str, float]) -> None:
    with pytest.raises(ValidationError):
        RefreshPolicy(**bad)
