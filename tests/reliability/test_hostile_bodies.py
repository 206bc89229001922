"""Hostile or broken answers yield a clear OTAError: no hang, no huge allocation, no crash."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from otaclient import OTAClient, ResponseError, RetryPolicy

pytestmark = pytest.mark.anyio

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<QueryOTAJobResponse><RequestId>&lol3;</RequestId><Success>true</Success></QueryOTAJobResponse>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<QueryOTAJobResponse><RequestId>&xxe;</RequestId><Success>true</Success></QueryOTAJobResponse>"""

PAGE_OK = {
    "RequestId": "rid-1",
    "Success": True,
    "CurrentPage": 1,
    "PageSize": 100,
    "Total": 1,
    "PageCount": 1,
    "FirmwareInfo": {"SimpleFirmwareInfo": [{"FirmwareId": "f1"}]},
}


def _client(handler: Callable[[httpx.Request], httpx.Response], **options: object) -> OTAClient:
    return OTAClient(
        access_key_id="id",
        access_key_secret="secret",
        endpoint="http://ota.test",
        qps=None,
        retry=RetryPolicy(max_attempts=2, backoff_base=0.0),
        transport=httpx.MockTransport(handler),
        **options,  # type: ignore[arg-type]
    )


async def _query_with(body: bytes, status: int = 200, **options: object) -> ResponseError:
    client = _client(lambda request: httpx.Response(status, content=body), **options)
    async with client:
        with pytest.raises(ResponseError) as caught:
            await client.query_ota_job(job_id="j1")
    return caught.value


async def test_xml_entity_expansion_is_refused() -> None:
    error = await _query_with(BILLION_LAUGHS, response_format="xml")
    assert "XML body refused" in str(error)
    assert error.action == "QueryOTAJob"


async def test_xml_external_entities_are_refused() -> None:
    error = await _query_with(EXTERNAL_ENTITY, response_format="xml")
    assert "refused" in str(error)
    assert "root:" not in str(error)


async def test_a_body_over_the_cap_is_refused_without_reading_it_all() -> None:
    error = await _query_with(b'{"RequestId": "' + b"x" * 5000 + b'"}', max_body_bytes=1024)
    assert "exceeds the 1024-byte cap" in str(error)


async def test_invalid_utf8_is_a_response_error() -> None:
    error = await _query_with(b'{"RequestId": "\xff\xfe", "Success": true}')
    assert "not valid JSON" in str(error)


async def test_an_html_page_from_a_proxy_is_named_as_such() -> None:
    error = await _query_with(b"<!DOCTYPE html><html><body>502 Bad Gateway</body></html>", 502)
    assert "HTML page" in str(error)
    assert error.http_status == 502


async def test_an_empty_200_body_is_a_response_error() -> None:
    error = await _query_with(b"")
    assert "empty body" in str(error)


async def test_a_string_where_a_list_belongs_is_a_response_error_with_the_request_id() -> None:
    body = dict(PAGE_OK, FirmwareInfo={"SimpleFirmwareInfo": "not a list"})
    client = _client(lambda request: httpx.Response(200, json=body))
    async with client:
        with pytest.raises(ResponseError) as caught:
            await client.list_ota_firmware()
    assert caught.value.request_id == "rid-1"
    assert "expected a list" in str(caught.value)


async def test_null_lists_decode_as_empty() -> None:
    body = dict(PAGE_OK, Total=0, PageCount=0, FirmwareInfo={"SimpleFirmwareInfo": None})
    client = _client(lambda request: httpx.Response(200, json=body))
    async with client:
        page = await client.list_ota_firmware()
    assert page.items == []


@pytest.mark.parametrize(
    ("key", "value"),
    [("PageCount", -1), ("Total", -5), ("PageCount", 10**12), ("Total", "many")],
)
async def test_absurd_paging_numbers_are_refused(key: str, value: object) -> None:
    body = dict(PAGE_OK, **{key: value})
    client = _client(lambda request: httpx.Response(200, json=body))
    async with client:
        with pytest.raises(ResponseError):
            await client.list_ota_firmware()


async def test_a_page_other_than_the_one_asked_for_is_refused() -> None:
    body = dict(PAGE_OK, CurrentPage=3, Total=500, PageCount=5)
    client = _client(lambda request: httpx.Response(200, json=body))
    async with client:
        with pytest.raises(ResponseError, match="asked for page 1, the answer is page 3"):
            await client.list_ota_firmware()


async def test_a_page_past_the_end_may_echo_another_page_number() -> None:
    body = dict(PAGE_OK, CurrentPage=1, Total=1, PageCount=1, FirmwareInfo={})
    client = _client(lambda request: httpx.Response(200, json=body))
    async with client:
        page = await client.list_ota_firmware(current_page=7)
    assert page.items == []
    assert page.total == 1


async def test_missing_current_page_and_page_size_are_taken_from_the_request() -> None:
    body = {k: v for k, v in PAGE_OK.items() if k not in ("CurrentPage", "PageSize", "PageCount")}
    client = _client(lambda request: httpx.Response(200, json=body))
    async with client:
        page = await client.list_ota_firmware(page_size=50)
    assert (page.current_page, page.page_size, page.page_count) == (1, 50, 1)


async def test_a_missing_total_is_refused() -> None:
    body = {k: v for k, v in PAGE_OK.items() if k != "Total"}
    client = _client(lambda request: httpx.Response(200, json=body))
    async with client:
        with pytest.raises(ResponseError, match="Total is missing"):
            await client.list_ota_firmware()
