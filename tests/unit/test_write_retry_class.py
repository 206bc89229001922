"""Pins the retry class of every write, driven by the operation table.

An ambiguous failure (a read timeout, HTTP 500, a body cut short or garbled) may come after
the service acted, so a write is sent exactly once and fails with ``OutcomeUnknownError``
saying how to check. A failure that proves nothing was done (connection refused, a
throttling answer) is retried. The writes are found by their verb as well as by the table,
so a write whose retry class is edited to ``read`` in the table still gets tested (and fails).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from otaclient import OTAClient, OutcomeUnknownError, RetryPolicy
from otaclient._operations import OPERATIONS
from otaclient._params import snake_case

from ._helpers import ACCESS_KEY_ID, ACCESS_KEY_SECRET, ENDPOINT
from ._table_samples import minimal_arguments

# Virtual time: a retry's backoff returns at once, whatever the policy's floor becomes.
pytestmark = [pytest.mark.anyio, pytest.mark.virtual_time]

_READ_VERBS = ("List", "Query", "Generate")
_WRITE_VERBS = ("Create", "Update", "Modify", "Delete", "Cancel", "Confirm", "Reupgrade")
WRITES = sorted(
    action for action, op in OPERATIONS.items() if action.startswith(_WRITE_VERBS) or not op.is_read
)

SUCCESS = {
    "RequestId": "req-ok",
    "Success": True,
    "Data": {"JobId": "job-1", "FirmwareId": "fw-1", "UtcCreate": "2024-11-20T08:50:00.239Z"},
}


class _CutStream(httpx.AsyncByteStream):
    """A body that stops half-way: the connection closed before the last byte."""

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b'{"RequestId": "req-cut", "Succ'
        raise httpx.RemoteProtocolError("peer closed connection without sending complete body")


def _raise(kind: type[httpx.TransportError]) -> Callable[[httpx.Request], httpx.Response]:
    def respond(request: httpx.Request) -> httpx.Response:
        raise kind("simulated", request=request)

    return respond


def _answer(response: Callable[[], httpx.Response]) -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: response()


AMBIGUOUS: dict[str, Callable[[httpx.Request], httpx.Response]] = {
    "read-timeout": _raise(httpx.ReadTimeout),
    "http-500": _answer(
        lambda: httpx.Response(
            500, json={"RequestId": "req-500", "Code": "InternalError", "Message": "oops"}
        )
    ),
    "body-cut-short": _answer(
        lambda: httpx.Response(200, headers={"Content-Length": "400"}, stream=_CutStream())
    ),
    "garbled-body": _answer(
        lambda: httpx.Response(200, content=b'{"RequestId": "r", "Success": tr')
    ),
}

NOT_DONE: dict[str, Callable[[httpx.Request], httpx.Response]] = {
    "connection-refused": _raise(httpx.ConnectError),
    "throttled": _answer(
        lambda: httpx.Response(
            400,
            json={
                "RequestId": "req-throttled",
                "Code": "Throttling.User",
                "Message": "Request was denied due to user flow control.",
            },
        )
    ),
}


class _FirstThenSuccess:
    """Answers the first request with ``first``, every later one with ``SUCCESS``."""

    def __init__(self, first: Callable[[httpx.Request], httpx.Response]) -> None:
        self.first = first
        self.requests = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        if self.requests == 1:
            return self.first(request)
        return httpx.Response(200, json=SUCCESS)


def _client(handler: _FirstThenSuccess) -> OTAClient:
    return OTAClient(
        access_key_id=ACCESS_KEY_ID,
        access_key_secret=ACCESS_KEY_SECRET,
        endpoint=ENDPOINT,
        qps=None,
        retry=RetryPolicy(max_attempts=4, backoff_base=0.0),
        transport=httpx.MockTransport(handler),
    )


async def _call(client: OTAClient, action: str) -> Any:
    method = getattr(client, snake_case(action))
    return await method(**minimal_arguments(OPERATIONS[action]))


def test_every_action_is_named_as_a_read_or_a_write() -> None:
    # A new verb must be classified here, or its writes would escape the tests below.
    unclassified = [a for a in OPERATIONS if not a.startswith(_READ_VERBS + _WRITE_VERBS)]
    assert unclassified == []


def test_there_are_writes_to_pin() -> None:
    assert len(WRITES) >= 15, WRITES


@pytest.mark.parametrize("action", WRITES)
def test_the_sample_arguments_of_every_write_pass_validation(action: str) -> None:
    # When this fails for a new write, add what its checks need to EXTRA_ARGUMENTS.
    op = OPERATIONS[action]
    op.encode(minimal_arguments(op))


@pytest.mark.parametrize("failure", sorted(AMBIGUOUS))
@pytest.mark.parametrize("action", WRITES)
async def test_an_ambiguous_failure_of_a_write_sends_it_once_and_says_how_to_check(
    action: str, failure: str
) -> None:
    handler = _FirstThenSuccess(AMBIGUOUS[failure])
    async with _client(handler) as client:
        with pytest.raises(OutcomeUnknownError) as caught:
            await _call(client, action)
    assert handler.requests == 1
    assert caught.value.action == action
    assert caught.value.how_to_check
    assert caught.value.how_to_check == OPERATIONS[action].how_to_check
    assert str(caught.value.__cause__) in str(caught.value)  # what went wrong, too


@pytest.mark.parametrize("failure", sorted(NOT_DONE))
@pytest.mark.parametrize("action", WRITES)
async def test_a_write_is_retried_when_the_failure_proves_it_was_not_done(
    action: str, failure: str
) -> None:
    handler = _FirstThenSuccess(NOT_DONE[failure])
    async with _client(handler) as client:
        result = await _call(client, action)
    assert handler.requests == 2
    assert result.request_id == "req-ok"


@pytest.mark.parametrize("failure", sorted(AMBIGUOUS))
@pytest.mark.parametrize("action", ["UpdateOTAJob", "QueryOTAJob", "SomeFutureAction"])
async def test_call_not_idempotent_sends_once_after_an_ambiguous_failure(
    action: str, failure: str
) -> None:
    handler = _FirstThenSuccess(AMBIGUOUS[failure])
    async with _client(handler) as client:
        with pytest.raises(OutcomeUnknownError) as caught:
            await client.call(action, {"JobId": "j1"}, idempotent=False)
    assert handler.requests == 1
    assert caught.value.how_to_check


async def test_call_is_not_idempotent_unless_told() -> None:
    handler = _FirstThenSuccess(AMBIGUOUS["read-timeout"])
    async with _client(handler) as client:
        with pytest.raises(OutcomeUnknownError):
            await client.call("QueryOTAJob", {"JobId": "j1"})
    assert handler.requests == 1


@pytest.mark.parametrize("failure", sorted(NOT_DONE))
async def test_call_not_idempotent_is_retried_when_nothing_was_done(failure: str) -> None:
    handler = _FirstThenSuccess(NOT_DONE[failure])
    async with _client(handler) as client:
        body = await client.call("UpdateOTAJob", {"JobId": "j1"}, idempotent=False)
    assert handler.requests == 2
    assert body["RequestId"] == "req-ok"


@pytest.mark.parametrize("failure", sorted(AMBIGUOUS))
async def test_call_idempotent_is_retried_after_an_ambiguous_failure(failure: str) -> None:
    handler = _FirstThenSuccess(AMBIGUOUS[failure])
    async with _client(handler) as client:
        body = await client.call("QueryOTAJob", {"JobId": "j1"}, idempotent=True)
    assert handler.requests == 2
    assert body["RequestId"] == "req-ok"
