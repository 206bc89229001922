"""What a client reports about each attempt: one DEBUG record, and the event hooks."""

from __future__ import annotations

import logging
from typing import Any

import anyio
import anyio.lowlevel
import httpx
import pytest

from otaclient import (
    APIError,
    RequestEvent,
    ResponseEvent,
    RetryEvent,
    ThrottledEvent,
    ValidationError,
)

from ._helpers import ACCESS_KEY_ID, ACCESS_KEY_SECRET, Recorder, answers, make_client, ok_body

pytestmark = pytest.mark.anyio

THROTTLED = httpx.Response(
    400, json={"RequestId": "req-throttled", "Code": "Throttling.User", "Message": "slow down"}
)
PAGE = httpx.Response(
    200,
    json=ok_body(Total=0, PageCount=0, PageSize=100, CurrentPage=1, Data={}),
)


def _records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if hasattr(r, "otaclient_attempt")]


class Collected:
    """Every event of every kind, in order."""

    def __init__(self) -> None:
        self.events: list[Any] = []

    def __call__(self, event: Any) -> None:
        self.events.append(event)

    def hooks(self) -> dict[str, list[Any]]:
        return {name: [self] for name in ("request", "response", "retry", "throttled")}

    def kinds(self) -> list[str]:
        return [type(event).__name__ for event in self.events]


async def test_one_debug_record_per_attempt_with_status_request_id_and_throttling(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="otaclient")
    async with make_client(Recorder(answers(THROTTLED, PAGE))) as client:
        await client.list_ota_firmware()
    records = _records(caplog)
    assert [r.levelno for r in records] == [logging.DEBUG, logging.DEBUG]
    fields = [r.otaclient_attempt for r in records]  # type: ignore[attr-defined]
    assert [(f["attempt"], f["http_status"], f["request_id"], f["throttled"]) for f in fields] == [
        (1, 400, "req-throttled", True),
        (2, 200, "req-ok", False),
    ]
    assert all(f["action"] == "ListOTAFirmware" and f["latency_ms"] >= 0 for f in fields)
    assert (
        records[0]
        .getMessage()
        .startswith("ListOTAFirmware attempt 1: HTTP 400, request id req-throttled,")
    )
    assert "throttled" in records[0].getMessage()


async def test_the_debug_record_carries_no_secret(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    token = "the-security-token-value"
    async with make_client(Recorder(answers(PAGE)), security_token=token) as client:
        await client.list_ota_firmware()
    assert len(_records(caplog)) == 1
    assert ACCESS_KEY_SECRET not in caplog.text and token not in caplog.text


async def test_nothing_sent_means_no_record(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="otaclient")
    recorder = Recorder()
    async with make_client(recorder) as client:
        with pytest.raises(ValidationError):
            await client.list_ota_firmware(page_size=1000)
    assert _records(caplog) == [] and recorder.requests == []


async def test_hooks_see_each_moment_of_a_throttled_then_answered_call() -> None:
    collected = Collected()
    recorder = Recorder(answers(THROTTLED, PAGE))
    async with make_client(recorder, event_hooks=collected.hooks()) as client:
        await client.list_ota_firmware()
    assert collected.kinds() == [
        "RequestEvent",
        "ResponseEvent",
        "ThrottledEvent",
        "RetryEvent",
        "RequestEvent",
        "ResponseEvent",
    ]
    request, throttled_answer, throttled, retry, _, answered = collected.events
    assert request == RequestEvent("ListOTAFirmware", 1, ACCESS_KEY_ID)
    assert isinstance(throttled_answer, ResponseEvent) and throttled_answer.throttled
    assert isinstance(throttled_answer.error, APIError)
    assert throttled == ThrottledEvent("ListOTAFirmware", 1, "req-throttled", None)
    assert isinstance(retry, RetryEvent) and (retry.attempt, retry.reason) == (1, "throttled")
    assert isinstance(answered, ResponseEvent)
    assert (answered.attempt, answered.http_status, answered.request_id) == (2, 200, "req-ok")
    assert answered.error is None and not answered.throttled
    assert len(recorder.requests) == 2


async def test_async_hooks_are_awaited() -> None:
    seen: list[int] = []

    async def hook(event: ResponseEvent) -> None:
        await anyio.lowlevel.checkpoint()
        seen.append(event.attempt)

    async with make_client(Recorder(answers(PAGE)), event_hooks={"response": [hook]}) as client:
        await client.list_ota_firmware()
        await client.list_ota_firmware()
    assert seen == [1, 1]


async def test_a_hook_that_raises_is_logged_and_the_call_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(event: object) -> None:
        raise RuntimeError("metrics backend down")

    collected = Collected()
    hooks = {"request": [broken, collected], "response": [broken]}
    async with make_client(Recorder(answers(PAGE)), event_hooks=hooks) as client:
        page = await client.list_ota_firmware()
    assert page.total == 0
    assert collected.kinds() == ["RequestEvent"]  # the hook after the broken one still ran
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert all("metrics backend down" in (r.exc_text or "") for r in warnings)


@pytest.mark.virtual_time
async def test_an_async_hook_that_hangs_is_cut_off_at_the_attempt_timeout(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def stuck(event: object) -> None:
        await anyio.sleep_forever()

    client = make_client(Recorder(answers(PAGE)), event_hooks={"response": [stuck]}, timeout=3.0)
    async with client:
        started = anyio.current_time()
        await client.list_ota_firmware()
        assert anyio.current_time() - started == pytest.approx(3.0)
    assert any("did not finish within 3 s" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("hooks", "message"),
    [
        ({"sent": []}, "unknown event 'sent'"),
        ({"request": print}, "must be a list of callables"),
        ({"request": ["print"]}, "holds str, which is not callable"),
        ([("request", [])], "must be a mapping"),
    ],
)
def test_bad_event_hooks_are_refused(hooks: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        make_client(Recorder(), event_hooks=hooks)
