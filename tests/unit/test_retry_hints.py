"""Server retry hints: honoured, validated and capped once, for the retry wait and the limiter.

In virtual time, so waits are asserted exactly. ``x-acs-retry-after`` is the gateway's hint
in milliseconds, ``Retry-After`` HTTP's in seconds (or an HTTP date). A hint is capped at
``RetryPolicy.retry_after_cap`` and the limiter is told that same capped value, so one
hostile answer cannot freeze a bucket every client of the account shares.
"""

from __future__ import annotations

import email.utils
import itertools
from typing import Any

import anyio
import httpx
import pytest

from otaclient import RetryPolicy, ThrottlingError, TokenBucket, ValidationError
from otaclient._retry import clamp_retry_hint

from ._helpers import Recorder, RecordingLimiter, answers, make_client, ok_body

pytestmark = [pytest.mark.anyio, pytest.mark.virtual_time]

OK = httpx.Response(200, json=ok_body(Data=[]))
NO_JITTER = RetryPolicy(max_attempts=3, backoff_base=0.0)


def _throttled(status: int = 400, **headers: str) -> httpx.Response:
    body = {"RequestId": "t", "Code": "Throttling.User", "Message": "flow control"}
    return httpx.Response(status, json=body, headers=headers)


async def _waits(*responses: httpx.Response, **options: Any) -> tuple[list[float], Any]:
    """Call once; return the virtual times between consecutive requests, and the limiter."""
    times: list[float] = []
    respond = answers(*responses, OK)

    def record(request: httpx.Request) -> httpx.Response:
        times.append(anyio.current_time())
        return respond(request)

    limiter = options.pop("limiter", RecordingLimiter())
    options.setdefault("retry", NO_JITTER)
    async with make_client(Recorder(record), limiter=limiter, **options) as client:
        await client.list_ota_module_by_product(product_key="pk")
    return [round(b - a, 6) for a, b in itertools.pairwise(times)], limiter


@pytest.mark.parametrize(
    ("headers", "wait"),
    [
        ({"x-acs-retry-after": "1500"}, 1.5),
        ({"Retry-After": "2"}, 2.0),
        ({"Retry-After": "0.25"}, 0.25),
        ({"x-acs-retry-after": "500", "Retry-After": "9"}, 0.5),
    ],
    ids=["acs-milliseconds", "seconds", "fractional-seconds", "acs-wins"],
)
async def test_a_retry_hint_is_the_exact_wait_before_the_retry(
    headers: dict[str, str], wait: float
) -> None:
    waits, limiter = await _waits(_throttled(**headers))
    assert waits == [wait]
    assert limiter.reports == [wait]


@pytest.mark.parametrize(
    "headers",
    [{"Retry-After": "999999"}, {"x-acs-retry-after": "999999000"}],
    ids=["seconds", "acs-milliseconds"],
)
async def test_a_huge_hint_is_capped_for_the_wait_and_for_the_limiter(
    headers: dict[str, str],
) -> None:
    retry = RetryPolicy(max_attempts=3, backoff_base=0.0, retry_after_cap=4.0)
    waits, limiter = await _waits(_throttled(**headers), retry=retry)
    assert waits == [4.0]
    assert limiter.reports == [4.0]


@pytest.mark.parametrize(
    "value", ["inf", "Infinity", "nan", "-1", "0", "soon", "", "1e3", "1_000", "0x10", "5 s"]
)
async def test_a_garbled_negative_or_zero_hint_is_no_hint(value: str) -> None:
    waits, limiter = await _waits(_throttled(**{"Retry-After": value}))
    assert waits == [0.0]
    assert limiter.reports == [None]


async def test_a_garbled_acs_hint_falls_back_to_retry_after() -> None:
    waits, limiter = await _waits(_throttled(**{"x-acs-retry-after": "-5", "Retry-After": "3"}))
    assert waits == [3.0]
    assert limiter.reports == [3.0]


async def test_the_default_cap_is_thirty_seconds() -> None:
    waits, limiter = await _waits(_throttled(**{"Retry-After": "999999"}))
    assert waits == [30.0]
    assert limiter.reports == [30.0]


async def test_a_hint_on_a_transient_error_sets_the_wait_too() -> None:
    unavailable = httpx.Response(
        503, json={"RequestId": "u", "Code": "ServiceUnavailable"}, headers={"Retry-After": "2"}
    )
    waits, limiter = await _waits(unavailable)
    assert waits == [2.0]
    assert limiter.reports == []  # not throttling: the limiter is not slowed


async def test_a_huge_hint_does_not_freeze_a_shared_token_bucket() -> None:
    bucket = TokenBucket(10.0)
    waits, _ = await _waits(_throttled(**{"Retry-After": "999999"}), limiter=bucket)
    assert waits == [30.0]
    # The bucket paused for the capped hint, not for eleven days: a second client of the
    # account gets a token within one interval of the retry.
    started = anyio.current_time()
    await bucket.acquire()
    assert anyio.current_time() - started <= 0.2


@pytest.mark.parametrize("told", [999999.0, float("inf")])
async def test_the_token_bucket_clamps_a_huge_pause_it_is_told_directly(told: float) -> None:
    bucket = TokenBucket(10.0)
    await bucket.acquire()
    bucket.report_throttled(told)
    started = anyio.current_time()
    await bucket.acquire()
    assert anyio.current_time() - started == pytest.approx(30.0)


@pytest.mark.parametrize("told", [float("nan"), -1.0, 0.0, None])
async def test_the_token_bucket_pauses_one_interval_for_a_meaningless_pause(
    told: float | None,
) -> None:
    bucket = TokenBucket(10.0, adaptive=True)
    await bucket.acquire()
    bucket.report_throttled(told)
    started = anyio.current_time()
    await bucket.acquire()
    # Halved to 5/s: one interval is 0.2 s (plus the bucket's spacing margin).
    assert 0.1 < anyio.current_time() - started < 0.25


async def test_http_429_without_a_throttling_code_is_throttling_and_retried() -> None:
    too_many = httpx.Response(429, content=b"<html>429 Too Many Requests</html>")
    waits, limiter = await _waits(too_many)
    assert waits == [0.0]
    assert limiter.reports == [None]


async def test_http_429_is_retried_for_a_create_too() -> None:
    # The service (or a gateway in front of it) refused the request: nothing was created.
    created = httpx.Response(200, json=ok_body(Data={"JobId": "job-1"}))
    recorder = Recorder(
        answers(httpx.Response(429, json={"RequestId": "q"}, headers={"Retry-After": "1"}), created)
    )
    async with make_client(recorder) as client:
        started = anyio.current_time()
        job = await client.create_ota_static_upgrade_job(
            firmware_id="f1", product_key="pk", target_selection="ALL"
        )
        assert anyio.current_time() - started == pytest.approx(1.0)
    assert job.job_id == "job-1"
    assert len(recorder.requests) == 2


async def test_http_429_surfaces_as_throttling_error_after_the_attempts() -> None:
    recorder = Recorder(lambda request: httpx.Response(429, json={"RequestId": "q"}))
    async with make_client(recorder) as client:
        with pytest.raises(ThrottlingError) as caught:
            await client.list_ota_module_by_product(product_key="pk")
    assert (caught.value.code, caught.value.http_status) == ("HTTP429", 429)
    assert len(recorder.requests) == 3


def test_an_http_date_hint_counts_from_now() -> None:
    now = 1_700_000_000.0
    date = email.utils.formatdate(now + 12, usegmt=True)
    assert RetryPolicy().retry_hint({"retry-after": date}, now=lambda: now) == 12.0
    assert RetryPolicy().retry_hint({"retry-after": date}, now=lambda: now + 60) is None


@pytest.mark.parametrize(
    ("told", "usable"),
    [(2.0, 2.0), (31.0, 30.0), (float("inf"), 30.0), (float("nan"), None), (-1.0, None)],
)
def test_clamp_retry_hint(told: float, usable: float | None) -> None:
    assert clamp_retry_hint(told) == usable


def test_the_hint_cap_must_be_finite() -> None:
    with pytest.raises(ValidationError, match="retry_after_cap"):
        RetryPolicy(retry_after_cap=float("inf"))
