"""Wire behaviour seen through respx: routes match on what the client really sends."""

from __future__ import annotations

import pytest
import respx

from otaclient import OTAClient

from ._helpers import ACCESS_KEY_ID, ACCESS_KEY_SECRET, ENDPOINT, query_of, signature_verifies

# respx patches httpx's asyncio-side transports
pytestmark = [pytest.mark.anyio, pytest.mark.backends("asyncio")]


def _client() -> OTAClient:
    return OTAClient(
        endpoint=ENDPOINT,
        access_key_id=ACCESS_KEY_ID,
        access_key_secret=ACCESS_KEY_SECRET,
        qps=None,
        allow_insecure_http=True,  # respx intercepts the default transport: nothing leaves
    )


@respx.mock(assert_all_called=True)
async def test_a_list_call_is_a_signed_post_to_the_root_with_its_wire_names(
    respx_mock: respx.MockRouter,
) -> None:
    route = respx_mock.post(
        f"{ENDPOINT}/",
        params={"Action": "ListOTAJobByDevice", "FirmwareId": "fw-1", "DeviceName": "light 1"},
    ).respond(
        json={
            "RequestId": "r",
            "Success": True,
            "CurrentPage": 1,
            "PageSize": 100,
            "Total": 0,
            "Data": {"SimpleOTAJobInfo": []},
        }
    )
    async with _client() as client:
        page = await client.list_ota_job_by_device(
            firmware_id="fw-1", product_key="pk", device_name="light 1"
        )
    assert page.items == []
    request = route.calls.last.request
    assert request.content == b""
    assert query_of(request)["PageSize"] == "100"
    assert signature_verifies(request)


@respx.mock(assert_all_called=True)
async def test_list_ota_module_by_product_is_signed_as_a_get(respx_mock: respx.MockRouter) -> None:
    route = respx_mock.get(f"{ENDPOINT}/", params={"Action": "ListOTAModuleByProduct"}).respond(
        json={"RequestId": "r", "Success": True, "Data": [{"ModuleName": "default"}]}
    )
    async with _client() as client:
        modules = await client.list_ota_module_by_product(product_key="pk")
    assert [m.module_name for m in modules] == ["default"]
    assert signature_verifies(route.calls.last.request)


@respx.mock(assert_all_called=True)
async def test_a_static_job_sends_repeat_and_struct_lists_numbered_from_one(
    respx_mock: respx.MockRouter,
) -> None:
    route = respx_mock.post(f"{ENDPOINT}/").respond(
        json={"RequestId": "r", "Success": True, "Data": {"JobId": "j1"}}
    )
    async with _client() as client:
        job = await client.create_ota_static_upgrade_job(
            firmware_id="fw",
            product_key="pk",
            target_selection="specific",
            target_device_names=["d1", "d2"],
            src_versions=["1.0", "1.1"],
            tags=[("team", "a b*c~")],
            need_push=False,
            schedule_time=1_732_000_000_000,
        )
    assert job.job_id == "j1"
    sent = query_of(route.calls.last.request)
    assert sent["TargetSelection"] == "SPECIFIC"
    assert (sent["TargetDeviceName.1"], sent["TargetDeviceName.2"]) == ("d1", "d2")
    assert (sent["SrcVersion.1"], sent["SrcVersion.2"]) == ("1.0", "1.1")
    assert (sent["Tag.1.Key"], sent["Tag.1.Value"]) == ("team", "a b*c~")
    assert sent["NeedPush"] == "false"
    assert sent["ScheduleTime"] == "1732000000000"
    assert signature_verifies(route.calls.last.request)
