from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from otaclient import OTAClient
from otaclient.simulator import (
    DEMO_ACCESS_KEY_ID,
    DEMO_ACCESS_KEY_SECRET,
    Simulator,
    SimulatorConfig,
)

MODES = [("aliyun", "json"), ("aliyun", "xml"), ("tuya", "json")]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=MODES, ids=["aliyun-json", "aliyun-xml", "tuya-json"])
def sim(request: pytest.FixtureRequest) -> Simulator:
    dialect, _ = request.param
    return Simulator(SimulatorConfig(seed=21, dialect=dialect, qps=None))


@pytest.fixture
async def client(sim: Simulator, request: pytest.FixtureRequest) -> AsyncIterator[OTAClient]:
    _, response_format = request.node.callspec.params["sim"]
    async with OTAClient(
        endpoint="http://sim",
        access_key_id=DEMO_ACCESS_KEY_ID,
        access_key_secret=DEMO_ACCESS_KEY_SECRET,
        qps=None,
        response_format=response_format,
        transport=sim.transport(),
    ) as ota:
        yield ota
