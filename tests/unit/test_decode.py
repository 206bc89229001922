"""Decoding the seeds' sample bodies (both dialects, JSON and XML) through the client."""

from __future__ import annotations

import operator
from datetime import UTC, datetime
from typing import Any

import pytest

from otaclient import (
    CreatedJob,
    Firmware,
    JobStatus,
    JobType,
    OTAJob,
    OTATag,
    OTATask,
    Page,
    SelectionType,
    SignMethod,
    TargetSelection,
    TaskStatus,
)

from ._helpers import fixture_bytes, fixture_json, make_client, serve

pytestmark = pytest.mark.anyio


def _utc(*parts: int) -> datetime:
    return datetime(*parts).replace(tzinfo=UTC)  # type: ignore[arg-type]


# The seed fixtures answer requests of PageSize=10: a page size other than the one asked
# for is refused, so the helpers ask for that one.
FIXTURE_PAGE_SIZE = 10


async def _list_firmware(body: bytes | dict[str, Any]) -> Page[Firmware]:
    async with make_client(serve(body)) as client:
        return await client.list_ota_firmware(page_size=FIXTURE_PAGE_SIZE)


async def _jobs_by_firmware(body: bytes | dict[str, Any]) -> Page[OTAJob]:
    async with make_client(serve(body)) as client:
        return await client.list_ota_job_by_firmware(firmware_id="125", page_size=FIXTURE_PAGE_SIZE)


async def _jobs_by_device(
    body: bytes | dict[str, Any], fmt: str = "json", page_size: int = FIXTURE_PAGE_SIZE
) -> Page[OTAJob]:
    async with make_client(serve(body), response_format=fmt) as client:
        return await client.list_ota_job_by_device(
            firmware_id="FJFx8JzpnhpIsKftRjjm03****",
            product_key="a19mzPZ****",
            device_name="light",
            page_size=page_size,
        )


async def _unfinished_tasks(body: bytes | dict[str, Any]) -> list[OTATask]:
    async with make_client(serve(body)) as client:
        return await client.list_ota_unfinished_task_by_device(
            product_key="k1nhvyl****", device_name="blelight1"
        )


async def _create_job(body: bytes | dict[str, Any]) -> CreatedJob:
    async with make_client(serve(body)) as client:
        return await client.create_ota_static_upgrade_job(
            firmware_id="167", product_key="k1nhvyl****", target_selection="ALL"
        )


# --------------------------------------------------------------------------- seed 000


async def test_seed000_jobs_by_firmware_page() -> None:
    page = await _jobs_by_firmware(fixture_bytes("seed000_list_ota_job_by_firmware.json"))
    assert (page.total, page.page_count, page.current_page, page.page_size) == (1, 1, 1, 10)
    assert page.request_id == "78159f9b-5b3c-446c-b51a-28d701f7de88"
    assert len(page.items) == 1


async def test_seed000_job_fields() -> None:
    page = await _jobs_by_firmware(fixture_bytes("seed000_list_ota_job_by_firmware.json"))
    job = page.items[0]
    assert isinstance(job, OTAJob)
    assert job.firmware_id == "125"
    assert job.job_id == "183414358556252****"
    assert job.job_status == "COMPLETED"
    assert job.job_status is JobStatus.COMPLETED
    assert job.job_type is JobType.UPGRADE_FIRMWARE
    assert job.product_key == "k1h9drZ****"
    assert job.selection_type is SelectionType.STATIC
    assert job.target_selection is TargetSelection.SPECIFIC
    assert job.utc_create == _utc(2024, 9, 12, 8, 14, 42, 214000)
    assert job.utc_modified == _utc(2024, 9, 12, 8, 14, 42, 214000)


async def test_seed000_fields_absent_from_the_body_are_none_and_tags_empty() -> None:
    page = await _jobs_by_firmware(fixture_bytes("seed000_list_ota_job_by_firmware.json"))
    job = page.items[0]
    assert job.utc_start_time is None
    assert job.utc_end_time is None
    assert job.tags == []


# --------------------------------------------------------------------------- seed 001


async def test_seed001_firmware_page() -> None:
    page = await _list_firmware(fixture_bytes("seed001_list_ota_firmware.json"))
    assert (page.total, page.page_count, page.current_page, page.page_size) == (1, 1, 1, 10)
    assert page.request_id == "07e1524e-edba-4316-8c83-8714dfaf5b90"


async def test_seed001_firmware_fields() -> None:
    page = await _list_firmware(fixture_bytes("seed001_list_ota_firmware.json"))
    (firmware,) = page.items
    assert firmware == Firmware(
        firmware_id="167",
        firmware_name="bleFirmware1",
        firmware_desc="this is firmware",
        firmware_sign="3d04ab6462633508606e5f3daac8****",
        firmware_size=924,
        sign_method="MD5",
        src_version="1.0.0",
        dest_version="1.0.1",
        module_name="ble",
        product_key="k1nhvyl****",
        product_name="ble1",
        status=0,
        type=0,
        utc_create=_utc(2024, 11, 11, 11, 11, 11),
        utc_modified=_utc(2024, 11, 11, 11, 11, 11),
    )
    assert firmware.sign_method is SignMethod.MD5


@pytest.mark.parametrize("size", [924, "924", " 924 "])
async def test_integers_decode_from_numbers_and_numeric_strings(size: Any) -> None:
    body = fixture_json("seed001_list_ota_firmware.json")
    item = body["firmwareInfo"]["simpleFirmwareInfo"][0]
    item.update(firmwareSize=size, status=str(item["status"]), type="1")
    body.update(total="1", pageSize="10", currentPage="1", pageCount="1")
    page = await _list_firmware(body)
    firmware = page.items[0]
    assert firmware.firmware_size == 924
    assert type(firmware.firmware_size) is int
    assert (firmware.status, firmware.type) == (0, 1)
    assert (page.total, page.page_size) == (1, 10)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-11-11T11:11:11.000Z", _utc(2024, 11, 11, 11, 11, 11)),
        ("2019-12-28 T02:43:10.000Z", _utc(2019, 12, 28, 2, 43, 10)),  # the doc tables' spacing
        ("2024-09-11T03:40:02.734Z", _utc(2024, 9, 11, 3, 40, 2, 734000)),
        ("2024-09-11T11:40:02+08:00", _utc(2024, 9, 11, 3, 40, 2)),
    ],
)
async def test_times_decode_to_aware_utc_datetimes(text: str, expected: datetime) -> None:
    body = fixture_json("seed001_list_ota_firmware.json")
    body["firmwareInfo"]["simpleFirmwareInfo"][0]["utcCreate"] = text
    firmware = (await _list_firmware(body)).items[0]
    assert firmware.utc_create == expected
    assert firmware.utc_create is not None
    assert firmware.utc_create.utcoffset() is not None
    assert firmware.utc_create.utcoffset().total_seconds() == 0  # type: ignore[union-attr]


async def test_firmware_without_a_src_version_has_none() -> None:
    body = fixture_json("seed001_list_ota_firmware.json")
    del body["firmwareInfo"]["simpleFirmwareInfo"][0]["srcVersion"]
    firmware = (await _list_firmware(body)).items[0]
    assert firmware.src_version is None
    assert firmware.dest_version == "1.0.1"


# --------------------------------------------------------------------------- seed 002


async def test_seed002_unfinished_task_fields() -> None:
    tasks = await _unfinished_tasks(
        fixture_bytes("seed002_list_ota_unfinished_task_by_device.json")
    )
    assert isinstance(tasks, list)
    (task,) = tasks
    assert task == OTATask(
        task_id="183371207782747****",
        job_id="183371207742901****",
        firmware_id="123",
        iot_id="OZs5tjTkzRRTZSCekmbRk1****",
        product_key="k1h9drZ****",
        product_name="testProduct1",
        device_name="device_actived",
        module_name="ble",
        src_version="1.8",
        dest_version="3.9.0",
        task_status="NOTIFIED",
        utc_create=_utc(2024, 9, 11, 3, 40, 2, 734000),
        utc_modified=_utc(2024, 9, 11, 6, 27, 24, 649000),
    )
    assert task.task_status is TaskStatus.NOTIFIED
    assert (task.progress, task.task_desc, task.timeout) == (None, None, None)


async def test_doc_table_key_spellings_decode_like_the_wire_ones() -> None:
    # Seeds 000-003 tables spell FirmwareID, IoTID, JobID, TaskID, RequestID.
    body = {
        "RequestID": "A59D3BE1-E9A3-43F3-9B50-B7C8DE165D9B",
        "Success": True,
        "Data": {
            "SimpleOTATaskInfo": [
                {
                    "FirmwareID": "167",
                    "IoTID": "And****",
                    "JobID": "183634077921266****",
                    "TaskID": "183634077949482****",
                    "TaskStatus": "CONFIRM",
                }
            ]
        },
    }
    (task,) = await _unfinished_tasks(body)
    assert (task.firmware_id, task.iot_id, task.job_id, task.task_id) == (
        "167",
        "And****",
        "183634077921266****",
        "183634077949482****",
    )
    assert task.task_status is TaskStatus.CONFIRM


async def test_request_id_key_spellings() -> None:
    body = fixture_json("seed000_list_ota_job_by_firmware.json")
    body["RequestID"] = body.pop("requestId")
    page = await _jobs_by_firmware(body)
    assert page.request_id == "78159f9b-5b3c-446c-b51a-28d701f7de88"


# --------------------------------------------------------------------------- seed 003


async def test_seed003_created_job_id_comes_from_the_firmware_id_quirk() -> None:
    job = await _create_job(fixture_bytes("seed003_create_ota_static_upgrade_job.json"))
    assert job.job_id == "183634077921266****"
    assert job.utc_create == _utc(2024, 11, 20, 8, 50, 0, 239000)
    assert job.request_id == "d2fce065-8238-4ee2-a793-0226f69b0542"


@pytest.mark.parametrize("key", ["JobId", "jobId", "JobID"])
async def test_created_job_id_comes_from_job_id(key: str) -> None:
    body = {
        "RequestId": "r1",
        "Success": True,
        "Data": {key: "HvKuBpuk3rdk6E92CP****", "UtcCreate": "2019-12-28T02:43:10.000Z"},
    }
    job = await _create_job(body)
    assert job.job_id == "HvKuBpuk3rdk6E92CP****"
    assert job.utc_create == _utc(2019, 12, 28, 2, 43, 10)


async def test_created_job_id_prefers_job_id_over_firmware_id() -> None:
    body = {
        "requestId": "r1",
        "success": True,
        "data": {"firmwareId": "167", "jobId": "183634077921266****"},
    }
    job = await _create_job(body)
    assert job.job_id == "183634077921266****"


# --------------------------------------------------------------------------- seed 004


async def test_seed004_json_job_fields() -> None:
    page = await _jobs_by_device(fixture_bytes("seed004_list_ota_job_by_device.json"))
    assert (page.total, page.page_count, page.current_page, page.page_size) == (1, 1, 1, 10)
    assert page.request_id == "5D58AC86-D5BF-4B39-834E-913E7F2C985D"
    (job,) = page.items
    assert job == OTAJob(
        job_id="HvKuBpuk3rdk6E92CPQN02****",
        firmware_id="FJFx8JzpnhpIsKftRjjm03****",
        job_status="IN_PROGRESS",
        job_type="UPGRADE_FIRMWARE",
        product_key="a19mzPZ****",
        selection_type="STATIC",
        target_selection="SPECIFIC",
        utc_create=_utc(2019, 12, 28, 2, 43, 10),
        utc_modified=_utc(2019, 12, 28, 2, 43, 10),
        utc_start_time=_utc(2019, 12, 28, 2, 43, 10),
        utc_end_time=None,
        tags=[],
    )
    assert job.job_status is JobStatus.IN_PROGRESS


async def test_seed004_xml_decodes_like_its_json() -> None:
    from_xml = await _jobs_by_device(fixture_bytes("seed004_list_ota_job_by_device.xml"), "xml")
    from_json = await _jobs_by_device(fixture_bytes("seed004_list_ota_job_by_device.json"))
    assert from_xml == from_json


async def test_a_one_element_xml_list_is_still_a_list() -> None:
    page = await _jobs_by_device(fixture_bytes("seed004_list_ota_job_by_device.xml"), "xml")
    assert isinstance(page.items, list)
    assert [job.job_id for job in page.items] == ["HvKuBpuk3rdk6E92CPQN02****"]


async def test_both_dialects_decode_to_the_same_model() -> None:
    camel = fixture_json("seed000_list_ota_job_by_firmware.json")
    item = camel["data"]["simpleOTAJobInfo"][0]
    pascal = {
        "RequestId": camel["requestId"],
        "Success": True,
        "CurrentPage": 1,
        "PageSize": 10,
        "PageCount": 1,
        "Total": 1,
        "Data": {"SimpleOTAJobInfo": [{k[0].upper() + k[1:]: v for k, v in item.items()}]},
    }
    assert await _jobs_by_firmware(camel) == await _jobs_by_firmware(pascal)


# --------------------------------------------------------------------------- enums and tags


async def test_documented_variant_spellings_decode_to_the_canonical_members() -> None:
    # Issue 13 reversed what this test pinned (variants stayed raw strings): one batch, one
    # spelling. The member still equals the variant the service sent (CONTRACT: compares
    # equal to the wire value).
    page = await _jobs_by_device(fixture_bytes("aliyun_list_ota_job_by_device_tags.json"))
    job = page.items[0]
    assert job.job_status == "COMPLETE"
    assert job.job_status is JobStatus.COMPLETED
    assert job.job_type == "VERFIY_FIRMWARE"
    assert job.job_type is JobType.VERIFY_FIRMWARE
    assert job.target_selection is TargetSelection.GRAY


@pytest.mark.parametrize(
    ("field", "sent", "member"),
    [
        ("jobStatus", "COMPLETE", JobStatus.COMPLETED),
        ("jobStatus", "complete", JobStatus.COMPLETED),
        ("jobStatus", "COMPLETED", JobStatus.COMPLETED),
        ("jobType", "VERFIY_FIRMWARE", JobType.VERIFY_FIRMWARE),
        ("jobType", "VERIFY_FIRMWARE", JobType.VERIFY_FIRMWARE),
    ],
)
async def test_each_spelling_of_a_value_decodes_to_one_member(
    field: str, sent: str, member: JobStatus | JobType
) -> None:
    body = fixture_json("seed000_list_ota_job_by_firmware.json")
    body["data"]["simpleOTAJobInfo"][0][field] = sent
    job = (await _jobs_by_firmware(body)).items[0]
    assert getattr(job, "job_status" if field == "jobStatus" else "job_type") is member
    assert str(member) == member.value


async def test_a_job_status_the_library_does_not_know_stays_the_raw_string() -> None:
    body = fixture_json("seed000_list_ota_job_by_firmware.json")
    body["data"]["simpleOTAJobInfo"][0]["jobStatus"] = "PAUSED"
    job = (await _jobs_by_firmware(body)).items[0]
    assert job.job_status == "PAUSED"
    assert type(job.job_status) is str


def test_canonical_members_equal_their_variants_both_ways_and_are_found_by_them() -> None:
    # operator.eq/ne: both operand orders, spelled out (a linter would flip one of them).
    assert operator.eq(JobStatus.COMPLETED, "COMPLETE")
    assert operator.eq("COMPLETE", JobStatus.COMPLETED)
    assert operator.ne(JobStatus.COMPLETED, "COMPLETE") is False
    assert operator.ne("COMPLETE", JobStatus.COMPLETED) is False
    assert JobStatus.COMPLETED != "IN_PROGRESS"
    assert JobStatus("COMPLETE") is JobStatus.COMPLETED
    assert JobType("VERFIY_FIRMWARE") is JobType.VERIFY_FIRMWARE
    assert hash(JobStatus.COMPLETED) == hash("COMPLETED")
    with pytest.raises(ValueError, match="PAUSED"):
        JobStatus("PAUSED")


async def test_mixed_case_enum_values_decode_to_members() -> None:
    # Seed 003 prints TargetSelection values as "All", "Gray", ...
    body = fixture_json("seed000_list_ota_job_by_firmware.json")
    body["data"]["simpleOTAJobInfo"][0].update(targetSelection="All", jobStatus="in_progress")
    job = (await _jobs_by_firmware(body)).items[0]
    assert job.target_selection is TargetSelection.ALL
    assert job.job_status is JobStatus.IN_PROGRESS


async def test_json_tags_become_ota_tags() -> None:
    page = await _jobs_by_device(fixture_bytes("aliyun_list_ota_job_by_device_tags.json"))
    job = page.items[0]
    assert job.tags == [OTATag(key="key1", value="value1"), OTATag(key="key2", value="value2")]
    assert job.utc_end_time == _utc(2019, 12, 29, 2, 43, 10)


async def test_xml_tags_with_one_several_and_no_elements() -> None:
    page = await _jobs_by_device(fixture_bytes("aliyun_list_ota_job_by_device_tags.xml"), "xml")
    one, two, none = page.items
    assert one.tags == [OTATag(key="key1", value="value1")]
    assert two.tags == [OTATag(key="key1", value="value1"), OTATag(key="key2", value="value2")]
    assert none.tags == []
    assert (one.job_status, two.job_status, none.job_status) == (
        "IN_PROGRESS",
        "COMPLETED",
        "CANCELED",
    )
    assert none.utc_create is None


async def test_json_tags_given_as_a_bare_list() -> None:
    body = fixture_json("seed004_list_ota_job_by_device.json")
    body["Data"]["SimpleOTAJobInfo"][0]["Tags"] = [{"key": "k", "value": "v"}]
    job = (await _jobs_by_device(body)).items[0]
    assert job.tags == [OTATag(key="k", value="v")]


async def test_an_empty_page_decodes_to_no_items() -> None:
    body = {
        "RequestId": "r",
        "Success": True,
        "Total": 0,
        "PageSize": 100,
        "PageCount": 0,
        "CurrentPage": 1,
        "Data": {"SimpleOTAJobInfo": []},
    }
    page = await _jobs_by_device(body, page_size=100)
    assert (page.items, page.total) == ([], 0)


async def test_an_empty_xml_list_decodes_to_no_items() -> None:
    xml = (
        b"<ListOTAJobByDeviceResponse><RequestId>r</RequestId><Success>true</Success>"
        b"<Total>0</Total><PageSize>100</PageSize><PageCount>0</PageCount>"
        b"<CurrentPage>1</CurrentPage><Data></Data></ListOTAJobByDeviceResponse>"
    )
    page = await _jobs_by_device(xml, "xml", page_size=100)
    assert (page.items, page.total, page.page_count) == ([], 0, 0)


async def test_page_count_is_derived_when_the_body_leaves_it_out() -> None:
    body = fixture_json("seed004_list_ota_job_by_device.json")
    del body["PageCount"]
    body.update(Total=25, PageSize=10)
    body["Data"]["SimpleOTAJobInfo"] *= 10  # a full first page, as Total 25 says
    page = await _jobs_by_device(body)
    assert page.page_count == 3


async def test_an_unknown_key_is_ignored() -> None:
    body = fixture_json("seed004_list_ota_job_by_device.json")
    body["Data"]["SimpleOTAJobInfo"][0]["BrandNewField"] = {"nested": [1, 2]}
    job = (await _jobs_by_device(body)).items[0]
    assert job.job_id == "HvKuBpuk3rdk6E92CPQN02****"
