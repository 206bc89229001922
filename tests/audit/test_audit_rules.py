"""Stuck detection, success rate, running jobs and failures, on a hand-made account."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from audit_fake_api import FakeAccount
from audit_helpers import client_of, make_simulator

from otaclient import APIError, OTAClient, ValidationError
from otaclient.audit import FleetReport, TaskSummary, audit_fleet

pytestmark = pytest.mark.anyio

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def _time(hours_ago: float) -> str:
    return (NOW - timedelta(hours=hours_ago)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _task(task_id: str, status: str, *, modified: float | None, created: float = 200) -> Any:
    task = {
        "TaskId": task_id,
        "JobId": "job-1",
        "FirmwareId": "fw-1",
        "ProductKey": "pk-1",
        "DeviceName": f"dev-{task_id}",
        "IotId": f"iot-{task_id}",
        "TaskStatus": status,
        "UtcCreate": _time(created),
    }
    if modified is not None:
        task["UtcModified"] = _time(modified)
    if status == "FAILED":
        task["TaskDesc"] = "Device upgrade timed out."
    return task


def _account() -> FakeAccount:
    firmware = [{"FirmwareId": "fw-1", "ProductKey": "pk-1", "DestVersion": "2.0"}]
    jobs = {
        "fw-1": [
            {
                "JobId": "job-1",
                "FirmwareId": "fw-1",
                "ProductKey": "pk-1",
                "JobStatus": "IN_PROGRESS",
            },
            {"JobId": "job-2", "FirmwareId": "fw-1", "ProductKey": "pk-1", "JobStatus": "COMPLETE"},
        ]
    }
    tasks = {
        "job-1": [
            _task("a", "IN_PROGRESS", modified=25),  # stuck
            _task("b", "IN_PROGRESS", modified=23),  # recent enough
            _task("c", "NOTIFIED", modified=48),  # stuck
            _task("d", "QUEUED", modified=100),  # waiting, not stuck
            _task("e", "CONFIRM", modified=100),  # waiting, not stuck
            _task("f", "FAILED", modified=5),
            _task("g", "SUCCEEDED", modified=5),
            _task("h", "IN_PROGRESS", modified=None, created=30),  # no modified time: created
            _task("i", "CANCELED", modified=5),
            _task("j", "SUCCEEDED", modified=5),
        ],
        "job-2": [],
    }
    return FakeAccount(firmware, jobs, tasks)


@asynccontextmanager
async def _client(account: FakeAccount) -> AsyncIterator[OTAClient]:
    async with OTAClient(
        access_key_id="id",
        access_key_secret="secret",
        endpoint="http://fake.test",
        qps=None,
        transport=account.transport(),
    ) as client:
        yield client


async def _audit(**options: Any) -> FleetReport:
    async with _client(_account()) as client:
        return await audit_fleet(client, now=NOW, **options)


async def test_stuck_means_notified_or_in_progress_untouched_for_stuck_after() -> None:
    report = await _audit(stuck_after=timedelta(hours=24))
    job = report.jobs[0]
    assert job.tasks.stuck == 3
    # Longest stuck first.
    assert [issue.task_id for issue in job.stuck_devices] == ["c", "h", "a"]
    assert job.stuck_devices[0].utc_modified == NOW - timedelta(hours=48)


async def test_stuck_after_is_the_threshold() -> None:
    report = await _audit(stuck_after=timedelta(hours=26))
    assert [issue.task_id for issue in report.jobs[0].stuck_devices] == ["c", "h"]
    assert (await _audit(stuck_after=timedelta(days=3))).jobs[0].tasks.stuck == 0


async def test_success_rate_is_succeeded_over_finished() -> None:
    job = (await _audit()).jobs[0]
    # SUCCEEDED 2, FAILED 1, CANCELED 1: finished 4 of 10 tasks.
    assert job.success_rate == pytest.approx(2 / 4)
    assert job.tasks.completion_rate == pytest.approx(4 / 10)
    assert (await _audit()).jobs[1].success_rate is None  # nothing finished


def test_task_summary_rates_and_every_status() -> None:
    summary = TaskSummary({"SUCCEEDED": 3, "FAILED": 1, "NEW_STATUS": 2})
    assert list(summary.counts)[:7] == [
        "CONFIRM",
        "QUEUED",
        "NOTIFIED",
        "IN_PROGRESS",
        "SUCCEEDED",
        "FAILED",
        "CANCELED",
    ]
    assert summary.counts["NEW_STATUS"] == 2
    assert (summary.total, summary.finished, summary.success_rate) == (6, 4, 0.75)
    assert TaskSummary({}).success_rate is None


async def test_failed_devices_carry_the_service_text() -> None:
    (issue,) = (await _audit()).jobs[0].failed_devices
    assert (issue.device_name, issue.task_desc) == ("dev-f", "Device upgrade timed out.")


async def test_running_jobs_and_canonical_job_status() -> None:
    report = await _audit()
    assert [job.job_id for job in report.running_jobs] == ["job-1"]
    assert report.jobs[1].job_status == "COMPLETED"  # the documented COMPLETE, folded
    assert report.totals.jobs_by_status == {"IN_PROGRESS": 1, "COMPLETED": 1}


async def test_an_api_error_is_raised_as_itself() -> None:
    sim = make_simulator()
    async with client_of(sim, access_key_secret="wrong-secret") as client:
        with pytest.raises(APIError) as caught:
            await audit_fleet(client)
    assert caught.value.code == "SignatureDoesNotMatch"


async def test_now_must_be_timezone_aware() -> None:
    async with _client(_account()) as client:
        with pytest.raises(ValidationError):
            await audit_fleet(client, now=datetime(2025, 1, 1))
