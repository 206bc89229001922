"""The progress callback: what the CLI's live display is drawn from."""

from __future__ import annotations

import pytest
from audit_helpers import ANCHOR, client_of

from otaclient import OTAClient
from otaclient.audit import AuditProgress, audit_fleet
from otaclient.simulator import Simulator

pytestmark = pytest.mark.anyio


async def test_progress_reports_pages_items_and_ends_done(
    sim: Simulator, client: OTAClient
) -> None:
    seen: list[AuditProgress] = []
    report = await audit_fleet(client, now=ANCHOR, progress=seen.append)
    last = seen[-1]
    assert last.phase == "done" and last.fraction == 1.0 and last.eta == 0.0
    assert last.pages_done == last.pages_total == report.stats.pages == report.stats.requests
    assert last.items == sim.fleet.total_tasks
    assert (last.firmware, last.jobs, last.jobs_done) == (12, len(sim.fleet.jobs), last.jobs)
    assert [p.pages_done for p in seen] == sorted(p.pages_done for p in seen)
    assert all(p.pages_estimated >= p.pages_done for p in seen)
    assert {p.phase for p in seen} >= {"listing", "harvesting", "done"}
    assert last.qps_cap is None  # the client has no limiter


@pytest.mark.backends("asyncio")  # ~1.7 s of real pacing: once is enough
async def test_progress_shows_the_limiter_cap_and_the_measured_rate(sim: Simulator) -> None:
    seen: list[AuditProgress] = []
    async with client_of(sim, qps=60.0) as client:
        await audit_fleet(client, now=ANCHOR, progress=seen.append)
    assert {p.qps_cap for p in seen} == {60.0}
    assert seen[-1].requests == sim.stats.accepted
    assert 0 < max(p.qps for p in seen) <= 60 * 1.2
