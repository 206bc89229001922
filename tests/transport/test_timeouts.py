"""httpx's timeout phases reach the pool, per request."""

from __future__ import annotations

import aiohttp
import anyio
import httpx
import pytest
from support.loopback import LoopbackServer, stall

from otaclient._transport import _AiohttpTransport, shared_tls_context

from .conftest import LIMITS

pytestmark = pytest.mark.anyio


@pytest.mark.backends("asyncio")
async def test_the_phases_become_aiohttps_timeouts(anyio_backend: str) -> None:
    transport = _AiohttpTransport(LIMITS, shared_tls_context())
    try:
        phases = {"connect": 2.0, "read": 3.0, "write": 4.0, "pool": 5.0}
        assert transport._timeout(phases) == aiohttp.ClientTimeout(
            total=None, connect=7.0, sock_connect=2.0, sock_read=3.0
        )
        unbounded = {"connect": None, "read": None, "write": None, "pool": None}
        assert transport._timeout(unbounded) == aiohttp.ClientTimeout(total=None)
    finally:
        await transport.aclose()


async def test_a_timeout_given_for_one_request_applies_to_that_request(
    anyio_backend: str, transport: object
) -> None:
    patient = httpx.Timeout(60.0)
    async with (
        LoopbackServer(stall) as server,
        httpx.AsyncClient(transport=transport, timeout=patient) as client,  # type: ignore[arg-type]
    ):
        # Far inside the client's own 60 s: only the request's 0.2 s read phase ends it.
        with anyio.fail_after(20), pytest.raises(httpx.ReadTimeout):
            await client.get(server.url, timeout=httpx.Timeout(60.0, read=0.2))
        with anyio.fail_after(20), pytest.raises(httpx.ReadTimeout):
            await client.get(server.url, timeout=httpx.Timeout(60.0, read=0.3))
    assert server.requests == 2
