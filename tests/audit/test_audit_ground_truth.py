"""The audit's numbers against the simulator's ground truth (``sim.fleet``)."""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest
from audit_helpers import ANCHOR, ANCHOR_MS, client_of, make_simulator, stuck_ground_truth

from otaclient import OTAClient, _operations
from otaclient.audit import audit_fleet
from otaclient.simulator import FleetSpec, Simulator

pytestmark = pytest.mark.anyio


def _nonzero(counts: dict[str, int]) -> dict[str, int]:
    return {status: count for status, count in counts.items() if count}


@pytest.mark.parametrize("dialect", ["aliyun", "tuya"])
async def test_task_counts_match_the_fleet_for_every_job(dialect: str) -> None:
    sim = make_simulator(dialect=dialect)
    async with client_of(sim) as client:
        report = await audit_fleet(client, now=ANCHOR)
    fleet = sim.fleet
    assert [job.job_id for job in report.jobs] != []
    assert sorted(job.job_id for job in report.jobs) == sorted(fleet.job_ids())
    assert sorted(f.firmware_id for f in report.firmware) == sorted(fleet.firmware_ids())
    for job in report.jobs:
        assert _nonzero(job.task_counts) == _nonzero(fleet.task_status_counts(job.job_id))
        assert job.complete
    assert report.totals.tasks.total == fleet.total_tasks
    assert report.totals.jobs == len(fleet.jobs)


async def test_product_filter_audits_only_those_products(sim: Simulator, client: OTAClient) -> None:
    product = sim.fleet.products[1].key
    report = await audit_fleet(client, product_keys=[product], now=ANCHOR)
    expected = [job.job_id for job in sim.fleet.jobs_by_product[product]]
    assert sorted(job.job_id for job in report.jobs) == sorted(expected)
    assert {job.product_key for job in report.jobs} == {product}
    assert {f.product_key for f in report.firmware} == {product}
    assert report.product_keys == (product,)
    assert report.totals.products == 1


async def test_stuck_counts_match_the_fleet(sim: Simulator, client: OTAClient) -> None:
    report = await audit_fleet(client, now=ANCHOR, stuck_after=timedelta(hours=24))
    expected = stuck_ground_truth(sim, ANCHOR, timedelta(hours=24))
    assert {job.job_id: job.tasks.stuck for job in report.jobs} == expected
    assert report.totals.tasks.stuck == sum(expected.values()) > 0


async def test_device_lists_are_capped_but_counts_are_complete(
    sim: Simulator, client: OTAClient
) -> None:
    report = await audit_fleet(client, now=ANCHOR, max_devices_per_job=3)
    fleet = sim.fleet
    capped = 0
    for job in report.jobs:
        failed = fleet.task_status_counts(job.job_id).get("FAILED", 0)
        assert job.tasks.failed == failed
        assert len(job.failed_devices) == min(3, failed)
        assert len(job.stuck_devices) == min(3, job.tasks.stuck)
        assert all(issue.task_status == "FAILED" for issue in job.failed_devices)
        capped += failed > 3
    assert capped  # the cap really applied somewhere


def _shrink_paging_reach(monkeypatch: pytest.MonkeyPatch, max_offset: int) -> None:
    # The service lists at most 100,000 tasks; shrink that reach to exercise the split.
    op = _operations.LIST_OTA_TASK_BY_JOB
    shallow = attrs.evolve(op, result=attrs.evolve(op.result, max_offset=max_offset))
    monkeypatch.setattr(_operations, "LIST_OTA_TASK_BY_JOB", shallow)


async def test_a_job_too_deep_for_one_listing_is_read_status_by_status(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _shrink_paging_reach(monkeypatch, 300)
    sim = make_simulator(fleet=FleetSpec.single_job(450, anchor_ms=ANCHOR_MS))
    async with client_of(sim) as client:
        report = await audit_fleet(client, now=ANCHOR)
    (job,) = report.jobs
    truth = sim.fleet.task_status_counts(job.job_id)
    assert max(truth.values()) <= 300  # every status fits: the split reaches every task
    assert _nonzero(job.task_counts) == _nonzero(truth)
    assert job.complete


async def test_a_status_too_deep_to_reach_marks_the_job_incomplete(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Large enough to be counted by status: the stuck candidates' harvest is what cannot
    # reach every member (a status merely counted, whatever its size, costs one request).
    _shrink_paging_reach(monkeypatch, 100)
    sim = make_simulator(fleet=FleetSpec.single_job(2000, anchor_ms=ANCHOR_MS))
    async with client_of(sim) as client:
        report = await audit_fleet(client, now=ANCHOR)
    (job,) = report.jobs
    truth = sim.fleet.task_status_counts(job.job_id)
    assert max(truth.values()) > 100
    assert truth["IN_PROGRESS"] > 100
    assert not job.complete
    assert all(job.task_counts.get(status, 0) <= count for status, count in truth.items())
