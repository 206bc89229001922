"""The fleet audit with one 10/s bucket versus one bucket per action at its own quota.

The simulator (its own process) enforces one window per (access key, action) at the
action's documented quota (``per_action_qps=True``, no account-wide window), answers
after ``L = 300 +/- 50 ms``, and holds a small fleet. ``otaclient.audit.audit_fleet`` reads
every package (``ListOTAFirmware``), every package's batches (``ListOTAJobByFirmware``)
and every batch's device tasks (``ListOTATaskByJob``), fanned out concurrently.

Rows: ``OTAClient(qps=10)`` (every action shares one 10/s bucket) and
``OTAClient(per_action_quotas=True, qps=None)`` (each action paced at its own quota).
Each row has its own access key, so neither starts in a window the other filled. The
floors are what the pacing alone allows: all ``R`` requests at 10/s, or the busiest
action's requests at its quota; the audit also waits for round trips along
firmware -> jobs -> tasks.
"""

from __future__ import annotations

from typing import Any

import anyio

from otaclient.audit import audit_fleet
from otaclient.simulator import ACTION_QPS

from ._common import (
    JITTER,
    LATENCY,
    Key,
    Result,
    Server,
    bench_keys,
    otaclient_of,
    ratio,
    serve,
    timed,
)

NAME = "per_action_audit"

DEFAULT_QUOTA = 10.0
SINGLE = "one 10/s bucket (qps=10)"
SPLIT = "per_action_quotas=True"
#: The smoke run's fleet; the full run audits the simulator's demo fleet (3 products,
#: 12 packages, ~40 batches).
SMOKE_FLEET = {
    "products": 1,
    "firmware_per_product": 3,
    "jobs_per_firmware": [1, 2],
    "devices_per_product": 200,
    "tasks_per_job": [20, 120],
}


async def _audit(url: str, key: Key, per_action: bool) -> dict[str, Any]:
    options: dict[str, Any] = (
        {"per_action_quotas": True, "qps": None} if per_action else {"qps": DEFAULT_QUOTA}
    )
    async with otaclient_of(url, key, **options) as client:
        with timed() as took:
            report = await audit_fleet(client)
    totals = report.totals
    return {
        "wall_s": took.wall,
        "firmware": totals.firmware,
        "jobs": totals.jobs,
        "tasks": totals.tasks.total,
        "requests": report.stats.requests,
        "retries": report.stats.retries,
        "throttled_client": report.stats.throttled,
    }


def _measure(server: Server, key: Key, per_action: bool) -> dict[str, Any]:
    server.reset()
    row = anyio.run(_audit, server.url, key, per_action)
    sim = server.stats()
    row["per_action_requests"] = sim["per_action"]
    row["server_throttled"] = sim["throttled"]
    row["server_requests"] = sim["requests"]
    return row


def _measure_rows(smoke: bool) -> dict[str, dict[str, Any]]:
    config = {
        "seed": 4,
        "qps": None,
        "per_action_qps": True,
        "latency": LATENCY,
        "jitter": JITTER,
        "fleet": SMOKE_FLEET if smoke else {},
        "extra_keys": 2,
    }
    keys = list(bench_keys(2).items())
    with serve(config) as server:
        return {
            SINGLE: _measure(server, keys[0], per_action=False),
            SPLIT: _measure(server, keys[1], per_action=True),
        }


def _floors(counts: dict[str, int]) -> dict[str, float]:
    """What the pacing alone allows: every request at 10/s, or the busiest action's
    requests at its own quota."""
    return {
        SINGLE: sum(counts.values()) / DEFAULT_QUOTA,
        SPLIT: max(n / ACTION_QPS.get(action, DEFAULT_QUOTA) for action, n in counts.items()),
    }


def _report(measured: dict[str, dict[str, Any]], floors: dict[str, float]) -> Result:
    single, split = measured[SINGLE], measured[SPLIT]
    result = Result(
        NAME,
        f"Fleet audit: one bucket vs per-action quotas ({single['firmware']} packages, "
        f"{single['jobs']} batches, {single['tasks']:,} tasks; simulator enforces per-action "
        f"windows; L={LATENCY * 1000:.0f}+/-{JITTER * 1000:.0f} ms)",
        ["limiter", "wall s", "requests", "req/s", "throttled", "pacing floor s", "wall / floor"],
    )
    for label, row in measured.items():
        row["pacing_floor_s"] = floors[label]
        row["req_per_s"] = row["server_requests"] / row["wall_s"]
        result.rows.append(
            [
                label,
                row["wall_s"],
                row["server_requests"],
                row["req_per_s"],
                row["server_throttled"],
                floors[label],
                ratio(row["wall_s"], floors[label]),
            ]
        )
    speedup = ratio(single["wall_s"], split["wall_s"])
    bound = ratio(floors[SINGLE], floors[SPLIT])
    counts: dict[str, int] = split["per_action_requests"]
    mix = ", ".join(f"{action} {n}" for action, n in sorted(counts.items()))
    result.notes += [
        f"per-action quotas: {speedup:.2f}x faster; the request mix ({mix}) bounds the gain "
        f"at {bound:.2f}x, since each action keeps its own 10/s",
    ]
    result.data = {
        "rows": measured,
        "floors_s": floors,
        "speedup": speedup,
        "speedup_bound": bound,
        "latency_s": LATENCY,
        "jitter_s": JITTER,
    }
    return result


def run(smoke: bool) -> Result:
    measured = _measure_rows(smoke)
    single, split = measured[SINGLE], measured[SPLIT]
    if single["tasks"] != split["tasks"] or single["jobs"] != split["jobs"]:
        raise AssertionError("the two audits saw different fleets")
    return _report(measured, _floors(split["per_action_requests"]))
