"""The simulator's gateway enforces the expiry of STS keys and their match with the token.

Requests are signed here with ``otaclient._signing`` alone (as the simulator tests do), on
the same virtual wall clock as the simulator and the STS stand-in.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator

import anyio
import httpx
import pytest

from otaclient import Credentials, RamRoleArnProvider
from otaclient._signing import canonical_query, percent_encode, sign
from otaclient.simulator import (
    DEMO_ACCESS_KEY_ID,
    DEMO_ACCESS_KEY_SECRET,
    DEMO_ROLE_ARN,
    CloudConfig,
    CloudStandIn,
    FleetSpec,
    Simulator,
    SimulatorConfig,
)

from ._helpers import CLOUD_URL, virtual_wall_clock

pytestmark = [pytest.mark.anyio, pytest.mark.virtual_time]

KEYS = Credentials(DEMO_ACCESS_KEY_ID, DEMO_ACCESS_KEY_SECRET)
TINY_FLEET = FleetSpec(
    products=1,
    firmware_per_product=1,
    jobs_per_firmware=(1, 1),
    devices_per_product=4,
    tasks_per_job=(1, 2),
    modules_per_product=0,
    anchor_ms=1_700_000_000_000,
)


@pytest.fixture
def sim() -> Simulator:
    clock = virtual_wall_clock()
    return Simulator(
        SimulatorConfig(
            qps=None, fleet=TINY_FLEET, wall_clock=clock, clock=lambda: anyio.current_time()
        )
    )


@pytest.fixture
def cloud(sim: Simulator) -> CloudStandIn:
    return CloudStandIn(CloudConfig(lifetime=900, wall_clock=virtual_wall_clock()), simulator=sim)


@pytest.fixture
async def iot(sim: Simulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=sim.transport(), base_url="http://iot.test") as http:
        yield http


def _role(cloud: CloudStandIn) -> RamRoleArnProvider:
    return RamRoleArnProvider(
        role_arn=DEMO_ROLE_ARN,
        source=KEYS,
        sts_endpoint=CLOUD_URL,
        transport=cloud.transport(),
        clock=virtual_wall_clock(),
    )


async def _call(
    http: httpx.AsyncClient, credentials: Credentials, *, token: str | None = "same"
) -> httpx.Response:
    """ListOTAFirmware signed with ``credentials`` (``token="same"``: their own token)."""
    params = {
        "Action": "ListOTAFirmware",
        "Format": "JSON",
        "Version": "2018-01-20",
        "AccessKeyId": credentials.access_key_id,
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "SignatureNonce": uuid.uuid4().hex,
        "Timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(virtual_wall_clock()())),
        "CurrentPage": "1",
        "PageSize": "10",
    }
    sent_token = credentials.security_token if token == "same" else token
    if sent_token:
        params["SecurityToken"] = sent_token
    query = canonical_query(params)
    signature = sign("POST", query, credentials.access_key_secret)
    return await http.post(f"/?{query}&Signature={percent_encode(signature)}")


def _code(response: httpx.Response) -> str | None:
    return None if response.status_code == 200 else str(response.json()["Code"])


async def test_issued_keys_are_accepted_until_they_expire(
    cloud: CloudStandIn, iot: httpx.AsyncClient
) -> None:
    credentials = await _role(cloud).get_credentials()
    assert _code(await _call(iot, credentials)) is None
    await anyio.sleep(899.0)
    assert _code(await _call(iot, credentials)) is None
    await anyio.sleep(1.0)
    response = await _call(iot, credentials)
    assert response.status_code == 400
    assert _code(response) == "InvalidSecurityToken.Expired"


async def test_an_issued_key_with_another_keys_token_is_a_mismatch(
    cloud: CloudStandIn, iot: httpx.AsyncClient
) -> None:
    first = await _role(cloud).get_credentials()
    second = await _role(cloud).get_credentials()
    response = await _call(iot, first, token=second.security_token)
    assert (response.status_code, _code(response)) == (
        400,
        "InvalidSecurityToken.MismatchWithAccessKey",
    )


async def test_an_issued_key_with_a_token_nobody_issued_is_malformed(
    cloud: CloudStandIn, iot: httpx.AsyncClient
) -> None:
    credentials = await _role(cloud).get_credentials()
    response = await _call(iot, credentials, token="CAISnot-a-real-token")
    assert (response.status_code, _code(response)) == (400, "InvalidSecurityToken.Malformed")


async def test_an_issued_key_without_its_token_is_refused(
    cloud: CloudStandIn, iot: httpx.AsyncClient
) -> None:
    credentials = await _role(cloud).get_credentials()
    assert _code(await _call(iot, credentials, token=None)) == "MissingSecurityToken"


async def test_a_static_key_sending_an_issued_token_is_a_mismatch(
    cloud: CloudStandIn, iot: httpx.AsyncClient
) -> None:
    issued = await _role(cloud).get_credentials()
    response = await _call(iot, KEYS, token=issued.security_token)
    assert _code(response) == "InvalidSecurityToken.MismatchWithAccessKey"


async def test_static_keys_without_a_token_still_work(iot: httpx.AsyncClient) -> None:
    assert _code(await _call(iot, KEYS)) is None


async def test_a_run_of_hours_on_fifteen_minute_keys_never_sends_an_expired_one(
    cloud: CloudStandIn, iot: httpx.AsyncClient
) -> None:
    provider = _role(cloud)
    codes: list[str | None] = []
    for _ in range(3 * 60):  # one call a minute for three hours
        codes.append(_code(await _call(iot, await provider.get_credentials())))
        await anyio.sleep(60.0)
    assert codes == [None] * 180
    # 900 s keys are refreshed 300 s ahead: at 0, 600, 1200, ... 10200 s.
    assert cloud.counts["AssumeRole"] == 18


async def test_an_expired_answer_is_cured_by_one_forced_refresh_and_one_retry(
    cloud: CloudStandIn, iot: httpx.AsyncClient
) -> None:
    # What the request loop does with InvalidSecurityToken.Expired: refresh(rejected=...)
    # once, and retry once if it got different keys.
    provider = _role(cloud)
    signed_with = await provider.get_credentials()
    await anyio.sleep(900.0)  # the keys expired while the caller still held them
    response = await _call(iot, signed_with)
    assert _code(response) == "InvalidSecurityToken.Expired"
    renewed = await provider.refresh(rejected=signed_with)
    assert renewed.access_key_id != signed_with.access_key_id
    assert _code(await _call(iot, renewed)) is None
    assert cloud.counts["AssumeRole"] == 2
