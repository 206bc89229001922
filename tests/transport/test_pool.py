"""Connections are reused, bounded, and dropped before they go stale.

Keep-alive expiry is checked on a manual clock: both pools read ``time.monotonic`` directly
(aiohttp's connector, httpcore2's HTTP/1.1 connection), so the test puts its clock there.
"""

from __future__ import annotations

import types

import aiohttp.connector
import anyio
import anyio.lowlevel
import httpcore2._async.http11
import httpx
import pytest
from support.loopback import LoopbackServer, ManualClock, ok, ok_then_close, stall_mid_body

from otaclient._constants import KEEPALIVE_EXPIRY
from otaclient._transport import DefaultTransport

pytestmark = pytest.mark.anyio


async def test_requests_one_after_another_share_one_connection(
    anyio_backend: str, transport: DefaultTransport
) -> None:
    async with LoopbackServer() as server, httpx.AsyncClient(transport=transport) as client:
        for _ in range(5):
            await client.get(server.url)
    assert (server.requests, server.connections) == (5, 1)


async def test_concurrent_requests_open_no_more_than_max_connections(anyio_backend: str) -> None:
    limits = httpx.Limits(max_connections=3, keepalive_expiry=KEEPALIVE_EXPIRY)
    three_waiting = anyio.Event()
    answer_ok = ok()

    async def answer(stream: anyio.abc.ByteStream, request: bytes) -> bool:
        # Nothing is answered until three requests are in: so all three needed a connection.
        if server.requests >= 3:
            three_waiting.set()
        await three_waiting.wait()
        return await answer_ok(stream, request)

    transport = DefaultTransport(limits=limits)
    async with LoopbackServer(answer) as server, httpx.AsyncClient(transport=transport) as client:
        with anyio.fail_after(10):  # a pool that opened fewer than three would wait forever
            async with anyio.create_task_group() as group:
                for _ in range(12):
                    group.start_soon(client.get, server.url)
    assert (server.requests, server.connections) == (12, 3)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> ManualClock:
    clock = ManualClock()
    monkeypatch.setattr(aiohttp.connector, "monotonic", clock)
    monkeypatch.setattr(httpcore2._async.http11, "time", types.SimpleNamespace(monotonic=clock))
    return clock


async def test_an_idle_connection_is_reused_until_keepalive_expiry(
    anyio_backend: str, transport: DefaultTransport, clock: ManualClock
) -> None:
    async with LoopbackServer() as server, httpx.AsyncClient(transport=transport) as client:
        await client.get(server.url)
        clock.advance(KEEPALIVE_EXPIRY - 0.1)
        await client.get(server.url)
    assert server.connections == 1


async def test_an_idle_connection_is_dropped_once_keepalive_expiry_passes(
    anyio_backend: str, transport: DefaultTransport, clock: ManualClock
) -> None:
    async with LoopbackServer() as server, httpx.AsyncClient(transport=transport) as client:
        await client.get(server.url)
        clock.advance(KEEPALIVE_EXPIRY + 0.1)
        await client.get(server.url)
        await server.wait_open(1)  # the expired one was closed, not just left aside
    assert server.connections == 2


async def test_a_connection_the_server_closed_while_idle_is_not_reused(
    anyio_backend: str, transport: DefaultTransport
) -> None:
    async with (
        LoopbackServer(ok_then_close()) as server,
        httpx.AsyncClient(transport=transport) as client,
    ):
        for _ in range(3):
            response = await client.get(server.url)
            assert response.status_code == 200
            await server.wait_open()
            await _settle()
    assert (server.requests, server.connections) == (3, 3)


async def test_a_body_left_unread_closes_its_connection_instead_of_pooling_it(
    anyio_backend: str, transport: DefaultTransport
) -> None:
    # What the request loop does when a body passes its size cap. (The body is not iterated:
    # an abandoned `aiter_raw()` is httpx's and httpcore's generators, left to the collector.)
    async with (
        LoopbackServer(stall_mid_body()) as server,
        httpx.AsyncClient(transport=transport) as client,
    ):
        response = await client.send(client.build_request("GET", server.url), stream=True)
        await response.aclose()
        await server.wait_open()  # the client closed it: a pooled one would stay open


async def _settle() -> None:
    # A few turns of the loop, for the client to read the close off the socket.
    for _ in range(5):
        await anyio.lowlevel.checkpoint()
