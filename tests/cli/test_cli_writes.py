"""The write commands: tasks reupgrade and confirm, jobs cancel and the three creates.

Each runs against a fleet of its own (``fresh``): the simulator's state is read after the
command to see that the tasks were really queued, confirmed or canceled, and its request
counters give exact numbers of calls.
"""

from __future__ import annotations

import functools
import json
import math
from typing import Any

import pytest
from cli_helpers import NO_ENV, Served, assert_one_line_failure, run
from support.lying_servers import AmbiguousAnswer, InterruptedAt, RefusedAt

from otaclient import OTAClient
from otaclient._cli import connect
from otaclient.simulator import Simulator
from otaclient.simulator.model import Job

FAILED, CANCELED, CONFIRM, QUEUED = "FAILED", "CANCELED", "CONFIRM", "QUEUED"
_CODES = {"CONFIRM": 0, "QUEUED": 1, "FAILED": 5, "CANCELED": 6}


def _task_ids(sim: Simulator, job: Job, status: str) -> list[str]:
    return [sim.fleet.task_id(job, row) for row in job.tasks.rows_with_status(_CODES[status])]


def _free(sim: Simulator, job: Job, status: str) -> bool:
    # Re-upgradable: the device has no unfinished task for the module elsewhere.
    product = sim.fleet.products[job.product_index]
    rows = job.tasks.rows_with_status(_CODES[status])
    return all(
        sim.fleet.busy_owner(product, job.tasks.devices[row], job.module_key) is None
        for row in rows
    )


def _job_with(sim: Simulator, *statuses: str, least: int = 11) -> Job:
    """A running-or-completed job with more than ``least - 1`` re-upgradable tasks."""
    for job in sim.fleet.jobs:
        counts = sim.fleet.task_status_counts(job.job_id)
        if (
            job.status != "CANCELED"
            and sum(counts.get(s, 0) for s in statuses) >= least
            and all(_free(sim, job, s) for s in statuses)
        ):
            return job
    raise AssertionError(f"the sample fleet has no job with {least} free {statuses} tasks")


def _writes(sim: Simulator, action: str) -> int:
    return sim.stats.per_action.get(action, 0)


def _dry_run_calls(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines()]


def _sent_task_ids(calls: list[dict[str, Any]]) -> list[str]:
    return [
        value
        for call in calls
        for name, value in call["parameters"].items()
        if name.startswith("TaskId.")
    ]


# --------------------------------------------------------------------------- tasks reupgrade


def test_reupgrade_queues_every_failed_task_again_in_calls_of_ten(fresh: Served) -> None:
    sim = fresh.sim
    job = _job_with(sim, FAILED)
    failed = _task_ids(sim, job, FAILED)
    before = sim.fleet.task_status_counts(job.job_id)
    result = run("tasks", "reupgrade", "--job-id", job.job_id, "--yes", env=fresh.env)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == f"{len(failed)} tasks of job {job.job_id} queued again"
    counts = sim.fleet.task_status_counts(job.job_id)
    assert counts[FAILED] == 0
    # Back in the queue, or waiting for confirmation again in a batch that needs it.
    assert counts[QUEUED] + counts[CONFIRM] == before[QUEUED] + before[CONFIRM] + len(failed)
    assert _writes(sim, "ReupgradeOTATask") == math.ceil(len(failed) / 10)


def test_reupgrade_reads_each_status_once_per_page(fresh: Served) -> None:
    sim = fresh.sim
    job = _job_with(sim, FAILED, CANCELED)
    args = ("tasks", "reupgrade", "--job-id", job.job_id, "--status", "failed")
    result = run(*args, "--status", "canceled", "--status", "FAILED", "--yes", env=fresh.env)
    assert result.exit_code == 0, result.stderr
    # Each status's tasks fit in one page of 100: one request per status, FAILED once.
    assert _writes(sim, "ListOTATaskByJob") == 2


def test_reupgrade_of_failed_and_canceled_requeues_both(fresh: Served) -> None:
    sim = fresh.sim
    job = _job_with(sim, FAILED, CANCELED)
    both = len(_task_ids(sim, job, FAILED)) + len(_task_ids(sim, job, CANCELED))
    args = ("tasks", "reupgrade", "--job-id", job.job_id, "--status", "failed")
    result = run(*args, "--status", "canceled", "--format", "json", "--yes", env=fresh.env)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["queued"] == both
    counts = sim.fleet.task_status_counts(job.job_id)
    assert counts[FAILED] == counts[CANCELED] == 0


def test_reupgrade_dry_run_prints_every_call_and_sends_no_write(fresh: Served) -> None:
    sim = fresh.sim
    job = _job_with(sim, FAILED)
    failed = _task_ids(sim, job, FAILED)
    result = run("tasks", "reupgrade", "--job-id", job.job_id, "--dry-run", env=fresh.env)
    assert result.exit_code == 0, result.stderr
    calls = _dry_run_calls(result.stdout)
    assert {call["action"] for call in calls} == {"ReupgradeOTATask"}
    assert all(call["parameters"]["JobId"] == job.job_id for call in calls)
    assert all(len(call["parameters"]) <= 1 + 10 for call in calls)
    assert sorted(_sent_task_ids(calls)) == sorted(failed)
    assert _writes(sim, "ReupgradeOTATask") == 0
    assert sim.fleet.task_status_counts(job.job_id)[FAILED] == len(failed)
    assert "none sent" in result.stderr


def test_reupgrade_answered_no_sends_nothing(fresh: Served) -> None:
    sim = fresh.sim
    job = _job_with(sim, FAILED)
    result = run("tasks", "reupgrade", "--job-id", job.job_id, env=fresh.env, input="n\n")
    assert "Re-upgrade" in result.stderr
    assert "not confirmed" in assert_one_line_failure(result)
    assert _writes(sim, "ReupgradeOTATask") == 0


def test_reupgrade_with_no_failed_task_says_so_and_exits_zero(fresh: Served) -> None:
    sim = fresh.sim
    job = next(j for j in sim.fleet.jobs if not sim.fleet.task_status_counts(j.job_id)[FAILED])
    result = run("tasks", "reupgrade", "--job-id", job.job_id, "--yes", env=fresh.env)
    assert result.exit_code == 0, result.stderr
    assert "nothing to re-upgrade" in result.stderr
    assert _writes(sim, "ReupgradeOTATask") == 0


def test_reupgrade_stops_at_an_ambiguous_answer_and_names_the_command_to_check(
    fresh: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = fresh.sim
    job = _job_with(sim, FAILED, least=21)
    calls = math.ceil(len(_task_ids(sim, job, FAILED)) / 10)
    lying = AmbiguousAnswer(sim, "ReupgradeOTATask", nth=2)
    monkeypatch.setattr(connect, "OTAClient", functools.partial(OTAClient, transport=lying))
    result = run("tasks", "reupgrade", "--job-id", job.job_id, "--yes", env=fresh.env)
    line = assert_one_line_failure(result)
    assert lying.seen["ReupgradeOTATask"] == 2, "a write was sent again, or after the doubt"
    assert "1 of" in line and "outcome unknown" in line
    assert f"otaclient tasks list --job-id {job.job_id} --status failed" in line
    assert "list_ota_task_by_job" not in line
    if calls > 2:
        assert f"({calls - 2} more not sent)" in line
    assert sim.fleet.task_status_counts(job.job_id)[FAILED] == len(_task_ids(sim, job, FAILED))


# --------------------------------------------------------------------------- tasks confirm


def test_confirm_by_job_confirms_every_task_waiting_in_confirm(fresh: Served) -> None:
    sim = fresh.sim
    job = next(j for j in sim.fleet.jobs if sim.fleet.task_status_counts(j.job_id)[CONFIRM] > 10)
    waiting = len(_task_ids(sim, job, CONFIRM))
    result = run("tasks", "confirm", "--job-id", job.job_id, "--yes", env=fresh.env)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == f"{waiting} tasks of job {job.job_id} confirmed"
    assert sim.fleet.task_status_counts(job.job_id)[CONFIRM] == 0
    assert _writes(sim, "ConfirmOTATask") == math.ceil(waiting / 10)


def test_confirm_of_named_tasks_dry_run_prints_the_exact_call(fresh: Served) -> None:
    result = run("tasks", "confirm", "--task-id", "t1", "--task-id", "t2", "--dry-run")
    assert result.exit_code == 0, result.stderr
    assert _dry_run_calls(result.stdout) == [
        {"action": "ConfirmOTATask", "parameters": {"TaskId.1": "t1", "TaskId.2": "t2"}}
    ]


# --------------------------------------------------------------------------- jobs cancel


def test_cancel_queued_cancels_exactly_the_queued_tasks(fresh: Served) -> None:
    sim = fresh.sim
    job = next(j for j in sim.fleet.jobs if sim.fleet.task_status_counts(j.job_id)[QUEUED])
    before = sim.fleet.task_status_counts(job.job_id)
    result = run("jobs", "cancel", job.job_id, "--queued", "--yes", env=fresh.env)
    assert result.exit_code == 0, result.stderr
    after = sim.fleet.task_status_counts(job.job_id)
    assert after[QUEUED] == 0
    assert after[CANCELED] == before[CANCELED] + before[QUEUED]
    assert after["IN_PROGRESS"] == before["IN_PROGRESS"]
    assert _writes(sim, "CancelOTATaskByJob") == 1


def test_cancel_dry_run_prints_the_policy_call_then_the_task_call() -> None:
    result = run("jobs", "cancel", "J1", "--policy", "--unfinished", "--dry-run", env=NO_ENV)
    assert result.exit_code == 0, result.stderr
    assert _dry_run_calls(result.stdout) == [
        {"action": "CancelOTAStrategyByJob", "parameters": {"JobId": "J1"}},
        {
            "action": "CancelOTATaskByJob",
            "parameters": {
                "JobId": "J1",
                "CancelScheduledTask": "true",
                "CancelQueuedTask": "true",
                "CancelNotifiedTask": "true",
                "CancelInProgressTask": "true",
                "CancelUnconfirmedTask": "true",
            },
        },
    ]


def test_cancel_without_naming_what_is_a_usage_error() -> None:
    result = run("jobs", "cancel", "J1", "--yes")
    assert result.exit_code == 2
    assert "--unfinished" in result.stderr


# --------------------------------------------------------------------------- creates


def _verified(sim: Simulator) -> Any:
    return next(f for f in sim.fleet.firmware_sorted() if f.status == 1)


def test_create_dynamic_dry_run_needs_no_endpoint_and_prints_the_exact_call() -> None:
    args = ("jobs", "create-dynamic", "--firmware-id", "F", "--product-key", "P")
    result = run(
        *args,
        "--src-version",
        "1.0",
        "--retry-interval",
        "60",
        "--retry-count",
        "2",
        "--dynamic-mode",
        "2",
        "--tag",
        "team=a",
        "--dry-run",
    )
    assert result.exit_code == 0, result.stderr
    assert _dry_run_calls(result.stdout) == [
        {
            "action": "CreateOTADynamicUpgradeJob",
            "parameters": {
                "FirmwareId": "F",
                "ProductKey": "P",
                "SrcVersion.1": "1.0",
                "DynamicMode": "2",
                "RetryInterval": "60",
                "RetryCount": "2",
                "Tag.1.Key": "team",
                "Tag.1.Value": "a",
            },
        }
    ]


def test_create_dynamic_creates_a_dynamic_batch(fresh: Served) -> None:
    sim = fresh.sim
    running = {j.firmware_id for j in sim.fleet.jobs if j.selection_type == "DYNAMIC"}
    package = next(
        f
        for f in sim.fleet.firmware_sorted()
        if f.status == 1 and f.firmware_id not in running and f.src_version is None
    )
    args = ("jobs", "create-dynamic", "--firmware-id", package.firmware_id)
    result = run(
        *args,
        "--product-key",
        str(package.product_key),
        "--src-version",
        "0.9.0",
        "--yes",
        env=fresh.env,
    )
    assert result.exit_code == 0, result.stderr
    created = sim.fleet.jobs_by_id[result.stdout.strip()]
    assert created.selection_type == "DYNAMIC"


def test_create_verify_creates_a_verify_batch_on_the_named_devices(fresh: Served) -> None:
    sim = fresh.sim
    package = next(f for f in sim.fleet.firmware_sorted() if f.status == 0)
    product = sim.fleet.product(package.product_key)
    assert product is not None
    device = product.device_name(0)
    args = ("jobs", "create-verify", "--firmware-id", package.firmware_id)
    result = run(
        *args, "--product-key", product.key, "--device-name", device, "--yes", env=fresh.env
    )
    assert result.exit_code == 0, result.stderr
    assert sim.fleet.jobs_by_id[result.stdout.strip()].job_type == "VERIFY_FIRMWARE"
    assert _writes(sim, "CreateOTAVerifyJob") == 1


def test_a_refused_argument_is_named_by_its_option_not_its_python_name() -> None:
    devices = [arg for n in range(11) for arg in ("--device-name", f"d{n}")]
    args = ("jobs", "create-verify", "--firmware-id", "F", "--product-key", "P")
    line = assert_one_line_failure(run(*args, *devices, "--dry-run"), exit_code=2)
    assert "--device-name takes at most 10" in line
    assert "target_device_names" not in line


def test_specific_without_devices_names_the_options_that_would_do(fresh: Served) -> None:
    args = ("jobs", "create-static", "--firmware-id", "F", "--product-key", "P")
    line = assert_one_line_failure(
        run(*args, "--target-selection", "specific", "--yes", env=fresh.env), exit_code=2
    )
    assert "--device-name" in line and "--dn-list-file-url" in line
    assert "target_device_names" not in line and "dn_list_file_url" not in line
    assert _writes(fresh.sim, "CreateOTAStaticUpgradeJob") == 0


def test_a_refused_argument_is_reported_before_credentials_are_looked_for() -> None:
    args = ("jobs", "create-static", "--firmware-id", "F", "--product-key", "P")
    line = assert_one_line_failure(
        run(*args, "--target-selection", "gray", "--yes", env=NO_ENV), exit_code=2
    )
    assert "needs --gray-percent" in line


def test_create_after_an_ambiguous_answer_is_not_retried_and_names_the_check_command(
    fresh: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = fresh.sim
    package = _verified(sim)
    jobs_before = len(sim.fleet.jobs)
    lying = AmbiguousAnswer(sim, "CreateOTAStaticUpgradeJob", nth=1)
    monkeypatch.setattr(connect, "OTAClient", functools.partial(OTAClient, transport=lying))
    args = ("jobs", "create-static", "--firmware-id", package.firmware_id, "--product-key")
    result = run(
        *args, str(package.product_key), "--target-selection", "all", "--yes", env=fresh.env
    )
    line = assert_one_line_failure(result)
    assert lying.seen["CreateOTAStaticUpgradeJob"] == 1
    assert len(sim.fleet.jobs) == jobs_before + 1, "the lost answer's batch exists"
    assert f"Check with: otaclient jobs list --firmware-id {package.firmware_id}" in line
    assert "list_ota_job_by_firmware" not in line


def _busy(sim: Simulator, job: Job, task_id: str) -> bool:
    """Whether the device of ``task_id`` has an unfinished task in another batch."""
    found = sim.fleet.locate_task(task_id)
    assert found is not None
    product = sim.fleet.products[job.product_index]
    device = job.tasks.devices[found[1]]
    return sim.fleet.busy_owner(product, device, job.module_key) is not None


def _busy_and_free_batches(fresh: Served) -> tuple[Job, list[list[str]], list[bool]]:
    """A job whose failed tasks, in the batches the command sends, include a batch the
    service refuses (a device busy with another task) and batches it accepts."""
    sim = fresh.sim
    for job in sim.fleet.jobs:
        failed = job.tasks.rows_with_status(_CODES[FAILED])
        if job.status == "CANCELED" or len(failed) <= 20 or _free(sim, job, FAILED):
            continue
        dry = run("tasks", "reupgrade", "--job-id", job.job_id, "--dry-run", env=fresh.env)
        batches = [
            [v for k, v in call["parameters"].items() if k.startswith("TaskId.")]
            for call in _dry_run_calls(dry.stdout)
        ]
        refused = [any(_busy(sim, job, task_id) for task_id in batch) for batch in batches]
        if any(refused) and not all(refused) and refused.index(True) < len(refused) - 1:
            return job, batches, refused
    raise AssertionError("the sample fleet has no job with a refused and an accepted batch")


def _calls_to_settle(batch: list[str], busy: set[str]) -> int:
    """The ReupgradeOTATask calls one batch takes when a refused batch is sent again in
    halves until the busy tasks stand alone (the oracle of the command's splitting)."""
    if len(batch) == 1 or not busy & set(batch):
        return 1
    middle = len(batch) // 2
    return 1 + _calls_to_settle(batch[:middle], busy) + _calls_to_settle(batch[middle:], busy)


def test_reupgrade_sends_a_batch_refused_for_a_busy_device_again_without_it(
    fresh: Served,
) -> None:
    job, batches, _ = _busy_and_free_batches(fresh)
    sim = fresh.sim
    busy = {task_id for batch in batches for task_id in batch if _busy(sim, job, task_id)}
    free = sum(len(batch) for batch in batches) - len(busy)
    result = run("tasks", "reupgrade", "--job-id", job.job_id, "--yes", env=fresh.env)
    line = assert_one_line_failure(result)
    assert line.startswith(f"Error: {len(busy)} calls refused") and "DeviceHasUnfinished" in line
    assert result.stdout.strip() == f"{free} tasks of job {job.job_id} queued again"
    assert sim.fleet.task_status_counts(job.job_id)[FAILED] == len(busy)
    expected = sum(_calls_to_settle(batch, busy) for batch in batches)
    assert _writes(sim, "ReupgradeOTATask") == expected


def test_reupgrade_stops_at_the_first_refused_call_and_offers_keep_going(
    fresh: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = fresh.sim
    job = _job_with(sim, FAILED, least=21)
    refusing = RefusedAt(sim, "ReupgradeOTATask", nth=2, code="iot.ota.TaskStatusNotSupport")
    monkeypatch.setattr(connect, "OTAClient", functools.partial(OTAClient, transport=refusing))
    result = run("tasks", "reupgrade", "--job-id", job.job_id, "--yes", env=fresh.env)
    line = assert_one_line_failure(result)
    assert "TaskStatusNotSupport" in line and "--keep-going" in line
    assert refusing.seen["ReupgradeOTATask"] == 2


def test_reupgrade_keep_going_sends_every_batch_and_counts_only_the_accepted(
    fresh: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = fresh.sim
    job = _job_with(sim, FAILED, least=21)
    failed = _task_ids(sim, job, FAILED)
    batches = math.ceil(len(failed) / 10)
    refusing = RefusedAt(sim, "ReupgradeOTATask", nth=2, code="iot.ota.TaskStatusNotSupport")
    monkeypatch.setattr(connect, "OTAClient", functools.partial(OTAClient, transport=refusing))
    args = ("tasks", "reupgrade", "--job-id", job.job_id, "--keep-going", "--yes")
    result = run(*args, env=fresh.env)
    line = assert_one_line_failure(result)
    assert line.startswith("Error: 1 call refused")
    assert result.stdout.strip() == f"{len(failed) - 10} tasks of job {job.job_id} queued again"
    assert refusing.seen["ReupgradeOTATask"] == batches
    assert sim.fleet.task_status_counts(job.job_id)[FAILED] == 10


def test_the_write_commands_are_listed_in_help() -> None:
    assert {"reupgrade", "confirm"} <= set(run("tasks", "--help").stdout.split())
    assert {"cancel", "create-dynamic", "create-verify"} <= set(
        run("jobs", "--help").stdout.split()
    )


def test_ctrl_c_with_a_write_in_flight_says_it_may_have_taken_effect(
    fresh: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = fresh.sim
    job = _job_with(sim, FAILED, least=21)
    lying = InterruptedAt(sim, "ReupgradeOTATask", nth=2)
    monkeypatch.setattr(connect, "OTAClient", functools.partial(OTAClient, transport=lying))
    result = run("tasks", "reupgrade", "--job-id", job.job_id, "--yes", env=fresh.env)
    assert result.exit_code == 130
    assert lying.seen["ReupgradeOTATask"] == 2
    assert "interrupted: 1 of" in result.stderr
    assert "may or may not have taken effect" in result.stderr
    assert f"Check with: otaclient tasks list --job-id {job.job_id}" in result.stderr
