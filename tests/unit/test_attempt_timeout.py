"""Every attempt is bounded as a whole, and ``RetryPolicy.deadline`` bounds the whole call.

In virtual time: a server that trickles its body (or never sends its headers) is cut off at
exactly ``timeout`` seconds per attempt, and a call with a deadline ends exactly at it, be
it sending, backing off or waiting in the limiter.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx
import pytest

from otaclient import (
    APIError,
    OTAClient,
    OutcomeUnknownError,
    RetryPolicy,
    TokenBucket,
    TransportError,
    ValidationError,
)

from ._helpers import Recorder, make_client, ok_body

pytestmark = [pytest.mark.anyio, pytest.mark.virtual_time]

MODULES = ok_body(Data=[])
GUARD = 1000.0  # virtual seconds: a call that hangs fails the test instead of the suite


async def _one_byte_a_second() -> AsyncIterator[bytes]:
    while True:
        await anyio.sleep(1.0)
        yield b" "


def trickling_body(request: httpx.Request) -> httpx.Response:
    """Headers at once, then one byte of whitespace a second, for ever."""
    return httpx.Response(
        200, headers={"Content-Type": "application/json"}, content=_one_byte_a_second()
    )


async def headers_never_come(request: httpx.Request) -> httpx.Response:
    await anyio.sleep(3600.0)
    return httpx.Response(200, json=MODULES)


async def _modules(client: OTAClient) -> Any:
    return await client.list_ota_module_by_product(product_key="pk")


async def _create(client: OTAClient) -> Any:
    return await client.create_ota_static_upgrade_job(
        firmware_id="f1", product_key="pk", target_selection="ALL"
    )


@pytest.mark.parametrize("respond", [trickling_body, headers_never_come], ids=["body", "headers"])
async def test_each_attempt_of_a_read_is_cut_off_at_the_timeout(respond: Any) -> None:
    recorder = Recorder(respond)
    started = anyio.current_time()
    async with make_client(recorder, timeout=2.0) as client:
        with anyio.fail_after(GUARD), pytest.raises(TransportError, match="2 s"):
            await _modules(client)
    assert len(recorder.requests) == 3  # make_client: 3 attempts, no backoff
    assert anyio.current_time() - started == pytest.approx(6.0)


@pytest.mark.parametrize("respond", [trickling_body, headers_never_come], ids=["body", "headers"])
async def test_a_timed_out_write_is_sent_once_and_its_outcome_is_unknown(respond: Any) -> None:
    recorder = Recorder(respond)
    started = anyio.current_time()
    async with make_client(recorder, timeout=2.0) as client:
        with anyio.fail_after(GUARD), pytest.raises(OutcomeUnknownError) as caught:
            await _create(client)
    assert len(recorder.requests) == 1
    assert anyio.current_time() - started == pytest.approx(2.0)
    assert isinstance(caught.value.__cause__, TransportError)
    assert "list_ota_job_by_firmware" in caught.value.how_to_check


async def test_the_default_timeout_is_ten_seconds_per_attempt() -> None:
    recorder = Recorder(trickling_body)
    started = anyio.current_time()
    async with make_client(recorder, retry=RetryPolicy(max_attempts=1)) as client:
        with anyio.fail_after(GUARD), pytest.raises(TransportError):
            await _modules(client)
    assert anyio.current_time() - started == pytest.approx(10.0)


async def test_an_httpx_timeout_is_still_accepted_and_bounds_the_whole_attempt() -> None:
    recorder = Recorder(trickling_body)
    started = anyio.current_time()
    timeout = httpx.Timeout(3.0, connect=1.0)
    async with make_client(recorder, timeout=timeout, retry=RetryPolicy(max_attempts=1)) as c:
        with anyio.fail_after(GUARD), pytest.raises(TransportError):
            await _modules(c)
    # connect + write + read: the phases an attempt goes through one after the other.
    assert anyio.current_time() - started == pytest.approx(7.0)


def test_connecting_gets_half_the_attempt_so_a_connect_timeout_stays_not_sent() -> None:
    # httpx's ConnectTimeout must fire before the whole-attempt bound: it is the one
    # timeout that proves nothing was sent, and lets even a write be retried.
    client = make_client(Recorder(), timeout=4.0)
    assert client._http.timeout == httpx.Timeout(4.0, connect=2.0)


@pytest.mark.parametrize("timeout", [0, -1.0, math.inf, math.nan, "10", True, None])
def test_a_timeout_that_is_not_a_positive_number_of_seconds_is_refused(timeout: Any) -> None:
    with pytest.raises(ValidationError, match="timeout"):
        make_client(Recorder(), timeout=timeout)


@pytest.mark.parametrize("respond", [trickling_body, headers_never_come], ids=["body", "headers"])
async def test_the_deadline_ends_a_retried_read_exactly_on_time(respond: Any) -> None:
    recorder = Recorder(respond)
    retry = RetryPolicy(max_attempts=10, backoff_base=0.0, deadline=5.0)
    started = anyio.current_time()
    async with make_client(recorder, timeout=2.0, retry=retry) as client:
        with anyio.fail_after(GUARD), pytest.raises(TransportError, match="deadline"):
            await _modules(client)
    # Attempts at 0, 2 and 4; the third is cut by the deadline, not by its own timeout.
    assert len(recorder.requests) == 3
    assert anyio.current_time() - started == pytest.approx(5.0)


async def test_a_write_cut_by_the_deadline_has_an_unknown_outcome() -> None:
    recorder = Recorder(trickling_body)
    retry = RetryPolicy(deadline=1.5)
    started = anyio.current_time()
    async with make_client(recorder, timeout=10.0, retry=retry) as client:
        with anyio.fail_after(GUARD), pytest.raises(OutcomeUnknownError):
            await _create(client)
    assert len(recorder.requests) == 1
    assert anyio.current_time() - started == pytest.approx(1.5)


async def test_the_deadline_counts_the_time_spent_waiting_in_the_limiter() -> None:
    recorder = Recorder(lambda request: httpx.Response(200, json=MODULES))
    limiter = TokenBucket(0.1)  # one request every ten seconds
    retry = RetryPolicy(deadline=4.0)
    async with make_client(recorder, limiter=limiter, retry=retry) as client:
        await _modules(client)
        started = anyio.current_time()
        with anyio.fail_after(GUARD), pytest.raises(TransportError, match="nothing was sent"):
            await _modules(client)
        assert anyio.current_time() - started == pytest.approx(4.0)
    assert len(recorder.requests) == 1


async def test_a_write_that_never_left_the_limiter_by_the_deadline_is_not_outcome_unknown() -> None:
    recorder = Recorder(lambda request: httpx.Response(200, json=MODULES))
    async with make_client(
        recorder, limiter=TokenBucket(0.1), retry=RetryPolicy(deadline=4.0)
    ) as c:
        await _modules(c)
        with anyio.fail_after(GUARD), pytest.raises(TransportError, match="nothing was sent"):
            await _create(c)
    assert len(recorder.requests) == 1


async def test_the_deadline_ends_backoff_waits_with_the_last_error() -> None:
    # Transient 503s; backoff waits of 1, 2, 4 s... end with the deadline, not after it.
    recorder = Recorder(lambda request: httpx.Response(503, json={"Code": "ServiceUnavailable"}))
    retry = RetryPolicy(max_attempts=10, backoff_base=1.0, random=lambda: 1.0, deadline=6.0)
    started = anyio.current_time()
    async with make_client(recorder, retry=retry) as client:
        with anyio.fail_after(GUARD), pytest.raises(APIError, match="ServiceUnavailable") as caught:
            await _modules(client)
    # Attempts at 0, 1 and 3; the next wait (4 s) would end past the deadline: give up at 3.
    assert len(recorder.requests) == 3
    assert anyio.current_time() - started == pytest.approx(3.0)
    assert any("deadline" in note for note in getattr(caught.value, "__notes__", []))
