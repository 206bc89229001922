"""The one-action subcommands: firmware, jobs and tasks."""

from __future__ import annotations

import json

from cli_helpers import Served, assert_one_line_failure, run


def test_firmware_list_json_lists_every_package(served: Served) -> None:
    result = run("firmware", "list", "--qps", "0", "--format", "json", env=served.env)
    assert result.exit_code == 0, result.stderr
    ids = [item["firmware_id"] for item in json.loads(result.stdout)]
    assert sorted(ids) == sorted(served.sim.fleet.firmware_ids())


def test_jobs_list_by_firmware_jsonl(served: Served) -> None:
    firmware_id = served.sim.fleet.firmware_ids()[0]
    args = ("jobs", "list", "--firmware-id", firmware_id, "--format", "jsonl")
    result = run(*args, env=served.env)
    assert result.exit_code == 0, result.stderr
    jobs = [json.loads(line)["job_id"] for line in result.stdout.splitlines()]
    assert sorted(jobs) == sorted(j.job_id for j in served.sim.fleet.jobs_by_firmware[firmware_id])


def test_tasks_unfinished_of_a_device(served: Served) -> None:
    fleet = served.sim.fleet
    job = next(j for j in fleet.jobs if fleet.task_status_counts(j.job_id).get("QUEUED"))
    row = next(iter(job.tasks.rows_with_status(1)))  # a QUEUED task
    device = fleet.task_fields(job, row).device_name
    args = ("tasks", "unfinished", "--product-key", job.product_key, "--device-name", device)
    result = run(*args, "--format", "json", env=served.env)
    assert result.exit_code == 0, result.stderr
    assert fleet.task_id(job, row) in [task["task_id"] for task in json.loads(result.stdout)]


def _create_args(served: Served) -> tuple[str, ...]:
    verified = next(f for f in served.sim.fleet.firmware_sorted() if f.status == 1)
    return (
        "jobs",
        "create-static",
        "--firmware-id",
        verified.firmware_id,
        "--product-key",
        str(verified.product_key),
        "--target-selection",
        "all",
    )


def test_create_static_asks_first_and_no_means_nothing_is_created(served: Served) -> None:
    before = len(served.sim.fleet.jobs)
    args = _create_args(served)
    result = run(*args, env=served.env, input="n\n")
    assert "Create a static upgrade batch" in result.stderr
    assert "not confirmed" in assert_one_line_failure(result)
    assert len(served.sim.fleet.jobs) == before


def test_create_static_with_yes_creates_without_asking_and_prints_the_id(served: Served) -> None:
    args = _create_args(served)
    result = run(*args, "--yes", env=served.env)
    assert result.exit_code == 0, result.stderr
    assert "Create a static upgrade batch" not in result.stderr
    job_id = result.stdout.strip()
    assert job_id in served.sim.fleet.jobs_by_id


def test_create_static_offers_exactly_the_job_option_values_the_table_documents() -> None:
    from otaclient._operations import CREATE_OTA_STATIC_UPGRADE_JOB as job

    shown = " ".join(run("jobs", "create-static", "--help").stdout.split())
    for option, name in (("--retry-interval", "retry_interval"), ("--retry-count", "retry_count")):
        values = "|".join(str(value) for value in job.param(name).choices or ())
        assert f"{option} [{values}]" in shown
    for name in ("timeout_in_minutes", "maximum_per_minute"):
        param = job.param(name)
        assert f"[{param.low}<=x<={param.high}]" in shown


def test_create_static_refuses_an_undocumented_retry_interval_before_connecting() -> None:
    result = run(
        "jobs",
        "create-static",
        "--demo",
        "--firmware-id",
        "f",
        "--product-key",
        "p",
        "--target-selection",
        "all",
        "--retry-interval",
        "20",
        "--yes",
    )
    assert result.exit_code == 2
    assert "'20' is not one of '0', '10', '30', '60', '1440'" in result.stderr
