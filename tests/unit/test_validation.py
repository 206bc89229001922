"""Bad arguments are refused with ValidationError before anything is sent."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import pytest

from otaclient import OTAClient, OTAError, ValidationError

from ._helpers import Recorder, make_client

pytestmark = pytest.mark.anyio

Call = Callable[[OTAClient], Awaitable[Any]]


def _static_job(**overrides: Any) -> Call:
    arguments: dict[str, Any] = {
        "firmware_id": "167",
        "product_key": "pk",
        "target_selection": "ALL",
    }
    arguments.update(overrides)
    return lambda c: c.create_ota_static_upgrade_job(**arguments)


REFUSED: dict[str, tuple[Call, str]] = {
    # paging
    "ListOTAFirmware page_size 101": (lambda c: c.list_ota_firmware(page_size=101), "page_size"),
    "ListOTAJobByFirmware page_size 201": (
        lambda c: c.list_ota_job_by_firmware(firmware_id="f", page_size=201),
        "page_size",
    ),
    "ListOTAJobByDevice page_size 101": (
        lambda c: c.list_ota_job_by_device(
            firmware_id="f", product_key="p", device_name="d", page_size=101
        ),
        "page_size",
    ),
    "ListOTATaskByJob page_size 101": (
        lambda c: c.list_ota_task_by_job(job_id="j", page_size=101),
        "page_size",
    ),
    "page_size 0": (lambda c: c.list_ota_firmware(page_size=0), "page_size"),
    "current_page 0": (lambda c: c.list_ota_firmware(current_page=0), "current_page"),
    "current_page -1": (
        lambda c: c.list_ota_job_by_firmware(firmware_id="f", current_page=-1),
        "current_page",
    ),
    "ListOTATaskByJob beyond offset 100000": (
        lambda c: c.list_ota_task_by_job(job_id="j", current_page=1001, page_size=100),
        "100000",
    ),
    # required arguments
    "firmware_id None": (
        lambda c: c.list_ota_job_by_firmware(firmware_id=None),  # type: ignore[arg-type]
        "firmware_id",
    ),
    "firmware_id empty": (lambda c: c.list_ota_job_by_firmware(firmware_id=""), "firmware_id"),
    "device_name None": (
        lambda c: c.list_ota_job_by_device(firmware_id="f", product_key="p", device_name=None),  # type: ignore[arg-type]
        "device_name",
    ),
    "product_key empty": (_static_job(product_key=""), "product_key"),
    "target_selection None": (_static_job(target_selection=None), "target_selection"),
    "task_ids empty": (lambda c: c.confirm_ota_task(task_ids=[]), "task_ids"),
    "no device for unfinished tasks": (
        lambda c: c.list_ota_unfinished_task_by_device(product_key="pk"),
        "iot_id",
    ),
    # shapes
    "str where a list belongs": (_static_job(src_versions="1.0.0"), "src_versions"),
    "str task_ids": (lambda c: c.confirm_ota_task(task_ids="t1"), "task_ids"),
    "int where a str belongs": (
        lambda c: c.list_ota_job_by_firmware(firmware_id=167),  # type: ignore[arg-type]
        "firmware_id",
    ),
    "bool where an int belongs": (_static_job(timeout_in_minutes=True), "timeout_in_minutes"),
    "eleven TaskId": (
        lambda c: c.confirm_ota_task(task_ids=[f"t{n}" for n in range(11)]),
        "task_ids",
    ),
    "eleven tags": (_static_job(tags=[(f"k{n}", "v") for n in range(11)]), "tags"),
    # times
    "naive schedule_time": (_static_job(schedule_time=datetime(2030, 1, 1)), "schedule_time"),
    "schedule_time in seconds": (_static_job(schedule_time=1_893_456_000), "schedule_time"),
    "schedule_time as text": (_static_job(schedule_time="2030-01-01"), "schedule_time"),
    # enumerations and documented values
    "unknown target_selection": (_static_job(target_selection="everyone"), "target_selection"),
    "unknown task_status": (
        lambda c: c.list_ota_task_by_job(job_id="j", task_status="DONE"),
        "task_status",
    ),
    "unknown task_status_list item": (
        lambda c: c.list_ota_unfinished_task_by_device(
            iot_id="i", task_status_list=["QUEUED", "x"]
        ),
        "task_status_list",
    ),
    "unknown download_protocol": (_static_job(download_protocol="FTP"), "download_protocol"),
    "retry_interval not documented": (
        _static_job(retry_interval=5, retry_count=1),
        "retry_interval",
    ),
    "timeout_in_minutes above 1440": (_static_job(timeout_in_minutes=1441), "timeout_in_minutes"),
    # cross-field rules
    "GRAY without gray_percent": (_static_job(target_selection="gray"), "gray_percent"),
    "GROUP without group_id": (
        _static_job(target_selection="GROUP", group_type="LINK_PLATFORM"),
        "group_id",
    ),
    "SPECIFIC without devices": (_static_job(target_selection="SPECIFIC"), "target_device_names"),
    "retry_interval without retry_count": (_static_job(retry_interval=60), "retry_count"),
    "cancel without a flag": (lambda c: c.cancel_ota_task_by_job(job_id="j"), "cancel_"),
}


@pytest.mark.parametrize("name", REFUSED)
async def test_refused_before_any_request(name: str) -> None:
    call, mentioned = REFUSED[name]
    recorder = Recorder()
    async with make_client(recorder) as client:
        with pytest.raises(ValidationError) as caught:
            await call(client)
    assert recorder.requests == []
    assert mentioned in str(caught.value)


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.iter_ota_firmware(page_size=101),
        lambda c: c.iter_ota_job_by_firmware(firmware_id="f", page_size=201),
        lambda c: c.iter_ota_job_by_firmware(firmware_id=""),
        lambda c: c.iter_ota_job_by_device(firmware_id="f", product_key=None, device_name="d"),
        lambda c: c.iter_ota_task_by_job(job_id="j", task_status="bogus"),
    ],
    ids=["page_size", "page_size-200", "empty-firmware_id", "None-product_key", "bad-enum"],
)
async def test_iter_refuses_bad_arguments_before_any_request(
    call: Callable[[OTAClient], Any],
) -> None:
    recorder = Recorder()
    async with make_client(recorder) as client:
        with pytest.raises(ValidationError):
            async for _ in call(client):
                pass
    assert recorder.requests == []


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.list_ota_firmware(page_size=100),
        lambda c: c.list_ota_job_by_firmware(firmware_id="f", page_size=200),
        lambda c: c.list_ota_task_by_job(job_id="j", current_page=1000, page_size=100),
        lambda c: c.confirm_ota_task(task_ids=[f"t{n}" for n in range(10)]),
        _static_job(target_selection="GRAY", gray_percent="33"),
        _static_job(retry_interval=60, retry_count=1),
    ],
    ids=["page_size-100", "page_size-200", "offset-100000", "ten-TaskId", "GRAY", "retry"],
)
async def test_limits_themselves_are_allowed(call: Call) -> None:
    recorder = Recorder()
    async with make_client(recorder) as client:
        await call(client)
    assert len(recorder.requests) == 1


async def test_validation_error_is_an_ota_error_and_a_value_error() -> None:
    async with make_client(Recorder()) as client:
        with pytest.raises(ValidationError) as caught:
            await client.list_ota_firmware(page_size=101)
    assert isinstance(caught.value, OTAError)
    assert isinstance(caught.value, ValueError)
    assert "ListOTAFirmware" in str(caught.value)


async def test_leaving_out_a_required_keyword_is_a_type_error() -> None:
    recorder = Recorder()
    async with make_client(recorder) as client:
        with pytest.raises(TypeError):
            await client.list_ota_job_by_firmware()  # type: ignore[call-arg]
        with pytest.raises(TypeError):
            await client.create_ota_static_upgrade_job(firmware_id="f", product_key="p")  # type: ignore[call-arg]
    assert recorder.requests == []


async def test_positional_arguments_are_refused() -> None:
    async with make_client(Recorder()) as client:
        with pytest.raises(TypeError):
            await client.list_ota_job_by_firmware("167")  # type: ignore[call-arg]


@pytest.mark.parametrize(
    "options",
    [
        {"endpoint": None},
        {"endpoint": "ftp://ota.test"},
        {"response_format": "yaml"},
        {"qps": 0},
        {"qps": -1.0},
    ],
    ids=["no-endpoint", "ftp-endpoint", "yaml", "qps-0", "qps-negative"],
)
def test_bad_client_options_are_refused(options: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        make_client(Recorder(), **options)
