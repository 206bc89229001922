"""The simulator's own reading of the API agrees with the operation table where they meet.

The simulator keeps its own copy of the limits it enforces on purpose (see
``otaclient.simulator``): a constant both imported could be wrong in both at once. These
tests make a disagreement loud instead: the quotas, the ``Version``, and the job options'
documented values, probed on both sides with the same values. The probes come from the
table's reading (each value and bound, its neighbours, a grid across twice the span): a
value only the simulator knows, far from every one of the table's, would not show.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from otaclient import APIError, OTAClient, ValidationError
from otaclient._constants import API_VERSION
from otaclient._operations import CREATE_OTA_STATIC_UPGRADE_JOB, OPERATIONS
from otaclient.simulator import (
    ACTION_QPS,
    DEMO_ACCESS_KEY_ID,
    DEMO_ACCESS_KEY_SECRET,
    Simulator,
    SimulatorConfig,
    gateway,
    quota,
)

pytestmark = pytest.mark.anyio


def test_the_simulator_enforces_the_quota_the_table_documents_for_every_action() -> None:
    enforced = {action: ACTION_QPS.get(action, quota.DEFAULT_ACTION_QPS) for action in OPERATIONS}
    assert enforced == {action: op.quota for action, op in OPERATIONS.items()}


def test_the_simulator_accepts_the_version_the_client_sends() -> None:
    assert gateway.API_VERSION == API_VERSION


def _probes(name: str) -> list[int]:
    # Each documented value and its neighbours, and a grid across twice the span, so that
    # a value or a bound that either side places differently shows.
    param = CREATE_OTA_STATIC_UPGRADE_JOB.param(name)
    if param.choices is not None:
        marks = param.choices
    else:
        assert param.low is not None and param.high is not None
        marks = (param.low, param.high)
    near = {mark + step for mark in marks for step in (-1, 0, 1)}
    grid = range(-1, 2 * max(marks), max(1, max(marks) // 50))
    return sorted(near | set(grid))


JOB_OPTIONS = ("retry_interval", "retry_count", "timeout_in_minutes", "maximum_per_minute")


@pytest.fixture(scope="module")
def sim() -> Simulator:
    return Simulator(SimulatorConfig(seed=3, qps=None))


@pytest.fixture
async def client(sim: Simulator) -> AsyncIterator[OTAClient]:
    async with OTAClient(
        endpoint="http://sim",
        access_key_id=DEMO_ACCESS_KEY_ID,
        access_key_secret=DEMO_ACCESS_KEY_SECRET,
        qps=None,
        transport=sim.transport(),
    ) as client:
        yield client


def _table_accepts(name: str, value: int) -> bool:
    try:
        list(CREATE_OTA_STATIC_UPGRADE_JOB.param(name).encode(value, "CreateOTAStaticUpgradeJob"))
    except ValidationError:
        return False
    return True


async def _simulator_accepts(sim: Simulator, client: OTAClient, name: str, value: int) -> bool:
    # Past the job options the simulator checks ScheduleTime, given here in the past: an
    # answer naming ScheduleTime means the option passed, and no job is ever created.
    firmware = next(f for f in sim.fleet.firmware.values() if f.status in (1, -1))
    param = CREATE_OTA_STATIC_UPGRADE_JOB.param(name)
    params = {
        "FirmwareId": firmware.firmware_id,
        "ProductKey": firmware.product_key,
        "TargetSelection": "ALL",
        "ScheduleTime": 1,
        param.wire: value,
    }
    if name == "retry_interval":
        params["RetryCount"] = 1
    with pytest.raises(APIError) as caught:
        await client.call("CreateOTAStaticUpgradeJob", params)
    refused_for = caught.value.message or ""
    assert refused_for.startswith((f"{param.wire} ", "ScheduleTime ")), refused_for
    return refused_for.startswith("ScheduleTime ")


@pytest.mark.parametrize("name", JOB_OPTIONS)
async def test_the_simulator_and_the_table_accept_the_same_job_option_values(
    sim: Simulator, client: OTAClient, name: str
) -> None:
    disagreements = [
        (value, table)
        for value in _probes(name)
        if (table := _table_accepts(name, value))
        != await _simulator_accepts(sim, client, name, value)
    ]
    assert disagreements == [], "(value, accepted by the table) where the simulator differs"
