"""Kept pages of ListOTATaskByJob: built once per job state, never served stale."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from simhelpers import ANCHOR_MS, FakeClock, common_params, make_app, signed_query

from otaclient.simulator import DEMO_ACCESS_KEY_SECRET, FleetSpec, Simulator
from otaclient.simulator.actions import ActionContext
from otaclient.simulator.actions._items import task_item
from otaclient.simulator.pages import PageCache
from otaclient.simulator.params import Params
from otaclient.simulator.tasks import CANCELED, TASK_STATUSES

_CLOCK = FakeClock()


def _app(**config: Any) -> Simulator:
    """A simulator of one 1,000-task job, on a clock that stands still."""
    fleet = FleetSpec.single_job(1000, anchor_ms=ANCHOR_MS)
    return make_app(_CLOCK, qps=None, fleet=fleet, **config)


def _read(app: Simulator, action: str = "ListOTATaskByJob", **params: str | int) -> Any:
    """One signed request straight into ``app.process``; the decoded body."""
    business = {name: str(value) for name, value in params.items()}
    if action == "ListOTATaskByJob":
        business.setdefault("JobId", app.fleet.jobs[0].job_id)
        business.setdefault("PageSize", "100")
    signed = {**common_params(action, wall=_CLOCK.time()), **business}
    query = signed_query(signed, "POST", DEMO_ACCESS_KEY_SECRET)
    outcome = app.process(method="POST", path="/", query_string=query.encode(), headers={})
    body = json.loads(outcome.body)
    assert outcome.status == 200 and body.get("Success", body.get("success")) is True, body
    return body


def _tasks(body: Any) -> list[dict[str, Any]]:
    data = (
        body["Data"]["SimpleOTATaskInfo"] if "Data" in body else body["data"]["simpleOTATaskInfo"]
    )
    items: list[dict[str, Any]] = data
    return items


def _built_now(app: Simulator, rows: range) -> list[dict[str, Any]]:
    """The items of ``rows`` derived afresh from the fleet, bypassing every cache."""
    ctx = ActionContext(
        action="ListOTATaskByJob",
        params=Params({}),
        fleet=app.fleet,
        dialect=app.config.dialect,
        now_ms=ANCHOR_MS,
        rng=app._rng,
    )
    job = app.fleet.jobs[0]
    return [task_item(ctx, job, row) for row in rows]


def test_a_page_read_again_is_not_built_again() -> None:
    app = _app()
    first = _read(app, CurrentPage=3)
    again = _read(app, CurrentPage=3)
    assert _tasks(again) == _tasks(first) == _built_now(app, range(200, 300))
    assert first["RequestId"] != again["RequestId"]
    assert (app.fleet.task_pages.builds, app.fleet.task_pages.hits) == (1, 1)


def test_a_task_status_change_shows_on_the_next_read_of_its_page() -> None:
    app = _app()
    job = app.fleet.jobs[0]
    row = next(r for r in range(100) if job.tasks.status[r] in (1, 2, 3))  # unfinished
    _read(app, CurrentPage=1)
    app.fleet.set_task_status(job, row, CANCELED, ANCHOR_MS + 5, "Canceled by user.")
    after = _tasks(_read(app, CurrentPage=1))
    assert after[row]["TaskStatus"] == "CANCELED"
    assert after == _built_now(app, range(100))
    assert app.fleet.task_pages.builds == 2


def test_a_cancel_over_the_api_shows_on_the_next_read_of_the_page() -> None:
    app = _app()
    job = app.fleet.jobs[0]
    before = _tasks(_read(app, CurrentPage=1))
    _read(app, "CancelOTATaskByJob", JobId=job.job_id, CancelQueuedTask="true")
    after = _tasks(_read(app, CurrentPage=1))
    queued = [i for i, item in enumerate(before) if item["TaskStatus"] in ("QUEUED", "CONFIRM")]
    assert queued and all(after[i]["TaskStatus"] == "CANCELED" for i in queued)
    assert after == _built_now(app, range(100))


def test_a_change_to_the_job_itself_shows_on_the_next_read_of_its_page() -> None:
    app = _app()
    job = app.fleet.jobs[0]
    _read(app, CurrentPage=1)
    app.fleet.update_job(
        job, ANCHOR_MS + 5, maximum_per_minute=10, timeout_in_minutes=77, src_versions=[], tags=None
    )
    after = _tasks(_read(app, CurrentPage=1))
    assert {item["Timeout"] for item in after} == {"77"}
    assert after == _built_now(app, range(100))


def test_an_assignment_to_any_field_of_the_job_moves_its_stamp() -> None:
    job = _app().fleet.jobs[0]
    stamps = [job.stamp]
    job.utc_end_ms = ANCHOR_MS
    stamps.append(job.stamp)
    job.timeout_in_minutes = 5
    stamps.append(job.stamp)
    assert len(set(stamps)) == 3


@pytest.mark.parametrize("status", TASK_STATUSES)
def test_a_status_filter_is_part_of_what_names_a_page(status: str) -> None:
    app = _app()
    everything = _tasks(_read(app, CurrentPage=1))
    filtered = _tasks(_read(app, CurrentPage=1, TaskStatus=status))
    assert {item["TaskStatus"] for item in filtered} <= {status}
    assert everything == _built_now(app, range(100))
    assert app.fleet.task_pages.builds == 2


def test_tuya_pages_are_camel_case_when_kept_too() -> None:
    app = _app(dialect="tuya")
    first, again = (_tasks(_read(app, CurrentPage=2)) for _ in range(2))
    assert again == first
    assert first and all("taskId" in item and "TaskId" not in item for item in first)
    assert app.fleet.task_pages.hits == 1


def test_the_cache_holds_at_most_max_pages_dropping_the_least_recently_read() -> None:
    app = _app()
    app.fleet.task_pages = PageCache(max_pages=2)
    for page in (1, 2, 1, 3):  # page 2 is then the least recently read
        _read(app, CurrentPage=page)
    assert len(app.fleet.task_pages) == 2
    assert app.fleet.task_pages.builds == 3
    _read(app, CurrentPage=1)
    assert app.fleet.task_pages.builds == 3  # still kept
    _read(app, CurrentPage=2)
    assert app.fleet.task_pages.builds == 4  # dropped, built again


def test_a_cache_without_room_is_refused() -> None:
    with pytest.raises(ValueError, match="max_pages must be at least 1"):
        PageCache(max_pages=0)


# ------------------------------------------------------------------ kept package items


def _firmware_app() -> Simulator:
    fleet = FleetSpec(products=1, firmware_per_product=5, jobs_per_firmware=(0, 0))
    return make_app(_CLOCK, qps=None, fleet=fleet)


def _packages(body: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = body["FirmwareInfo"]["SimpleFirmwareInfo"]
    return items


def test_a_listed_package_is_built_once_while_it_is_unchanged() -> None:
    app = _firmware_app()
    first = _packages(_read(app, "ListOTAFirmware", PageSize=100, CurrentPage=1))
    kept = [firmware.listed for firmware in app.fleet.firmware_sorted()]
    again = _packages(_read(app, "ListOTAFirmware", PageSize=100, CurrentPage=1))
    assert again == first
    assert [firmware.listed for firmware in app.fleet.firmware_sorted()] == kept
    assert all(listed is not None for listed in kept)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(
            lambda fleet, fw: fleet.modify_firmware(fw, ANCHOR_MS, name="renamed"), id="name"
        ),
        pytest.param(lambda fleet, fw: fleet.start_verification(fw, ANCHOR_MS + 1), id="verify"),
        pytest.param(lambda fleet, fw: setattr(fw, "size", 7), id="any-field"),
    ],
)
def test_a_listed_package_shows_every_change_of_it_at_once(change: Any) -> None:
    app = _firmware_app()
    _read(app, "ListOTAFirmware", PageSize=100, CurrentPage=1)
    firmware = app.fleet.firmware_sorted()[0]
    change(app.fleet, firmware)
    listed = _packages(_read(app, "ListOTAFirmware", PageSize=100, CurrentPage=1))[0]
    assert listed["FirmwareId"] == firmware.firmware_id
    assert listed["FirmwareName"] == firmware.name
    assert listed["Status"] == max(firmware.status, 0)
    assert listed.get("FirmwareSize") == firmware.size or firmware.multi_files
    assert listed["UtcModified"].startswith(
        time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(firmware.utc_modified_ms // 1000))
    )
