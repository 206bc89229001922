"""Error answers: HTTP error bodies, Success=false bodies, throttling, and what messages say."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from otaclient import (
    APIError,
    OTAError,
    OutcomeUnknownError,
    ResponseError,
    RetryPolicy,
    ThrottlingError,
    TransportError,
)

from ._helpers import Recorder, RecordingLimiter, answers, make_client, ok_body, query_of

pytestmark = pytest.mark.anyio

GATEWAY_PASCAL = {
    "RequestId": "A01829CE-75A1-4920-B775-921146A1AB79",
    "HostId": "iot.cn-shanghai.aliyuncs.com",
    "Code": "InvalidParameter",
    "Message": "The specified parameter FirmwareId is not valid.",
    "Recommend": "https://api.aliyun.com/troubleshoot?q=InvalidParameter",
}
GATEWAY_CAMEL = {
    "requestId": "A01829CE-75A1-4920-B775-921146A1AB79",
    "hostId": "iot.cn-shanghai.aliyuncs.com",
    "code": "InvalidParameter",
    "message": "The specified parameter FirmwareId is not valid.",
}
GATEWAY_XML = (
    b"<?xml version='1.0' encoding='UTF-8'?><Error>"
    b"<RequestId>A01829CE-75A1-4920-B775-921146A1AB79</RequestId>"
    b"<HostId>iot.cn-shanghai.aliyuncs.com</HostId><Code>InvalidParameter</Code>"
    b"<Message>The specified parameter FirmwareId is not valid.</Message></Error>"
)
# Seed 004's documented failure: Code MissingFirmwareId, ErrorMessage "FirmwareId is mandatory..."
BUSINESS_PASCAL = {
    "RequestId": "5D58AC86-D5BF-4B39-834E-913E7F2C985D",
    "Success": False,
    "Code": "MissingFirmwareId",
    "ErrorMessage": "FirmwareId is mandatory for this action",
}
BUSINESS_CAMEL = {
    "requestId": "5D58AC86-D5BF-4B39-834E-913E7F2C985D",
    "success": False,
    "code": "MissingFirmwareId",
    "errorMessage": "FirmwareId is mandatory for this action",
}
BUSINESS_XML = (
    b"<ListOTAJobByDeviceResponse><RequestId>5D58AC86-D5BF-4B39-834E-913E7F2C985D</RequestId>"
    b"<Success>false</Success><Code>MissingFirmwareId</Code>"
    b"<ErrorMessage>FirmwareId is mandatory for this action</ErrorMessage>"
    b"</ListOTAJobByDeviceResponse>"
)


def _throttled(code: str = "Throttling.User", status: int = 400) -> httpx.Response:
    return httpx.Response(
        status,
        json={
            "RequestId": "THROTTLED-REQ-1",
            "HostId": "iot.cn-shanghai.aliyuncs.com",
            "Code": code,
            "Message": "Request was denied due to user flow control.",
        },
    )


def _response(status: int, body: dict[str, Any] | bytes) -> httpx.Response:
    if isinstance(body, bytes):
        return httpx.Response(status, content=body)
    return httpx.Response(status, json=body)


async def _jobs_by_device(client: Any) -> Any:
    return await client.list_ota_job_by_device(
        firmware_id="FJFx8JzpnhpIsKftRjjm03****", product_key="a19mzPZ****", device_name="light"
    )


# --------------------------------------------------------------------------- HTTP errors


@pytest.mark.parametrize(
    "body", [GATEWAY_PASCAL, GATEWAY_CAMEL, GATEWAY_XML], ids=["pascal", "camel", "xml"]
)
async def test_http_error_body_becomes_api_error(body: dict[str, Any] | bytes) -> None:
    recorder = Recorder(lambda request: _response(400, body))
    async with make_client(recorder) as client:
        with pytest.raises(APIError) as caught:
            await _jobs_by_device(client)
    error = caught.value
    assert not isinstance(error, ThrottlingError)
    assert error.code == "InvalidParameter"
    assert error.message == "The specified parameter FirmwareId is not valid."
    assert error.request_id == "A01829CE-75A1-4920-B775-921146A1AB79"
    assert error.http_status == 400
    assert error.host_id == "iot.cn-shanghai.aliyuncs.com"
    assert len(recorder.requests) == 1  # a client error is not retried


@pytest.mark.parametrize("status", [403, 404])
async def test_http_error_status_is_kept(status: int) -> None:
    body = {**GATEWAY_PASCAL, "Code": "Forbidden.RAM", "Message": "not allowed"}
    async with make_client(Recorder(lambda request: _response(status, body))) as client:
        with pytest.raises(APIError) as caught:
            await client.list_ota_firmware()
    assert (caught.value.http_status, caught.value.code) == (status, "Forbidden.RAM")


async def test_server_error_on_a_read_is_retried_then_surfaces() -> None:
    body = {"RequestId": "r5", "Code": "InternalError", "Message": "internal error"}
    recorder = Recorder(lambda request: _response(500, body))
    async with make_client(recorder, retry=RetryPolicy(max_attempts=3, backoff_base=0)) as client:
        with pytest.raises(APIError) as caught:
            await client.list_ota_firmware()
    assert (caught.value.http_status, caught.value.code) == (500, "InternalError")
    assert len(recorder.requests) == 3


async def test_server_error_on_a_create_is_not_retried() -> None:
    body = {"RequestId": "r5", "Code": "ServiceUnavailable", "Message": "try later"}
    recorder = Recorder(lambda request: _response(503, body))
    async with make_client(recorder) as client:
        with pytest.raises(OutcomeUnknownError) as caught:
            await client.create_ota_static_upgrade_job(
                firmware_id="167", product_key="pk", target_selection="ALL"
            )
    assert len(recorder.requests) == 1
    assert isinstance(caught.value.__cause__, APIError)
    assert "list_ota_job_by_firmware" in caught.value.how_to_check


# --------------------------------------------------------------------------- Success=false


@pytest.mark.parametrize(
    "body", [BUSINESS_PASCAL, BUSINESS_CAMEL, BUSINESS_XML], ids=["pascal", "camel", "xml"]
)
async def test_success_false_at_http_200_becomes_api_error(body: dict[str, Any] | bytes) -> None:
    recorder = Recorder(lambda request: _response(200, body))
    async with make_client(recorder) as client:
        with pytest.raises(APIError) as caught:
            await _jobs_by_device(client)
    error = caught.value
    assert error.code == "MissingFirmwareId"
    assert error.message == "FirmwareId is mandatory for this action"
    assert error.request_id == "5D58AC86-D5BF-4B39-834E-913E7F2C985D"
    assert error.http_status == 200
    assert len(recorder.requests) == 1


async def test_success_false_with_a_system_code_is_retried_for_a_read() -> None:
    body = {
        "RequestId": "r",
        "Success": False,
        "Code": "iot.system.SystemException",
        "ErrorMessage": "System Exception",
    }
    recorder = Recorder(answers(_response(200, body), _response(200, ok_body(Data=[]))))
    async with make_client(recorder) as client:
        modules = await client.list_ota_module_by_product(product_key="pk")
    assert modules == []
    assert len(recorder.requests) == 2


async def test_tuya_success_body_with_empty_code_is_not_an_error() -> None:
    body = {"code": "", "success": True, "requestId": "r", "data": []}
    async with make_client(Recorder(lambda request: _response(200, body))) as client:
        assert await client.list_ota_module_by_product(product_key="pk") == []


# --------------------------------------------------------------------------- throttling


@pytest.mark.parametrize("max_attempts", [1, 2, 4])
async def test_throttling_is_retried_then_surfaces_as_throttling_error(max_attempts: int) -> None:
    recorder = Recorder(lambda request: _throttled())
    retry = RetryPolicy(max_attempts=max_attempts, backoff_base=0.0)
    async with make_client(recorder, retry=retry) as client:
        with pytest.raises(ThrottlingError) as caught:
            await client.list_ota_firmware()
    assert len(recorder.requests) == max_attempts
    error = caught.value
    assert isinstance(error, APIError)
    assert (error.code, error.request_id, error.http_status) == (
        "Throttling.User",
        "THROTTLED-REQ-1",
        400,
    )


@pytest.mark.parametrize(
    ("code", "status"), [("Throttling", 503), ("Throttling.User", 400), ("Throttling.Api", 400)]
)
async def test_throttling_codes_are_throttling_errors(code: str, status: int) -> None:
    recorder = Recorder(lambda request: _throttled(code, status))
    retry = RetryPolicy(max_attempts=1)
    async with make_client(recorder, retry=retry) as client:
        with pytest.raises(ThrottlingError):
            await client.list_ota_firmware()


async def test_throttling_then_success_returns_the_answer() -> None:
    page = ok_body(Total=0, PageSize=100, PageCount=0, CurrentPage=1, FirmwareInfo={})
    recorder = Recorder(answers(_throttled(), _throttled(), _response(200, page)))
    async with make_client(recorder, retry=RetryPolicy(max_attempts=3, backoff_base=0)) as client:
        result = await client.list_ota_firmware()
    assert result.total == 0
    assert len(recorder.requests) == 3
    assert len({query_of(r)["SignatureNonce"] for r in recorder.requests}) == 3


async def test_a_throttled_create_is_retried() -> None:
    # A throttled call did nothing on the service: sending it again cannot duplicate the job.
    created = ok_body(Data={"JobId": "job-1", "UtcCreate": "2024-11-20T08:50:00.239Z"})
    recorder = Recorder(answers(_throttled(), _response(200, created)))
    async with make_client(recorder) as client:
        job = await client.create_ota_static_upgrade_job(
            firmware_id="167", product_key="pk", target_selection="ALL"
        )
    assert job.job_id == "job-1"
    assert len(recorder.requests) == 2


async def test_throttling_is_reported_to_the_limiter_and_every_attempt_takes_a_token() -> None:
    limiter = RecordingLimiter()
    recorder = Recorder(lambda request: _throttled())
    retry = RetryPolicy(max_attempts=3, backoff_base=0.0)
    async with make_client(recorder, limiter=limiter, retry=retry) as client:
        with pytest.raises(ThrottlingError):
            await client.list_ota_firmware()
    assert len(limiter.reports) == 3
    assert limiter.acquired == ["ListOTAFirmware"] * 3


# --------------------------------------------------------------------------- other failures


async def test_an_unparsable_body_is_a_response_error() -> None:
    recorder = Recorder(lambda request: httpx.Response(200, content=b"<html><body>502</body>"))
    async with make_client(recorder, retry=RetryPolicy(max_attempts=2, backoff_base=0)) as client:
        with pytest.raises(ResponseError) as caught:
            await client.list_ota_firmware()
    assert "ListOTAFirmware" in str(caught.value)
    assert len(recorder.requests) == 2  # a read is tried again


async def test_a_body_of_the_wrong_shape_is_a_response_error() -> None:
    body = ok_body(Total="many", PageSize=100, CurrentPage=1, FirmwareInfo={})
    async with make_client(Recorder(lambda request: _response(200, body))) as client:
        with pytest.raises(ResponseError) as caught:
            await client.list_ota_firmware()
    assert caught.value.request_id == "req-ok"


async def test_an_answer_for_another_page_is_refused() -> None:
    body = ok_body(Total=300, PageSize=100, PageCount=3, CurrentPage=1, FirmwareInfo={})
    async with make_client(Recorder(lambda request: _response(200, body))) as client:
        with pytest.raises(ResponseError, match="page 2"):
            await client.list_ota_firmware(current_page=2)


async def test_a_connection_failure_is_a_transport_error_after_retries() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    recorder = Recorder(refuse)
    async with make_client(recorder, retry=RetryPolicy(max_attempts=3, backoff_base=0)) as client:
        with pytest.raises(TransportError):
            await client.create_ota_static_upgrade_job(
                firmware_id="167", product_key="pk", target_selection="ALL"
            )
    assert len(recorder.requests) == 3  # never reached the service: safe even for a create


# --------------------------------------------------------------------------- messages

SECRET = "Sup3rS3cretValue"
TOKEN = "STStoken0123456789abcdef"


async def _error_from(response: httpx.Response, **options: Any) -> tuple[OTAError, httpx.Request]:
    recorder = Recorder(lambda request: response)
    settings: dict[str, Any] = {
        "access_key_secret": SECRET,
        "security_token": TOKEN,
        "retry": RetryPolicy(max_attempts=1),
    }
    settings.update(options)
    async with make_client(recorder, **settings) as client:
        with pytest.raises(OTAError) as caught:
            await client.list_ota_firmware(product_key="pk")
    return caught.value, recorder.requests[0]


@pytest.mark.parametrize(
    "response",
    [
        _response(400, GATEWAY_PASCAL),
        _response(200, BUSINESS_PASCAL),
        _throttled(),
    ],
    ids=["http-error", "success-false", "throttling"],
)
async def test_error_message_names_action_code_and_request_id(response: httpx.Response) -> None:
    error, _ = await _error_from(response)
    assert isinstance(error, APIError)
    text = str(error)
    assert "ListOTAFirmware" in text
    assert error.code in text
    assert error.request_id is not None and error.request_id in text


@pytest.mark.parametrize(
    "response",
    [
        _response(400, GATEWAY_PASCAL),
        _response(200, BUSINESS_PASCAL),
        _throttled(),
        httpx.Response(200, content=b"garbage"),
    ],
    ids=["http-error", "success-false", "throttling", "garbage"],
)
async def test_error_message_never_contains_secret_token_or_signature(
    response: httpx.Response,
) -> None:
    error, request = await _error_from(response)
    signature = query_of(request)["Signature"]
    for text in (str(error), repr(error)):
        assert SECRET not in text
        assert TOKEN not in text
        assert signature not in text


async def test_signature_mismatch_message_does_not_leak_the_security_token() -> None:
    echoed = (
        "Specified signature is not matched with our calculation. server string to sign is:"
        f"POST&%2F&AccessKeyId%3Dtestid%26SecurityToken%3D{TOKEN}%26Version%3D2018-01-20"
    )
    body = {**GATEWAY_PASCAL, "Code": "SignatureDoesNotMatch", "Message": echoed}
    error, _ = await _error_from(_response(400, body))
    assert isinstance(error, APIError)
    assert TOKEN not in str(error)
