"""What the list commands and the audit show: one spelling per status, names over IDs,
the reason a task failed."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from cli_helpers import Served, run

from otaclient.simulator import Simulator


def _json(result: Any) -> Any:
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def _firmware_jobs_wire_statuses(sim: Simulator, firmware_id: str) -> set[str]:
    """The JobStatus spellings the simulator puts on the wire for a package's batches."""
    import anyio

    from otaclient import OTAClient
    from otaclient.simulator import DEMO_ACCESS_KEY_ID, DEMO_ACCESS_KEY_SECRET

    async def main() -> set[str]:
        async with OTAClient(
            access_key_id=DEMO_ACCESS_KEY_ID,
            access_key_secret=DEMO_ACCESS_KEY_SECRET,
            endpoint="http://simulator.test",
            transport=sim.transport(),
            qps=None,
        ) as client:
            body = await client.call(
                "ListOTAJobByFirmware",
                {"FirmwareId": firmware_id, "CurrentPage": 1, "PageSize": 200},
                idempotent=True,
            )
        return {item["JobStatus"] for item in body["Data"]["SimpleOTAJobInfo"]}

    return anyio.run(main)


def test_jobs_list_jobs_show_and_audit_spell_a_completed_batch_the_same(served: Served) -> None:
    sim = served.sim
    firmware_id = next(
        f.firmware_id
        for f in sim.fleet.firmware_sorted()
        if "COMPLETE" in _firmware_jobs_wire_statuses(sim, f.firmware_id)
    )
    listed = _json(
        run("jobs", "list", "--firmware-id", firmware_id, "--format", "json", env=served.env)
    )
    completed = [job for job in listed if job["job_status"].startswith("COMPLETE")]
    assert completed and {job["job_status"] for job in completed} == {"COMPLETED"}
    table = run("jobs", "list", "--firmware-id", firmware_id, env=served.env).stdout
    assert "COMPLETED" in table and not re.search(r"\bCOMPLETE\b", table)
    shown = _json(run("jobs", "show", completed[0]["job_id"], "--format", "json", env=served.env))
    assert shown[0]["job_status"] == "COMPLETED"
    audit = _json(run("audit", "--format", "json", "--qps", "0", env=served.env))
    by_id = {job["job_id"]: job for job in audit["jobs"]}
    assert {by_id[job["job_id"]]["job_status"] for job in completed} == {"COMPLETED"}


def test_verify_batches_are_listed_as_verify_firmware(served: Served) -> None:
    sim = served.sim
    verify = next(j for j in sim.fleet.jobs if j.job_type == "VERIFY_FIRMWARE")
    args = ("jobs", "list", "--firmware-id", verify.firmware_id, "--format", "json")
    listed = _json(run(*args, env=served.env))
    types = {job["job_type"] for job in listed if job["job_id"] == verify.job_id}
    assert types == {"VERIFY_FIRMWARE"}


def test_tasks_list_table_shows_why_a_task_failed(served: Served) -> None:
    sim = served.sim
    job = next(j for j in sim.fleet.jobs if sim.fleet.task_status_counts(j.job_id)["FAILED"])
    row = next(iter(job.tasks.rows_with_status(5)))
    reason = sim.fleet.task_fields(job, row).desc
    assert reason
    result = run("tasks", "list", "--job-id", job.job_id, "--status", "failed", env=served.env)
    assert result.exit_code == 0, result.stderr
    assert "task_desc" in result.stdout
    cells = " ".join(re.sub(r"[│┃]", " ", result.stdout).split())
    assert " ".join(reason.split()[:3]) in cells


@pytest.mark.parametrize("width", [80, 100])
def test_the_failure_reason_outlasts_other_columns_on_a_narrow_terminal(
    served: Served, width: int
) -> None:
    sim = served.sim
    job = next(j for j in sim.fleet.jobs if sim.fleet.task_status_counts(j.job_id)["FAILED"])
    env = {**served.env, "COLUMNS": str(width)}
    result = run("tasks", "list", "--job-id", job.job_id, "--status", "failed", env=env)
    assert result.exit_code == 0, result.stderr
    header = next(line for line in result.stdout.splitlines() if "task_id" in line)
    assert "task_desc" in header


def test_firmware_list_table_names_status_and_type_and_json_keeps_the_numbers(
    served: Served,
) -> None:
    table = run("firmware", "list", env=served.env)
    assert table.exit_code == 0, table.stderr
    assert "VERIFIED" in table.stdout and "DELTA" in table.stdout and "FULL" in table.stdout
    listed = _json(run("firmware", "list", "--format", "json", env=served.env))
    assert {type(item["status"]) for item in listed} == {int}


def test_audit_table_names_packages_by_name_and_version(served: Served) -> None:
    result = run("audit", "--qps", "0", env=served.env)
    assert result.exit_code == 0, result.stderr
    fleet = served.sim.fleet
    package = next(f for f in fleet.firmware_sorted() if fleet.jobs_by_firmware.get(f.firmware_id))
    assert f"{package.name} {package.dest_version}" in result.stdout
    assert package.firmware_id not in result.stdout


def test_jobs_list_of_a_device_without_a_package_asks_each_package_of_the_product(
    served: Served,
) -> None:
    sim = served.sim
    job = next(j for j in sim.fleet.jobs if len(j.tasks.devices))
    product = sim.fleet.product(job.product_key)
    assert product is not None
    device_index = job.tasks.devices[0]
    device = product.device_name(device_index)
    expected = {
        j.job_id
        for j in sim.fleet.jobs
        if j.product_key == product.key and j.tasks.row_of_device(device_index) is not None
    }
    packages = [f for f in sim.fleet.firmware_sorted() if f.product_key == product.key]
    sim.reset_stats()
    args = ("jobs", "list", "--product-key", product.key, "--device-name", device)
    listed = _json(run(*args, "--format", "json", env=served.env))
    assert {item["job_id"] for item in listed} == expected
    assert sim.stats.per_action["ListOTAFirmware"] == 1
    assert sim.stats.per_action["ListOTAJobByDevice"] == len(packages)


def test_jobs_list_without_a_package_or_a_device_is_a_usage_error() -> None:
    result = run("jobs", "list")
    assert result.exit_code == 2
    assert "--firmware-id" in result.stderr and "--device-name" in result.stderr
