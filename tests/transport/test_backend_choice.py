"""DefaultTransport chooses its pool at the first request and then keeps to that loop."""

from __future__ import annotations

import ssl

import anyio
import httpx
import pytest
from support.loopback import LoopbackServer

from otaclient import OTAError
from otaclient._transport import DefaultTransport, _AiohttpTransport, _Httpcore2Transport

from .conftest import LIMITS

pytestmark = pytest.mark.anyio


def test_nothing_is_opened_before_the_first_request(client_tls: ssl.SSLContext) -> None:
    transport = DefaultTransport(limits=LIMITS, verify=client_tls)
    assert transport.backend is None
    assert transport._inner is None


async def test_asyncio_gets_aiohttp_and_trio_gets_httpcore2(
    anyio_backend: str, transport: DefaultTransport
) -> None:
    async with LoopbackServer() as server, httpx.AsyncClient(transport=transport) as client:
        response = await client.get(server.url)
        assert response.status_code == 200
        assert transport.backend == anyio_backend
        expected = _AiohttpTransport if anyio_backend == "asyncio" else _Httpcore2Transport
        assert type(transport._inner) is expected


@pytest.mark.parametrize("other", ["asyncio", "trio"])
async def test_a_request_from_another_event_loop_is_refused(
    anyio_backend: str, transport: DefaultTransport, other: str
) -> None:
    # The other loop runs in a worker thread while this one still owns the connections.
    async with httpx.AsyncClient(transport=transport):
        await _one_request(transport)
        with pytest.raises(OTAError) as refused:
            await anyio.to_thread.run_sync(
                lambda: anyio.run(_one_request, transport, backend=other)
            )
        assert str(refused.value) == (
            f"this client's connections were opened under {anyio_backend} in another event "
            f"loop and cannot be used from {other} here; nothing was sent (use one client per "
            "event loop)"
        )
        await _one_request(transport)  # still fine from its own loop


async def test_a_closed_transport_refuses_requests(
    anyio_backend: str, transport: DefaultTransport
) -> None:
    await transport.aclose()
    request = httpx.Request("GET", "http://127.0.0.1:9/")
    with pytest.raises(OTAError, match="closed; nothing was sent"):
        await transport.handle_async_request(request)


async def _one_request(transport: DefaultTransport) -> None:
    async with LoopbackServer() as server:
        request = httpx.Request("GET", server.url)
        response = await transport.handle_async_request(request)
        await response.aread()
        await response.aclose()
