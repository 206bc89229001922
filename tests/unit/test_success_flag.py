"""Only an explicit ``Success: true`` is a success; anything else is an error of some kind.

The provider's answers and the re-hosted dialect's always carry a ``Success`` flag (seeds
000-004). A body whose flag is not clearly true is an ``APIError`` when it names a ``Code``
and a ``ResponseError`` when it does not (for a write: ``OutcomeUnknownError``, since a body
that says neither yes nor no cannot tell whether the write happened).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from otaclient import APIError, OutcomeUnknownError, ResponseError

from ._helpers import Recorder, make_client

pytestmark = pytest.mark.anyio

NOT_TRUE = [False, 0, 1, "0", "1", "no", "yes", "False ", "false", "FALSE", "", "truthy", [], {}]


def _modules_body(**envelope: Any) -> dict[str, Any]:
    return {"RequestId": "rid-7", **envelope, "Data": []}


async def _modules(body: dict[str, Any] | bytes) -> tuple[Any, Recorder]:
    def respond(request: httpx.Request) -> httpx.Response:
        if isinstance(body, bytes):
            return httpx.Response(200, content=body)
        return httpx.Response(200, json=body)

    recorder = Recorder(respond)
    async with make_client(recorder) as client:
        result = await client.list_ota_module_by_product(product_key="pk")
    return result, recorder


@pytest.mark.parametrize("flag", [True, "true", "True", "TRUE", " true ", "tRuE\n"])
async def test_an_explicit_true_in_any_case_is_a_success(flag: object) -> None:
    result, recorder = await _modules(_modules_body(Success=flag, Code=""))
    assert result == []
    assert len(recorder.requests) == 1


@pytest.mark.parametrize("flag", NOT_TRUE, ids=repr)
async def test_a_flag_that_is_not_true_with_a_code_is_an_api_error(flag: object) -> None:
    body = _modules_body(Success=flag, Code="iot.ota.SomethingWrong", ErrorMessage="nope")
    with pytest.raises(APIError) as caught:
        await _modules(body)
    error = caught.value
    assert (error.code, error.message, error.request_id) == (
        "iot.ota.SomethingWrong",
        "nope",
        "rid-7",
    )
    assert error.http_status == 200


@pytest.mark.parametrize("flag", NOT_TRUE, ids=repr)
async def test_a_flag_that_is_not_true_without_a_code_is_a_response_error(flag: object) -> None:
    with pytest.raises(ResponseError, match="Success") as caught:
        await _modules(_modules_body(Success=flag))
    assert caught.value.request_id == "rid-7"


async def test_an_answer_without_any_success_flag_or_code_is_a_response_error() -> None:
    with pytest.raises(ResponseError, match="no Success flag"):
        await _modules(_modules_body())


async def test_an_answer_without_a_success_flag_but_with_a_code_is_an_api_error() -> None:
    with pytest.raises(APIError) as caught:
        await _modules(_modules_body(Code="InvalidParameter", Message="bad"))
    assert caught.value.code == "InvalidParameter"


@pytest.mark.parametrize("flag", [b"0", b"no", b"False ", b"1"])
async def test_an_xml_flag_that_is_not_true_is_an_error(flag: bytes) -> None:
    body = (
        b"<R><RequestId>rid-7</RequestId><Success>" + flag + b"</Success>"
        b"<Code>iot.ota.SomethingWrong</Code></R>"
    )
    with pytest.raises(APIError, match="SomethingWrong"):
        await _modules(body)


@pytest.mark.parametrize(
    "body",
    [
        {"RequestId": "r", "Success": "no", "Data": {"JobId": "j1"}},
        {"RequestId": "r", "Data": {"JobId": "j1"}},
        {"RequestId": "r", "Success": 1, "Data": {"JobId": "j1"}},
    ],
    ids=["no", "missing", "one"],
)
async def test_a_create_answered_neither_yes_nor_no_has_an_unknown_outcome(
    body: dict[str, Any],
) -> None:
    recorder = Recorder(lambda request: httpx.Response(200, json=body))
    async with make_client(recorder) as client:
        with pytest.raises(OutcomeUnknownError) as caught:
            await client.create_ota_static_upgrade_job(
                firmware_id="f1", product_key="pk", target_selection="ALL"
            )
    assert len(recorder.requests) == 1
    assert "list_ota_job_by_firmware" in caught.value.how_to_check
    assert isinstance(caught.value.__cause__, ResponseError)


async def test_a_read_answered_neither_yes_nor_no_is_retried() -> None:
    answers = [_modules_body(Success="no"), _modules_body(Success=True)]
    recorder = Recorder(lambda request: httpx.Response(200, json=answers.pop(0)))
    async with make_client(recorder) as client:
        assert await client.list_ota_module_by_product(product_key="pk") == []
    assert len(recorder.requests) == 2
