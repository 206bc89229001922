"""Several OS processes share one account's quota through Redis against a strict window."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import anyio
import pytest

from otaclient.simulator import FleetSpec, Simulator, SimulatorConfig, running_server

pytestmark = pytest.mark.anyio

WORKER = str(Path(__file__).with_name("_worker.py"))


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_three_processes_on_one_key_run_at_the_cap_without_throttling(
    redis_url: str,
) -> None:
    sim = Simulator(
        SimulatorConfig(
            seed=5,
            qps=10,
            fleet=FleetSpec(
                products=1,
                firmware_per_product=1,
                jobs_per_firmware=(3, 3),
                devices_per_product=600,
                tasks_per_job=(200, 200),
                modules_per_product=0,
                verify_jobs=False,
            ),
        )
    )
    jobs = sim.fleet.job_ids()
    assert len(jobs) == 3
    async with running_server(sim, port=0) as base_url:

        def run_workers() -> list[tuple[str, int]]:
            start_at = str(time.time() + 3.0)
            workers = [
                subprocess.Popen(
                    [sys.executable, WORKER, base_url, redis_url, "shared-key", job, start_at],
                    stdout=subprocess.PIPE,
                    text=True,
                )
                for job in jobs
            ]
            return [(w.communicate(timeout=60)[0], w.returncode) for w in workers]

        started = time.monotonic()
        results = await anyio.to_thread.run_sync(run_workers)
        elapsed = time.monotonic() - started
    assert [code for _, code in results] == [0, 0, 0]
    outputs = [output for output, _ in results]
    for job, output in zip(jobs, outputs, strict=True):
        ids = [line for line in output.splitlines() if not line.startswith("elapsed")]
        assert sorted(ids) == sorted(sim.fleet.task_ids(job))  # every task, once
    requests = sim.stats.accepted
    assert requests == 33  # 3 jobs x 10 pages of 20, and page 1 read again to close each
    # The limiter grants slots; the server counts arrivals. On a loaded 2-core machine a
    # process can be descheduled between the two for longer than the 2% spacing margin,
    # so one throttle (retried, and every item still arrives once) is tolerated here.
    assert sim.stats.throttled <= 1
    # 33 requests at 10/s need at least 3.2 s, after the 3 s start-up barrier.
    assert 5.9 <= elapsed < 20
    busiest = max(float(out.rsplit("elapsed ", 1)[1]) for out in outputs)
    assert 33 / busiest >= 8.0  # together the workers ran close to the 10/s cap
