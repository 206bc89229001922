"""What an audit costs, in exact requests, and that its counts stay exact (issue 15).

Every test compares the audit's numbers with the simulator's ground truth (``sim.fleet``),
including fleets that change while they are read (``support.moving_fleet``).
"""

from __future__ import annotations

import math
from datetime import timedelta

import httpx
import pytest
from audit_fake_api import FakeAccount
from audit_helpers import ANCHOR, ANCHOR_MS, client_of, make_simulator, stuck_ground_truth
from support.moving_fleet import InflatedCount, MovingTransport, is_count, move_task

from otaclient import OTAClient, ValidationError
from otaclient.audit import TaskCounts, audit_fleet, count_tasks, statuses_that_can_change
from otaclient.simulator import FleetSpec, Simulator

pytestmark = pytest.mark.anyio

STATUSES = ("CONFIRM", "QUEUED", "NOTIFIED", "IN_PROGRESS", "SUCCEEDED", "FAILED", "CANCELED")


def _big_job(tasks: int = 2000) -> tuple[Simulator, str]:
    sim = make_simulator(fleet=FleetSpec.single_job(tasks, anchor_ms=ANCHOR_MS))
    return sim, sim.fleet.job_ids()[0]


def _harvest_cost(tasks: int) -> int:
    """Requests of a harvest of ``tasks`` items at 100 a page: the pages, and page 1 again."""
    pages = max(1, math.ceil(tasks / 100))
    return pages + (pages > 1)


def _task_requests(sim: Simulator) -> int:
    return sim.stats.per_action["ListOTATaskByJob"]


# ---------------------------------------------------------------------- count_tasks


async def test_count_tasks_reads_one_item_page_per_status_and_the_total() -> None:
    sim, job_id = _big_job()
    async with client_of(sim) as client:
        counts = await count_tasks(client, job_id)
    assert counts.counts == sim.fleet.task_status_counts(job_id)
    assert counts.total == 2000 and counts.complete and counts.moved == ()
    assert counts.requests == _task_requests(sim) == len(STATUSES) + 1


async def test_count_tasks_reads_only_the_statuses_asked_when_the_total_is_known() -> None:
    sim, job_id = _big_job()
    truth = sim.fleet.task_status_counts(job_id)
    known = {status: truth[status] for status in ("SUCCEEDED", "FAILED", "CANCELED")}
    async with client_of(sim) as client:
        counts = await count_tasks(
            client,
            job_id,
            statuses=["confirm", "QUEUED", "NOTIFIED", "IN_PROGRESS"],
            known=known,
            total=2000,
        )
    assert counts.counts == truth and counts.complete
    assert _task_requests(sim) == 4


async def test_a_count_that_moved_while_read_is_read_again_and_named() -> None:
    sim, job_id = _big_job()

    def hook(number: int, params: dict[str, str]) -> None:
        if number == 1:  # after the first count, before the others: one task finishes
            move_task(sim, job_id, "IN_PROGRESS", "SUCCEEDED")

    known_before = sim.fleet.task_status_counts(job_id)
    async with client_of(sim, transport=MovingTransport(sim, hook)) as client:
        counts = await count_tasks(
            client, job_id, statuses=["SUCCEEDED"], known=known_before, total=2000
        )
    assert counts.counts == sim.fleet.task_status_counts(job_id)
    assert counts.complete
    assert counts.moved == ("IN_PROGRESS",)
    assert counts.requests == 1 + len(STATUSES) + 1  # the round, then every status and Total


async def test_counts_that_never_add_up_are_reported_incomplete() -> None:
    # A service whose counts by status always sum to one more than the job's Total.
    lying = dict.fromkeys(STATUSES, 10) | {"SUCCEEDED": 11}

    def answer(request: httpx.Request) -> httpx.Response:
        status = request.url.params.get("TaskStatus")
        total = 70 if status is None else lying[status]
        item = {"TaskId": "t", "JobId": "job-1", "TaskStatus": status or "QUEUED"}
        body = {"Success": True, "Total": total, "Data": {"SimpleOTATaskInfo": [item]}}
        return httpx.Response(200, json=body | {"PageSize": 1, "CurrentPage": 1})

    transport = httpx.MockTransport(answer)
    async with OTAClient(
        access_key_id="id",
        access_key_secret="s",
        endpoint="http://x.test",
        transport=transport,
        qps=None,
    ) as client:
        counts = await count_tasks(client, "job-1", max_rounds=2)
    assert not counts.complete
    assert counts.counts == lying and counts.total == 70
    assert counts.requests == 2 * (len(STATUSES) + 1)


async def test_count_tasks_refuses_an_unknown_status() -> None:
    sim, job_id = _big_job(10)
    async with client_of(sim) as client:
        with pytest.raises(ValidationError, match="'DONE' is not a task status"):
            await count_tasks(client, job_id, statuses=["DONE"])
    assert sim.stats.requests == 0


def test_statuses_that_can_change_follow_the_tasks_left() -> None:
    done = TaskCounts({"SUCCEEDED": 9, "FAILED": 1}, total=10, complete=True)
    queued = TaskCounts({"QUEUED": 1, "SUCCEEDED": 9}, total=10, complete=True)
    assert statuses_that_can_change(done) == ()
    assert statuses_that_can_change(queued) == (
        "QUEUED",
        "NOTIFIED",
        "IN_PROGRESS",
        "SUCCEEDED",
        "FAILED",
        "CANCELED",
    )


# ---------------------------------------------------------------------- the plan


async def test_a_large_job_is_counted_by_status_and_only_its_stuck_candidates_read() -> None:
    sim, job_id = _big_job()
    truth = sim.fleet.task_status_counts(job_id)
    async with client_of(sim) as client:
        report = await audit_fleet(client, now=ANCHOR, max_devices_per_job=50)
    (job,) = report.jobs
    assert job.task_counts == truth and job.complete and job.moved == ()
    assert job.tasks.stuck == stuck_ground_truth(sim, ANCHOR, timedelta(hours=24))[job_id]
    assert job.tasks.failed == truth["FAILED"] and len(job.failed_devices) == 50
    expected = (
        1  # the first page: the job's size
        + _harvest_cost(truth["NOTIFIED"])
        + _harvest_cost(truth["IN_PROGRESS"])
        + 1  # the first 50 FAILED
        + 4  # CONFIRM, QUEUED, SUCCEEDED, CANCELED counted
    )
    assert _task_requests(sim) == expected
    assert report.stats.requests == sim.stats.accepted == expected + 2  # + package, batch lists


async def test_a_small_job_is_read_whole_for_no_more_than_its_pages() -> None:
    sim, job_id = _big_job(250)
    async with client_of(sim) as client:
        report = await audit_fleet(client, now=ANCHOR)
    assert report.jobs[0].task_counts == sim.fleet.task_status_counts(job_id)
    assert _task_requests(sim) == 3  # its three pages, each once


async def test_a_whole_reading_without_every_task_once_is_read_by_status_instead() -> None:
    # A service whose list of 150 tasks repeats one task on page 2 (and so lacks another).
    tasks = [
        {"TaskId": f"t{n}", "JobId": "job-1", "TaskStatus": "FAILED" if n % 3 else "SUCCEEDED"}
        for n in range(150)
    ]
    listed = [*tasks[:100], tasks[0], *tasks[101:]]
    account = FakeAccount(
        [{"FirmwareId": "fw-1", "ProductKey": "pk-1"}],
        {"fw-1": [{"JobId": "job-1", "FirmwareId": "fw-1", "JobStatus": "IN_PROGRESS"}]},
        {"job-1": listed},
    )
    async with OTAClient(
        access_key_id="id",
        access_key_secret="s",
        endpoint="http://fake.test",
        transport=account.transport(),
        qps=None,
    ) as client:
        report = await audit_fleet(client, now=ANCHOR)
    (job,) = report.jobs
    truth = {s: sum(t["TaskStatus"] == s for t in listed) for s in ("FAILED", "SUCCEEDED")}
    assert {s: n for s, n in job.task_counts.items() if n} == truth
    counts = [r for r in account.requests if r.get("PageSize") == "1"]
    assert len(counts) == 4  # CONFIRM, QUEUED, SUCCEEDED, CANCELED: read by status


async def test_failed_devices_take_as_many_failed_pages_as_the_cap_needs() -> None:
    sim, job_id = _big_job(3000)
    truth = sim.fleet.task_status_counts(job_id)
    assert truth["FAILED"] > 250
    async with client_of(sim) as client:
        report = await audit_fleet(client, now=ANCHOR, max_devices_per_job=250)
    (job,) = report.jobs
    assert len(job.failed_devices) == 250 and job.tasks.failed == truth["FAILED"]
    assert sim.stats.per_action["ListOTATaskByJob"] == (
        1 + _harvest_cost(truth["NOTIFIED"]) + _harvest_cost(truth["IN_PROGRESS"]) + 3 + 4
    )


async def test_a_task_finishing_while_its_job_is_counted_is_counted_once() -> None:
    sim, job_id = _big_job()

    def hook(number: int, params: dict[str, str]) -> None:
        # Stuck candidates harvested; now, before SUCCEEDED is counted, one of them succeeds.
        if is_count(params, "SUCCEEDED") and not moved:
            moved.append(True)
            move_task(sim, job_id, "IN_PROGRESS", "SUCCEEDED")

    moved: list[bool] = []
    async with client_of(sim, transport=MovingTransport(sim, hook)) as client:
        report = await audit_fleet(client, now=ANCHOR)
    (job,) = report.jobs
    assert moved
    assert job.task_counts == sim.fleet.task_status_counts(job_id)
    assert job.complete and job.moved == ("IN_PROGRESS",)


async def test_progress_total_is_the_plan_and_the_eta_shows_from_the_first_answer() -> None:
    sim, _ = _big_job()
    seen = []
    async with client_of(sim, qps=1000.0) as client:
        report = await audit_fleet(client, now=ANCHOR, progress=seen.append)
    last = seen[-1]
    assert last.pages_done == last.pages_total == report.stats.requests
    assert all(p.eta is not None for p in seen)
    assert all(p.pages_estimated >= p.pages_done for p in seen)
    assert last.items == 2000


async def test_a_job_whose_counts_never_add_up_is_reported_incomplete() -> None:
    sim, job_id = _big_job()
    async with client_of(sim, transport=InflatedCount(sim, "SUCCEEDED")) as client:
        report = await audit_fleet(client, now=ANCHOR)
    (job,) = report.jobs
    assert not job.complete
    truth = sim.fleet.task_status_counts(job_id)
    assert job.task_counts == truth | {"SUCCEEDED": truth["SUCCEEDED"] + 1}  # as last read
