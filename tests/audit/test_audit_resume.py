"""Stopping an audit part-way, resuming it from a state file, and what a later audit trusts."""

from __future__ import annotations

import math
from pathlib import Path

import anyio
import pytest
from audit_helpers import ANCHOR, client_of, make_simulator
from support.moving_fleet import MovingTransport

from otaclient import OTAError
from otaclient.audit import AuditState, audit_fleet, report_to_dict
from otaclient.simulator import Simulator
from otaclient.simulator.model import Job
from otaclient.simulator.tasks import TASK_STATUSES

pytestmark = pytest.mark.anyio


def _nonzero(counts: dict[str, int]) -> dict[str, int]:
    return {status: count for status, count in counts.items() if count}


def _failed_task_on_a_free_device(sim: Simulator) -> tuple[Job, int]:
    fleet = sim.fleet
    for job in fleet.jobs:
        if job.status != "COMPLETED":
            continue
        product = fleet.products[job.product_index]
        for row in job.tasks.rows_with_status(TASK_STATUSES.index("FAILED")):
            if fleet.busy_owner(product, job.tasks.devices[row], job.module_key) is None:
                return job, row
    raise AssertionError("no failed task of a completed job can be re-upgraded")


def _stopping_after(sim: Simulator, requests: int, stop: anyio.Event) -> MovingTransport:
    def hook(number: int, params: dict[str, str]) -> None:
        if number == requests:
            stop.set()

    return MovingTransport(sim, hook)


async def test_a_stopped_audit_reports_the_jobs_it_finished_marked_incomplete() -> None:
    sim = make_simulator()
    stop = anyio.Event()
    async with client_of(sim, transport=_stopping_after(sim, 40, stop)) as client:
        report = await audit_fleet(client, now=ANCHOR, stop=stop)
    assert not report.complete
    assert 0 < len(report.jobs) < len(sim.fleet.jobs)
    for job in report.jobs:
        assert _nonzero(job.task_counts) == _nonzero(sim.fleet.task_status_counts(job.job_id))
    assert next(iter(report_to_dict(report))) == "complete"


async def test_an_audit_that_is_not_stopped_is_complete() -> None:
    sim = make_simulator()
    async with client_of(sim) as client:
        report = await audit_fleet(client, now=ANCHOR, stop=anyio.Event())
    assert report.complete and len(report.jobs) == len(sim.fleet.jobs)
    assert report_to_dict(report)["complete"] is True


async def test_a_resumed_audit_reads_only_the_jobs_it_had_not_finished(tmp_path: Path) -> None:
    sim = make_simulator()
    path = tmp_path / "audit.sqlite"
    async with client_of(sim) as client:
        whole = await audit_fleet(client, now=ANCHOR)
    full_cost = sim.stats.accepted
    stop = anyio.Event()
    sim.reset_stats()
    moving = _stopping_after(sim, 40, stop)
    async with client_of(sim, transport=moving) as client, await AuditState.open(path) as state:
        first = await audit_fleet(client, now=ANCHOR, stop=stop, state=state)
    first_cost = sim.stats.accepted
    sim.reset_stats()
    async with client_of(sim) as client, await AuditState.open(path) as state:
        second = await audit_fleet(client, state=state)  # resumes: the run's own now
        assert state.reused == len(first.jobs)
    assert not first.complete and second.complete
    assert second.generated_at == ANCHOR
    assert report_to_dict(second)["jobs"] == report_to_dict(whole)["jobs"]
    # The second run reads the task lists of the jobs the first had not finished, only:
    # each is small, read whole, one request per page.
    finished = {job.job_id for job in first.jobs}
    left = [job for job in sim.fleet.jobs if job.job_id not in finished]
    assert sim.stats.per_action["ListOTATaskByJob"] == sum(
        max(1, math.ceil(len(job.tasks) / 100)) for job in left
    )
    assert first_cost < full_cost == 99


async def test_a_later_audit_reads_again_only_jobs_that_can_have_changed(tmp_path: Path) -> None:
    sim = make_simulator()
    path = tmp_path / "audit.sqlite"
    async with client_of(sim) as client, await AuditState.open(path) as state:
        await audit_fleet(client, now=ANCHOR, state=state)
    fleet = sim.fleet
    settled = [
        job.job_id
        for job in fleet.jobs
        if job.status in ("COMPLETED", "CANCELED")
        and not any(fleet.task_status_counts(job.job_id)[s] for s in ("CONFIRM", "QUEUED"))
        and not any(fleet.task_status_counts(job.job_id)[s] for s in ("NOTIFIED", "IN_PROGRESS"))
    ]
    assert settled
    sim.reset_stats()
    async with client_of(sim) as client, await AuditState.open(path) as state:
        report = await audit_fleet(client, now=ANCHOR, state=state)
        assert state.reused == len(settled)
    assert sim.stats.per_action["ListOTATaskByJob"] == sum(
        max(1, math.ceil(len(job.tasks) / 100)) for job in fleet.jobs if job.job_id not in settled
    )
    for job in report.jobs:
        assert _nonzero(job.task_counts) == _nonzero(fleet.task_status_counts(job.job_id))


async def test_a_finished_job_whose_modified_time_moved_is_read_again(tmp_path: Path) -> None:
    sim = make_simulator()
    path = tmp_path / "audit.sqlite"
    async with client_of(sim) as client, await AuditState.open(path) as state:
        await audit_fleet(client, now=ANCHOR, state=state)
    fleet = sim.fleet
    job, row = _failed_task_on_a_free_device(sim)
    # Re-upgrading a failed device: the job runs again, its UtcModified moves.
    fleet.requeue_tasks(job, [row], fleet.anchor_ms + 1)
    async with client_of(sim) as client, await AuditState.open(path) as state:
        report = await audit_fleet(client, now=ANCHOR, state=state)
    (audited,) = [j for j in report.jobs if j.job_id == job.job_id]
    assert audited.task_counts == fleet.task_status_counts(job.job_id)
    assert audited.task_counts["QUEUED"] >= 1


async def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "audit.sqlite"
    path.write_text("not a database, just text that is long enough to have a header" * 10)
    with pytest.raises(OTAError, match=r"cannot use .* as an audit state file"):
        await AuditState.open(path)


async def test_a_final_job_whose_modified_time_moved_is_read_again(tmp_path: Path) -> None:
    sim = make_simulator()
    path = tmp_path / "audit.sqlite"
    async with client_of(sim) as client, await AuditState.open(path) as state:
        await audit_fleet(client, now=ANCHOR, state=state)
    fleet = sim.fleet
    job, row = _failed_task_on_a_free_device(sim)
    # Still COMPLETED, but something about it changed: its UtcModified says so.
    fleet.set_task_status(job, row, TASK_STATUSES.index("SUCCEEDED"), fleet.anchor_ms + 1)
    fleet.touch_job(job, fleet.anchor_ms + 1)
    async with client_of(sim) as client, await AuditState.open(path) as state:
        report = await audit_fleet(client, now=ANCHOR, state=state)
    (audited,) = [j for j in report.jobs if j.job_id == job.job_id]
    assert audited.job_status == "COMPLETED"
    assert audited.task_counts == fleet.task_status_counts(job.job_id)
