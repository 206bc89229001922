"""What a fleet audit costs in requests, planned by cost, against reading every task (issue 15).

The account's quota (10 requests a second, shared by everything the account runs) is the
only bottleneck an audit has, so its cost is counted in requests, exactly: the simulator
runs in-process without a quota and counts every request it answers. Each fleet is one
batch per product, its tasks set to a fixed mix of statuses row by row (the generator's
own mixes are per job status; the issue's fleets name theirs).

"read every task" is what the audit cost before it planned: the same package and batch
listings, then every batch harvested whole, ``P`` pages and page 1 read again
(``P + 1`` requests for ``P > 1``), computed from the batch sizes. "planned" is
``audit_fleet`` as it is now, measured. Wall time at 10 QPS is the requests over the cap
(what the pacing allows; an audit keeps enough requests in flight to reach it).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import anyio

from otaclient import OTAClient
from otaclient.audit import audit_fleet
from otaclient.simulator import (
    DEMO_ACCESS_KEY_ID,
    DEMO_ACCESS_KEY_SECRET,
    FleetSpec,
    Simulator,
    SimulatorConfig,
)

from ._common import CAP, PAGE_SIZE, Result, ratio, timed, verdict

NAME = "audit_cost"

ANCHOR_MS = 1_732_006_800_000
STATUSES = ("CONFIRM", "QUEUED", "NOTIFIED", "IN_PROGRESS", "SUCCEEDED", "FAILED", "CANCELED")
#: Percent of a batch's tasks in each status, per fleet.
MATURE = {"NOTIFIED": 1, "IN_PROGRESS": 1, "SUCCEEDED": 85, "FAILED": 10, "CANCELED": 3}
ROLLOUT = {
    "QUEUED": 35,
    "NOTIFIED": 15,
    "IN_PROGRESS": 25,
    "SUCCEEDED": 20,
    "FAILED": 4,
    "CANCELED": 1,
}
LARGE = {"NOTIFIED": 1, "IN_PROGRESS": 1, "SUCCEEDED": 90, "FAILED": 6, "CANCELED": 2}

#: (label, batches, tasks per batch, mix, target: the most requests allowed, as a
#: fraction of reading every task when a float, an absolute count when an int)
FULL: tuple[tuple[str, int, int, dict[str, int] | None, float | int], ...] = (
    ("20 jobs x 10,000 tasks, 85 % SUCCEEDED", 20, 10_000, MATURE, 0.3),
    ("20 jobs x 10,000 tasks, rollout (75 % unfinished)", 20, 10_000, ROLLOUT, 1.0),
    ("the demo fleet", 0, 0, None, 99),
    ("10^6 tasks over 50 jobs, 90 % SUCCEEDED", 50, 20_000, LARGE, 1_500),
)
SMOKE = (
    ("2 jobs x 10,000 tasks, 85 % SUCCEEDED", 2, 10_000, MATURE, 0.3),
    ("the demo fleet", 0, 0, None, 99),
)
AIM = 0.15


def _fleet(jobs: int, tasks: int, mix: dict[str, int] | None) -> Simulator:
    if mix is None:  # what `otaclient audit --demo` audits
        return Simulator(SimulatorConfig(qps=None, fleet=FleetSpec(anchor_ms=ANCHOR_MS)))
    spec = FleetSpec(
        products=jobs,
        firmware_per_product=1,
        jobs_per_firmware=(1, 1),
        devices_per_product=tasks,
        tasks_per_job=(tasks, tasks),
        modules_per_product=0,
        job_statuses=("IN_PROGRESS",),
        verify_jobs=False,
        anchor_ms=ANCHOR_MS,
    )
    sim = Simulator(SimulatorConfig(qps=None, fleet=spec))
    pattern = [STATUSES.index(s) for s, share in mix.items() for _ in range(share)]
    assert len(pattern) == 100
    fleet = sim.fleet
    for job in fleet.jobs:
        assert len(job.tasks) == tasks
        # Leave unfinished slots first, so that a task going unfinished finds its device free.
        rows = sorted(range(tasks), key=lambda row: pattern[row * 37 % 100] in (0, 1, 2, 3))
        for row in rows:
            fleet.set_task_status(job, row, pattern[row * 37 % 100], ANCHOR_MS - 86_400_000)
    return sim


def _whole_cost(tasks: int) -> int:
    pages = max(1, math.ceil(tasks / PAGE_SIZE))
    return pages + (pages > 1)


async def _audit(sim: Simulator) -> dict[str, Any]:
    async with OTAClient(
        access_key_id=DEMO_ACCESS_KEY_ID,
        access_key_secret=DEMO_ACCESS_KEY_SECRET,
        endpoint="http://simulator.test",
        transport=sim.transport(),
        qps=None,
    ) as client:
        with timed() as took:
            report = await audit_fleet(client, now=datetime.fromtimestamp(ANCHOR_MS / 1000, UTC))
    fleet = sim.fleet
    exact = all(
        {s: n for s, n in job.task_counts.items() if n}
        == {s: n for s, n in fleet.task_status_counts(job.job_id).items() if n}
        and job.complete
        for job in report.jobs
    )
    listings = (
        sim.stats.per_action["ListOTAFirmware"] + sim.stats.per_action["ListOTAJobByFirmware"]
    )
    return {
        "jobs": report.totals.jobs,
        "tasks": report.totals.tasks.total,
        "planned": sim.stats.accepted,
        "whole": listings + sum(_whole_cost(len(job.tasks)) for job in fleet.jobs),
        "exact": exact,
        "cpu_wall_s": took.wall,
    }


def run(smoke: bool) -> Result:
    result = Result(
        NAME,
        "Fleet audit cost: exact requests, planned by cost vs reading every task "
        "(simulator in-process; wall time at 10 QPS = requests / 10)",
        [
            "fleet",
            "tasks",
            "read every task",
            "planned",
            "planned / every",
            "target",
            "wall at 10 QPS s",
            "counts exact",
            "verdict",
        ],
    )
    rows: dict[str, Any] = {}
    for label, jobs, tasks, mix, target in SMOKE if smoke else FULL:
        row = anyio.run(_audit, _fleet(jobs, tasks, mix))
        share = ratio(row["planned"], row["whole"])
        limit = target * row["whole"] if isinstance(target, float) else target
        met = row["planned"] <= limit and row["exact"]
        row.update(share=share, limit=limit, wall_at_cap_s=row["planned"] / CAP, met=met)
        rows[label] = row
        shown = f"<= {target:g}x" if isinstance(target, float) else f"<= {target:,}"
        result.rows.append(
            [
                label,
                row["tasks"],
                row["whole"],
                row["planned"],
                share,
                shown,
                row["wall_at_cap_s"],
                row["exact"],
                verdict(met),
            ]
        )
    first = next(iter(rows.values()))
    result.notes.append(
        f"mature fleet: {first['share']:.3f}x of reading every task (aim {AIM}x: "
        f"{verdict(first['share'] <= AIM)}); every count equals the simulator's ground truth"
    )
    result.data = {"rows": rows, "aim": AIM}
    return result
