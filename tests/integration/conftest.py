"""The simulator in every dialect and format, reached in-process or over HTTP, under asyncio
and trio."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from otaclient import OTAClient
from otaclient.simulator import (
    DEMO_ACCESS_KEY_ID,
    DEMO_ACCESS_KEY_SECRET,
    Simulator,
    SimulatorConfig,
    running_server,
)

# (dialect, response format, how the client reaches the simulator)
MODES = [
    ("aliyun", "json", "asgi"),
    ("aliyun", "xml", "asgi"),
    ("tuya", "json", "asgi"),
    ("aliyun", "xml", "http"),
    ("tuya", "json", "http"),
]


@pytest.fixture(params=MODES, ids=["-".join(mode) for mode in MODES])
def sim(request: pytest.FixtureRequest) -> Simulator:
    dialect, _, _ = request.param
    return Simulator(SimulatorConfig(seed=21, dialect=dialect, qps=None))


@pytest.fixture
async def client(sim: Simulator, request: pytest.FixtureRequest) -> AsyncIterator[OTAClient]:
    _, response_format, reach = request.node.callspec.params["sim"]
    options = {
        "access_key_id": DEMO_ACCESS_KEY_ID,
        "access_key_secret": DEMO_ACCESS_KEY_SECRET,
        "qps": None,
        "response_format": response_format,
    }
    if reach == "asgi":
        async with OTAClient(endpoint="http://sim", transport=sim.transport(), **options) as ota:
            yield ota
        return
    async with running_server(sim, port=0) as url, OTAClient(endpoint=url, **options) as ota:
        yield ota
