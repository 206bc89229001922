"""Helpers shared by the audit tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

from otaclient import OTAClient
from otaclient.simulator import (
    DEMO_ACCESS_KEY_ID,
    DEMO_ACCESS_KEY_SECRET,
    FleetSpec,
    Simulator,
    SimulatorConfig,
)

#: The fleet's "now": 2024-11-19T09:00:00Z. Stuck tasks are stuck relative to it.
ANCHOR_MS = 1_732_006_800_000
ANCHOR = datetime.fromtimestamp(ANCHOR_MS / 1000, UTC)


def make_simulator(**config: object) -> Simulator:
    """A simulator without quota or latency, on the fixed-anchor sample fleet."""
    config.setdefault("fleet", FleetSpec(anchor_ms=ANCHOR_MS))
    config.setdefault("qps", None)
    return Simulator(SimulatorConfig(**config))  # type: ignore[arg-type]


@asynccontextmanager
async def client_of(sim: Simulator, **options: object) -> AsyncIterator[OTAClient]:
    """An in-process client of ``sim`` (no rate limit unless ``qps=`` is given; another
    ``transport=`` in front of ``sim``'s, such as ``support.moving_fleet``'s, if given)."""
    options.setdefault("qps", None)
    options.setdefault("transport", sim.transport())
    options.setdefault("access_key_id", DEMO_ACCESS_KEY_ID)
    options.setdefault("access_key_secret", DEMO_ACCESS_KEY_SECRET)
    async with OTAClient(
        endpoint="http://simulator.test",
        **options,  # type: ignore[arg-type]
    ) as client:
        yield client


def stuck_ground_truth(sim: Simulator, now: datetime, after: timedelta) -> dict[str, int]:
    """Per job: tasks NOTIFIED/IN_PROGRESS last modified more than ``after`` before ``now``."""
    limit_ms = (now - after).timestamp() * 1000
    fleet = sim.fleet
    stuck: dict[str, int] = {}
    for job in fleet.jobs:
        rows = [
            *job.tasks.rows_with_status(2),  # NOTIFIED
            *job.tasks.rows_with_status(3),  # IN_PROGRESS
        ]
        stuck[job.job_id] = sum(
            1 for row in rows if fleet.task_fields(job, row).utc_modified_ms < limit_ms
        )
    return stuck
