"""Response shapes: aliyun JSON and XML (seed 004), tuya camelCase (seeds 000-003)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from simhelpers import FakeClock, SimClient, in_process, make_app, xml_root

from otaclient.simulator import Simulator
from otaclient.simulator.model import Job

pytestmark = pytest.mark.anyio

_ALIYUN_JOB_KEYS = {
    "JobId",
    "FirmwareId",
    "ProductKey",
    "JobStatus",
    "JobType",
    "SelectionType",
    "TargetSelection",
    "UtcCreate",
    "UtcModified",
}
_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def _app(clock: FakeClock, dialect: str = "aliyun", **config: Any) -> Simulator:
    return make_app(clock, qps=None, dialect=dialect, **config)


def _upgrade_job(app: Simulator, status: str = "IN_PROGRESS") -> Job:
    return next(
        job
        for job in app.fleet.jobs
        if job.status == status
        and job.job_type == "UPGRADE_FIRMWARE"
        and job.selection_type == "STATIC"
    )


async def test_aliyun_job_list_is_pascal_case_like_seed_004() -> None:
    clock = FakeClock()
    app = _app(clock)
    job = _upgrade_job(app)
    async with in_process(app) as http:
        body = await SimClient(http, clock=clock).call(
            "ListOTAJobByFirmware",
            {"FirmwareId": job.firmware_id, "CurrentPage": 1, "PageSize": 200},
        )
    assert {"RequestId", "Success", "CurrentPage", "PageSize", "PageCount", "Total", "Data"} <= set(
        body
    )
    assert "Code" not in body and "ErrorMessage" not in body
    assert re.fullmatch(
        r"[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[0-9A-F]{4}-[0-9A-F]{12}", body["RequestId"]
    )
    items = body["Data"]["SimpleOTAJobInfo"]
    item = next(i for i in items if i["JobId"] == job.job_id)
    assert set(item) >= _ALIYUN_JOB_KEYS
    assert "UtcStartTime" in item
    assert _UTC.match(item["UtcCreate"])
    assert re.fullmatch(r"[0-9A-Za-z]{26}", item["JobId"])


async def test_aliyun_completed_jobs_carry_utc_end_time() -> None:
    clock = FakeClock()
    app = _app(clock)
    job = _upgrade_job(app, "COMPLETED")
    async with in_process(app) as http:
        body = await SimClient(http, clock=clock).call(
            "ListOTAJobByFirmware",
            {"FirmwareId": job.firmware_id, "CurrentPage": 1, "PageSize": 200},
        )
    for item in body["Data"]["SimpleOTAJobInfo"]:
        assert ("UtcEndTime" in item) == (item["JobStatus"] in ("COMPLETE", "COMPLETED"))


async def test_aliyun_job_lists_use_the_documented_odd_enum_values() -> None:
    clock = FakeClock()
    app = _app(clock)
    statuses, types = set(), set()
    async with in_process(app) as http:
        client = SimClient(http, clock=clock)
        for firmware_id in app.fleet.firmware_ids():
            body = await client.call(
                "ListOTAJobByFirmware",
                {"FirmwareId": firmware_id, "CurrentPage": 1, "PageSize": 200},
            )
            for item in body["Data"]["SimpleOTAJobInfo"]:
                statuses.add(item["JobStatus"])
                types.add(item["JobType"])
    assert {"COMPLETE", "COMPLETED"} <= statuses
    assert types == {"UPGRADE_FIRMWARE", "VERFIY_FIRMWARE"}


async def test_query_ota_job_says_completed() -> None:
    clock = FakeClock()
    app = _app(clock)
    async with in_process(app) as http:
        client = SimClient(http, clock=clock)
        statuses = {
            (await client.call("QueryOTAJob", {"JobId": job.job_id}))["Data"]["JobStatus"]
            for job in app.fleet.jobs
            if job.status == "COMPLETED"
        }
    assert statuses == {"COMPLETED"}


async def test_odd_enum_values_can_be_switched_off() -> None:
    clock = FakeClock()
    app = _app(clock, odd_enum_values=False)
    verify = next(job for job in app.fleet.jobs if job.job_type == "VERIFY_FIRMWARE")
    async with in_process(app) as http:
        body = await SimClient(http, clock=clock).call("QueryOTAJob", {"JobId": verify.job_id})
    assert body["Data"]["JobType"] == "VERIFY_FIRMWARE"


async def test_aliyun_xml_lists_are_repeated_child_elements() -> None:
    clock = FakeClock()
    app = _app(clock)
    job = _upgrade_job(app)
    async with in_process(app) as http:
        response = await SimClient(http, clock=clock).send(
            "ListOTATaskByJob", {"JobId": job.job_id, "CurrentPage": 1, "PageSize": 3}, fmt="XML"
        )
    root = xml_root(response)
    assert response.headers["content-type"].startswith("text/xml")
    assert root.tag == "ListOTATaskByJobResponse"
    assert root.findtext("Success") == "true"
    assert root.findtext("PageSize") == "3"
    tasks = root.find("Data").findall("SimpleOTATaskInfo")
    assert len(tasks) == 3
    assert [t.findtext("TaskId") for t in tasks] == app.fleet.task_ids(job.job_id)[:3]


async def test_aliyun_xml_one_item_list_is_a_single_child_element() -> None:
    clock = FakeClock()
    app = _app(clock)
    async with in_process(app) as http:
        response = await SimClient(http, clock=clock).send(
            "ListOTAFirmware", {"CurrentPage": 1, "PageSize": 1}, fmt="xml"
        )
    root = xml_root(response)
    wrapper = root.find("FirmwareInfo")
    assert [child.tag for child in wrapper] == ["SimpleFirmwareInfo"]
    assert wrapper.find("SimpleFirmwareInfo").findtext("Type") in ("0", "1")


async def test_missing_format_means_json() -> None:
    clock = FakeClock()
    async with in_process(_app(clock)) as http:
        response = await SimClient(http, clock=clock).send(
            "ListOTAFirmware", {"CurrentPage": 1, "PageSize": 1}, fmt=None
        )
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["Success"] is True


async def test_full_packages_have_null_src_version() -> None:
    clock = FakeClock()
    async with in_process(_app(clock)) as http:
        body = await SimClient(http, clock=clock).call(
            "ListOTAFirmware", {"CurrentPage": 1, "PageSize": 100}
        )
    items = body["FirmwareInfo"]["SimpleFirmwareInfo"]
    assert all(("SrcVersion" in item) for item in items)
    assert {item["SrcVersion"] is None for item in items if item["Type"] == 0} == {True}
    assert {item["SrcVersion"] is None for item in items if item["Type"] == 1} == {False}


async def test_tuya_firmware_list_is_camel_case_like_seed_001() -> None:
    clock = FakeClock()
    async with in_process(_app(clock, "tuya")) as http:
        body = await SimClient(http, clock=clock).call(
            "ListOTAFirmware", {"CurrentPage": 1, "PageSize": 10}
        )
    assert body["code"] == ""
    assert body["success"] is True
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}", body["requestId"]
    )
    item = body["firmwareInfo"]["simpleFirmwareInfo"][0]
    assert {"firmwareId", "firmwareSize", "status", "type", "destVersion", "moduleName"} <= set(
        item
    )
    assert isinstance(item["firmwareSize"], int)
    assert isinstance(item["status"], int) and isinstance(item["type"], int)
    assert item["firmwareId"].isdigit()


async def test_tuya_job_list_is_camel_case_like_seed_000() -> None:
    clock = FakeClock()
    app = _app(clock, "tuya")
    job = _upgrade_job(app)
    async with in_process(app) as http:
        body = await SimClient(http, clock=clock).call(
            "ListOTAJobByFirmware",
            {"FirmwareId": job.firmware_id, "CurrentPage": 1, "PageSize": 10},
        )
    assert {
        "code",
        "currentPage",
        "data",
        "pageCount",
        "pageSize",
        "requestId",
        "success",
        "total",
    } == set(body)
    item = body["data"]["simpleOTAJobInfo"][0]
    assert set(item) == {
        "firmwareId",
        "jobId",
        "jobStatus",
        "jobType",
        "productKey",
        "selectionType",
        "targetSelection",
        "utcCreate",
        "utcModified",
    }
    assert re.fullmatch(r"1834\d{11}", item["jobId"])


async def test_tuya_spells_verify_firmware_and_completed_correctly() -> None:
    clock = FakeClock()
    app = _app(clock, "tuya")
    statuses, types = set(), set()
    async with in_process(app) as http:
        client = SimClient(http, clock=clock)
        for firmware_id in app.fleet.firmware_ids():
            body = await client.call(
                "ListOTAJobByFirmware",
                {"FirmwareId": firmware_id, "CurrentPage": 1, "PageSize": 200},
            )
            for item in body["data"]["simpleOTAJobInfo"]:
                statuses.add(item["jobStatus"])
                types.add(item["jobType"])
    assert "COMPLETE" not in statuses and "COMPLETED" in statuses
    assert types == {"UPGRADE_FIRMWARE", "VERIFY_FIRMWARE"}


async def test_tuya_unfinished_tasks_are_camel_case_like_seed_002() -> None:
    clock = FakeClock()
    app = _app(clock, "tuya")
    job = _upgrade_job(app)
    row = next(row for row, code in enumerate(job.tasks.status) if code < 4)
    product = app.fleet.products[job.product_index]
    async with in_process(app) as http:
        body = await SimClient(http, clock=clock).call(
            "ListOTAUnfinishedTaskByDevice",
            {"ProductKey": product.key, "DeviceName": product.device_name(job.tasks.devices[row])},
        )
    item = next(i for i in body["data"]["simpleOTATaskInfo"] if i["jobId"] == job.job_id)
    assert set(item) == {
        "destVersion",
        "deviceName",
        "firmwareId",
        "iotId",
        "jobId",
        "moduleName",
        "productKey",
        "productName",
        "srcVersion",
        "taskId",
        "taskStatus",
        "utcCreate",
        "utcModified",
    }
    assert re.fullmatch(r"1833\d{11}", item["taskId"])


def _static_params(app: Simulator) -> dict[str, str]:
    firmware = next(f for f in app.fleet.firmware.values() if f.status in (1, -1))
    return {
        "FirmwareId": firmware.firmware_id,
        "ProductKey": firmware.product_key or "",
        "TargetSelection": "ALL",
    }


async def test_tuya_create_static_job_answers_job_id_under_firmware_id_like_seed_003() -> None:
    clock = FakeClock()
    app = _app(clock, "tuya")
    before = set(app.fleet.job_ids())
    async with in_process(app) as http:
        body = await SimClient(http, clock=clock).call(
            "CreateOTAStaticUpgradeJob", {**_static_params(app), "TargetSelection": "All"}
        )
    (new_job,) = set(app.fleet.job_ids()) - before
    assert body["code"] == "" and body["success"] is True
    assert body["data"] == {"firmwareId": new_job, "utcCreate": body["data"]["utcCreate"]}


async def test_aliyun_create_static_job_answers_job_id() -> None:
    clock = FakeClock()
    app = _app(clock)
    async with in_process(app) as http:
        body = await SimClient(http, clock=clock).call(
            "CreateOTAStaticUpgradeJob", _static_params(app)
        )
    assert set(body["Data"]) == {"JobId", "UtcCreate"}
    assert body["Data"]["JobId"] == app.fleet.job_ids()[-1]


async def test_missing_firmware_id_is_the_seed_004_business_error() -> None:
    clock = FakeClock()
    async with in_process(_app(clock)) as http:
        response = await SimClient(http, clock=clock).send(
            "ListOTAJobByFirmware", {"CurrentPage": 1, "PageSize": 10}
        )
    body = response.json()
    assert response.status_code == 200
    assert set(body) == {"RequestId", "Success", "Code", "ErrorMessage"}
    assert (body["Success"], body["Code"], body["ErrorMessage"]) == (
        False,
        "MissingFirmwareId",
        "FirmwareId is mandatory for this action",
    )


async def test_tuya_business_error_is_camel_case() -> None:
    clock = FakeClock()
    async with in_process(_app(clock, "tuya")) as http:
        body = await SimClient(http, clock=clock).call("QueryOTAJob", {"JobId": "183400000000000"})
    assert set(body) == {"requestId", "success", "code", "errorMessage"}
    assert body["code"] == "iot.ota.JobNotExist"


async def test_business_error_in_xml_keeps_the_action_root() -> None:
    clock = FakeClock()
    async with in_process(_app(clock)) as http:
        response = await SimClient(http, clock=clock).send("QueryOTAJob", {"JobId": "x"}, fmt="XML")
    root = xml_root(response)
    assert root.tag == "QueryOTAJobResponse"
    assert root.findtext("Success") == "false"
    assert root.findtext("Code") == "iot.ota.JobNotExist"


async def test_module_list_is_a_bare_list_under_data() -> None:
    clock = FakeClock()
    app = _app(clock)
    product = app.fleet.products[0]
    async with in_process(app) as http:
        client = SimClient(http, clock=clock)
        body = await client.call(
            "ListOTAModuleByProduct", {"ProductKey": product.key}, method="GET"
        )
        xml = await client.send("ListOTAModuleByProduct", {"ProductKey": product.key}, fmt="XML")
    assert isinstance(body["Data"], list)
    assert {item["ModuleName"] for item in body["Data"]} == {
        m.name for m in product.modules.values()
    }
    assert {"GmtCreate", "GmtModified"} <= set(body["Data"][0])
    assert len(xml_root(xml).findall("Data")) == len(product.modules)
