"""Paging: limits, page math, ordering, the 100000 cap and the filters of ListOTATaskByJob."""

from __future__ import annotations

import math

import pytest
from simhelpers import ANCHOR_MS, FakeClock, SimClient, in_process, make_app

from otaclient.simulator import FleetSpec, Simulator

pytestmark = pytest.mark.anyio


def _app(clock: FakeClock, **config: object) -> Simulator:
    return make_app(clock, qps=None, **config)


def _busiest_job(app: Simulator) -> str:
    return max(app.fleet.jobs, key=lambda job: len(job.tasks)).job_id


@pytest.mark.parametrize(
    ("action", "limit", "extra"),
    [
        ("ListOTAFirmware", 100, {}),
        ("ListOTAJobByFirmware", 200, {"FirmwareId": "*"}),
        ("ListOTATaskByJob", 100, {"JobId": "*"}),
    ],
)
async def test_page_size_limits(action: str, limit: int, extra: dict[str, str]) -> None:
    clock = FakeClock()
    app = _app(clock)
    job = app.fleet.jobs[0]
    ids = {"FirmwareId": job.firmware_id, "JobId": job.job_id}
    params = {name: ids[name] for name in extra}
    async with in_process(app) as http:
        client = SimClient(http, clock=clock)
        ok = await client.call(action, {**params, "CurrentPage": 1, "PageSize": limit})
        too_big = await client.call(action, {**params, "CurrentPage": 1, "PageSize": limit + 1})
        zero = await client.call(action, {**params, "CurrentPage": 1, "PageSize": 0})
        page_zero = await client.call(action, {**params, "CurrentPage": 0, "PageSize": 10})
    assert ok["Success"] is True
    for refused in (too_big, zero, page_zero):
        assert refused["Success"] is False
        assert refused["Code"] == "iot.common.InvalidPageParams"


async def test_list_ota_job_by_device_page_size_limit_is_100() -> None:
    clock = FakeClock()
    app = _app(clock)
    job = app.fleet.jobs[0]
    product = app.fleet.products[job.product_index]
    params: dict[str, str | int] = {
        "FirmwareId": job.firmware_id,
        "ProductKey": product.key,
        "DeviceName": product.device_name(job.tasks.devices[0]),
        "CurrentPage": 1,
    }
    async with in_process(app) as http:
        client = SimClient(http, clock=clock)
        ok = await client.call("ListOTAJobByDevice", {**params, "PageSize": 100})
        bad = await client.call("ListOTAJobByDevice", {**params, "PageSize": 101})
    assert ok["Success"] is True and ok["Total"] >= 1
    assert bad["Code"] == "iot.common.InvalidPageParams"


async def test_page_count_is_ceiling_of_total_over_page_size() -> None:
    clock = FakeClock()
    app = _app(clock)
    async with in_process(app) as http:
        body = await SimClient(http, clock=clock).call(
            "ListOTAFirmware", {"CurrentPage": 1, "PageSize": 5}
        )
    assert body["Total"] == len(app.fleet.firmware) == 12
    assert body["PageCount"] == math.ceil(12 / 5) == 3
    assert len(body["FirmwareInfo"]["SimpleFirmwareInfo"]) == 5


async def test_page_past_the_end_is_empty_with_correct_totals() -> None:
    clock = FakeClock()
    async with in_process(_app(clock)) as http:
        body = await SimClient(http, clock=clock).call(
            "ListOTAFirmware", {"CurrentPage": 9, "PageSize": 5}
        )
    assert body["Success"] is True
    assert body["FirmwareInfo"]["SimpleFirmwareInfo"] == []
    assert (body["Total"], body["PageCount"], body["CurrentPage"]) == (12, 3, 9)


async def test_empty_result_has_page_count_zero() -> None:
    clock = FakeClock()
    async with in_process(_app(clock)) as http:
        body = await SimClient(http, clock=clock).call(
            "ListOTAFirmware", {"CurrentPage": 1, "PageSize": 5, "ProductKey": "nope"}
        )
    assert (body["Total"], body["PageCount"]) == (0, 0)


async def test_last_page_holds_the_remainder() -> None:
    clock = FakeClock()
    async with in_process(_app(clock)) as http:
        body = await SimClient(http, clock=clock).call(
            "ListOTAFirmware", {"CurrentPage": 3, "PageSize": 5}
        )
    assert len(body["FirmwareInfo"]["SimpleFirmwareInfo"]) == 2


async def test_walking_every_page_yields_every_task_once_in_fleet_order() -> None:
    clock = FakeClock()
    app = _app(clock)
    job_id = _busiest_job(app)
    seen: list[str] = []
    async with in_process(app) as http:
        client = SimClient(http, clock=clock)
        page = 1
        while True:
            body = await client.call(
                "ListOTATaskByJob", {"JobId": job_id, "CurrentPage": page, "PageSize": 37}
            )
            items = body["Data"]["SimpleOTATaskInfo"]
            if not items:
                break
            seen += [item["TaskId"] for item in items]
            page += 1
    assert seen == app.fleet.task_ids(job_id)
    assert body["PageCount"] == page - 1


async def test_firmware_listing_order_is_stable() -> None:
    clock = FakeClock()
    async with in_process(_app(clock)) as http:
        client = SimClient(http, clock=clock)
        first = await client.call("ListOTAFirmware", {"CurrentPage": 1, "PageSize": 100})
        second = await client.call("ListOTAFirmware", {"CurrentPage": 1, "PageSize": 100})
    assert first["FirmwareInfo"] == second["FirmwareInfo"]


async def test_task_status_filter_matches_ground_truth() -> None:
    clock = FakeClock()
    app = _app(clock)
    job_id = _busiest_job(app)
    counts = app.fleet.task_status_counts(job_id)
    status = max(counts, key=lambda name: counts[name])
    async with in_process(app) as http:
        body = await SimClient(http, clock=clock).call(
            "ListOTATaskByJob",
            {"JobId": job_id, "CurrentPage": 1, "PageSize": 100, "TaskStatus": status},
        )
    items = body["Data"]["SimpleOTATaskInfo"]
    assert body["Total"] == counts[status]
    assert {item["TaskStatus"] for item in items} == {status}
    assert [item["TaskId"] for item in items] == app.fleet.task_ids(job_id, status)[:100]


async def test_device_names_filter_ignores_paging() -> None:
    clock = FakeClock()
    app = _app(clock)
    job = app.fleet.jobs_by_id[_busiest_job(app)]
    product = app.fleet.products[job.product_index]
    names = [product.device_name(job.tasks.devices[row]) for row in (0, 5, 9)]
    params: dict[str, str | int] = {"JobId": job.job_id, "CurrentPage": 7, "PageSize": 1}
    params.update({f"DeviceNames.{i}": name for i, name in enumerate(names, start=1)})
    async with in_process(app) as http:
        body = await SimClient(http, clock=clock).call("ListOTATaskByJob", params)
    assert [item["DeviceName"] for item in body["Data"]["SimpleOTATaskInfo"]] == names
    assert body["Total"] == 3


async def test_more_than_fifty_device_names_is_refused() -> None:
    clock = FakeClock()
    app = _app(clock)
    params: dict[str, str | int] = {"JobId": app.fleet.jobs[0].job_id}
    params.update({f"DeviceNames.{i}": f"d{i}" for i in range(1, 52)})
    async with in_process(app) as http:
        body = await SimClient(http, clock=clock).call("ListOTATaskByJob", params)
    assert body["Success"] is False


@pytest.fixture(scope="module")
def deep_app() -> Simulator:
    # One job of 250,000 tasks: builds in well under a second.
    clock = FakeClock()
    return make_app(clock, qps=None, fleet=FleetSpec.single_job(250_000, anchor_ms=ANCHOR_MS))


async def test_task_listing_refuses_offsets_beyond_100000() -> None:
    clock = FakeClock()
    app = make_app(clock, qps=None, fleet=FleetSpec.single_job(1000, anchor_ms=ANCHOR_MS))
    job_id = app.fleet.jobs[0].job_id
    async with in_process(app) as http:
        client = SimClient(http, clock=clock)
        edge = await client.call(
            "ListOTATaskByJob", {"JobId": job_id, "CurrentPage": 1000, "PageSize": 100}
        )
        beyond = await client.call(
            "ListOTATaskByJob", {"JobId": job_id, "CurrentPage": 1001, "PageSize": 100}
        )
    assert edge["Success"] is True and edge["Data"]["SimpleOTATaskInfo"] == []
    assert beyond["Success"] is False
    assert beyond["Code"] == "iot.common.InvalidPageParams"


async def test_deep_job_pages_are_addressable_up_to_the_cap(deep_app: Simulator) -> None:
    clock = FakeClock()
    job_id = deep_app.fleet.jobs[0].job_id
    async with in_process(deep_app) as http:
        body = await SimClient(http, clock=clock).call(
            "ListOTATaskByJob", {"JobId": job_id, "CurrentPage": 1000, "PageSize": 100}
        )
    items = body["Data"]["SimpleOTATaskInfo"]
    assert (body["Total"], body["PageCount"]) == (250_000, 2500)
    expected = [
        deep_app.fleet.task_id(deep_app.fleet.jobs[0], row) for row in range(99_900, 100_000)
    ]
    assert [item["TaskId"] for item in items] == expected


async def test_deep_job_status_filter_reaches_rows_past_the_cap(deep_app: Simulator) -> None:
    # A client gets past 100000 rows per job by filtering per status.
    clock = FakeClock()
    job_id = deep_app.fleet.jobs[0].job_id
    counts = deep_app.fleet.task_status_counts(job_id)
    async with in_process(deep_app) as http:
        body = await SimClient(http, clock=clock).call(
            "ListOTATaskByJob",
            {"JobId": job_id, "CurrentPage": 1, "PageSize": 100, "TaskStatus": "FAILED"},
        )
    assert body["Total"] == counts["FAILED"]
    assert sum(counts.values()) == 250_000
    assert all(count > 0 for count in counts.values())


async def test_module_versions_page_size_limit_is_200() -> None:
    clock = FakeClock()
    app = _app(clock)
    product = app.fleet.products[0]
    params: dict[str, str | int] = {
        "ProductKey": product.key,
        "DeviceName": product.device_name(0),
        "CurrentPage": 1,
    }
    async with in_process(app) as http:
        client = SimClient(http, clock=clock)
        ok = await client.call("ListOTAModuleVersionsByDevice", {**params, "PageSize": 200})
        bad = await client.call("ListOTAModuleVersionsByDevice", {**params, "PageSize": 201})
    assert ok["Total"] == len(product.modules)
    assert bad["Code"] == "iot.common.InvalidPageParams"
