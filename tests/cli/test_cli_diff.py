"""``otaclient diff`` on reports of the real audit, before and after the fleet changed.

The fleet is the simulator's, served over HTTP; both audits are ``otaclient audit --format
json`` runs. Between them the fleet changes through the API (a batch's queued tasks
canceled, a batch's failed tasks re-upgraded, a new batch created) and one device reports
a failure (the API has no action for that: the simulator's fleet records it directly).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from anyio.from_thread import start_blocking_portal
from cli_helpers import NO_ENV, assert_one_line_failure, run

from otaclient import APIError, OTAClient
from otaclient.simulator import (
    DEMO_ACCESS_KEY_ID,
    DEMO_ACCESS_KEY_SECRET,
    TASK_STATUSES,
    FleetSpec,
    Simulator,
    SimulatorConfig,
    running_server,
)

ANCHOR_MS = 1_732_006_800_000


@attrs.frozen
class Rollout:
    """Two audits of one fleet and what was done to it in between."""

    old: Path
    new: Path
    canceled_job: str
    reupgraded_job: str
    reupgraded: str
    created_job: str
    failing_job: str
    failing_device: str
    old_report: dict[str, Any]


def _fleet() -> Simulator:
    spec = FleetSpec(
        products=1,
        firmware_per_product=2,
        jobs_per_firmware=(2, 2),
        devices_per_product=200,
        tasks_per_job=(30, 60),
        modules_per_product=0,
        verify_jobs=False,
        job_statuses=("IN_PROGRESS", "COMPLETED"),
        anchor_ms=ANCHOR_MS,
    )
    return Simulator(SimulatorConfig(qps=None, fleet=spec))


def _audit(env: dict[str, str | None], path: Path) -> dict[str, Any]:
    # --max-devices 3: the failed-device lists are cut, as on a real fleet.
    args = ("audit", "--qps", "0", "--max-devices", "3", "--format", "json", "-o", str(path))
    result = run(*args, env=env)
    assert result.exit_code == 0, result.stderr
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def _job(report: dict[str, Any], status: str, *, needs: str) -> dict[str, Any]:
    return next(
        job
        for job in report["jobs"]
        if job["job_status"] == status and job["task_counts"][needs] > 0
    )


async def _change_the_fleet(sim: Simulator, url: str, old: dict[str, Any]) -> dict[str, str]:
    to_cancel = _job(old, "IN_PROGRESS", needs="QUEUED")
    to_reupgrade = _job(old, "COMPLETED", needs="FAILED")
    failing = next(
        job
        for job in old["jobs"]
        if job["job_status"] == "IN_PROGRESS"
        and job["task_counts"]["IN_PROGRESS"] > 0
        and job["job_id"] != to_cancel["job_id"]
    )
    async with OTAClient(
        endpoint=url,
        access_key_id=DEMO_ACCESS_KEY_ID,
        access_key_secret=DEMO_ACCESS_KEY_SECRET,
        qps=None,
    ) as client:
        await client.cancel_ota_task_by_job(job_id=to_cancel["job_id"], cancel_queued_task=True)
        failed = [
            task.task_id
            async for task in client.iter_ota_task_by_job(
                job_id=to_reupgrade["job_id"], task_status="FAILED"
            )
        ]
        reupgraded = 0
        for task_id in failed:
            # A device busy with another batch's task cannot be re-upgraded: skip it.
            try:
                await client.reupgrade_ota_task(job_id=to_reupgrade["job_id"], task_ids=[task_id])
            except APIError as refused:
                assert refused.code == "iot.ota.DeviceHasUnfinishedTask", refused
            else:
                reupgraded += 1
        assert reupgraded > 0
        created = await client.create_ota_static_upgrade_job(
            firmware_id=failing["firmware_id"],
            product_key=failing["product_key"],
            target_selection="ALL",
        )
        in_progress = [
            task
            async for task in client.iter_ota_task_by_job(
                job_id=failing["job_id"], task_status="IN_PROGRESS"
            )
        ]
        device_task = in_progress[0]
    fleet = sim.fleet
    located = fleet.locate_task(str(device_task.task_id))
    assert located is not None
    job, row = located
    now_ms = int(sim.config.wall_clock() * 1000)
    fleet.set_task_status(job, row, TASK_STATUSES.index("FAILED"), now_ms, "Device reported -4.")
    return {
        "canceled_job": to_cancel["job_id"],
        "reupgraded_job": to_reupgrade["job_id"],
        "reupgraded": str(reupgraded),
        "created_job": str(created.job_id),
        "failing_job": failing["job_id"],
        "failing_device": str(device_task.device_name),
    }


@pytest.fixture(scope="module")
def rollout(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rollout]:
    where = tmp_path_factory.mktemp("rollout")
    sim = _fleet()
    with (
        start_blocking_portal() as portal,
        portal.wrap_async_context_manager(running_server(sim, port=0)) as url,
    ):
        env: dict[str, str | None] = {
            "ALIBABA_CLOUD_ACCESS_KEY_ID": DEMO_ACCESS_KEY_ID,
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET": DEMO_ACCESS_KEY_SECRET,
            "OTACLIENT_ENDPOINT": url,
        }
        old = _audit(env, where / "old.json")
        done = portal.call(_change_the_fleet, sim, url, old)
        _audit(env, where / "new.json")
    yield Rollout(old=where / "old.json", new=where / "new.json", old_report=old, **done)


def _json_diff(rollout: Rollout) -> dict[str, Any]:
    result = run("diff", str(rollout.old), str(rollout.new), "--format", "json")
    assert result.exit_code == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def _by_id(diff: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {job["job_id"]: job for job in diff["jobs"]}


def _old_job(rollout: Rollout, job_id: str) -> dict[str, Any]:
    return next(job for job in rollout.old_report["jobs"] if job["job_id"] == job_id)


def test_canceling_queued_tasks_moves_them_to_canceled(rollout: Rollout) -> None:
    found = _by_id(_json_diff(rollout))[rollout.canceled_job]
    queued = _old_job(rollout, rollout.canceled_job)["task_counts"]["QUEUED"]
    assert found["change"] == "changed"
    assert found["task_count_changes"] == {"QUEUED": -queued, "CANCELED": queued}


def test_reupgrading_failed_tasks_queues_them_and_reopens_the_job(rollout: Rollout) -> None:
    found = _by_id(_json_diff(rollout))[rollout.reupgraded_job]
    failed = _old_job(rollout, rollout.reupgraded_job)["task_counts"]["FAILED"]
    queued = int(rollout.reupgraded)
    assert found["task_count_changes"] == {"QUEUED": queued, "FAILED": -queued}
    assert found["job_status"] == {"old": "COMPLETED", "new": "IN_PROGRESS"}
    assert found["failed_count"] == {"old": failed, "new": failed - queued}
    # Both lists are cut at 3, so "none newly failed" is a lower bound, not a certainty.
    assert found["newly_failed"] == {"count": 0, "exact": False, "devices": []}


def test_a_created_job_is_added(rollout: Rollout) -> None:
    found = _by_id(_json_diff(rollout))[rollout.created_job]
    assert found["change"] == "added"
    assert set(found["task_count_changes"]) == {"QUEUED"}
    assert found["task_count_changes"]["QUEUED"] > 0


def test_a_device_that_failed_since_is_named_newly_failed(rollout: Rollout) -> None:
    found = _by_id(_json_diff(rollout))[rollout.failing_job]
    assert found["task_count_changes"] == {"IN_PROGRESS": -1, "FAILED": 1}
    # OLD listed 3 of its failures at most, so the device is known new by its task's time.
    assert rollout.failing_device in found["newly_failed"]["devices"]
    assert found["newly_failed"]["count"] == 1


def test_only_the_jobs_that_differ_are_listed(rollout: Rollout) -> None:
    diff = _json_diff(rollout)
    changed = {
        rollout.canceled_job,
        rollout.reupgraded_job,
        rollout.created_job,
        rollout.failing_job,
    }
    assert set(_by_id(diff)) == changed
    assert diff["summary"]["unchanged"] == len(rollout.old_report["jobs"]) - 3
    assert diff["old"]["generated_at"] == rollout.old_report["generated_at"]


def test_a_report_against_itself_is_no_differences(rollout: Rollout) -> None:
    result = run("diff", str(rollout.new), str(rollout.new))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.count("\n") == 1
    assert result.stdout.startswith("no differences: ")


def test_the_same_report_twice_in_json_is_an_empty_list(rollout: Rollout) -> None:
    result = run("diff", "--format", "json", str(rollout.old), str(rollout.old))
    assert json.loads(result.stdout)["jobs"] == []


def test_the_group_format_option_applies_to_diff(rollout: Rollout) -> None:
    result = run("--format", "json", "diff", str(rollout.old), str(rollout.new))
    assert result.exit_code == 0, result.stderr
    assert "jobs" in json.loads(result.stdout)


def test_new_can_be_read_from_stdin(rollout: Rollout) -> None:
    result = run("diff", "--format", "json", str(rollout.old), "-", input=rollout.new.read_text())
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["new"]["source"] == "stdin"


@pytest.mark.parametrize("width", [60, 80, 100, 200])
def test_the_table_fits_the_width_and_never_splits_an_id(rollout: Rollout, width: int) -> None:
    result = run("diff", str(rollout.old), str(rollout.new), env={"COLUMNS": str(width)})
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= width
    for job_id in (rollout.canceled_job, rollout.created_job, rollout.failing_job):
        assert any(job_id in line for line in lines), job_id
    assert rollout.failing_device in result.stdout
    assert "added" in result.stdout and "changed" in result.stdout


def test_piped_without_columns_each_job_is_one_line_as_in_every_other_table(
    rollout: Rollout,
) -> None:
    result = run("diff", str(rollout.old), str(rollout.new), env={"COLUMNS": None})
    assert result.exit_code == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if rollout.failing_job in line]
    assert len(rows) == 1 and rollout.failing_device in rows[0]  # no aspect wrapped away


# ------------------------------------------------------------------ a real subprocess


def _subprocess(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key not in NO_ENV}
    env["COLUMNS"] = "90"
    return subprocess.run(
        [sys.executable, "-m", "otaclient.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        input=stdin,
    )


def test_the_console_script_prints_the_table(rollout: Rollout) -> None:
    done = _subprocess("diff", str(rollout.old), str(rollout.new))
    assert done.returncode == 0, done.stderr
    assert "1 added, 0 removed, 3 changed" in " ".join(done.stdout.split())
    assert max(len(line) for line in done.stdout.splitlines()) <= 90
    assert rollout.created_job in done.stdout
    assert done.stderr == ""


def test_the_console_script_prints_json(rollout: Rollout) -> None:
    done = _subprocess("diff", "--format", "json", str(rollout.old), str(rollout.new))
    assert done.returncode == 0, done.stderr
    assert {job["change"] for job in json.loads(done.stdout)["jobs"]} == {"added", "changed"}


def test_the_console_script_fails_in_one_line_on_a_missing_file(tmp_path: Path) -> None:
    done = _subprocess("diff", str(tmp_path / "gone.json"), str(tmp_path / "gone.json"))
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "gone.json" in done.stderr and "No such file" in done.stderr


# ------------------------------------------------------------------ errors


def test_a_missing_file_is_a_bad_argument(tmp_path: Path, rollout: Rollout) -> None:
    line = assert_one_line_failure(
        run("diff", str(tmp_path / "nope.json"), str(rollout.new)), exit_code=2
    )
    assert "cannot read the OLD report" in line and "nope.json" in line


def test_a_directory_is_a_bad_argument(tmp_path: Path, rollout: Rollout) -> None:
    line = assert_one_line_failure(run("diff", str(rollout.old), str(tmp_path)), exit_code=2)
    assert "cannot read the NEW report" in line


def test_a_path_that_cannot_be_opened_is_a_bad_argument(tmp_path: Path, rollout: Rollout) -> None:
    # Any OSError of the read takes this path (permission denied too; root, as in CI,
    # reads files whatever their mode, so a file under a file stands in for it).
    beneath = rollout.old / "report.json"
    line = assert_one_line_failure(run("diff", str(beneath), str(rollout.new)), exit_code=2)
    assert "cannot read the OLD report" in line and "Not a directory" in line


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("not json at all", "is not JSON"),
        ('{"totals": {}}', 'has no "jobs" list'),
        ('{"jobs": [{"job_status": "COMPLETED"}]}', 'jobs[0] has no "job_id"'),
    ],
)
def test_a_file_that_is_not_a_report_fails_naming_it(
    tmp_path: Path, rollout: Rollout, content: str, says: str
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    line = assert_one_line_failure(run("diff", str(rollout.old), str(bad)))
    assert str(bad) in line and says in line


def test_both_from_stdin_is_a_bad_argument() -> None:
    assert "only one" in assert_one_line_failure(run("diff", "-", "-"), exit_code=2)


def test_a_format_diff_does_not_write_is_a_usage_error(rollout: Rollout) -> None:
    result = run("--format", "csv", "diff", str(rollout.old), str(rollout.new))
    assert result.exit_code == 2
    assert "table or json" in result.stderr
