"""Every way a connection fails comes out as the httpx exception the request loop expects.

The request loop retries even a write after ``ConnectError`` or ``ConnectTimeout`` (nothing
was sent), and treats every other transport error as "the server may have acted". So the
one thing that must never happen is a failure after the request went out reported as a
connect failure. Each case runs against a loopback server that fails in that one way;
both backends must give the same exception type.
"""

from __future__ import annotations

import traceback

import httpx
import pytest
from support.loopback import (
    Answer,
    LoopbackServer,
    full_backlog,
    hang_up,
    hang_up_mid_body,
    raw,
    refused_port,
    reset,
    stall,
    stall_mid_body,
)

from otaclient._transport import DefaultTransport

pytestmark = pytest.mark.anyio

TOKEN = "CAIS-token-that-travels-in-the-query-0123456789"
QUERY = f"/?Action=CreateOTAStaticUpgradeJob&SecurityToken={TOKEN}&Signature=c2lnbmF0dXJl"
TIMEOUT = httpx.Timeout(10.0, connect=0.2, read=0.2)
"""Phases short enough for the stalls below; nothing else in these tests waits on time."""


def _client(transport: DefaultTransport) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=transport, timeout=TIMEOUT)


async def _send(client: httpx.AsyncClient, url: str, method: str = "POST") -> None:
    response = await client.send(client.build_request(method, url + QUERY), stream=True)
    try:
        async for _ in response.aiter_raw():
            pass
    finally:
        await response.aclose()


async def test_a_refused_connection_is_a_connect_error(
    anyio_backend: str, transport: DefaultTransport
) -> None:
    async with _client(transport) as client:
        with pytest.raises(httpx.ConnectError) as failed:
            await _send(client, f"http://127.0.0.1:{refused_port()}")
    assert type(failed.value) is httpx.ConnectError


async def test_a_connect_that_never_completes_is_a_connect_timeout(
    anyio_backend: str, transport: DefaultTransport
) -> None:
    with full_backlog() as port:
        async with _client(transport) as client:
            with pytest.raises(httpx.ConnectTimeout) as failed:
                await _send(client, f"http://127.0.0.1:{port}")
    assert type(failed.value) is httpx.ConnectTimeout


DROPS: dict[str, tuple[Answer, type[httpx.TransportError]]] = {
    "hang up before answering": (hang_up, httpx.RemoteProtocolError),
    "hang up mid-body": (hang_up_mid_body(), httpx.RemoteProtocolError),
    "reset the connection": (reset, httpx.ReadError),
    "answer a malformed status line": (raw(b"HTTP/1.1 abc\r\n\r\n"), httpx.RemoteProtocolError),
    "stall before answering": (stall, httpx.ReadTimeout),
    "stall mid-body": (stall_mid_body(), httpx.ReadTimeout),
}


@pytest.mark.parametrize("failure", DROPS)
async def test_a_failure_after_the_request_went_out_is_never_a_connect_failure(
    anyio_backend: str, transport: DefaultTransport, failure: str
) -> None:
    answer, expected = DROPS[failure]
    async with LoopbackServer(answer) as server, _client(transport) as client:
        with pytest.raises(httpx.TransportError) as failed:
            await _send(client, server.url)
    assert type(failed.value) is expected
    assert not isinstance(failed.value, httpx.ConnectError | httpx.ConnectTimeout)
    assert server.requests == 1


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_a_dropped_request_is_not_resent_behind_the_request_loop(
    anyio_backend: str, transport: DefaultTransport, method: str
) -> None:
    # aiohttp would resend a GET once on its own; the request loop alone decides retries.
    async with LoopbackServer(hang_up) as server, _client(transport) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await _send(client, server.url, method)
    assert server.requests == 1


@pytest.mark.parametrize("failure", ["refused", "connect timeout", *DROPS])
async def test_no_error_quotes_the_request_url(
    anyio_backend: str, transport: DefaultTransport, failure: str
) -> None:
    # aiohttp's own messages for timeouts and bad answers quote the URL, token and all.
    async with LoopbackServer(DROPS.get(failure, (hang_up,))[0]) as server:
        with full_backlog() as backlogged:
            url = {
                "refused": f"http://127.0.0.1:{refused_port()}",
                "connect timeout": f"http://127.0.0.1:{backlogged}",
            }.get(failure, server.url)
            async with _client(transport) as client:
                with pytest.raises(httpx.TransportError) as failed:
                    await _send(client, url)
    text = "".join(traceback.format_exception(failed.value))
    context = failed.value.__context__
    assert TOKEN not in text
    assert TOKEN not in repr(failed.value.args)
    assert context is None or TOKEN not in repr(context.args)
