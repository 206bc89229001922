"""The secret and the security token never show: logs, errors, reprs."""

from __future__ import annotations

import logging

import httpx
import pytest

from otaclient import APIError, Credentials, OTAClient, OutcomeUnknownError, RetryPolicy

pytestmark = pytest.mark.anyio

SECRET = "S3CR3T-never-show-me"
TOKEN = "T0K3N-never-show-me"


def _client(handler: httpx.MockTransport, **options: object) -> OTAClient:
    return OTAClient(
        access_key_id="visible-id",
        access_key_secret=SECRET,
        security_token=TOKEN,
        endpoint="http://ota.test",
        qps=None,
        retry=RetryPolicy(max_attempts=2, backoff_base=0.0),
        transport=handler,
        **options,  # type: ignore[arg-type]
    )


def _assert_hidden(text: str) -> None:
    assert SECRET not in text
    assert TOKEN not in text


def test_reprs_hide_the_secret_and_the_token() -> None:
    credentials = Credentials("visible-id", SECRET, TOKEN)
    _assert_hidden(repr(credentials))
    client = _client(httpx.MockTransport(lambda r: httpx.Response(200)))
    _assert_hidden(repr(client))
    _assert_hidden(repr(vars(client)))


async def test_logs_at_debug_hide_the_secret_token_and_signature(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    answers = iter([httpx.Response(503, json={"Code": "ServiceUnavailable"})])

    def handler(request: httpx.Request) -> httpx.Response:
        return next(answers, httpx.Response(200, json={"RequestId": "r", "Success": True}))

    async with _client(httpx.MockTransport(handler)) as client:
        await client.query_ota_job(job_id="j1")
    text = caplog.text + " ".join(str(r.args) for r in caplog.records)
    _assert_hidden(text)
    assert "Signature=***" in text
    signatures = [r for r in caplog.records if "Signature=" in r.getMessage()]
    assert signatures and all("Signature=***" in r.getMessage() for r in signatures)


async def test_error_messages_carry_no_secret_token_or_signature() -> None:
    seen_signatures: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen_signatures.append(request.url.params["Signature"])
        return httpx.Response(
            400,
            json={"RequestId": "r1", "Code": "SignatureDoesNotMatch", "Message": "no match"},
        )

    async with _client(httpx.MockTransport(handler)) as client:
        with pytest.raises(APIError) as caught:
            await client.query_ota_job(job_id="j1")
    text = str(caught.value) + repr(caught.value) + repr(vars(caught.value))
    _assert_hidden(text)
    assert seen_signatures[0] not in text


async def test_outcome_unknown_errors_carry_no_secret() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    async with _client(httpx.MockTransport(handler)) as client:
        with pytest.raises(OutcomeUnknownError) as caught:
            await client.create_ota_static_upgrade_job(
                firmware_id="f", product_key="p", target_selection="ALL"
            )
    _assert_hidden(str(caught.value) + repr(vars(caught.value)))
