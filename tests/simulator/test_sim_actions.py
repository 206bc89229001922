"""Action semantics: writes are visible to later reads, business rules hold."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from simhelpers import FakeClock, SimClient, in_process, make_app

from otaclient.simulator import Simulator
from otaclient.simulator.model import Firmware, Job, Product

# State semantics do not depend on the event loop; concurrency tests cover both.
pytestmark = [pytest.mark.anyio, pytest.mark.backends("asyncio")]


class Harness:
    """An app on a fake clock plus a signed client for it."""

    def __init__(self, app: Simulator, client: SimClient, clock: FakeClock) -> None:
        self.app = app
        self.client = client
        self.clock = clock
        self.fleet = app.fleet

    async def call(self, action: str, params: dict[str, Any] | None = None, **kw: Any) -> Any:
        self.clock.advance(0.001)
        return await self.client.call(action, params, **kw)

    async def ok(self, action: str, params: dict[str, Any] | None = None, **kw: Any) -> Any:
        body = await self.call(action, params, **kw)
        assert body.get("Success") is True, body
        return body

    def usable_firmware(self) -> Firmware:
        return next(f for f in self.fleet.firmware.values() if f.status in (1, -1) and f.type == 0)

    def product_of(self, firmware: Firmware) -> Product:
        return self.fleet.products_by_key[firmware.product_key or ""]

    def free_devices(self, firmware: Firmware, count: int) -> list[str]:
        product = self.product_of(firmware)
        names = []
        for device in range(product.n_devices):
            busy = self.fleet.busy_owner(product, device, firmware.module_key)
            version = self.fleet.device_version(product, device, firmware.module_key)
            if busy is None and version != firmware.dest_version:
                names.append(product.device_name(device))
                if len(names) == count:
                    return names
        raise AssertionError("not enough free devices")

    async def create_specific(self, firmware: Firmware, names: list[str], **extra: Any) -> Job:
        params = {
            "FirmwareId": firmware.firmware_id,
            "ProductKey": firmware.product_key,
            "TargetSelection": "SPECIFIC",
            **{f"TargetDeviceName.{i}": name for i, name in enumerate(names, start=1)},
            **extra,
        }
        body = await self.ok("CreateOTAStaticUpgradeJob", params)
        return self.fleet.jobs_by_id[body["Data"]["JobId"]]


@pytest.fixture
async def h() -> AsyncIterator[Harness]:
    clock = FakeClock()
    app = make_app(clock, qps=None)
    async with in_process(app) as http:
        yield Harness(app, SimClient(http, clock=clock), clock)


# ----------------------------------------------------------------- core read actions


async def test_list_ota_job_by_firmware_matches_ground_truth(h: Harness) -> None:
    firmware_id = h.fleet.jobs[0].firmware_id
    body = await h.ok(
        "ListOTAJobByFirmware", {"FirmwareId": firmware_id, "CurrentPage": 1, "PageSize": 200}
    )
    listed = {item["JobId"] for item in body["Data"]["SimpleOTAJobInfo"]}
    assert listed == {job.job_id for job in h.fleet.jobs_by_firmware[firmware_id]}


async def test_job_lists_are_newest_first(h: Harness) -> None:
    firmware_id = max(h.fleet.jobs_by_firmware, key=lambda f: len(h.fleet.jobs_by_firmware[f]))
    body = await h.ok(
        "ListOTAJobByFirmware", {"FirmwareId": firmware_id, "CurrentPage": 1, "PageSize": 200}
    )
    created = [item["UtcCreate"] for item in body["Data"]["SimpleOTAJobInfo"]]
    assert created == sorted(created, reverse=True)


async def test_unknown_firmware_is_a_business_error(h: Harness) -> None:
    body = await h.call(
        "ListOTAJobByFirmware", {"FirmwareId": "nope", "CurrentPage": 1, "PageSize": 10}
    )
    assert (body["Success"], body["Code"]) == (False, "iot.ota.FirmwareNotExist")


async def test_list_ota_job_by_device_lists_jobs_containing_the_device(h: Harness) -> None:
    job = h.fleet.jobs[0]
    product = h.fleet.products[job.product_index]
    device = job.tasks.devices[0]
    body = await h.ok(
        "ListOTAJobByDevice",
        {
            "FirmwareId": job.firmware_id,
            "ProductKey": product.key,
            "DeviceName": product.device_name(device),
            "CurrentPage": 1,
            "PageSize": 100,
        },
    )
    expected = {
        j.job_id
        for j in h.fleet.jobs_by_firmware[job.firmware_id]
        if j.tasks.row_of_device(device) is not None
    }
    assert {item["JobId"] for item in body["Data"]["SimpleOTAJobInfo"]} == expected


async def test_unknown_device_is_a_business_error(h: Harness) -> None:
    job = h.fleet.jobs[0]
    body = await h.call(
        "ListOTAJobByDevice",
        {
            "FirmwareId": job.firmware_id,
            "ProductKey": job.product_key,
            "DeviceName": "ghost",
            "CurrentPage": 1,
            "PageSize": 10,
        },
    )
    assert body["Code"] == "iot.device.NotExistedDevice"


async def test_unfinished_tasks_by_device_match_ground_truth(h: Harness) -> None:
    job = next(
        j for j in h.fleet.jobs if j.status == "IN_PROGRESS" and any(c < 4 for c in j.tasks.status)
    )
    row = next(r for r, code in enumerate(job.tasks.status) if code < 4)
    product = h.fleet.products[job.product_index]
    iot_id = h.fleet.iot_id(product, job.tasks.devices[row])
    by_name = await h.ok(
        "ListOTAUnfinishedTaskByDevice",
        {"ProductKey": product.key, "DeviceName": product.device_name(job.tasks.devices[row])},
    )
    by_iot_id = await h.ok("ListOTAUnfinishedTaskByDevice", {"IotId": iot_id})
    items = by_name["Data"]["SimpleOTATaskInfo"]
    assert h.fleet.task_id(job, row) in {item["TaskId"] for item in items}
    assert all(
        item["TaskStatus"] in ("CONFIRM", "QUEUED", "NOTIFIED", "IN_PROGRESS") for item in items
    )
    assert by_iot_id["Data"] == by_name["Data"]


async def test_unfinished_tasks_filter_by_status(h: Harness) -> None:
    job = next(
        j for j in h.fleet.jobs if j.status == "IN_PROGRESS" and any(c < 4 for c in j.tasks.status)
    )
    row = next(r for r, code in enumerate(job.tasks.status) if code < 4)
    product = h.fleet.products[job.product_index]
    status = h.fleet.task_fields(job, row).status
    other = next(s for s in ("CONFIRM", "QUEUED", "NOTIFIED", "IN_PROGRESS") if s != status)
    name = product.device_name(job.tasks.devices[row])
    hit = await h.ok(
        "ListOTAUnfinishedTaskByDevice",
        {"ProductKey": product.key, "DeviceName": name, "TaskStatusList.1": status},
    )
    miss = await h.ok(
        "ListOTAUnfinishedTaskByDevice",
        {"ProductKey": product.key, "DeviceName": name, "TaskStatus": other},
    )
    assert h.fleet.task_id(job, row) in {i["TaskId"] for i in hit["Data"]["SimpleOTATaskInfo"]}
    assert h.fleet.task_id(job, row) not in {i["TaskId"] for i in miss["Data"]["SimpleOTATaskInfo"]}


async def test_a_device_has_at_most_one_unfinished_task_per_module(h: Harness) -> None:
    for product in h.fleet.products:
        seen: dict[tuple[int, str], str] = {}
        for job in h.fleet.jobs_by_product[product.key]:
            for row, code in enumerate(job.tasks.status):
                if code < 4:
                    key = (job.tasks.devices[row], job.module_key)
                    assert key not in seen, (key, seen[key], job.job_id)
                    seen[key] = job.job_id


# ----------------------------------------------------------------- creating jobs


async def test_create_static_job_adds_the_job_and_its_tasks(h: Harness) -> None:
    firmware = h.usable_firmware()
    names = h.free_devices(firmware, 3)
    job = await h.create_specific(firmware, names)
    query = await h.ok("QueryOTAJob", {"JobId": job.job_id})
    tasks = await h.ok("ListOTATaskByJob", {"JobId": job.job_id, "CurrentPage": 1, "PageSize": 100})
    listed = await h.ok(
        "ListOTAJobByFirmware",
        {"FirmwareId": firmware.firmware_id, "CurrentPage": 1, "PageSize": 200},
    )
    assert query["Data"]["JobStatus"] == "IN_PROGRESS"
    assert query["Data"]["TargetSelection"] == "SPECIFIC"
    assert [t["DeviceName"] for t in tasks["Data"]["SimpleOTATaskInfo"]] == sorted(names)
    assert {t["TaskStatus"] for t in tasks["Data"]["SimpleOTATaskInfo"]} == {"QUEUED"}
    assert listed["Data"]["SimpleOTAJobInfo"][0]["JobId"] == job.job_id


async def test_created_task_shows_up_as_unfinished_for_its_device(h: Harness) -> None:
    firmware = h.usable_firmware()
    (name,) = h.free_devices(firmware, 1)
    job = await h.create_specific(firmware, [name])
    body = await h.ok(
        "ListOTAUnfinishedTaskByDevice", {"ProductKey": firmware.product_key, "DeviceName": name}
    )
    assert job.job_id in {item["JobId"] for item in body["Data"]["SimpleOTATaskInfo"]}


async def test_second_unfinished_task_for_a_device_is_refused(h: Harness) -> None:
    firmware = h.usable_firmware()
    names = h.free_devices(firmware, 1)
    await h.create_specific(firmware, names)
    body = await h.call(
        "CreateOTAStaticUpgradeJob",
        {
            "FirmwareId": firmware.firmware_id,
            "ProductKey": firmware.product_key,
            "TargetSelection": "SPECIFIC",
            "TargetDeviceName.1": names[0],
        },
    )
    assert body["Code"] == "iot.ota.DeviceHasUnfinishedTask"


async def test_overwrite_mode_two_displaces_a_queued_task(h: Harness) -> None:
    firmware = h.usable_firmware()
    names = h.free_devices(firmware, 1)
    first = await h.create_specific(firmware, names)
    second = await h.create_specific(firmware, names, OverwriteMode=2)
    assert h.fleet.task_status_counts(first.job_id)["CANCELED"] == 1
    assert h.fleet.task_status_counts(second.job_id)["QUEUED"] == 1


async def test_create_all_targets_every_eligible_device(h: Harness) -> None:
    firmware = h.usable_firmware()
    product = h.product_of(firmware)
    eligible = [
        d
        for d in range(product.n_devices)
        if h.fleet.device_version(product, d, firmware.module_key) != firmware.dest_version
        and h.fleet.busy_owner(product, d, firmware.module_key) is None
    ]
    body = await h.ok(
        "CreateOTAStaticUpgradeJob",
        {"FirmwareId": firmware.firmware_id, "ProductKey": product.key, "TargetSelection": "ALL"},
    )
    job = h.fleet.jobs_by_id[body["Data"]["JobId"]]
    assert list(job.tasks.devices) == eligible
    assert len(eligible) > 0


async def test_gray_takes_the_rounded_down_share(h: Harness) -> None:
    firmware = h.usable_firmware()
    common = {"FirmwareId": firmware.firmware_id, "ProductKey": firmware.product_key}
    all_body = await h.ok("CreateOTAStaticUpgradeJob", {**common, "TargetSelection": "ALL"})
    everyone = len(h.fleet.jobs_by_id[all_body["Data"]["JobId"]].tasks)
    await h.ok(
        "CancelOTATaskByJob", {"JobId": all_body["Data"]["JobId"], "CancelQueuedTask": "true"}
    )
    gray = await h.ok(
        "CreateOTAStaticUpgradeJob", {**common, "TargetSelection": "GRAY", "GrayPercent": "33.3"}
    )
    job = h.fleet.jobs_by_id[gray["Data"]["JobId"]]
    assert len(job.tasks) == int(everyone * 33.3 / 100)
    assert (await h.ok("QueryOTAJob", {"JobId": job.job_id}))["Data"]["GrayPercent"] == "33.3"


@pytest.mark.parametrize(
    ("extra", "code"),
    [
        ({"TargetSelection": "SPECIFIC"}, "MissingTargetDeviceName"),
        ({"TargetSelection": "GRAY"}, "MissingGrayPercent"),
        ({"TargetSelection": "GRAY", "GrayPercent": "150"}, "iot.check.InvalidFormattedParameter"),
        ({"TargetSelection": "GROUP"}, "MissingGroupId"),
        ({"TargetSelection": "ALL", "RetryInterval": 60}, "MissingRetryCount"),
        (
            {"TargetSelection": "ALL", "RetryInterval": 7, "RetryCount": 1},
            "iot.check.InvalidFormattedParameter",
        ),
        (
            {"TargetSelection": "ALL", "TimeoutInMinutes": 1441},
            "iot.check.InvalidFormattedParameter",
        ),
        ({"TargetSelection": "ALL", "MaximumPerMinute": 5}, "iot.check.InvalidFormattedParameter"),
        ({"TargetSelection": "ALL", "ScheduleTime": 1}, "iot.check.InvalidFormattedParameter"),
        ({"TargetSelection": "EVERYTHING"}, "iot.check.InvalidFormattedParameter"),
        ({}, "MissingTargetSelection"),
    ],
)
async def test_create_static_job_validates_its_parameters(
    h: Harness, extra: dict[str, Any], code: str
) -> None:
    firmware = h.usable_firmware()
    before = len(h.fleet.jobs)
    body = await h.call(
        "CreateOTAStaticUpgradeJob",
        {"FirmwareId": firmware.firmware_id, "ProductKey": firmware.product_key, **extra},
    )
    assert (body["Success"], body["Code"]) == (False, code)
    assert len(h.fleet.jobs) == before


async def test_non_integer_integer_parameter_is_a_gateway_error(h: Harness) -> None:
    response = await h.client.send("ListOTAFirmware", {"CurrentPage": 1, "PageSize": "ten"})
    assert response.status_code == 400
    assert response.json()["Code"] == "InvalidParameter"


async def test_scheduled_job_is_planned_and_starts_on_time(h: Harness) -> None:
    firmware = h.usable_firmware()
    names = h.free_devices(firmware, 2)
    start_ms = int(h.clock.time() * 1000) + 10 * 60_000
    job = await h.create_specific(firmware, names, ScheduleTime=start_ms)
    before = await h.ok("QueryOTAJob", {"JobId": job.job_id})
    h.clock.advance(11 * 60)
    after = await h.ok("QueryOTAJob", {"JobId": job.job_id})
    assert before["Data"]["JobStatus"] == "PLANNED" and "UtcStartTime" not in before["Data"]
    assert after["Data"]["JobStatus"] == "IN_PROGRESS"


async def test_unverified_package_cannot_be_rolled_out(h: Harness) -> None:
    firmware = next(f for f in h.fleet.firmware.values() if f.status == 0)
    body = await h.call(
        "CreateOTAStaticUpgradeJob",
        {
            "FirmwareId": firmware.firmware_id,
            "ProductKey": firmware.product_key,
            "TargetSelection": "ALL",
        },
    )
    assert body["Code"] == "iot.ota.FirmwareNotVerified"


async def test_verify_job_puts_the_package_into_verifying(h: Harness) -> None:
    firmware = next(f for f in h.fleet.firmware.values() if f.status == 0)
    names = h.free_devices(firmware, 2)
    params = {"FirmwareId": firmware.firmware_id, "ProductKey": firmware.product_key}
    params.update({f"TargetDeviceName.{i}": n for i, n in enumerate(names, start=1)})
    body = await h.ok("CreateOTAVerifyJob", params)
    query = await h.ok("QueryOTAFirmware", {"FirmwareId": firmware.firmware_id})
    job = await h.ok("QueryOTAJob", {"JobId": body["Data"]["JobId"]})
    again = await h.call("CreateOTAVerifyJob", params)
    assert query["FirmwareInfo"]["Status"] == 2
    assert job["Data"]["JobType"] == "VERFIY_FIRMWARE"
    assert again["Code"] == "iot.ota.VerifyJobExisted"


async def test_dynamic_job_is_one_per_package_and_cancellable(h: Harness) -> None:
    firmware = next(
        f
        for f in h.fleet.firmware.values()
        if f.status in (1, -1)
        and not any(
            j.selection_type == "DYNAMIC" and j.status == "IN_PROGRESS"
            for j in h.fleet.jobs_by_firmware[f.firmware_id]
        )
    )
    ladder = h.product_of(firmware).versions[firmware.module_key]
    params = {
        "FirmwareId": firmware.firmware_id,
        "ProductKey": firmware.product_key,
        "SrcVersion.1": firmware.src_version or ladder[0],
    }
    created = await h.ok("CreateOTADynamicUpgradeJob", params)
    job_id = created["Data"]["JobId"]
    duplicate = await h.call("CreateOTADynamicUpgradeJob", params)
    query = await h.ok("QueryOTAJob", {"JobId": job_id})
    await h.ok("CancelOTAStrategyByJob", {"JobId": job_id})
    after = await h.ok("QueryOTAJob", {"JobId": job_id})
    assert duplicate["Code"] == "iot.ota.DynamicJobExisted"
    assert (query["Data"]["SelectionType"], query["Data"]["TargetSelection"]) == ("DYNAMIC", "ALL")
    assert after["Data"]["JobStatus"] == "CANCELED"


async def test_cancel_strategy_refuses_static_jobs(h: Harness) -> None:
    job = next(j for j in h.fleet.jobs if j.selection_type == "STATIC")
    body = await h.call("CancelOTAStrategyByJob", {"JobId": job.job_id})
    assert body["Code"] == "iot.ota.NotDynamicJob"


async def test_dynamic_job_needs_src_version_or_group(h: Harness) -> None:
    firmware = h.usable_firmware()
    body = await h.call(
        "CreateOTADynamicUpgradeJob",
        {"FirmwareId": firmware.firmware_id, "ProductKey": firmware.product_key},
    )
    assert body["Code"] == "MissingSrcVersion"


async def test_update_job_changes_rate_and_tags(h: Harness) -> None:
    firmware = h.usable_firmware()
    job = await h.create_specific(firmware, h.free_devices(firmware, 1))
    await h.ok(
        "UpdateOTAJob",
        {
            "JobId": job.job_id,
            "TargetSelection": "SPECIFIC",
            "UpgradeType": "STATIC_UPGRADE",
            "MaximumPerMinute": 50,
            "Tags.1.Key": "env",
            "Tags.1.Value": "canary",
        },
    )
    query = await h.ok("QueryOTAJob", {"JobId": job.job_id})
    assert query["Data"]["MaximumPerMinute"] == 50
    assert query["Data"]["Tags"] == {"OtaTagDTO": [{"Key": "env", "Value": "canary"}]}


async def test_tags_show_in_aliyun_job_lists(h: Harness) -> None:
    firmware = h.usable_firmware()
    job = await h.create_specific(
        firmware, h.free_devices(firmware, 1), **{"Tag.1.Key": "team", "Tag.1.Value": "ota"}
    )
    body = await h.ok(
        "ListOTAJobByFirmware",
        {"FirmwareId": firmware.firmware_id, "CurrentPage": 1, "PageSize": 200},
    )
    item = next(i for i in body["Data"]["SimpleOTAJobInfo"] if i["JobId"] == job.job_id)
    assert item["Tags"] == {"OtaTagDTO": [{"Key": "team", "Value": "ota"}]}


async def test_bad_tag_key_is_refused(h: Harness) -> None:
    firmware = h.usable_firmware()
    body = await h.call(
        "CreateOTAStaticUpgradeJob",
        {
            "FirmwareId": firmware.firmware_id,
            "ProductKey": firmware.product_key,
            "TargetSelection": "ALL",
            "Tag.1.Key": "bad key!",
            "Tag.1.Value": "v",
        },
    )
    assert body["Code"] == "iot.check.InvalidFormattedParameter"


# ----------------------------------------------------------------- task mutations


async def test_cancel_task_by_job_cancels_the_flagged_statuses(h: Harness) -> None:
    job = next(
        j for j in h.fleet.jobs if j.status == "IN_PROGRESS" and j.tasks.counts()["IN_PROGRESS"]
    )
    before = h.fleet.task_status_counts(job.job_id)
    await h.ok("CancelOTATaskByJob", {"JobId": job.job_id, "CancelInProgressTask": "True"})
    after = h.fleet.task_status_counts(job.job_id)
    listed = await h.ok(
        "ListOTATaskByJob",
        {"JobId": job.job_id, "TaskStatus": "IN_PROGRESS", "CurrentPage": 1, "PageSize": 100},
    )
    assert after["IN_PROGRESS"] == 0
    assert after["CANCELED"] == before["CANCELED"] + before["IN_PROGRESS"]
    assert after["QUEUED"] == before["QUEUED"]
    assert listed["Total"] == 0


async def test_cancel_task_by_job_needs_a_flag(h: Harness) -> None:
    body = await h.call(
        "CancelOTATaskByJob", {"JobId": h.fleet.jobs[0].job_id, "CancelQueuedTask": "false"}
    )
    assert body["Success"] is False


async def test_cancel_queued_also_cancels_unconfirmed_unless_told_otherwise(h: Harness) -> None:
    firmware = h.usable_firmware()
    first = await h.create_specific(firmware, h.free_devices(firmware, 2), NeedConfirm="true")
    await h.ok(
        "CancelOTATaskByJob",
        {"JobId": first.job_id, "CancelQueuedTask": "true", "CancelUnconfirmedTask": "false"},
    )
    kept = h.fleet.task_status_counts(first.job_id)["CONFIRM"]
    await h.ok("CancelOTATaskByJob", {"JobId": first.job_id, "CancelQueuedTask": "true"})
    assert kept == 2
    assert h.fleet.task_status_counts(first.job_id)["CANCELED"] == 2


async def test_cancel_task_by_device_frees_the_device(h: Harness) -> None:
    firmware = h.usable_firmware()
    names = h.free_devices(firmware, 1)
    job = await h.create_specific(firmware, names)
    await h.ok(
        "CancelOTATaskByDevice",
        {
            "ProductKey": firmware.product_key,
            "FirmwareId": firmware.firmware_id,
            "DeviceName.1": names[0],
            "JobId": job.job_id,
        },
    )
    again = await h.create_specific(firmware, names)
    assert h.fleet.task_status_counts(job.job_id)["CANCELED"] == 1
    assert len(again.tasks) == 1


async def test_confirm_moves_confirm_tasks_to_queued(h: Harness) -> None:
    firmware = h.usable_firmware()
    job = await h.create_specific(firmware, h.free_devices(firmware, 2), NeedConfirm="True")
    task_ids = h.fleet.task_ids(job.job_id)
    assert h.fleet.task_status_counts(job.job_id)["CONFIRM"] == 2
    await h.ok("ConfirmOTATask", {"TaskId.1": task_ids[0]})
    listed = await h.ok("ListOTATaskByJob", {"JobId": job.job_id, "CurrentPage": 1, "PageSize": 10})
    statuses = {t["TaskId"]: t["TaskStatus"] for t in listed["Data"]["SimpleOTATaskInfo"]}
    assert statuses == {task_ids[0]: "QUEUED", task_ids[1]: "CONFIRM"}


async def test_confirm_unknown_task_is_refused(h: Harness) -> None:
    body = await h.call("ConfirmOTATask", {"TaskId.1": "nope"})
    assert body["Code"] == "iot.ota.TaskNotExist"


async def test_confirm_accepts_at_most_ten_tasks(h: Harness) -> None:
    params = {f"TaskId.{i}": h.fleet.task_ids(h.fleet.jobs[0].job_id)[0] for i in range(1, 12)}
    body = await h.call("ConfirmOTATask", params)
    assert body["Success"] is False


async def test_reupgrade_requeues_a_failed_task(h: Harness) -> None:
    job = next(
        j
        for j in h.fleet.jobs
        if j.status == "COMPLETED"
        and any(
            code == 5
            and h.fleet.busy_owner(
                h.fleet.products[j.product_index], j.tasks.devices[row], j.module_key
            )
            is None
            for row, code in enumerate(j.tasks.status)
        )
    )
    product = h.fleet.products[job.product_index]
    row = next(
        r
        for r, code in enumerate(job.tasks.status)
        if code == 5 and h.fleet.busy_owner(product, job.tasks.devices[r], job.module_key) is None
    )
    task_id = h.fleet.task_id(job, row)
    await h.ok("ReupgradeOTATask", {"JobId": job.job_id, "TaskId.1": task_id})
    listed = await h.ok(
        "ListOTATaskByJob",
        {"JobId": job.job_id, "TaskStatus": "QUEUED", "CurrentPage": 1, "PageSize": 100},
    )
    query = await h.ok("QueryOTAJob", {"JobId": job.job_id})
    again = await h.call("ReupgradeOTATask", {"JobId": job.job_id, "TaskId.1": task_id})
    assert task_id in {t["TaskId"] for t in listed["Data"]["SimpleOTATaskInfo"]}
    assert query["Data"]["JobStatus"] == "IN_PROGRESS"
    assert again["Code"] == "iot.ota.InvalidTaskStatus"


async def test_mutated_task_gets_a_fresh_modification_time(h: Harness) -> None:
    firmware = h.usable_firmware()
    job = await h.create_specific(firmware, h.free_devices(firmware, 1))
    h.clock.advance(3600)
    await h.ok("CancelOTATaskByJob", {"JobId": job.job_id, "CancelQueuedTask": "true"})
    listed = await h.ok("ListOTATaskByJob", {"JobId": job.job_id, "CurrentPage": 1, "PageSize": 10})
    (task,) = listed["Data"]["SimpleOTATaskInfo"]
    assert task["TaskStatus"] == "CANCELED"
    assert task["TaskDesc"] == "Canceled by user."
    assert task["UtcModified"] > task["UtcCreate"]


# ----------------------------------------------------------------- firmware


async def test_create_query_modify_delete_firmware(h: Harness) -> None:
    product = h.fleet.products[0]
    upload = await h.ok("GenerateOTAUploadURL", {"FileSuffix": "zip"})
    url = upload["Data"]["FirmwareUrl"]
    created = await h.ok(
        "CreateOTAFirmware",
        {
            "FirmwareName": "lock-fw-9",
            "DestVersion": "9.0.0",
            "FirmwareUrl": url,
            "ProductKey": product.key,
            "NeedToVerify": "false",
        },
    )
    firmware_id = created["Data"]["FirmwareId"]
    queried = await h.ok("QueryOTAFirmware", {"FirmwareId": firmware_id})
    await h.ok(
        "ModifyOTAFirmware",
        {"FirmwareId": firmware_id, "ProductKey": product.key, "FirmwareDesc": "renamed"},
    )
    listed = await h.ok(
        "ListOTAFirmware", {"CurrentPage": 1, "PageSize": 100, "DestVersion": "9.0.0"}
    )
    await h.ok("DeleteOTAFirmware", {"FirmwareId": firmware_id})
    gone = await h.call("QueryOTAFirmware", {"FirmwareId": firmware_id})
    assert url.endswith(".zip") and upload["Data"]["ObjectStorage"] == "OSS"
    assert queried["FirmwareInfo"]["Status"] == -1 and queried["FirmwareInfo"]["FirmwareUrl"] == url
    assert listed["FirmwareInfo"]["SimpleFirmwareInfo"][0]["FirmwareDesc"] == "renamed"
    assert listed["FirmwareInfo"]["SimpleFirmwareInfo"][0]["Status"] == 0
    assert gone["Code"] == "iot.ota.FirmwareNotExist"


async def test_firmware_names_are_unique(h: Harness) -> None:
    name = next(iter(h.fleet.firmware.values())).name
    body = await h.call(
        "CreateOTAFirmware",
        {"FirmwareName": name, "DestVersion": "1", "FirmwareUrl": "https://x/y.bin"},
    )
    assert body["Code"] == "iot.ota.FirmwareNameExisted"


async def test_delta_firmware_needs_a_different_src_version(h: Harness) -> None:
    missing = await h.call(
        "CreateOTAFirmware",
        {"FirmwareName": "d1", "DestVersion": "2", "FirmwareUrl": "https://x", "Type": 1},
    )
    same = await h.call(
        "CreateOTAFirmware",
        {
            "FirmwareName": "d1",
            "DestVersion": "2",
            "FirmwareUrl": "https://x",
            "Type": 1,
            "SrcVersion": "2",
        },
    )
    assert missing["Code"] == "MissingSrcVersion"
    assert same["Code"] == "iot.check.InvalidFormattedParameter"


async def test_multi_file_firmware_lists_its_files(h: Harness) -> None:
    created = await h.ok(
        "CreateOTAFirmware",
        {
            "FirmwareName": "multi",
            "DestVersion": "3.0",
            "MultiFiles.1.Name": "a",
            "MultiFiles.1.Url": "https://x/a",
            "MultiFiles.2.Name": "b",
            "MultiFiles.2.Url": "https://x/b",
            "MultiFiles.2.Size": 99,
        },
    )
    queried = await h.ok("QueryOTAFirmware", {"FirmwareId": created["Data"]["FirmwareId"]})
    files = queried["FirmwareInfo"]["MultiFiles"]
    assert [f["Name"] for f in files] == ["a", "b"] and files[1]["Size"] == 99
    assert "FirmwareUrl" not in queried["FirmwareInfo"]


async def test_firmware_with_a_running_batch_cannot_be_deleted(h: Harness) -> None:
    job = next(j for j in h.fleet.jobs if j.status == "IN_PROGRESS")
    body = await h.call("DeleteOTAFirmware", {"FirmwareId": job.firmware_id})
    assert body["Code"] == "iot.ota.FirmwareInUse"
    assert job.firmware_id in h.fleet.firmware


# ----------------------------------------------------------------- modules


async def test_module_create_update_list_delete(h: Harness) -> None:
    product = h.fleet.products[0]
    await h.ok(
        "CreateOTAModule", {"ProductKey": product.key, "ModuleName": "Radio", "AliasName": "radio"}
    )
    duplicate = await h.call("CreateOTAModule", {"ProductKey": product.key, "ModuleName": "radio"})
    await h.ok(
        "UpdateOTAModule", {"ProductKey": product.key, "ModuleName": "radio", "Desc": "LTE radio"}
    )
    listed = await h.ok("ListOTAModuleByProduct", {"ProductKey": product.key}, method="GET")
    await h.ok("DeleteOTAModule", {"ProductKey": product.key, "ModuleName": "Radio"})
    after = await h.ok("ListOTAModuleByProduct", {"ProductKey": product.key}, method="GET")
    assert duplicate["Code"] == "iot.ota.ModuleNameExisted"
    assert {"ModuleName": "Radio", "Desc": "LTE radio"}.items() <= next(
        m for m in listed["Data"] if m["ModuleName"] == "Radio"
    ).items()
    assert "Radio" not in {m["ModuleName"] for m in after["Data"]}


async def test_default_module_and_modules_with_packages_cannot_be_deleted(h: Harness) -> None:
    firmware = next(f for f in h.fleet.firmware.values() if f.module_name != "default")
    default = await h.call(
        "DeleteOTAModule", {"ProductKey": firmware.product_key, "ModuleName": "default"}
    )
    used = await h.call(
        "DeleteOTAModule", {"ProductKey": firmware.product_key, "ModuleName": firmware.module_name}
    )
    assert default["Code"] == "iot.ota.DefaultModuleCannotDelete"
    assert used["Code"] == "iot.ota.ModuleHasFirmware"


async def test_at_most_ten_custom_modules(h: Harness) -> None:
    product = h.fleet.products[0]
    custom = sum(1 for m in product.modules.values() if not m.is_default)
    for i in range(10 - custom):
        await h.ok("CreateOTAModule", {"ProductKey": product.key, "ModuleName": f"m{i}"})
    body = await h.call(
        "CreateOTAModule", {"ProductKey": product.key, "ModuleName": "one-too-many"}
    )
    assert body["Code"] == "iot.ota.ModuleCountExceeded"


async def test_module_versions_by_device(h: Harness) -> None:
    product = h.fleet.products[0]
    body = await h.ok(
        "ListOTAModuleVersionsByDevice",
        {
            "ProductKey": product.key,
            "DeviceName": product.device_name(3),
            "CurrentPage": 1,
            "PageSize": 200,
        },
    )
    items = body["Data"]["SimpleOTAModuleInfo"]
    assert {i["ModuleName"] for i in items} == {m.name for m in product.modules.values()}
    assert all(i["ModuleVersion"] in product.versions[i["ModuleName"].lower()] for i in items)


# ----------------------------------------------------------------- device lists


async def test_device_list_file_drives_a_specific_job(h: Harness) -> None:
    firmware = h.usable_firmware()
    names = h.free_devices(firmware, 4)
    ticket = await h.ok("GenerateDeviceNameListURL")
    url = ticket["Data"]["FileUrl"]
    not_uploaded = await h.call(
        "CreateOTAStaticUpgradeJob",
        {
            "FirmwareId": firmware.firmware_id,
            "ProductKey": firmware.product_key,
            "TargetSelection": "SPECIFIC",
            "DnListFileUrl": url,
        },
    )
    h.app.upload_device_list(url, names)
    created = await h.ok(
        "CreateOTAStaticUpgradeJob",
        {
            "FirmwareId": firmware.firmware_id,
            "ProductKey": firmware.product_key,
            "TargetSelection": "SPECIFIC",
            "DnListFileUrl": url,
        },
    )
    job = h.fleet.jobs_by_id[created["Data"]["JobId"]]
    assert not_uploaded["Code"] == "iot.ota.DeviceListFileNotExist"
    assert {"AccessKeyId", "Policy", "Signature", "Host", "Key"} <= set(ticket["Data"])
    assert len(job.tasks) == 4
