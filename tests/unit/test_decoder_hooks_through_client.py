"""Pins the decoder's boolean and integer rules, read back from models the client decoded.

cattrs' own primitive hooks coerce (``bool("false")`` is ``True``, ``int(True)`` is ``1``),
so the library registers strict ones. These tests go through the client and a
``MockTransport`` in the PascalCase and camelCase JSON dialects and in XML, so they fail
whether the hook itself or its registration on the converter is broken.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from otaclient import OTAClient, ResponseError

from ._helpers import make_client

pytestmark = pytest.mark.anyio

BOOLEANS_ACCEPTED = [("true", True), ("FALSE", False), (True, True), (False, False), (0, False)]
BOOLEANS_ACCEPTED += [(1, True)]
BOOLEANS_REFUSED = ["yes", 2, 3.7, -1]
INTEGERS_ACCEPTED = [(924, 924), ("924", 924), (0, 0), ("-3", -3)]
INTEGERS_REFUSED = [True, False, 3.7, "3.7", "yes", "924kB"]

# The same XML text rules, where every value is text.
XML_BOOLEANS_ACCEPTED = [("true", True), ("FALSE", False), ("True", True)]
XML_BOOLEANS_REFUSED = ["yes", "2", "3.7"]
XML_INTEGERS_ACCEPTED = [("924", 924), ("0", 0)]
XML_INTEGERS_REFUSED = ["true", "3.7", "924kB"]


def _job_body(dialect: str, need_push: Any) -> dict[str, Any]:
    if dialect == "pascal":
        data = {"JobId": "job-1", "NeedPush": need_push, "NeedConfirm": False}
        return {"RequestId": "req-1", "Success": True, "Data": data}
    data = {"jobId": "job-1", "needPush": need_push, "needConfirm": False}
    return {"requestId": "req-1", "success": True, "data": data}


def _firmware_body(dialect: str, size: Any) -> dict[str, Any]:
    if dialect == "pascal":
        item = {"FirmwareId": "fw-1", "FirmwareSize": size}
        paging = {"Total": 1, "PageSize": 100, "CurrentPage": 1, "PageCount": 1}
        return {
            "RequestId": "req-1",
            "Success": True,
            **paging,
            "FirmwareInfo": {"SimpleFirmwareInfo": [item]},
        }
    item = {"firmwareId": "fw-1", "firmwareSize": size}
    paging = {"total": 1, "pageSize": 100, "currentPage": 1, "pageCount": 1}
    return {
        "requestId": "req-1",
        "success": True,
        **paging,
        "firmwareInfo": {"simpleFirmwareInfo": [item]},
    }


def _job_xml(need_push: str) -> bytes:
    return (
        "<QueryOTAJobResponse><RequestId>req-1</RequestId><Success>true</Success>"
        f"<Data><JobId>job-1</JobId><NeedPush>{need_push}</NeedPush></Data>"
        "</QueryOTAJobResponse>"
    ).encode()


def _firmware_xml(size: str) -> bytes:
    return (
        "<ListOTAFirmwareResponse><RequestId>req-1</RequestId><Success>true</Success>"
        "<Total>1</Total><PageSize>100</PageSize><CurrentPage>1</CurrentPage>"
        "<PageCount>1</PageCount><FirmwareInfo><SimpleFirmwareInfo>"
        f"<FirmwareId>fw-1</FirmwareId><FirmwareSize>{size}</FirmwareSize>"
        "</SimpleFirmwareInfo></FirmwareInfo></ListOTAFirmwareResponse>"
    ).encode()


def _serving(body: dict[str, Any] | bytes, **options: Any) -> OTAClient:
    if isinstance(body, bytes):
        content, kind = body, "text/xml"
        options.setdefault("response_format", "xml")
    else:
        content, kind = json.dumps(body).encode(), "application/json"
    return make_client(
        lambda request: httpx.Response(200, content=content, headers={"Content-Type": kind}),
        **options,
    )


async def _need_push(body: dict[str, Any] | bytes) -> Any:
    async with _serving(body) as client:
        job = await client.query_ota_job(job_id="job-1")
    return job.need_push


async def _firmware_size(body: dict[str, Any] | bytes) -> Any:
    async with _serving(body) as client:
        page = await client.list_ota_firmware()
    (firmware,) = page.items
    return firmware.firmware_size


@pytest.mark.parametrize("dialect", ["pascal", "camel"])
@pytest.mark.parametrize(("raw", "expected"), BOOLEANS_ACCEPTED, ids=repr)
async def test_json_booleans_decode_to_bool(dialect: str, raw: Any, expected: bool) -> None:
    value = await _need_push(_job_body(dialect, raw))
    assert value is expected


@pytest.mark.parametrize("dialect", ["pascal", "camel"])
@pytest.mark.parametrize("raw", BOOLEANS_REFUSED, ids=repr)
async def test_json_values_that_are_not_booleans_are_refused(dialect: str, raw: Any) -> None:
    with pytest.raises(ResponseError, match="need_push"):
        await _need_push(_job_body(dialect, raw))


@pytest.mark.parametrize(("raw", "expected"), XML_BOOLEANS_ACCEPTED, ids=repr)
async def test_xml_booleans_decode_to_bool(raw: str, expected: bool) -> None:
    value = await _need_push(_job_xml(raw))
    assert value is expected


@pytest.mark.parametrize("raw", XML_BOOLEANS_REFUSED, ids=repr)
async def test_xml_texts_that_are_not_booleans_are_refused(raw: str) -> None:
    with pytest.raises(ResponseError, match="need_push"):
        await _need_push(_job_xml(raw))


@pytest.mark.parametrize("dialect", ["pascal", "camel"])
@pytest.mark.parametrize(("raw", "expected"), INTEGERS_ACCEPTED, ids=repr)
async def test_json_integers_decode_to_int(dialect: str, raw: Any, expected: int) -> None:
    value = await _firmware_size(_firmware_body(dialect, raw))
    assert type(value) is int
    assert value == expected


@pytest.mark.parametrize("dialect", ["pascal", "camel"])
@pytest.mark.parametrize("raw", INTEGERS_REFUSED, ids=repr)
async def test_json_values_that_are_not_integers_are_refused(dialect: str, raw: Any) -> None:
    with pytest.raises(ResponseError, match="firmware_size"):
        await _firmware_size(_firmware_body(dialect, raw))


@pytest.mark.parametrize(("raw", "expected"), XML_INTEGERS_ACCEPTED, ids=repr)
async def test_xml_integers_decode_to_int(raw: str, expected: int) -> None:
    value = await _firmware_size(_firmware_xml(raw))
    assert type(value) is int
    assert value == expected


@pytest.mark.parametrize("raw", XML_INTEGERS_REFUSED, ids=repr)
async def test_xml_texts_that_are_not_integers_are_refused(raw: str) -> None:
    with pytest.raises(ResponseError, match="firmware_size"):
        await _firmware_size(_firmware_xml(raw))


@pytest.mark.parametrize("dialect", ["pascal", "camel"])
async def test_a_boolean_field_left_out_is_none(dialect: str) -> None:
    body = _job_body(dialect, None)
    data = body["Data" if dialect == "pascal" else "data"]
    data.pop("NeedPush", None)
    data.pop("needPush", None)
    assert await _need_push(body) is None
