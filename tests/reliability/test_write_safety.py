"""Writes are retried only when the request surely did nothing; never two jobs for one call."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from otaclient import (
    APIError,
    OTAClient,
    OutcomeUnknownError,
    RetryPolicy,
    ThrottlingError,
    TransportError,
)

pytestmark = pytest.mark.anyio

CREATED = {
    "RequestId": "r",
    "Success": True,
    "Data": {"JobId": "job-1", "UtcCreate": "2024-11-20T08:50:00.239Z"},
}


class Script:
    """Answers requests from a list of steps: a response, or an exception to raise."""

    def __init__(self, *steps: httpx.Response | Callable[[httpx.Request], None]) -> None:
        self.steps = list(steps)
        self.calls = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        step = self.steps.pop(0) if self.steps else httpx.Response(200, json=CREATED)
        if isinstance(step, httpx.Response):
            return step
        step(request)
        raise AssertionError("a raising step must raise")


def _raise(kind: type[httpx.TransportError]) -> Callable[[httpx.Request], None]:
    def step(request: httpx.Request) -> None:
        raise kind("boom", request=request)

    return step


def _client(script: Script) -> OTAClient:
    return OTAClient(
        access_key_id="id",
        access_key_secret="secret",
        endpoint="http://ota.test",
        qps=None,
        retry=RetryPolicy(max_attempts=4, backoff_base=0.0),
        transport=httpx.MockTransport(script),
    )


async def _create(client: OTAClient) -> str | None:
    job = await client.create_ota_static_upgrade_job(
        firmware_id="f1", product_key="pk", target_selection="ALL"
    )
    return job.job_id


async def test_a_create_is_retried_after_a_connect_error() -> None:
    script = Script(_raise(httpx.ConnectError))
    async with _client(script) as client:
        assert await _create(client) == "job-1"
    assert script.calls == 2


async def test_a_create_is_retried_after_throttling() -> None:
    throttled = httpx.Response(503, json={"RequestId": "t", "Code": "Throttling.User"})
    script = Script(throttled, throttled)
    async with _client(script) as client:
        assert await _create(client) == "job-1"
    assert script.calls == 3


@pytest.mark.parametrize(
    "step",
    [
        _raise(httpx.ReadTimeout),
        _raise(httpx.RemoteProtocolError),
        _raise(httpx.ReadError),
        httpx.Response(500, json={"RequestId": "x", "Code": "InternalError"}),
        httpx.Response(200, content=b'{"RequestId": "r", "Success": tr'),
        httpx.Response(
            200, json={"RequestId": "r", "Success": False, "Code": "iot.system.SystemException"}
        ),
    ],
    ids=["read-timeout", "dropped", "read-error", "http-500", "truncated", "system-error"],
)
async def test_an_ambiguous_failure_of_a_create_is_never_retried(step: object) -> None:
    script = Script(step)  # type: ignore[arg-type]
    async with _client(script) as client:
        with pytest.raises(OutcomeUnknownError) as caught:
            await _create(client)
    assert script.calls == 1
    assert "list_ota_job_by_firmware" in caught.value.how_to_check
    assert caught.value.__cause__ is not None


async def test_a_read_is_retried_after_an_ambiguous_failure() -> None:
    script = Script(_raise(httpx.ReadTimeout), httpx.Response(502, content=b"<html>bad gateway"))
    async with _client(script) as client:
        await client.query_ota_job(job_id="j1")
    assert script.calls == 3


async def test_a_non_retryable_error_surfaces_at_once_with_code_and_request_id() -> None:
    script = Script(
        httpx.Response(
            404,
            json={
                "RequestId": "rid-9",
                "Code": "InvalidAccessKeyId.NotFound",
                "Message": "Specified access key is not found.",
            },
        )
    )
    async with _client(script) as client:
        with pytest.raises(APIError) as caught:
            await client.query_ota_job(job_id="j1")
    assert script.calls == 1
    assert caught.value.code == "InvalidAccessKeyId.NotFound"
    assert caught.value.request_id == "rid-9"
    assert caught.value.http_status == 404


async def test_throttling_beyond_the_attempt_limit_surfaces_as_throttling_error() -> None:
    throttled = httpx.Response(503, json={"RequestId": "t", "Code": "Throttling.User"})
    script = Script(*[throttled] * 10)
    async with _client(script) as client:
        with pytest.raises(ThrottlingError):
            await client.query_ota_job(job_id="j1")
    assert script.calls == 4


async def test_connection_failures_beyond_the_limit_surface_as_transport_error() -> None:
    script = Script(*[_raise(httpx.ConnectError)] * 10)
    async with _client(script) as client:
        with pytest.raises(TransportError):
            await client.query_ota_job(job_id="j1")
    assert script.calls == 4


async def test_the_deadline_stops_retrying_before_the_attempt_limit() -> None:
    script = Script(*[_raise(httpx.ConnectError)] * 10)
    client = OTAClient(
        access_key_id="id",
        access_key_secret="secret",
        endpoint="http://ota.test",
        qps=None,
        retry=RetryPolicy(max_attempts=10, backoff_base=1.0, deadline=0.5, random=lambda: 1.0),
        transport=httpx.MockTransport(script),
    )
    async with client:
        with pytest.raises(TransportError):
            await client.query_ota_job(job_id="j1")
    assert script.calls == 1  # the first wait (1 s) would already pass the 0.5 s deadline


async def test_a_closed_client_refuses_calls_with_an_ota_error() -> None:
    from otaclient import OTAError

    script = Script()
    client = _client(script)
    async with client:
        pass
    with pytest.raises(OTAError, match="closed"):
        await client.query_ota_job(job_id="j1")
    with pytest.raises(OTAError, match="closed"):
        await client.call("QueryOTAJob", {"JobId": "j1"}, idempotent=True)
    assert script.calls == 0
