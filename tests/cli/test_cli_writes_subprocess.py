"""The write commands through the real console script, against the simulator over HTTP:
what a terminal-less run says, and that a re-upgrade really queues the tasks."""

from __future__ import annotations

import math
import os
import subprocess
import sys

from cli_helpers import NO_ENV, Served, simulate_until_sigterm

from otaclient.simulator import Simulator
from otaclient.simulator.model import Job

CLI = [sys.executable, "-m", "otaclient.cli"]
FAILED = 5


def _env(served: Served | None = None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in NO_ENV}
    env["PYTHONUNBUFFERED"] = "1"
    if served is not None:
        env.update({key: value for key, value in served.env.items() if value is not None})
    return env


def _run(*args: str, served: Served | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(served),
    )


def _free(sim: Simulator, job: Job) -> bool:
    """Whether ``job`` has failed tasks whose devices have no other unfinished task."""
    rows = job.tasks.rows_with_status(FAILED)
    product = sim.fleet.products[job.product_index]
    return bool(rows) and all(
        sim.fleet.busy_owner(product, job.tasks.devices[row], job.module_key) is None
        for row in rows
    )


def test_a_write_without_a_terminal_or_yes_says_to_pass_yes_and_creates_nothing(
    served_http: Served,
) -> None:
    fleet = served_http.sim.fleet
    package = next(f for f in fleet.firmware_sorted() if f.status == 1)
    before = len(fleet.jobs)
    args = ("jobs", "create-static", "--firmware-id", package.firmware_id, "--product-key")
    done = _run(*args, str(package.product_key), "--target-selection", "all", served=served_http)
    assert done.returncode == 1
    assert "--yes" in done.stderr
    assert "Aborted" not in done.stderr and "Traceback" not in done.stderr
    assert len(fleet.jobs) == before


def test_reupgrade_through_the_console_script_queues_the_failed_tasks(
    served_http: Served,
) -> None:
    sim = served_http.sim
    job = next(j for j in sim.fleet.jobs if j.status != "CANCELED" and _free(sim, j))
    failed = len(job.tasks.rows_with_status(FAILED))
    sent_before = sim.stats.per_action.get("ReupgradeOTATask", 0)
    done = _run("tasks", "reupgrade", "--job-id", job.job_id, "--yes", served=served_http)
    assert done.returncode == 0, done.stderr
    plural = "s" if failed != 1 else ""
    assert done.stdout.strip() == f"{failed} task{plural} of job {job.job_id} queued again"
    assert sim.fleet.task_status_counts(job.job_id)["FAILED"] == 0
    assert sim.stats.per_action["ReupgradeOTATask"] - sent_before == math.ceil(failed / 10)


def test_demo_before_simulate_says_what_it_serves_and_sigterm_stops_it() -> None:
    status, stderr = simulate_until_sigterm(
        "--demo", "simulate", "--port", "0", "--qps", "0", env=_env()
    )
    assert status == 0
    assert stderr.splitlines() == [
        "--demo: serving the built-in sample fleet (what simulate always does)",
        "simulator stopped (SIGTERM)",
    ]
