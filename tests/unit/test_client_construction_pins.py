"""Pins of the client's construction found by mutation testing: what every request carries,
what the options become, which options are refused."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from otaclient import (
    OTAClient,
    OTAError,
    PerActionLimiter,
    ResponseError,
    RetryPolicy,
    ValidationError,
)

from ._helpers import ENDPOINT, Recorder, make_client, ok_body

pytestmark = pytest.mark.anyio


def _ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json=ok_body(Data={"JobId": "j1"}))


async def test_every_request_names_the_library_in_its_user_agent() -> None:
    recorder = Recorder(_ok)
    async with make_client(recorder) as client:
        await client.query_ota_job(job_id="j1")
    assert recorder.requests[0].headers["User-Agent"].startswith("otaclient/")


async def test_a_redirect_is_not_followed() -> None:
    def redirect(request: httpx.Request) -> httpx.Response:
        if request.url.host != httpx.URL(ENDPOINT).host:
            return _ok(request)
        return httpx.Response(302, headers={"Location": "http://elsewhere.test/"})

    recorder = Recorder(redirect)
    async with make_client(recorder, retry=RetryPolicy(max_attempts=1)) as client:
        with pytest.raises(ResponseError):
            await client.query_ota_job(job_id="j1")
    assert {request.url.host for request in recorder.requests} == {httpx.URL(ENDPOINT).host}


async def test_an_endpoint_with_a_trailing_slash_is_called_at_the_root() -> None:
    recorder = Recorder(_ok)
    async with make_client(recorder, endpoint=ENDPOINT + "/") as client:
        await client.query_ota_job(job_id="j1")
    assert recorder.requests[0].url.path == "/"


def test_per_action_quotas_pace_each_action_at_its_documented_rate() -> None:
    client = make_client(Recorder(_ok), per_action_quotas=True, qps=10.0)
    limiter = client.limiter
    assert isinstance(limiter, PerActionLimiter)
    assert limiter.rate_of("CancelOTATaskByJob") == 5.0
    assert limiter.rate_of("QueryOTAFirmware") == 20.0
    assert limiter.rate_of("ListOTAFirmware") == 10.0


def test_a_limiter_given_with_per_action_quotas_is_refused() -> None:
    # The quotas would be silently ignored in favour of the limiter.
    mine = PerActionLimiter({"QueryOTAJob": 1.0})
    with pytest.raises(ValidationError, match="not both"):
        make_client(Recorder(_ok), limiter=mine, per_action_quotas=True)


def test_a_limiter_given_is_the_clients_limiter() -> None:
    mine = PerActionLimiter({"QueryOTAJob": 1.0})
    client = make_client(Recorder(_ok), limiter=mine)
    assert client.limiter is mine


@pytest.mark.parametrize("name", ["max_concurrency", "pages_ahead", "max_body_bytes"])
@pytest.mark.parametrize("value", [0, -1, "3", 2.5, None])
def test_sizes_must_be_positive_integers(name: str, value: Any) -> None:
    with pytest.raises(ValidationError, match=f"{name} must be a positive integer"):
        make_client(Recorder(_ok), **{name: value})


@pytest.mark.parametrize("value", [0, -1, "3", 2.5])
def test_max_attempts_must_be_a_positive_integer(value: Any) -> None:
    with pytest.raises(ValidationError, match="max_attempts must be"):
        RetryPolicy(max_attempts=value)


@pytest.mark.parametrize(("deadline", "accepted"), [(0.5, True), (0.0, False), (-1.0, False)])
def test_a_deadline_must_be_positive(deadline: float, accepted: bool) -> None:
    if accepted:
        assert RetryPolicy(deadline=deadline).deadline == deadline
    else:
        with pytest.raises(ValidationError, match="deadline must be a positive"):
            RetryPolicy(deadline=deadline)


async def test_a_closed_client_says_so() -> None:
    client = make_client(Recorder(_ok))
    await client.aclose()
    with pytest.raises(OTAError, match="closed"):
        await client.query_ota_job(job_id="j1")


async def test_an_open_client_is_not_closed() -> None:
    recorder = Recorder(_ok)
    client = make_client(recorder)
    await client.query_ota_job(job_id="j1")  # outside `async with`: still usable
    await client.aclose()
    assert len(recorder.requests) == 1


def test_the_client_is_an_otaclient() -> None:
    assert isinstance(make_client(Recorder(_ok)), OTAClient)
