"""``.message`` means one thing in every exception: the server's own text, or ``None``.

``str(exc)`` is the whole line for a person; ``.message`` is what a server said, scrubbed,
so that a caller can show or match it without parsing our sentence around it. And
``NoAnswerError`` is the name of what ``TransportError`` used to be: the same class.
"""

from __future__ import annotations

import httpx
import pytest

import otaclient
from otaclient import (
    APIError,
    NoAnswerError,
    OTAError,
    OutcomeUnknownError,
    ResponseError,
    TransportError,
    ValidationError,
    _errors,
)

from ._helpers import Recorder, answers, make_client

pytestmark = pytest.mark.anyio


def test_transport_error_is_the_same_class_as_no_answer_error() -> None:
    assert TransportError is NoAnswerError
    assert otaclient.TransportError is otaclient.NoAnswerError
    assert "NoAnswerError" in otaclient.__all__ and "TransportError" in otaclient.__all__


def test_the_drawn_tree_names_the_old_name_beside_the_new_one() -> None:
    line = next(line for line in (_errors.__doc__ or "").splitlines() if "NoAnswerError" in line)
    following = (_errors.__doc__ or "").split(line, 1)[1].splitlines()[1]
    assert "TransportError" in line + following


async def test_an_api_error_without_server_text_has_no_message() -> None:
    body = {"RequestId": "r1", "Success": False, "Code": "iot.ota.Nope"}
    async with make_client(Recorder(answers(httpx.Response(200, json=body)))) as client:
        with pytest.raises(APIError) as caught:
            await client.query_ota_job(job_id="j1")
    assert caught.value.message is None
    assert str(caught.value) == ("QueryOTAJob failed: iot.ota.Nope (HTTP 200, request id r1)")


async def test_a_validation_error_has_no_server_message() -> None:
    async with make_client(Recorder()) as client:
        with pytest.raises(ValidationError) as caught:
            await client.list_ota_firmware(page_size=101)
    assert caught.value.message is None
    assert "page_size must be at most 100" in str(caught.value)


async def test_no_answer_has_no_server_message() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with make_client(Recorder(refuse)) as client:
        with pytest.raises(NoAnswerError) as caught:
            await client.query_ota_job(job_id="j1")
    assert caught.value.message is None
    assert "connection refused" in str(caught.value)


async def test_an_unusable_answer_has_no_server_message() -> None:
    async with make_client(Recorder(answers(httpx.Response(200, content=b"<html>")))) as client:
        with pytest.raises(ResponseError) as caught:
            await client.query_ota_job(job_id="j1")
    assert caught.value.message is None


async def test_an_unknown_outcome_keeps_the_servers_text() -> None:
    busy = {"RequestId": "r5", "Code": "ServiceUnavailable", "Message": "The service is busy."}
    async with make_client(Recorder(answers(httpx.Response(503, json=busy)))) as client:
        with pytest.raises(OutcomeUnknownError) as caught:
            await client.delete_ota_firmware(firmware_id="f1")
    assert caught.value.message == "The service is busy."
    assert isinstance(caught.value.__cause__, APIError)
    assert caught.value.__cause__.message == "The service is busy."


def test_a_plain_error_has_no_message_and_says_everything_in_its_line() -> None:
    error = OTAError("QueryOTAJob: the client was closed", action="QueryOTAJob")
    assert (str(error), error.message) == ("QueryOTAJob: the client was closed", None)
