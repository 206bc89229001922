"""What goes on the wire: common parameters, signature, and how each kind of argument is sent.

Every test talks to the client through ``httpx.MockTransport`` and inspects the requests
exactly as they were sent; signatures are recomputed with the test's own signer.
"""

from __future__ import annotations

import calendar
import re
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from otaclient import OTAClient, OTATag, TargetSelection, TaskStatus

from ._helpers import (
    ACCESS_KEY_ID,
    ACCESS_KEY_SECRET,
    Recorder,
    answers,
    make_client,
    ok_body,
    query_of,
    query_pairs,
    signature_verifies,
)

pytestmark = pytest.mark.anyio

COMMON = {
    "Action",
    "Format",
    "Version",
    "AccessKeyId",
    "SignatureMethod",
    "SignatureVersion",
    "SignatureNonce",
    "Timestamp",
    "Signature",
}
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
NONCE = re.compile(r"[0-9a-f]{32}")

Call = Callable[[OTAClient], Awaitable[Any]]


async def _drain(iterator: Any) -> list[Any]:
    return [item async for item in iterator]


# One call of several kinds of action: paged, unpaged list, create, GET, iterated.
CALLS: dict[str, tuple[str, Call]] = {
    "list_ota_firmware": ("ListOTAFirmware", lambda c: c.list_ota_firmware()),
    "list_ota_job_by_firmware": (
        "ListOTAJobByFirmware",
        lambda c: c.list_ota_job_by_firmware(firmware_id="167"),
    ),
    "list_ota_job_by_device": (
        "ListOTAJobByDevice",
        lambda c: c.list_ota_job_by_device(firmware_id="f", product_key="pk", device_name="d"),
    ),
    "list_ota_unfinished_task_by_device": (
        "ListOTAUnfinishedTaskByDevice",
        lambda c: c.list_ota_unfinished_task_by_device(product_key="pk", device_name="d"),
    ),
    "create_ota_static_upgrade_job": (
        "CreateOTAStaticUpgradeJob",
        lambda c: c.create_ota_static_upgrade_job(
            firmware_id="167", product_key="pk", target_selection="ALL"
        ),
    ),
    "list_ota_module_by_product": (
        "ListOTAModuleByProduct",
        lambda c: c.list_ota_module_by_product(product_key="pk"),
    ),
    "iter_ota_job_by_firmware": (
        "ListOTAJobByFirmware",
        lambda c: _drain(c.iter_ota_job_by_firmware(firmware_id="167")),
    ),
}


# --------------------------------------------------------------------------- common parameters


@pytest.mark.parametrize("method", CALLS)
async def test_every_request_carries_the_common_parameters(method: str) -> None:
    action, call = CALLS[method]
    recorder = Recorder()
    async with make_client(recorder) as client:
        await call(client)
    query = recorder.last
    assert query.keys() >= COMMON
    assert query["Action"] == action
    assert query["Format"] == "JSON"
    assert query["Version"] == "2018-01-20"
    assert query["AccessKeyId"] == ACCESS_KEY_ID
    assert query["SignatureMethod"] == "HMAC-SHA1"
    assert query["SignatureVersion"] == "1.0"
    assert NONCE.fullmatch(query["SignatureNonce"])
    assert "SecurityToken" not in query
    assert "IotInstanceId" not in query


@pytest.mark.parametrize("method", CALLS)
async def test_every_request_signature_verifies(method: str) -> None:
    _, call = CALLS[method]
    recorder = Recorder()
    async with make_client(recorder) as client:
        await call(client)
    assert signature_verifies(recorder.requests[-1])


async def test_requests_go_to_the_root_path_with_no_body() -> None:
    recorder = Recorder()
    async with make_client(recorder, endpoint="http://127.0.0.1:8686/") as client:
        await client.list_ota_firmware()
    request = recorder.requests[0]
    assert (request.method, request.url.host, request.url.port) == ("POST", "127.0.0.1", 8686)
    assert request.url.path == "/"
    assert request.content == b""


async def test_region_id_selects_the_regional_endpoint() -> None:
    recorder = Recorder()
    async with make_client(recorder, endpoint=None, region_id="cn-shanghai") as client:
        await client.list_ota_firmware()
    url = recorder.requests[0].url
    assert (url.scheme, url.host, url.path) == ("https", "iot.cn-shanghai.aliyuncs.com", "/")


async def test_list_ota_module_by_product_is_a_get_signed_as_get() -> None:
    recorder = Recorder()
    async with make_client(recorder) as client:
        await client.list_ota_module_by_product(product_key="pk")
    request = recorder.requests[0]
    assert request.method == "GET"
    assert signature_verifies(request)  # recomputed over "GET&%2F&..."


async def test_timestamp_is_the_current_utc_second() -> None:
    recorder = Recorder()
    before = datetime.now(UTC).replace(microsecond=0)
    async with make_client(recorder) as client:
        await client.list_ota_firmware()
    after = datetime.now(UTC)
    stamp = recorder.last["Timestamp"]
    assert TIMESTAMP.fullmatch(stamp)
    sent = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert before <= sent <= after


async def test_each_request_gets_its_own_nonce() -> None:
    recorder = Recorder()
    async with make_client(recorder) as client:
        for _ in range(20):
            await client.list_ota_firmware()
    nonces = [q["SignatureNonce"] for q in recorder.queries]
    assert len(set(nonces)) == 20
    assert all(NONCE.fullmatch(n) for n in nonces)


async def test_response_format_xml_asks_for_xml() -> None:
    xml = (
        b"<ListOTAFirmwareResponse><RequestId>r</RequestId><Success>true</Success>"
        b"<Total>0</Total><PageSize>100</PageSize><PageCount>0</PageCount>"
        b"<CurrentPage>1</CurrentPage><FirmwareInfo/></ListOTAFirmwareResponse>"
    )
    recorder = Recorder(lambda request: httpx.Response(200, content=xml))
    async with make_client(recorder, response_format="xml") as client:
        page = await client.list_ota_firmware()
    assert recorder.last["Format"] == "XML"
    assert page.items == []


# --------------------------------------------------------------------------- credentials


async def test_security_token_is_sent_and_signed_when_given() -> None:
    recorder = Recorder()
    async with make_client(recorder, security_token="sts-token/+=") as client:
        await client.list_ota_firmware()
    assert recorder.last["SecurityToken"] == "sts-token/+="
    assert signature_verifies(recorder.requests[0])


async def test_security_token_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALIBABA_CLOUD_SECURITY_TOKEN", "env-token")
    recorder = Recorder()
    async with make_client(recorder) as client:
        await client.list_ota_firmware()
    assert recorder.last["SecurityToken"] == "env-token"


async def test_access_keys_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "env-id")
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "env-secret")
    recorder = Recorder()
    async with make_client(recorder, access_key_id=None, access_key_secret=None) as client:
        await client.list_ota_firmware()
    assert recorder.last["AccessKeyId"] == "env-id"
    assert signature_verifies(recorder.requests[0], secret="env-secret")


async def test_explicit_access_keys_win_over_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "env-id")
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "env-secret")
    recorder = Recorder()
    async with make_client(recorder) as client:
        await client.list_ota_firmware()
    assert recorder.last["AccessKeyId"] == ACCESS_KEY_ID
    assert signature_verifies(recorder.requests[0], secret=ACCESS_KEY_SECRET)


# --------------------------------------------------------------------------- instance id


async def test_client_iot_instance_id_is_sent_on_every_call() -> None:
    recorder = Recorder()
    async with make_client(recorder, iot_instance_id="iot-cn-0pp1n8t****") as client:
        await client.list_ota_firmware()
        await client.list_ota_module_by_product(product_key="pk")
        await client.call("QueryOTAJob", {"JobId": "j1"}, idempotent=True)
    assert [q["IotInstanceId"] for q in recorder.queries] == ["iot-cn-0pp1n8t****"] * 3


async def test_per_call_iot_instance_id_overrides_the_clients() -> None:
    recorder = Recorder()
    async with make_client(recorder, iot_instance_id="iot-client") as client:
        await client.list_ota_firmware(iot_instance_id="iot-call")
        await client.list_ota_firmware()
    assert [q["IotInstanceId"] for q in recorder.queries] == ["iot-call", "iot-client"]


async def test_per_call_iot_instance_id_without_a_client_default() -> None:
    recorder = Recorder()
    async with make_client(recorder) as client:
        await client.list_ota_job_by_firmware(firmware_id="f", iot_instance_id="iot-call")
    assert recorder.last["IotInstanceId"] == "iot-call"


# --------------------------------------------------------------------------- argument kinds


async def test_unset_optional_parameters_are_left_out() -> None:
    recorder = Recorder()
    async with make_client(recorder) as client:
        await client.create_ota_static_upgrade_job(
            firmware_id="167", product_key="pk", target_selection="ALL", src_versions=None
        )
    business = recorder.last.keys() - COMMON
    assert business == {"FirmwareId", "ProductKey", "TargetSelection"}


async def test_repeat_list_goes_out_numbered_from_one() -> None:
    recorder = Recorder()
    async with make_client(recorder) as client:
        await client.create_ota_static_upgrade_job(
            firmware_id="167",
            product_key="pk",
            target_selection="SPECIFIC",
            src_versions=["1.0", "1.1"],
            target_device_names=["light1", "light2", "light3"],
        )
    query = recorder.last
    assert [(k, v) for k, v in query.items() if k.startswith("SrcVersion")] == [
        ("SrcVersion.1", "1.0"),
        ("SrcVersion.2", "1.1"),
    ]
    assert {k: v for k, v in query.items() if k.startswith("TargetDeviceName")} == {
        "TargetDeviceName.1": "light1",
        "TargetDeviceName.2": "light2",
        "TargetDeviceName.3": "light3",
    }
    assert signature_verifies(recorder.requests[0])


async def test_ten_or_more_list_items_are_numbered_and_signed_correctly() -> None:
    recorder = Recorder()
    versions = [f"1.{n}" for n in range(1, 13)]
    async with make_client(recorder) as client:
        await client.create_ota_static_upgrade_job(
            firmware_id="167", product_key="pk", target_selection="ALL", src_versions=versions
        )
    query = recorder.last
    assert [query[f"SrcVersion.{n}"] for n in range(1, 13)] == versions
    assert signature_verifies(recorder.requests[0])


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (
            lambda c: c.cancel_ota_task_by_device(
                product_key="pk", firmware_id="f", device_names=["a", "b"]
            ),
            {"DeviceName.1": "a", "DeviceName.2": "b"},
        ),
        (
            lambda c: c.list_ota_task_by_job(job_id="j", device_names=["a", "b"]),
            {"DeviceNames.1": "a", "DeviceNames.2": "b"},
        ),
        (
            lambda c: c.confirm_ota_task(task_ids=["t1", "t2"]),
            {"TaskId.1": "t1", "TaskId.2": "t2"},
        ),
        (
            lambda c: c.update_ota_job(
                job_id="j",
                target_selection="ALL",
                upgrade_type="STATIC",
                maximum_per_minute=100,
                src_version_list=["1.0", "1.1"],
            ),
            {"SrcVersionList.1": "1.0", "SrcVersionList.2": "1.1"},
        ),
    ],
    ids=["DeviceName.N", "DeviceNames.N", "TaskId.N", "SrcVersionList.N"],
)
async def test_repeat_list_wire_names_follow_the_reference(
    call: Call, expected: dict[str, str]
) -> None:
    recorder = Recorder()
    async with make_client(recorder) as client:
        await call(client)
    query = recorder.last
    assert {k: query[k] for k in expected if k in query} == expected


async def test_tags_from_ota_tags_and_from_tuples() -> None:
    recorder = Recorder()
    async with make_client(recorder) as client:
        await client.create_ota_static_upgrade_job(
            firmware_id="167",
            product_key="pk",
            target_selection="ALL",
            tags=[OTATag(key="team", value="fleet a"), ("env", "prod")],
        )
    query = recorder.last
    assert {k: v for k, v in query.items() if k.startswith("Tag.")} == {
        "Tag.1.Key": "team",
        "Tag.1.Value": "fleet a",
        "Tag.2.Key": "env",
        "Tag.2.Value": "prod",
    }
    assert signature_verifies(recorder.requests[0])


async def test_update_ota_job_sends_tags_under_the_plural_wire_name() -> None:
    recorder = Recorder()
    async with make_client(recorder) as client:
        await client.update_ota_job(
            job_id="j",
            target_selection="ALL",
            upgrade_type="STATIC",
            maximum_per_minute=100,
            tags=[("k", "v")],
        )
    query = recorder.last
    assert (query["Tags.1.Key"], query["Tags.1.Value"]) == ("k", "v")
    assert not any(k.startswith("Tag.") for k in query)


async def test_booleans_go_out_as_lower_case_words() -> None:
    recorder = Recorder()
    async with make_client(recorder) as client:
        await client.create_ota_static_upgrade_job(
            firmware_id="167",
            product_key="pk",
            target_selection="ALL",
            need_push=True,
            need_confirm=False,
            multi_module_mode=False,
        )
    query = recorder.last
    assert (query["NeedPush"], query["NeedConfirm"], query["MultiModuleMode"]) == (
        "true",
        "false",
        "false",
    )


async def test_integers_go_out_in_decimal() -> None:
    recorder = Recorder()
    async with make_client(recorder) as client:
        await client.create_ota_static_upgrade_job(
            firmware_id="167",
            product_key="pk",
            target_selection="ALL",
            retry_interval=60,
            retry_count=1,
            timeout_in_minutes=1440,
            maximum_per_minute=10000,
        )
    query = recorder.last
    assert [query[k] for k in ("RetryInterval", "RetryCount", "TimeoutInMinutes")] == [
        "60",
        "1",
        "1440",
    ]
    assert query["MaximumPerMinute"] == "10000"


def _epoch_ms(year: int, month: int, day: int, hour: int = 0, ms: int = 0) -> str:
    return str(calendar.timegm((year, month, day, hour, 0, 0)) * 1000 + ms)


@pytest.mark.parametrize(
    ("schedule_time", "expected"),
    [
        (datetime(2030, 1, 1, tzinfo=UTC), _epoch_ms(2030, 1, 1)),
        (  # 08:00 at +08:00 is midnight UTC
            datetime(2030, 1, 1, 8, tzinfo=timezone(timedelta(hours=8))),
            _epoch_ms(2030, 1, 1),
        ),
        (datetime(2030, 1, 1, 12, microsecond=345_000, tzinfo=UTC), _epoch_ms(2030, 1, 1, 12, 345)),
        (1_893_456_000_123, "1893456000123"),
    ],
    ids=["aware-utc", "aware-plus-8", "milliseconds-kept", "int-ms"],
)
async def test_schedule_time_goes_out_as_13_digit_epoch_milliseconds(
    schedule_time: datetime | int, expected: str
) -> None:
    recorder = Recorder()
    async with make_client(recorder) as client:
        await client.create_ota_static_upgrade_job(
            firmware_id="167",
            product_key="pk",
            target_selection="ALL",
            schedule_time=schedule_time,
            schedule_finish_time=datetime(2030, 2, 1, tzinfo=UTC),
        )
    query = recorder.last
    assert query["ScheduleTime"] == expected
    assert len(query["ScheduleTime"]) == 13
    assert query["ScheduleFinishTime"] == _epoch_ms(2030, 2, 1)


@pytest.mark.parametrize("value", ["all", "All", "ALL", " all ", TargetSelection.ALL])
async def test_target_selection_in_any_case_goes_out_upper_case(value: Any) -> None:
    recorder = Recorder()
    async with make_client(recorder) as client:
        await client.create_ota_static_upgrade_job(
            firmware_id="167", product_key="pk", target_selection=value
        )
    assert recorder.last["TargetSelection"] == "ALL"


async def test_other_enumerated_arguments_go_out_upper_case() -> None:
    recorder = Recorder()
    async with make_client(recorder) as client:
        await client.create_ota_static_upgrade_job(
            firmware_id="167",
            product_key="pk",
            target_selection="group",
            group_id="CtjzCkNuOx***",
            group_type="link_platform",
            download_protocol="Https",
        )
        await client.list_ota_unfinished_task_by_device(
            iot_id="iot-1",
            task_status="confirm",
            task_status_list=["queued", "Notified", TaskStatus.IN_PROGRESS],
        )
        await client.list_ota_task_by_job(job_id="j", task_status="succeeded")
        await client.create_ota_firmware(
            firmware_name="fw",
            dest_version="1.0",
            firmware_url="https://x/fw.bin",
            sign_method="md5",
        )
    create, unfinished, tasks, firmware = recorder.queries
    assert (create["TargetSelection"], create["GroupType"], create["DownloadProtocol"]) == (
        "GROUP",
        "LINK_PLATFORM",
        "HTTPS",
    )
    assert create["GroupId"] == "CtjzCkNuOx***"  # an id, not an enumeration: unchanged
    assert unfinished["TaskStatus"] == "CONFIRM"
    assert [unfinished[f"TaskStatusList.{n}"] for n in (1, 2, 3)] == [
        "QUEUED",
        "NOTIFIED",
        "IN_PROGRESS",
    ]
    assert tasks["TaskStatus"] == "SUCCEEDED"
    assert firmware["SignMethod"] == "MD5"


async def test_free_form_strings_go_out_unchanged() -> None:
    recorder = Recorder()
    async with make_client(recorder) as client:
        await client.list_ota_job_by_device(
            firmware_id="FJFx8JzpnhpIsKftRjjm03****",
            product_key="a19mzPZ****",
            device_name="Light 1*~/ü",
        )
        await client.create_ota_static_upgrade_job(
            firmware_id="167",
            product_key="k1nhvyl****",
            target_selection="GRAY",
            gray_percent="33.5",
            src_versions=["v1.0-Beta"],
        )
        await client.generate_ota_upload_url(file_suffix="tar.gz")
        await client.list_ota_unfinished_task_by_device(
            product_key="pk", device_name="d", module_name="BleModule"
        )
    by_device, create, upload, unfinished = recorder.queries
    assert by_device["FirmwareId"] == "FJFx8JzpnhpIsKftRjjm03****"
    assert by_device["ProductKey"] == "a19mzPZ****"
    assert by_device["DeviceName"] == "Light 1*~/ü"
    assert (create["GrayPercent"], create["SrcVersion.1"]) == ("33.5", "v1.0-Beta")
    assert upload["FileSuffix"] == "tar.gz"
    assert unfinished["ModuleName"] == "BleModule"
    assert all(signature_verifies(r) for r in recorder.requests)


async def test_special_characters_are_percent_encoded_on_the_wire() -> None:
    recorder = Recorder()
    async with make_client(recorder) as client:
        await client.list_ota_job_by_device(
            firmware_id="f", product_key="pk", device_name="a b*c~/ü+"
        )
    raw = recorder.requests[0].url.query.decode("ascii")
    assert "DeviceName=a%20b%2Ac~%2F%C3%BC%2B" in raw.split("&")


# --------------------------------------------------------------------------- paging defaults


@pytest.mark.parametrize(
    ("call", "page_size"),
    [
        (lambda c: c.list_ota_firmware(), "100"),
        (lambda c: c.list_ota_job_by_firmware(firmware_id="f"), "200"),
        (
            lambda c: c.list_ota_job_by_device(firmware_id="f", product_key="p", device_name="d"),
            "100",
        ),
        (lambda c: c.list_ota_task_by_job(job_id="j"), "100"),
        (lambda c: _drain(c.iter_ota_firmware()), "100"),
        (lambda c: _drain(c.iter_ota_job_by_firmware(firmware_id="f")), "200"),
        (
            lambda c: _drain(
                c.iter_ota_job_by_device(firmware_id="f", product_key="p", device_name="d")
            ),
            "100",
        ),
        (lambda c: _drain(c.iter_ota_task_by_job(job_id="j")), "100"),
    ],
    ids=[
        "ListOTAFirmware",
        "ListOTAJobByFirmware",
        "ListOTAJobByDevice",
        "ListOTATaskByJob",
        "iter-ListOTAFirmware",
        "iter-ListOTAJobByFirmware",
        "iter-ListOTAJobByDevice",
        "iter-ListOTATaskByJob",
    ],
)
async def test_page_size_defaults_to_the_actions_maximum(call: Call, page_size: str) -> None:
    recorder = Recorder()
    async with make_client(recorder) as client:
        await call(client)
    assert (recorder.last["PageSize"], recorder.last["CurrentPage"]) == (page_size, "1")


async def test_page_arguments_are_sent_as_given() -> None:
    recorder = Recorder()
    async with make_client(recorder) as client:
        await client.list_ota_firmware(current_page=3, page_size=7, product_key="pk")
    query = recorder.last
    assert (query["CurrentPage"], query["PageSize"], query["ProductKey"]) == ("3", "7", "pk")


# --------------------------------------------------------------------------- retries


async def test_a_retried_attempt_is_signed_afresh(monkeypatch: pytest.MonkeyPatch) -> None:
    # A clock that moves a minute per call shows the Timestamp is taken for each attempt.
    real_gmtime = time.gmtime
    calls = iter(range(1_000))
    start = calendar.timegm((2024, 11, 19, 9, 47, 43))

    def gmtime(seconds: float | None = None) -> time.struct_time:
        if seconds is not None:
            return real_gmtime(seconds)
        return real_gmtime(start + 60 * next(calls))

    monkeypatch.setattr(time, "gmtime", gmtime)
    unavailable = httpx.Response(
        503, json={"RequestId": "r1", "Code": "ServiceUnavailable", "Message": "try later"}
    )
    recorder = Recorder(answers(unavailable, httpx.Response(200, json=ok_body(Data=[]))))
    async with make_client(recorder) as client:
        await client.list_ota_module_by_product(product_key="pk")
    first, second = recorder.queries
    assert first["SignatureNonce"] != second["SignatureNonce"]
    assert first["Timestamp"] != second["Timestamp"]
    assert {first["Timestamp"], second["Timestamp"]} <= {
        time.strftime("%Y-%m-%dT%H:%M:%SZ", real_gmtime(start + 60 * n)) for n in range(1_000)
    }
    assert all(signature_verifies(r) for r in recorder.requests)


async def test_query_is_sent_in_canonical_order() -> None:
    # The signed string is the query itself: names sorted, so a proxy sees what was signed.
    recorder = Recorder()
    async with make_client(recorder) as client:
        await client.create_ota_static_upgrade_job(
            firmware_id="167",
            product_key="pk",
            target_selection="ALL",
            src_versions=[f"v{n}" for n in range(1, 12)],
        )
    names = [name for name, _ in query_pairs(recorder.requests[0])]
    assert names[-1] == "Signature"
    assert names[:-1] == sorted(names[:-1])


async def test_call_signs_and_sends_wire_names() -> None:
    recorder = Recorder(lambda request: httpx.Response(200, json=ok_body(Data={"JobId": "j1"})))
    async with make_client(recorder) as client:
        body = await client.call(
            "QueryOTAJob", {"JobId": "j1", "TaskId": ["t1", "t2"], "Flag": True}, idempotent=True
        )
    query = query_of(recorder.requests[0])
    assert (query["Action"], query["JobId"]) == ("QueryOTAJob", "j1")
    assert (query["TaskId.1"], query["TaskId.2"], query["Flag"]) == ("t1", "t2", "true")
    assert signature_verifies(recorder.requests[0])
    assert body["Data"] == {"JobId": "j1"}
