"""Arguments a request cannot carry are refused with a ValidationError naming them, before
anything is sent: oversized lists and strings, lone surrogates, integers beyond the wire's
types, and odd values given to ``call``."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from otaclient import OTAClient, ValidationError

from ._helpers import Recorder, make_client

pytestmark = pytest.mark.anyio

Call = Callable[[OTAClient], Awaitable[Any]]

MANY = [f"item-{n:05d}" for n in range(10_000)]
MEGABYTE = "x" * 1_000_000


async def _refused(call: Call, argument: str) -> ValidationError:
    server = Recorder()
    async with make_client(server) as client:
        with pytest.raises(ValidationError) as caught:
            await call(client)
    assert server.requests == [], "a refused call sent a request"
    message = str(caught.value)
    assert argument in message
    assert len(message) < 400, "the message echoes the value"
    return caught.value


def _static_job(**overrides: Any) -> Call:
    arguments: dict[str, Any] = {"firmware_id": "f", "product_key": "p", "target_selection": "ALL"}
    arguments.update(overrides)
    return lambda c: c.create_ota_static_upgrade_job(**arguments)


# --------------------------------------------------------------------------- sizes

UNBOUNDED_LISTS: dict[str, tuple[Call, str]] = {
    # No documented maximum: bounded by what one request can carry (refused, not chunked:
    # several writes in place of one would not be atomic).
    "ReupgradeOTATask task_ids": (
        lambda c: c.reupgrade_ota_task(job_id="j", task_ids=MANY),
        "task_ids",
    ),
    "CreateOTAStaticUpgradeJob src_versions": (_static_job(src_versions=MANY), "src_versions"),
    "CancelOTATaskByDevice device_names": (
        lambda c: c.cancel_ota_task_by_device(product_key="p", firmware_id="f", device_names=MANY),
        "device_names",
    ),
    "UpdateOTAJob src_version_list": (
        lambda c: c.update_ota_job(
            job_id="j",
            target_selection="ALL",
            upgrade_type="STATIC",
            maximum_per_minute=100,
            src_version_list=MANY,
        ),
        "src_version_list",
    ),
}


@pytest.mark.parametrize("name", sorted(UNBOUNDED_LISTS))
async def test_a_list_larger_than_a_request_carries_is_refused_naming_it(name: str) -> None:
    call, argument = UNBOUNDED_LISTS[name]
    error = await _refused(call, argument)
    assert "65,536" in str(error)


DOCUMENTED_LISTS: dict[str, tuple[Call, str]] = {
    "ConfirmOTATask task_ids 11": (
        lambda c: c.confirm_ota_task(task_ids=MANY[:11]),
        "task_ids",
    ),
    "CreateOTAVerifyJob target_device_names 11": (
        lambda c: c.create_ota_verify_job(
            firmware_id="f", product_key="p", target_device_names=MANY[:11]
        ),
        "target_device_names",
    ),
    "CreateOTAStaticUpgradeJob target_device_names 201": (
        _static_job(target_selection="SPECIFIC", target_device_names=MANY[:201]),
        "target_device_names",
    ),
    "CreateOTADynamicUpgradeJob src_versions 11": (
        lambda c: c.create_ota_dynamic_upgrade_job(
            firmware_id="f", product_key="p", src_versions=MANY[:11]
        ),
        "src_versions",
    ),
    "ListOTATaskByJob device_names 51": (
        lambda c: c.list_ota_task_by_job(job_id="j", device_names=MANY[:51]),
        "device_names",
    ),
    "ListOTAUnfinishedTaskByDevice task_status_list 5": (
        lambda c: c.list_ota_unfinished_task_by_device(iot_id="i", task_status_list=["QUEUED"] * 5),
        "task_status_list",
    ),
    "ConfirmOTATask 10,000": (lambda c: c.confirm_ota_task(task_ids=MANY), "task_ids"),
}


@pytest.mark.parametrize("name", sorted(DOCUMENTED_LISTS))
async def test_a_list_beyond_its_documented_maximum_is_refused(name: str) -> None:
    call, argument = DOCUMENTED_LISTS[name]
    error = await _refused(call, argument)
    assert "at most" in str(error)


async def test_a_long_list_that_fits_in_a_request_is_sent_whole() -> None:
    server = Recorder()
    async with make_client(server) as client:
        await client.reupgrade_ota_task(job_id="j", task_ids=MANY[:2000])
    assert len(server.requests) == 1
    sent = server.last
    assert sent["TaskId.1"] == MANY[0] and sent["TaskId.2000"] == MANY[1999]


async def test_a_megabyte_string_is_refused_naming_the_argument() -> None:
    await _refused(lambda c: c.query_ota_job(job_id=MEGABYTE), "job_id")


async def test_a_string_of_multibyte_characters_counts_its_encoded_size() -> None:
    # 20,000 characters, 180,000 once percent-encoded as UTF-8.
    await _refused(lambda c: c.query_ota_job(job_id="設" * 20_000), "job_id")


async def test_a_megabyte_iot_instance_id_is_refused_naming_it() -> None:
    await _refused(
        lambda c: c.query_ota_job(job_id="j", iot_instance_id=MEGABYTE), "iot_instance_id"
    )


# --------------------------------------------------------------------------- text

SURROGATES: dict[str, tuple[Call, str]] = {
    "a free string": (lambda c: c.query_ota_job(job_id="\ud800"), "job_id"),
    "inside a free string": (
        lambda c: c.list_ota_firmware(product_key="pk-\udfff-1"),
        "product_key",
    ),
    "a repeat-list item": (
        lambda c: c.confirm_ota_task(task_ids=["t1", "t\ud800"]),
        "task_ids",
    ),
    "a struct field": (_static_job(tags=[("k", "v\ud800")]), "tags"),
    "iot_instance_id": (
        lambda c: c.query_ota_job(job_id="j", iot_instance_id="\ud800"),
        "iot_instance_id",
    ),
    "an enum value": (_static_job(target_selection="AL\ud800"), "target_selection"),
    "a call() value": (
        lambda c: c.call("QueryOTAJob", {"JobId": "\ud800"}, idempotent=True),
        "JobId",
    ),
}


@pytest.mark.parametrize("name", sorted(SURROGATES))
async def test_a_lone_surrogate_is_refused_naming_the_argument(name: str) -> None:
    call, argument = SURROGATES[name]
    error = await _refused(call, argument)
    assert "surrogate" in str(error) or "must be one of" in str(error)


# --------------------------------------------------------------------------- integers

HUGE = 10**5000

INTEGERS: dict[str, tuple[Call, str]] = {
    "current_page": (lambda c: c.list_ota_firmware(current_page=HUGE), "current_page"),
    "iter page_size": (
        lambda c: c.list_ota_job_by_firmware(firmware_id="f", page_size=HUGE),
        "page_size",
    ),
    "firmware_size": (
        lambda c: c.create_ota_firmware(
            firmware_name="n", dest_version="1", firmware_url="u", firmware_size=HUGE
        ),
        "firmware_size",
    ),
    "firmware_size beyond Integer": (
        lambda c: c.create_ota_firmware(
            firmware_name="n", dest_version="1", firmware_url="u", firmware_size=2**31
        ),
        "firmware_size",
    ),
    "schedule_time": (_static_job(schedule_time=HUGE), "schedule_time"),
    "a struct integer": (
        lambda c: c.create_ota_firmware(
            firmware_name="n",
            dest_version="1",
            multi_files=[{"name": "a", "url": "u", "size": HUGE}],
        ),
        "multi_files",
    ),
    "a call() integer": (
        lambda c: c.call("ListOTAFirmware", {"CurrentPage": HUGE}, idempotent=True),
        "CurrentPage",
    ),
}


@pytest.mark.parametrize("name", sorted(INTEGERS))
async def test_an_integer_beyond_the_wire_type_is_refused_naming_it(name: str) -> None:
    call, argument = INTEGERS[name]
    await _refused(call, argument)


async def test_a_huge_current_page_is_refused_by_iterators_too() -> None:
    server = Recorder()
    async with make_client(server) as client:
        with pytest.raises(ValidationError, match="page_size"):
            client.iter_ota_firmware(page_size=HUGE)
    assert server.requests == []


# --------------------------------------------------------------------------- call()

ODD_PARAMS: dict[str, tuple[Any, str]] = {
    "NaN": ({"Total": math.nan}, "Total"),
    "infinity": ({"Total": math.inf}, "Total"),
    "negative infinity in a list": ({"Size": [1.0, -math.inf]}, "Size"),
    "an integer beyond 64 bits": ({"Total": 2**63}, "Total"),
    "a name that is not a string": ({5: "x"}, "5"),
    "an empty name": ({"": "x"}, "name"),
    "a name with a space": ({"Job Id": "x"}, "Job Id"),
    "a non-ASCII name": ({"Jöb": "x"}, "Jöb"),
    "Action": ({"Action": "DeleteOTAFirmware"}, "Action"),
    "Signature": ({"Signature": "forged"}, "Signature"),
    "AccessKeyId": ({"AccessKeyId": "other"}, "AccessKeyId"),
    "bytes": ({"JobId": b"j1"}, "JobId"),
    "a dict": ({"JobId": {"a": 1}}, "JobId"),
    "a list in a list": ({"JobId": [["a"]]}, "JobId"),
    "a struct key that is not a name": ({"Tag": [{1: "v"}]}, "Tag"),
    "NaN in a struct": ({"Tag": [{"Key": math.nan}]}, "Tag"),
    "a megabyte string": ({"JobId": MEGABYTE}, "JobId"),
    "one wire name twice": ({"Tag": [{"Key": "a"}], "Tag.1.Key": "b"}, "Tag.1.Key"),
}


@pytest.mark.parametrize("name", sorted(ODD_PARAMS))
async def test_call_refuses_odd_params_naming_them(name: str) -> None:
    params, argument = ODD_PARAMS[name]
    await _refused(lambda c: c.call("QueryOTAJob", params, idempotent=True), argument)


@pytest.mark.parametrize(
    ("action", "params", "idempotent", "argument"),
    [
        ("Query OTA Job", {}, True, "action"),
        ("QuéryOTAJob", {}, True, "action"),
        ("", {}, True, "action"),
        ("Q" * 200, {}, True, "action"),
        (b"QueryOTAJob", {}, True, "action"),
        ("QueryOTAJob", ["JobId", "j"], True, "params"),
        ("QueryOTAJob", {"JobId": "j"}, "yes", "idempotent"),
    ],
)
async def test_call_refuses_an_odd_action_params_or_flag(
    action: Any, params: Any, idempotent: Any, argument: str
) -> None:
    await _refused(lambda c: c.call(action, params, idempotent=idempotent), argument)


async def test_call_sends_ordinary_values_as_documented() -> None:
    server = Recorder()
    async with make_client(server) as client:
        await client.call(
            "QueryOTAJob",
            {
                "JobId": "j1",
                "Count": 5,
                "Flag": True,
                "Ratio": 1.5,
                "Skip": None,
                "SrcVersion": ["1.0", "1.1"],
                "Tag": [{"Key": "k", "Value": "v"}],
            },
            idempotent=True,
        )
    sent = server.last
    assert sent["JobId"] == "j1" and sent["Count"] == "5" and sent["Flag"] == "true"
    assert sent["Ratio"] == "1.5" and "Skip" not in sent
    assert sent["SrcVersion.1"] == "1.0" and sent["SrcVersion.2"] == "1.1"
    assert sent["Tag.1.Key"] == "k" and sent["Tag.1.Value"] == "v"
    assert sent["Action"] == "QueryOTAJob"
