"""An ``OTAClient`` given no ``transport=`` sends through ``DefaultTransport``, and keeps
what the transport promises: a clean shutdown, no imports and no cyclic garbage per request.

Every test runs under asyncio (aiohttp) and trio (httpcore2) against ``LoopbackServer``.
"""

from __future__ import annotations

import gc
import logging
import warnings
from collections.abc import Iterator

import pytest
from support.loopback import LoopbackServer, firmware_page, ok

from otaclient import OTAClient
from otaclient._transport import DefaultTransport

pytestmark = pytest.mark.anyio

TOKEN = "T0K3N-of-the-client-never-in-a-log"


def client_of(url: str, **options: object) -> OTAClient:
    """A client of ``url`` on its default transport (no ``transport=``)."""
    return OTAClient(
        endpoint=url,
        access_key_id="id-loopback",
        access_key_secret="secret-loopback",
        qps=None,
        **options,  # type: ignore[arg-type]
    )


def transport_of(client: OTAClient) -> object:
    return client._http._transport  # type: ignore[attr-defined]


async def test_a_client_without_a_transport_sends_through_the_default_one(
    anyio_backend: str,
) -> None:
    async with LoopbackServer(ok(firmware_page(3))) as server, client_of(server.url) as client:
        page = await client.list_ota_firmware(page_size=3)
        transport = transport_of(client)
    assert isinstance(transport, DefaultTransport)
    assert transport.backend == anyio_backend
    assert [f.firmware_id for f in page.items] == ["fw-0000", "fw-0001", "fw-0002"]


async def test_a_client_reuses_one_connection_for_calls_one_after_another(
    anyio_backend: str,
) -> None:
    async with LoopbackServer(ok(firmware_page(1))) as server, client_of(server.url) as client:
        for _ in range(5):
            await client.list_ota_firmware(page_size=1)
    assert server.requests == 5
    assert server.connections == 1


@pytest.fixture
def nothing_left_behind(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fail on any ResourceWarning or "Unclosed ..." report, garbage collected included."""
    with warnings.catch_warnings(record=True) as warned, caplog.at_level(logging.WARNING):
        warnings.simplefilter("always", ResourceWarning)
        yield
        gc.collect()
    assert [str(w.message) for w in warned] == []
    assert [r.getMessage() for r in caplog.records if "nclosed" in r.getMessage()] == []


async def test_closing_a_client_closes_its_connections_quietly(
    anyio_backend: str, nothing_left_behind: None
) -> None:
    async with LoopbackServer(ok(firmware_page(1))) as server:
        async with client_of(server.url) as client:
            await client.list_ota_firmware(page_size=1)
            assert server.open == 1
        await server.wait_open()  # closed by the client, not by the server going away


async def test_a_client_closed_without_its_block_closes_its_connections_quietly(
    anyio_backend: str, nothing_left_behind: None
) -> None:
    async with LoopbackServer(ok(firmware_page(1))) as server:
        client = client_of(server.url)
        await client.list_ota_firmware(page_size=1)
        await client.aclose()
        await server.wait_open()


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog


async def test_debug_logs_of_a_call_show_no_signature_or_token(
    anyio_backend: str, debug_logs: pytest.LogCaptureFixture
) -> None:
    async with (
        LoopbackServer(ok(firmware_page(1))) as server,
        client_of(server.url, security_token=TOKEN) as client,
    ):
        await client.list_ota_firmware(page_size=1)
    signature = _signature_sent(server)
    logged = debug_logs.text + " ".join(str(r.args) for r in debug_logs.records)
    assert {r.name.split(".")[0] for r in debug_logs.records} >= {"httpx"}
    assert TOKEN not in logged
    assert signature not in logged


def _signature_sent(server: LoopbackServer) -> str:
    from urllib.parse import parse_qsl

    head, body = server.heads[-1], server.bodies[-1]
    target = head.split(b" ", 2)[1].decode()
    sent = dict(parse_qsl(target.partition("?")[2]) + parse_qsl(body.decode()))
    return sent["Signature"]
