"""``otaclient audit`` against the simulator: formats, output file, scope, options."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from cli_helpers import Served, run

STATUSES = ["CONFIRM", "QUEUED", "NOTIFIED", "IN_PROGRESS", "SUCCEEDED", "FAILED", "CANCELED"]


def _nonzero(counts: dict[str, int]) -> dict[str, int]:
    return {status: count for status, count in counts.items() if count}


def test_json_over_http_is_one_object_with_the_contract_job_fields(served_http: Served) -> None:
    served = served_http
    result = run("audit", "--qps", "0", "--format", "json", env=served.env)
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    fleet = served.sim.fleet
    assert sorted(job["job_id"] for job in data["jobs"]) == sorted(fleet.job_ids())
    for job in data["jobs"]:
        truth = fleet.jobs_by_id[job["job_id"]]
        assert job["firmware_id"] == truth.firmware_id
        assert job["product_key"] == truth.product_key
        assert isinstance(job["job_status"], str)
        assert _nonzero(job["task_counts"]) == _nonzero(fleet.task_status_counts(job["job_id"]))
    assert data["totals"]["total"] == fleet.total_tasks


def test_jsonl_is_one_job_per_line(served: Served) -> None:
    result = run("audit", "--qps", "0", "--format", "jsonl", env=served.env)
    assert result.exit_code == 0, result.stderr
    jobs = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(jobs) == len(served.sim.fleet.jobs)
    assert all({"job_id", "task_counts", "job_status"} <= set(job) for job in jobs)


def test_csv_is_one_row_per_job_with_a_column_per_status(served: Served) -> None:
    result = run("audit", "--qps", "0", "--format", "csv", env=served.env)
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == len(served.sim.fleet.jobs)
    for row in rows:
        truth = served.sim.fleet.task_status_counts(row["job_id"])
        assert {s: int(row[s]) for s in STATUSES} == {s: truth.get(s, 0) for s in STATUSES}


def test_table_renders_summary_and_jobs(served: Served) -> None:
    result = run("audit", "--qps", "0", env=served.env)
    assert result.exit_code == 0, result.stderr
    assert "Fleet audit" in result.stdout and "Batches" in result.stdout
    assert f"{served.sim.fleet.total_tasks:,}" in result.stdout
    assert served.sim.fleet.job_ids()[0] in result.stdout


def test_output_file_gets_the_report_and_stdout_stays_empty(served: Served, tmp_path: Path) -> None:
    target = tmp_path / "audit.json"
    result = run("audit", "--qps", "0", "--format", "json", "-o", str(target), env=served.env)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert len(json.loads(target.read_text())["jobs"]) == len(served.sim.fleet.jobs)
    assert str(target) in result.stderr


def test_product_key_limits_the_audit(served: Served) -> None:
    product = served.sim.fleet.products[0].key
    args = ("audit", "--qps", "0", "--format", "json", "--product-key", product)
    data = json.loads(run(*args, env=served.env).stdout)
    assert {job["product_key"] for job in data["jobs"]} == {product}
    assert data["scope"]["product_keys"] == [product]


def test_options_work_before_the_subcommand_too(served: Served) -> None:
    env = {**served.env, "OTACLIENT_ENDPOINT": None}
    result = run("--endpoint", served.url, "--qps", "0", "--format", "jsonl", "audit", env=env)
    assert result.exit_code == 0, result.stderr
    assert len(result.stdout.splitlines()) == len(served.sim.fleet.jobs)


def test_no_progress_display_when_stderr_is_not_a_terminal(served: Served) -> None:
    result = run("audit", "--qps", "0", "--format", "json", env=served.env)
    assert result.stderr.splitlines()[0] == f"auditing {served.url}"
    assert "pages " not in result.stderr
