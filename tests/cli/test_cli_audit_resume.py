"""``otaclient audit`` interrupted with Ctrl-C (a real SIGINT to a real process), and resumed
with ``--state FILE``. The simulator runs over HTTP in this process, so the test knows from
its counters, not from the clock, when the audit is under way."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from cli_helpers import NO_ENV, Served, assert_one_line_failure, run


def _env(served: Served) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in NO_ENV}
    env.update({key: value for key, value in served.env.items() if value is not None})
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _audit(served: Served, *args: str) -> list[str]:
    return [sys.executable, "-m", "otaclient.cli", "audit", "--format", "json", *args]


def _interrupt_once_under_way(
    served: Served, command: list[str]
) -> subprocess.CompletedProcess[str]:
    sim = served.sim
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(served)
    ) as process:
        try:
            deadline = time.monotonic() + 60  # a bound on a broken run, not a measurement
            while sim.stats.per_action["ListOTATaskByJob"] < 10:
                assert process.poll() is None, process.communicate()
                assert time.monotonic() < deadline
                time.sleep(0.05)
            process.send_signal(signal.SIGINT)
            out, err = process.communicate(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
    return subprocess.CompletedProcess(command, process.returncode, out, err)


def _nonzero(counts: dict[str, int]) -> dict[str, int]:
    return {status: count for status, count in counts.items() if count}


def _matches_the_fleet(served: Served, report: dict[str, Any]) -> None:
    for job in report["jobs"]:
        truth = served.sim.fleet.task_status_counts(job["job_id"])
        assert _nonzero(job["task_counts"]) == _nonzero(truth), job["job_id"]


def test_ctrl_c_writes_what_the_audit_has_marked_incomplete_and_exits_130(
    served_http: Served, tmp_path: Path
) -> None:
    served_http.sim.reset_stats()
    output = tmp_path / "audit.json"
    done = _interrupt_once_under_way(
        served_http, _audit(served_http, "--qps", "5", "--output", str(output))
    )
    assert done.returncode == 130, done.stderr
    assert "Traceback" not in done.stderr
    (line,) = [line for line in done.stderr.splitlines() if line.startswith("Error:")]
    assert "interrupted" in line and '"complete": false' in line
    report = json.loads(output.read_text())
    assert next(iter(report)) == "complete" and report["complete"] is False
    assert 0 < len(report["jobs"]) < len(served_http.sim.fleet.jobs)
    _matches_the_fleet(served_http, report)


def test_an_interrupted_audit_run_again_with_its_state_file_reads_only_what_was_left(
    served_http: Served, tmp_path: Path
) -> None:
    sim = served_http.sim
    state = tmp_path / "audit.sqlite"
    first_out, second_out = tmp_path / "first.json", tmp_path / "second.json"
    sim.reset_stats()
    first = _interrupt_once_under_way(
        served_http,
        _audit(served_http, "--qps", "5", "--state", str(state), "-o", str(first_out)),
    )
    assert first.returncode == 130, first.stderr
    assert f"--state {state}" in first.stderr  # says how to resume
    sim.reset_stats()
    second = subprocess.run(
        _audit(served_http, "--qps", "0", "--state", str(state), "-o", str(second_out)),
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(served_http),
    )
    assert second.returncode == 0, second.stderr
    report = json.loads(second_out.read_text())
    assert report["complete"] is True
    assert len(report["jobs"]) == len(sim.fleet.jobs)
    _matches_the_fleet(served_http, report)
    finished = {job["job_id"] for job in json.loads(first_out.read_text())["jobs"]}
    assert finished
    assert f"{len(finished)} batches taken from {state}" in second.stderr
    assert sim.stats.per_action["ListOTATaskByJob"] == sum(
        max(1, math.ceil(len(job.tasks) / 100))
        for job in sim.fleet.jobs
        if job.job_id not in finished
    )


def test_a_state_file_that_cannot_be_opened_is_one_line(served: Served, tmp_path: Path) -> None:
    bad = tmp_path / "state.sqlite"
    bad.write_text("this is not a database " * 20)
    result = run("audit", "--state", str(bad), env=served.env)
    line = assert_one_line_failure(result)
    assert "audit state file" in line and str(bad) in line
