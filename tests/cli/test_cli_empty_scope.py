"""An empty scope is named on stderr (exit status 0): a typo must not pass for an empty fleet."""

from __future__ import annotations

import json

from cli_helpers import Served, run


def _warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("warning:")]


def test_an_audit_of_an_unknown_product_names_it(served: Served) -> None:
    result = run("audit", "--qps", "0", "--product-key", "NOPE123", env=served.env)
    assert result.exit_code == 0, result.stderr
    assert _warnings(result.stderr) == [
        "warning: no update packages found for --product-key NOPE123"
    ]


def test_an_audit_names_only_the_product_keys_that_found_nothing(served: Served) -> None:
    real = served.sim.fleet.products[0].key
    args = (
        "audit",
        "--qps",
        "0",
        "--format",
        "json",
        "--product-key",
        real,
        "--product-key",
        "NOPE123",
    )
    result = run(*args, env=served.env)
    assert result.exit_code == 0, result.stderr
    assert _warnings(result.stderr) == [
        "warning: no update packages found for --product-key NOPE123"
    ]
    assert {job["product_key"] for job in json.loads(result.stdout)["jobs"]} == {real}


def test_an_audit_that_finds_something_warns_of_nothing(served: Served) -> None:
    real = served.sim.fleet.products[0].key
    result = run("audit", "--qps", "0", "--product-key", real, env=served.env)
    assert result.exit_code == 0, result.stderr
    assert _warnings(result.stderr) == []


def test_an_empty_firmware_list_names_the_options_that_chose_it(served: Served) -> None:
    result = run("firmware", "list", "--product-key", "NOPE123", "--format", "json", env=served.env)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == []
    assert _warnings(result.stderr) == ["warning: no update packages found (--product-key NOPE123)"]


def test_a_job_with_no_tasks_in_a_status_is_named(served: Served) -> None:
    fleet = served.sim.fleet
    job_id = next(
        job for job in fleet.job_ids() if not fleet.task_status_counts(job).get("CANCELED")
    )
    result = run("tasks", "list", "--job-id", job_id, "--status", "canceled", env=served.env)
    assert result.exit_code == 0, result.stderr
    assert _warnings(result.stderr) == [
        f"warning: no device tasks found (--job-id {job_id} --status CANCELED)"
    ]


def test_a_list_with_items_warns_of_nothing(served: Served) -> None:
    result = run("firmware", "list", "--format", "json", env=served.env)
    assert result.exit_code == 0, result.stderr
    assert _warnings(result.stderr) == []
