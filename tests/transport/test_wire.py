"""What goes out is what httpx built, and what comes back is the body as it was sent."""

from __future__ import annotations

import gzip

import httpx
import pytest
from support.loopback import LoopbackServer, head, ok, raw

from otaclient._transport import DefaultTransport

pytestmark = pytest.mark.anyio

# Every escape otaclient's signing produces, and a literal '+' (%2B) that must stay one.
TARGET = (
    "/?Action=ListOTAFirmware&Name=a%20b%2Ac~d&Timestamp=2026-11-23T18%3A05%3A00Z"
    "&Signature=q%2BK9%3D"
)
PAGE = b'{"Success":true,"FirmwareInfo":{"SimpleFirmwareInfo":[' + b'{"FirmwareId":"f"},' * 50


def _client(transport: DefaultTransport) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=transport, headers={"User-Agent": "otaclient/test"})


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_the_request_goes_out_exactly_as_httpx_built_it(
    anyio_backend: str, transport: DefaultTransport, method: str
) -> None:
    async with LoopbackServer() as server, _client(transport) as client:
        await client.request(method, server.url + TARGET)
    host = server.url.removeprefix("http://")
    length = ["Content-Length: 0"] if method == "POST" else []
    assert server.heads[0].decode().split("\r\n") == [
        f"{method} {TARGET} HTTP/1.1",
        f"Host: {host}",
        *length,
        "Accept: */*",
        "Accept-Encoding: gzip, deflate",
        "Connection: keep-alive",
        "User-Agent: otaclient/test",
    ]


async def test_requests_with_other_headers_each_go_out_with_their_own(
    anyio_backend: str, transport: DefaultTransport
) -> None:
    # The transport keeps each header set it has seen decoded: one must never stand in
    # for another.
    async with LoopbackServer() as server, _client(transport) as client:
        for agent in ("first", "second", "first"):
            await client.get(server.url, headers={"User-Agent": agent})
    assert [h.decode().split("\r\n")[-1] for h in server.heads] == [
        "User-Agent: first",
        "User-Agent: second",
        "User-Agent: first",
    ]


async def test_a_form_body_is_sent_whole(anyio_backend: str, transport: DefaultTransport) -> None:
    async with LoopbackServer() as server, _client(transport) as client:
        await client.post(server.url, data={"Action": "CreateOTAStaticUpgradeJob", "A": "1 2"})
    assert server.bodies == [b"Action=CreateOTAStaticUpgradeJob&A=1+2"]
    assert b"Content-Type: application/x-www-form-urlencoded" in server.heads[0]


async def test_a_gzip_body_comes_out_of_aiter_raw_as_sent(
    anyio_backend: str, transport: DefaultTransport
) -> None:
    sent = gzip.compress(PAGE)
    async with (
        LoopbackServer(ok(sent, "Content-Encoding: gzip")) as server,
        _client(transport) as client,
    ):
        request = client.build_request("GET", server.url)
        response = await client.send(request, stream=True)
        received = b"".join([chunk async for chunk in response.aiter_raw()])
        await response.aclose()
    assert received == sent
    assert response.headers["content-encoding"] == "gzip"


async def test_a_chunked_gzip_body_comes_out_dechunked_but_compressed(
    anyio_backend: str, transport: DefaultTransport
) -> None:
    sent = gzip.compress(PAGE)
    half = len(sent) // 2
    chunks = [sent[:half], sent[half:]]
    wire = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"
    reply = head("200 OK", None, "Content-Encoding: gzip", "Transfer-Encoding: chunked") + wire
    async with LoopbackServer(raw(reply)) as server, _client(transport) as client:
        response = await client.send(client.build_request("GET", server.url), stream=True)
        received = b"".join([chunk async for chunk in response.aiter_raw()])
        await response.aclose()
    assert received == sent


async def test_httpx_decodes_a_gzip_body_once_when_asked(
    anyio_backend: str, transport: DefaultTransport
) -> None:
    async with (
        LoopbackServer(ok(gzip.compress(PAGE), "Content-Encoding: gzip")) as server,
        _client(transport) as client,
    ):
        response = await client.get(server.url)
    assert response.content == PAGE


async def test_status_reason_and_repeated_headers_come_back(
    anyio_backend: str, transport: DefaultTransport
) -> None:
    reply = head("503 Service Unavailable", 2, "Set-Cookie: a=1", "Set-Cookie: b=2") + b"no"
    async with LoopbackServer(raw(reply)) as server, _client(transport) as client:
        response = await client.get(server.url)
    assert (response.status_code, response.reason_phrase) == (503, "Service Unavailable")
    assert response.headers.get_list("set-cookie") == ["a=1", "b=2"]
    assert response.http_version == "HTTP/1.1"
    assert response.content == b"no"


async def test_cookies_are_left_to_httpx(anyio_backend: str, transport: DefaultTransport) -> None:
    # By name: aiohttp's own cookie jar ignores cookies set by an IP address.
    async with (
        LoopbackServer(ok(b"{}", "Set-Cookie: session=abc")) as server,
        _client(transport) as client,
    ):
        url = server.url.replace("127.0.0.1", "localhost")
        await client.get(url)
        client.cookies.clear()
        await client.get(url)
    assert b"Cookie" not in server.heads[1]
