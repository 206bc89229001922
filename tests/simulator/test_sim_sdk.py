"""The official SDK (alibabacloud_iot20180120 + tea-openapi, v1 RPC signer) against the simulator.

``signature_algorithm="v2"`` is what makes tea-openapi's ``call_api`` take the v1 RPC path
(``do_rpcrequest``: Signature/SignatureNonce/Timestamp query parameters, HMAC-SHA1); the
default would use the ACS3-HMAC-SHA256 header signer. Sync SDK calls run in a worker thread
so the test's event loop (asyncio or trio) stays free.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio
import anyio.to_thread
import pytest
from alibabacloud_iot20180120 import models as iot_models  # type: ignore[import-untyped]
from alibabacloud_iot20180120.client import Client  # type: ignore[import-untyped]
from alibabacloud_tea_openapi import models as open_api_models  # type: ignore[import-untyped]
from simhelpers import ANCHOR_MS

from otaclient.simulator import (
    DEMO_ACCESS_KEY_ID,
    DEMO_ACCESS_KEY_SECRET,
    FleetSpec,
    Simulator,
    SimulatorConfig,
    running_server,
)

pytestmark = pytest.mark.anyio


def _sdk(base_url: str, secret: str = DEMO_ACCESS_KEY_SECRET) -> Client:
    config = open_api_models.Config(
        access_key_id=DEMO_ACCESS_KEY_ID,
        access_key_secret=secret,
        endpoint=base_url.removeprefix("http://"),
        protocol="http",
        signature_algorithm="v2",
        no_proxy="127.0.0.1",
        read_timeout=10_000,
        connect_timeout=5_000,
    )
    return Client(config)


@pytest.fixture
async def served() -> AsyncIterator[tuple[Simulator, str]]:
    app = Simulator(SimulatorConfig(seed=2, fleet=FleetSpec(anchor_ms=ANCHOR_MS)))
    async with running_server(app, port=0) as base_url:
        yield app, base_url


async def _in_thread(function: Any, *args: Any) -> Any:
    return await anyio.to_thread.run_sync(lambda: function(*args))


async def test_sdk_lists_firmware(served: tuple[Simulator, str]) -> None:
    app, base_url = served
    request = iot_models.ListOTAFirmwareRequest(current_page=1, page_size=100)
    response = await _in_thread(_sdk(base_url).list_otafirmware, request)
    body = response.body
    assert response.status_code == 200
    assert body.success is True and body.total == 12
    listed = {item.firmware_id for item in body.firmware_info.simple_firmware_info}
    assert listed == set(app.fleet.firmware_ids())


async def test_sdk_lists_jobs_of_a_firmware(served: tuple[Simulator, str]) -> None:
    app, base_url = served
    firmware_id = app.fleet.jobs[0].firmware_id
    request = iot_models.ListOTAJobByFirmwareRequest(
        firmware_id=firmware_id, current_page=1, page_size=200
    )
    body = (await _in_thread(_sdk(base_url).list_otajob_by_firmware, request)).body
    listed = {item.job_id for item in body.data.simple_otajob_info}
    assert listed == {job.job_id for job in app.fleet.jobs_by_firmware[firmware_id]}


async def test_sdk_lists_tasks_of_a_job(served: tuple[Simulator, str]) -> None:
    app, base_url = served
    job = max(app.fleet.jobs, key=lambda j: len(j.tasks))
    request = iot_models.ListOTATaskByJobRequest(job_id=job.job_id, current_page=1, page_size=100)
    body = (await _in_thread(_sdk(base_url).list_otatask_by_job, request)).body
    assert body.total == len(job.tasks)
    assert [t.task_id for t in body.data.simple_otatask_info] == app.fleet.task_ids(job.job_id)[
        :100
    ]


async def test_sdk_get_action_is_signed_with_get(served: tuple[Simulator, str]) -> None:
    app, base_url = served
    product = app.fleet.products[0]
    request = iot_models.ListOTAModuleByProductRequest(product_key=product.key)
    body = (await _in_thread(_sdk(base_url).list_otamodule_by_product, request)).body
    assert {m.module_name for m in body.data} == {m.name for m in product.modules.values()}


async def test_sdk_creates_a_static_job(served: tuple[Simulator, str]) -> None:
    app, base_url = served
    firmware = next(f for f in app.fleet.firmware.values() if f.status in (1, -1))
    request = iot_models.CreateOTAStaticUpgradeJobRequest(
        firmware_id=firmware.firmware_id,
        product_key=firmware.product_key,
        target_selection="ALL",
        need_confirm=False,
        tag=[iot_models.CreateOTAStaticUpgradeJobRequestTag(key="env", value="sdk")],
    )
    body = (await _in_thread(_sdk(base_url).create_otastatic_upgrade_job, request)).body
    job = app.fleet.jobs_by_id[body.data.job_id]
    assert job.tags == [("env", "sdk")] and job.need_confirm is False


async def test_sdk_with_wrong_secret_gets_signature_does_not_match(
    served: tuple[Simulator, str],
) -> None:
    _, base_url = served
    request = iot_models.ListOTAFirmwareRequest(current_page=1, page_size=10)
    with pytest.raises(Exception) as caught:
        await _in_thread(_sdk(base_url, secret="wrong").list_otafirmware, request)
    assert getattr(caught.value, "code", None) == "SignatureDoesNotMatch"
    assert getattr(caught.value, "status_code", None) == 400


async def test_sdk_burst_is_throttled(served: tuple[Simulator, str]) -> None:
    app, base_url = served
    client = _sdk(base_url)
    request = iot_models.ListOTAFirmwareRequest(current_page=1, page_size=1)

    def burst() -> list[str]:
        codes = []
        for _ in range(30):
            try:
                client.list_otafirmware(request)
                codes.append("ok")
            except Exception as exc:  # the SDK's ServerException
                codes.append(str(getattr(exc, "code", exc)))
        return codes

    codes = await anyio.to_thread.run_sync(burst)
    assert "Throttling.User" in codes
    assert set(codes) <= {"ok", "Throttling.User"}
    assert codes.count("Throttling.User") == app.stats.throttled
