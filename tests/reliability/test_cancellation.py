"""Stopping a harvest at any point leaves nothing running and nothing unhandled."""

from __future__ import annotations

import contextlib

import anyio
import httpx
import pytest
from support.wire import signed_params

from otaclient import OTAClient

pytestmark = pytest.mark.anyio


class SlowPages:
    """Forty pages of ten firmware, each answer 50 ms late; counts requests in flight."""

    def __init__(self) -> None:
        self.started = 0
        self.in_flight = 0

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        query = signed_params(request)
        page, size = int(query["CurrentPage"]), int(query["PageSize"])
        self.started += 1
        self.in_flight += 1
        try:
            await anyio.sleep(0.05)
        finally:
            self.in_flight -= 1
        items = [{"FirmwareId": f"f{page}-{i}"} for i in range(size)]
        return httpx.Response(
            200,
            json={
                "RequestId": f"r{page}",
                "Success": True,
                "CurrentPage": page,
                "PageSize": size,
                "Total": 40 * size,
                "FirmwareInfo": {"SimpleFirmwareInfo": items},
            },
        )


def _client(server: SlowPages) -> OTAClient:
    return OTAClient(
        access_key_id="id",
        access_key_secret="secret",
        endpoint="http://ota.test",
        qps=None,
        transport=httpx.MockTransport(server),  # type: ignore[arg-type]
    )


async def _settle() -> None:
    await anyio.sleep(0.2)  # longer than one answer: anything still running would show


async def test_break_stops_outstanding_fetches() -> None:
    server = SlowPages()
    async with _client(server) as client:
        async with contextlib.aclosing(client.iter_ota_firmware(page_size=10)) as firmware:
            async for item in firmware:
                if item.firmware_id == "f3-0":
                    break
        await _settle()
        started_after_break = server.started
        await _settle()
        assert server.started == started_after_break
        assert server.in_flight == 0
        assert started_after_break < 40


async def test_a_timeout_scope_cancels_the_harvest_cleanly() -> None:
    server = SlowPages()
    seen = 0
    async with _client(server) as client:
        with anyio.move_on_after(0.2):
            async for _ in client.iter_ota_firmware(page_size=10):
                seen += 1
        await _settle()
        started = server.started
        await _settle()
        assert server.started == started
        assert server.in_flight == 0
    assert 0 < seen < 400


async def test_cancelling_the_caller_task_stops_the_harvest() -> None:
    server = SlowPages()
    async with _client(server) as client:
        async with anyio.create_task_group() as tg:

            async def consume() -> None:
                async for _ in client.iter_ota_firmware(page_size=10):
                    pass

            tg.start_soon(consume)
            await anyio.sleep(0.15)
            tg.cancel_scope.cancel()
        await _settle()
        assert server.in_flight == 0
        started = server.started
        await _settle()
        assert server.started == started


async def test_closing_the_client_stops_a_harvest_nobody_finished() -> None:
    server = SlowPages()
    client = _client(server)
    async with client:
        iterator = client.iter_ota_firmware(page_size=10)
        await iterator.__anext__()
    started = server.started
    await _settle()
    assert server.started == started
    assert server.in_flight == 0
