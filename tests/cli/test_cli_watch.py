"""``otaclient jobs watch``: a batch followed poll by poll against the simulator, which the
tests advance (``support.moving_fleet``); request counts are exact."""

from __future__ import annotations

import functools
import json
import os
import pty
import signal
import subprocess
import sys
from collections.abc import Callable

import anyio
import pytest
from cli_helpers import NO_ENV, Served, assert_one_line_failure, run
from support.moving_fleet import MovingTransport, finish_tasks, is_count

from otaclient import OTAClient
from otaclient._cli import connect
from otaclient._cli.watch_cmd import EXIT_ABORTED, JobWatch
from otaclient.audit import statuses_that_can_change
from otaclient.simulator import (
    DEMO_ACCESS_KEY_ID,
    DEMO_ACCESS_KEY_SECRET,
    FleetSpec,
    Simulator,
    SimulatorConfig,
)

ANCHOR_MS = 1_732_006_800_000
UNFINISHED = ("CONFIRM", "QUEUED", "NOTIFIED", "IN_PROGRESS")


def _one_job(tasks: int = 200) -> tuple[Simulator, str]:
    config = SimulatorConfig(qps=None, fleet=FleetSpec.single_job(tasks, anchor_ms=ANCHOR_MS))
    sim = Simulator(config)
    return sim, sim.fleet.job_ids()[0]


def _patched(
    monkeypatch: pytest.MonkeyPatch, sim: Simulator, hook: Callable[[int, dict[str, str]], None]
) -> dict[str, str | None]:
    transport = MovingTransport(sim, hook)
    monkeypatch.setattr(connect, "OTAClient", functools.partial(OTAClient, transport=transport))
    return {
        "ALIBABA_CLOUD_ACCESS_KEY_ID": DEMO_ACCESS_KEY_ID,
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": DEMO_ACCESS_KEY_SECRET,
        "OTACLIENT_ENDPOINT": "http://simulator.test",
    }


# ---------------------------------------------------------------------- one poll at a time


@pytest.mark.anyio
@pytest.mark.virtual_time
async def test_a_poll_costs_one_request_per_status_that_can_still_change() -> None:
    sim, job_id = _one_job()
    async with OTAClient(
        access_key_id=DEMO_ACCESS_KEY_ID,
        access_key_secret=DEMO_ACCESS_KEY_SECRET,
        endpoint="http://simulator.test",
        transport=sim.transport(),
        qps=None,
    ) as client:
        watch = JobWatch(client, job_id)
        first = await watch.poll()
        assert first.requests == sim.stats.accepted == 8  # every status, and the total
        assert first.counts.counts == sim.fleet.task_status_counts(job_id)
        previous = first
        costs = []
        while not previous.done:
            sim.reset_stats()
            finish_tasks(sim, job_id, 40)
            await anyio.sleep(60)
            poll = await watch.poll()
            assert poll.counts.counts == sim.fleet.task_status_counts(job_id)
            assert poll.counts.complete
            assert poll.requests == sim.stats.accepted
            assert poll.requests == len(statuses_that_can_change(previous.counts))
            costs.append(poll.requests)
            assert (
                poll.change["SUCCEEDED"]
                == poll.counts.counts["SUCCEEDED"] - (previous.counts.counts["SUCCEEDED"])
            )
            previous = poll
    assert sum(previous.counts.counts[s] for s in UNFINISHED) == 0
    assert min(costs) < 7  # statuses nothing can reach any more are not read
    assert first.eta_seconds is None


@pytest.mark.anyio
@pytest.mark.virtual_time
async def test_the_eta_comes_from_the_rate_observed_since_the_watch_began() -> None:
    sim, job_id = _one_job()
    async with OTAClient(
        access_key_id=DEMO_ACCESS_KEY_ID,
        access_key_secret=DEMO_ACCESS_KEY_SECRET,
        endpoint="http://simulator.test",
        transport=sim.transport(),
        qps=None,
    ) as client:
        watch = JobWatch(client, job_id)
        await watch.poll()
        finish_tasks(sim, job_id, 30)
        await anyio.sleep(60)
        poll = await watch.poll()
    assert poll.finished_per_minute == pytest.approx(30.0, rel=0.01)
    assert poll.eta_seconds == pytest.approx(poll.counts.unfinished / 30.0 * 60, rel=0.01)


# ---------------------------------------------------------------------- the command


def _advancing(sim: Simulator, job_id: str, status: str = "SUCCEEDED", step: int = 50):
    def hook(number: int, params: dict[str, str]) -> None:
        if is_count(params, "CANCELED"):  # once a poll: CANCELED can change while any is left
            finish_tasks(sim, job_id, step, status)

    return hook


def test_watch_prints_a_line_per_poll_and_ends_when_the_batch_finishes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sim, job_id = _one_job()
    env = _patched(monkeypatch, sim, _advancing(sim, job_id))
    result = run("jobs", "watch", job_id, "--interval", "0.01", env=env)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) >= 3
    assert all(" | finished " in line for line in lines)
    truth = sim.fleet.task_status_counts(job_id)
    assert f"SUCCEEDED {truth['SUCCEEDED']:,}" in lines[-1]
    assert f"finished {sum(truth.values()):,}/{sum(truth.values()):,}" in lines[-1]
    assert f"batch {job_id} finished" in result.stderr


def test_watch_json_is_one_object_per_poll_with_the_final_counts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sim, job_id = _one_job()
    env = _patched(monkeypatch, sim, _advancing(sim, job_id))
    result = run("jobs", "watch", job_id, "--interval", "0.01", "--format", "json", env=env)
    assert result.exit_code == 0, result.stderr
    polls = [json.loads(line) for line in result.stdout.splitlines()]
    assert [poll["poll"] for poll in polls] == list(range(1, len(polls) + 1))
    assert polls[-1]["task_counts"] == sim.fleet.task_status_counts(job_id)
    assert polls[0]["requests"] == 8
    assert sum(poll["requests"] for poll in polls) == sim.stats.per_action["ListOTATaskByJob"]


def test_abort_criteria_cancel_the_remaining_tasks_and_exit_3(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sim, job_id = _one_job(400)
    env = _patched(monkeypatch, sim, _advancing(sim, job_id, "FAILED", step=20))
    result = run(
        "jobs",
        "watch",
        job_id,
        "--interval",
        "0.01",
        "--abort-failure-rate",
        "40",
        "--min-finished",
        "150",
        "--yes",
        env=env,
    )
    line = assert_one_line_failure(result, EXIT_ABORTED)
    assert "abort criteria met" in line
    truth = sim.fleet.task_status_counts(job_id)
    assert sum(truth[s] for s in UNFINISHED) == 0  # every remaining task cancelled
    assert sim.stats.per_action["CancelOTATaskByJob"] == 1


def test_abort_criteria_without_yes_or_a_terminal_refuse_before_any_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sim, job_id = _one_job()
    env = _patched(monkeypatch, sim, _advancing(sim, job_id))
    result = run("jobs", "watch", job_id, "--abort-failure-rate", "5", env=env)
    assert result.exit_code == 2
    assert "--yes" in result.stderr
    assert sim.stats.requests == 0


# ---------------------------------------------------------------------- real processes


def _env(served: Served) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in NO_ENV}
    env.update({key: value for key, value in served.env.items() if value is not None})
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _job(served: Served, *, finished: bool) -> str:
    """A batch with no unfinished task left (``finished``), or one with some."""
    fleet = served.sim.fleet
    for job in fleet.jobs:
        left = sum(fleet.task_status_counts(job.job_id)[s] for s in UNFINISHED)
        if (left == 0) == finished:
            return job.job_id
    raise AssertionError("the sample fleet has no such batch")


def test_watching_a_finished_batch_prints_one_line_and_exits_0(served_http: Served) -> None:
    job_id = _job(served_http, finished=True)
    done = subprocess.run(
        [sys.executable, "-m", "otaclient.cli", "jobs", "watch", job_id, "--qps", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(served_http),
    )
    assert done.returncode == 0, done.stderr
    (line,) = done.stdout.splitlines()
    assert "finished" in line and "Traceback" not in done.stderr


def test_ctrl_c_ends_a_watch_with_130(served_http: Served) -> None:
    job_id = _job(served_http, finished=False)
    command = [
        sys.executable,
        "-m",
        "otaclient.cli",
        "jobs",
        "watch",
        job_id,
        "--interval",
        "0.05",
        "--qps",
        "0",
    ]
    with subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(served_http),
    ) as process:
        try:
            assert process.stdout is not None
            first = process.stdout.readline()
            assert " | finished " in first
            process.send_signal(signal.SIGINT)
            assert process.wait(timeout=30) == 130
        finally:
            if process.poll() is None:
                process.kill()
        assert "Traceback" not in (process.stderr.read() if process.stderr else "")


def test_on_a_terminal_the_watch_is_a_live_table(served_http: Served) -> None:
    job_id = _job(served_http, finished=True)
    main, child = pty.openpty()
    env = _env(served_http) | {"TERM": "xterm-256color", "COLUMNS": "100", "LINES": "40"}
    command = [sys.executable, "-m", "otaclient.cli", "jobs", "watch", job_id, "--qps", "0"]
    with subprocess.Popen(command, stdin=child, stdout=child, stderr=child, env=env) as process:
        os.close(child)
        chunks = []
        try:
            while True:
                try:
                    chunk = os.read(main, 4096)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not chunk:
                    break
                chunks.append(chunk)
            assert process.wait(timeout=60) == 0
        finally:
            os.close(main)
            if process.poll() is None:
                process.kill()
    screen = b"".join(chunks).decode(errors="replace")
    assert f"batch {job_id} · poll 1" in screen
    assert "status" in screen and "change" in screen  # the table's header
    assert " | finished " not in screen  # no log lines on a terminal
    assert "Traceback" not in screen
