"""Pins of the request loop found by mutation testing (tests/MUTATION.md), in virtual time.

Each test states one behaviour of ``Sender.request`` as a caller sees it: how many requests
a failure costs, when the next one leaves, what the error carries, what the limiter is told.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import anyio
import httpx
import pytest

from otaclient import (
    APIError,
    NoAnswerError,
    OTAClient,
    ResponseError,
    RetryPolicy,
    ThrottlingError,
    TransportError,
)
from otaclient._retry import is_transient_code

from ._helpers import ACCESS_KEY_ID, ACCESS_KEY_SECRET, ENDPOINT, query_of

pytestmark = [pytest.mark.anyio, pytest.mark.virtual_time]

JOB = {"RequestId": "req-ok", "Success": True, "Data": {"JobId": "job-1"}}
THROTTLED = {"RequestId": "req-t", "Code": "Throttling.User", "Message": "flow control"}


class Server:
    """Answers from a list (the last one repeats) and notes when each request arrived."""

    def __init__(self, *answers: httpx.Response | Callable[[httpx.Request], httpx.Response]):
        self.answers = list(answers)
        self.times: list[float] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.times.append(anyio.current_time())
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return answer(request) if callable(answer) else answer

    @property
    def gaps(self) -> list[float]:
        return [later - earlier for earlier, later in zip(self.times, self.times[1:], strict=False)]


class RecordingLimiter:
    """A limiter that lets everything through and remembers what it was told."""

    rate = None
    current_rate = None

    def __init__(self) -> None:
        self.acquired: list[str | None] = []
        self.hints: list[float | None] = []

    @property
    def granted(self) -> int:
        return len(self.acquired)

    @property
    def throttled(self) -> int:
        return len(self.hints)

    async def acquire(self, action: str | None = None) -> None:
        self.acquired.append(action)

    def report_throttled(self, retry_after: float | None = None) -> None:
        self.hints.append(retry_after)


def _client(server: Server, **options: Any) -> OTAClient:
    settings: dict[str, Any] = {
        "access_key_id": ACCESS_KEY_ID,
        "access_key_secret": ACCESS_KEY_SECRET,
        "endpoint": ENDPOINT,
        "qps": None,
        "retry": RetryPolicy(max_attempts=4, backoff_base=0.0),
    }
    settings.update(options)
    return OTAClient(transport=httpx.MockTransport(server), **settings)


def _refuse_connection(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


async def _query(client: OTAClient) -> Any:
    return await client.query_ota_job(job_id="job-1")


# ------------------------------------------------------------------ how many requests


async def test_a_fatal_error_is_sent_once() -> None:
    server = Server(httpx.Response(400, json={"RequestId": "r", "Code": "InvalidParameter"}))
    async with _client(server) as client:
        with pytest.raises(APIError):
            await _query(client)
    assert len(server.times) == 1


async def test_throttling_is_retried_exactly_up_to_max_attempts() -> None:
    server = Server(httpx.Response(400, json=THROTTLED))
    async with _client(server, retry=RetryPolicy(max_attempts=3, backoff_base=0.0)) as client:
        with pytest.raises(ThrottlingError):
            await _query(client)
    assert len(server.times) == 3


async def test_throttling_gets_its_own_attempt_budget() -> None:
    server = Server(httpx.Response(400, json=THROTTLED))
    policy = RetryPolicy(max_attempts=2, max_throttled_attempts=7, backoff_base=0.0)
    async with _client(server, retry=policy) as client:
        with pytest.raises(ThrottlingError):
            await _query(client)
    assert len(server.times) == 7


async def test_the_throttling_budget_leaves_other_failures_at_max_attempts() -> None:
    server = Server(_refuse_connection)
    policy = RetryPolicy(max_attempts=2, max_throttled_attempts=7, backoff_base=0.0)
    async with _client(server, retry=policy) as client:
        with pytest.raises(NoAnswerError):
            await _query(client)
    assert len(server.times) == 2


async def test_the_counters_count_attempts_retries_and_throttled_answers() -> None:
    throttled = httpx.Response(400, json=THROTTLED)
    server = Server(throttled, throttled, httpx.Response(200, json=JOB))
    async with _client(server) as client:
        await _query(client)
        assert client.stats == {"attempts": 3, "retries": 2, "throttled": 2}


async def test_an_oversized_answer_is_not_retried() -> None:
    server = Server(httpx.Response(200, content=b" " * 2000 + b"{}"))
    async with _client(server, max_body_bytes=1000) as client:
        with pytest.raises(ResponseError, match=r"^QueryOTAJob: .*1000-byte cap"):
            await _query(client)
    assert len(server.times) == 1


# ------------------------------------------------------------------ when the next one leaves


@pytest.mark.parametrize(
    ("headers", "at_least"),
    [
        ({"x-acs-retry-after": "1500"}, 1.5),  # milliseconds
        ({"Retry-After": "2"}, 2.0),  # seconds
        ({"Retry-After": "1"}, 1.0),
        ({"x-acs-retry-after": "soon", "Retry-After": "2"}, 2.0),  # unusable hint skipped
        ({"x-acs-retry-after": "0", "Retry-After": "2"}, 2.0),
        ({"x-acs-retry-after": "-5", "Retry-After": "1"}, 1.0),
    ],
    ids=["ms", "s", "one-second", "unparsable-then-s", "zero-then-s", "negative-then-s"],
)
async def test_a_throttling_hint_delays_the_retry(headers: dict[str, str], at_least: float) -> None:
    server = Server(
        httpx.Response(400, json=THROTTLED, headers=headers), httpx.Response(200, json=JOB)
    )
    async with _client(server) as client:
        await _query(client)
    (gap,) = server.gaps
    assert at_least <= gap < at_least + 1.0


@pytest.mark.parametrize("value", ["soon", "0", "-1"])
async def test_an_unusable_hint_is_ignored(value: str) -> None:
    throttled = httpx.Response(400, json=THROTTLED, headers={"Retry-After": value})
    server = Server(throttled, httpx.Response(200, json=JOB))
    async with _client(server) as client:
        await _query(client)
    assert server.gaps == [0.0]


async def test_a_transient_error_of_a_read_honours_its_hint() -> None:
    unavailable = httpx.Response(
        503, json={"RequestId": "r", "Code": "ServiceUnavailable"}, headers={"Retry-After": "1"}
    )
    server = Server(unavailable, httpx.Response(200, json=JOB))
    async with _client(server) as client:
        await _query(client)
    (gap,) = server.gaps
    assert 1.0 <= gap < 2.0


async def test_the_deadline_bounds_the_retries_and_lets_them_use_it() -> None:
    await anyio.sleep(100)  # a clock that does not start at zero
    server = Server(_refuse_connection)
    policy = RetryPolicy(
        max_attempts=10, backoff_base=1.0, backoff_cap=8.0, deadline=10.0, random=lambda: 1.0
    )
    started = anyio.current_time()
    async with _client(server, retry=policy) as client:
        with pytest.raises(TransportError):
            await _query(client)
    # Waits of 1, 2 and 4 s fit in 10 s; the next (8 s) would not.
    assert anyio.current_time() - started <= 10.0
    assert len(server.times) >= 4


# ------------------------------------------------------------------ what the limiter is told


async def test_the_limiter_is_asked_per_attempt_with_the_action_name() -> None:
    limiter = RecordingLimiter()
    server = Server(_refuse_connection, httpx.Response(200, json=JOB))
    async with _client(server, limiter=limiter) as client:
        await _query(client)
    assert limiter.acquired == ["QueryOTAJob", "QueryOTAJob"]


async def test_the_limiter_hears_of_throttling_with_the_hint() -> None:
    limiter = RecordingLimiter()
    throttled = httpx.Response(400, json=THROTTLED, headers={"x-acs-retry-after": "1500"})
    server = Server(throttled, httpx.Response(200, json=JOB))
    async with _client(server, limiter=limiter) as client:
        await _query(client)
    assert limiter.hints == [1.5]


# ------------------------------------------------------------------ what an answer means


@pytest.mark.parametrize(
    ("status", "body", "code"),
    [
        (200, {"RequestId": "r", "Code": "InvalidParameter", "Message": "m"}, "InvalidParameter"),
        (200, {"RequestId": "r", "Success": "false", "Code": "X.Y"}, "X.Y"),
        (400, {"RequestId": "r", "Message": "bad request"}, "HTTP400"),
    ],
    ids=["code-without-success-flag", "success-text-false", "http-400-bare"],
)
async def test_an_error_answer_raises_api_error(
    status: int, body: dict[str, Any], code: str
) -> None:
    server = Server(httpx.Response(status, json=body))
    async with _client(server) as client:
        with pytest.raises(APIError) as caught:
            await _query(client)
    assert caught.value.code == code
    assert caught.value.http_status == status


async def test_an_api_error_carries_the_services_fields() -> None:
    body = {
        "RequestId": "req-7",
        "Code": "Forbidden.RAM",
        "Message": "not allowed",
        "HostId": "iot.cn-shanghai.aliyuncs.com",
        "Recommend": "https://api.aliyun.com/troubleshoot?q=Forbidden.RAM",
    }
    server = Server(httpx.Response(403, json=body))
    async with _client(server) as client:
        with pytest.raises(APIError) as caught:
            await _query(client)
    error = caught.value
    assert (error.code, error.message, error.request_id) == (
        "Forbidden.RAM",
        "not allowed",
        "req-7",
    )
    assert error.host_id == "iot.cn-shanghai.aliyuncs.com"
    assert error.recommend == body["Recommend"]


async def test_a_throttling_error_carries_the_hint_in_seconds() -> None:
    throttled = httpx.Response(400, json=THROTTLED, headers={"x-acs-retry-after": "2500"})
    server = Server(throttled)
    async with _client(server, retry=RetryPolicy(max_attempts=1)) as client:
        with pytest.raises(ThrottlingError) as caught:
            await _query(client)
    assert caught.value.retry_after == 2.5


async def test_an_unparsable_answer_names_its_http_status() -> None:
    server = Server(httpx.Response(502, content=b"<html><body>Bad Gateway</body></html>"))
    async with _client(server, retry=RetryPolicy(max_attempts=1)) as client:
        with pytest.raises(ResponseError) as caught:
            await _query(client)
    assert caught.value.http_status == 502
    assert "HTTP 502" in str(caught.value)


async def test_an_answer_of_the_wrong_shape_names_its_http_status() -> None:
    server = Server(httpx.Response(200, json={"RequestId": "r", "Success": True, "Data": "oops"}))
    async with _client(server) as client:
        with pytest.raises(ResponseError) as caught:
            await _query(client)
    assert caught.value.http_status == 200


async def test_a_transport_error_names_the_action_and_chains_its_cause() -> None:
    server = Server(_refuse_connection)
    async with _client(server, retry=RetryPolicy(max_attempts=1)) as client:
        with pytest.raises(TransportError) as caught:
            await _query(client)
    assert caught.value.action == "QueryOTAJob"
    assert isinstance(caught.value.__cause__, httpx.ConnectError)
    assert "ConnectError: connection refused" in str(caught.value)


async def test_the_timestamp_is_utc_whatever_the_machines_time_zone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TZ", "Asia/Shanghai")
    time.tzset()
    try:
        requests: list[httpx.Request] = []

        def record(request: httpx.Request) -> httpx.Response:
            requests.append(request)
            return httpx.Response(200, json=JOB)

        async with _client(Server(record)) as client:
            before = time.time()
            await _query(client)
            after = time.time()
    finally:
        monkeypatch.undo()
        time.tzset()
    stamp = query_of(requests[0])["Timestamp"]
    sent = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
    assert int(before) - 1 <= sent <= after + 1


# ------------------------------------------------------------------ the body cap


def _body_of(size: int) -> bytes:
    """A valid JSON answer of exactly ``size`` bytes."""
    head = b'{"RequestId": "r", "Success": true, "Pad": "'
    return head + b"x" * (size - len(head) - 2) + b'"}'


class _Chunks(httpx.AsyncByteStream):
    """``body`` in chunks of ``size`` bytes; counts the chunks read."""

    def __init__(self, body: bytes, size: int) -> None:
        self.body, self.size = body, size
        self.read = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for start in range(0, len(self.body), self.size):
            self.read += 1
            yield self.body[start : start + self.size]


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "streamed"])
async def test_a_body_of_exactly_the_cap_is_read(declared: bool) -> None:
    stream = _Chunks(_body_of(1000), 250)
    headers = {"Content-Length": "1000"} if declared else {}
    server = Server(lambda request: httpx.Response(200, headers=headers, stream=stream))
    async with _client(server, max_body_bytes=1000) as client:
        await _query(client)
    assert stream.read == 4


async def test_a_streamed_body_over_the_cap_is_refused_once_it_passes_the_cap() -> None:
    stream = _Chunks(_body_of(60_000), 300)
    server = Server(lambda request: httpx.Response(200, stream=stream))
    async with _client(server, max_body_bytes=1000) as client:
        with pytest.raises(ResponseError, match="cap"):
            await _query(client)
    assert stream.read == 4  # 1,200 bytes: the fourth chunk passed the cap; nothing after


# ------------------------------------------------------------------ the tables


@pytest.mark.parametrize(
    ("code", "status", "transient"),
    [
        (None, 500, True),
        (None, 503, True),
        (None, 429, True),
        (None, 499, False),
        (None, 400, False),
        ("", 404, False),
        ("InternalError", 200, True),
        ("ServiceUnavailable", 400, True),
        ("iot.system.SystemException", 200, True),
        ("iot.Sre.Busy", 200, True),
        ("InvalidParameter", 400, False),
    ],
)
def test_transient_codes_and_statuses(code: str | None, status: int, transient: bool) -> None:
    assert is_transient_code(code, status) is transient


@pytest.mark.parametrize(
    ("attempt", "expected"), [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 8.0), (9, 8.0)]
)
def test_backoff_doubles_from_the_base_up_to_the_cap(attempt: int, expected: float) -> None:
    policy = RetryPolicy(backoff_base=0.5, backoff_cap=8.0, random=lambda: 1.0)
    assert policy.backoff(attempt) == expected


def test_backoff_is_jittered_below_its_ceiling() -> None:
    policy = RetryPolicy(backoff_base=1.0, backoff_cap=8.0, random=lambda: 0.25)
    assert policy.backoff(3) == 1.0


@pytest.mark.parametrize(
    ("retry_after", "expected"), [(0.5, 0.5), (3.0, 3.0), (100.0, 30.0), (None, 0.0)]
)
def test_backoff_waits_at_least_the_capped_hint(retry_after: float | None, expected: float) -> None:
    policy = RetryPolicy(backoff_base=1.0, retry_after_cap=30.0, random=lambda: 0.0)
    assert policy.backoff(1, retry_after) == expected
