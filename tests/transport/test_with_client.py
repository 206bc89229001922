"""OTAClient on DefaultTransport against the simulator's real HTTP server."""

from __future__ import annotations

import httpx
import pytest

from otaclient import OTAClient
from otaclient._constants import KEEPALIVE_EXPIRY
from otaclient._transport import DefaultTransport
from otaclient.simulator import (
    DEMO_ACCESS_KEY_ID,
    DEMO_ACCESS_KEY_SECRET,
    Simulator,
    SimulatorConfig,
    running_server,
)

pytestmark = pytest.mark.anyio


async def test_otaclient_pages_through_the_simulator_on_the_default_transport(
    anyio_backend: str,
) -> None:
    limits = httpx.Limits(max_connections=8, keepalive_expiry=KEEPALIVE_EXPIRY)
    transport = DefaultTransport(limits=limits)
    async with (
        running_server(Simulator(SimulatorConfig(qps=None))) as url,
        OTAClient(
            endpoint=url,
            access_key_id=DEMO_ACCESS_KEY_ID,
            access_key_secret=DEMO_ACCESS_KEY_SECRET,
            qps=None,
            transport=transport,
        ) as client,
    ):
        page = await client.list_ota_firmware(page_size=10)
        every = [firmware async for firmware in client.iter_ota_firmware(page_size=5)]
    assert transport.backend == anyio_backend
    assert len(page.items) == min(10, page.total)
    assert len(every) == page.total
    assert len({f.firmware_id for f in every}) == page.total
