"""A request leaves no cyclic garbage behind: the cycle collector has nothing to pause for."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import httpx
import pytest
from support.loopback import LoopbackServer, firmware_page, ok

from otaclient import OTAClient
from otaclient._transport import DefaultTransport

pytestmark = pytest.mark.anyio

_EMPTY = httpx.ByteStream(b"")


@pytest.fixture
def collector_off() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


async def _read_as_the_request_loop_does(client: httpx.AsyncClient, url: str) -> bytes:
    response = await client.send(client.build_request("GET", url), stream=True)
    try:
        return b"".join([chunk async for chunk in response.aiter_raw()])
    finally:
        await response.aclose()
        response.stream = _EMPTY  # the request loop's fix for encode/httpx#3733


async def test_requests_leave_no_cyclic_garbage(
    anyio_backend: str, transport: DefaultTransport, collector_off: None
) -> None:
    async with (
        LoopbackServer(ok(b"x" * 5000)) as server,
        httpx.AsyncClient(transport=transport) as client,
    ):
        for _ in range(5):  # the pool, its connection and the first imports
            await _read_as_the_request_loop_does(client, server.url)
        gc.collect()
        for _ in range(50):
            await _read_as_the_request_loop_does(client, server.url)
        assert gc.collect() == 0


async def test_calls_of_a_client_leave_no_cyclic_garbage(
    anyio_backend: str, collector_off: None
) -> None:
    async with (
        LoopbackServer(ok(firmware_page(20))) as server,
        OTAClient(
            endpoint=server.url, access_key_id="id", access_key_secret="s", qps=None
        ) as client,
    ):
        for _ in range(5):  # the pool, its connection, the first imports and caches
            await client.list_ota_firmware(page_size=20)
        gc.collect()
        for _ in range(50):
            await client.list_ota_firmware(page_size=20)
        assert gc.collect() == 0
