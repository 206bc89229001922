"""The token bucket: how strict over a long run, and what one acquire costs.

* Pacing: ``TokenBucket(20)`` hands out ``N`` grants in real time to 8 concurrent
  acquirers. From the grant times (``time.monotonic()`` as each acquire returns) we
  report the achieved rate, the most grants seen in any 1-second window (the server's
  strict window would refuse the 21st) and the smallest gap between two grants.
* Cost: ``M`` acquires in a loop inside one event loop, on a bucket whose rate is so high
  it never waits, against ``anyio.lowlevel.checkpoint()`` (what any acquire that does not
  wait must at least do) and ``Unlimited``.

Both on asyncio and on trio.
"""

from __future__ import annotations

import bisect
import itertools
import time
from typing import Any

import anyio

from otaclient import PerActionLimiter, TokenBucket, Unlimited

from ._common import Result, ratio, verdict

NAME = "limiter"

RATE = 20.0
ACQUIRERS = 8
BACKENDS = ("asyncio", "trio")


async def _pace(grants: int) -> list[float]:
    bucket = TokenBucket(RATE)
    times: list[float] = []
    remaining = iter(range(grants))

    async def acquirer() -> None:
        for _ in remaining:
            await bucket.acquire("ListOTATaskByJob")
            times.append(time.monotonic())

    async with anyio.create_task_group() as group:
        for _ in range(ACQUIRERS):
            group.start_soon(acquirer)
    return times


def worst_window(times: list[float], width: float = 1.0) -> int:
    """The most events in any half-open window ``[t, t + width)`` that starts at an event."""
    times = sorted(times)
    return max((bisect.bisect_left(times, t + width) - i for i, t in enumerate(times)), default=0)


async def _cost(iterations: int) -> dict[str, float]:
    bucket = TokenBucket(1e12)  # never waits: every acquire takes the no-wait path
    per_action = PerActionLimiter({"ListOTAFirmware": 1e12}, overall=None)
    unlimited = Unlimited()
    out: dict[str, float] = {}

    async def checkpoint() -> None:
        await anyio.lowlevel.checkpoint()

    async def acquire_bucket() -> None:
        await bucket.acquire("ListOTAFirmware")

    async def acquire_unlimited() -> None:
        await unlimited.acquire("ListOTAFirmware")

    async def acquire_per_action() -> None:
        await per_action.acquire("ListOTAFirmware")

    for label, fn in (
        ("anyio.lowlevel.checkpoint()", checkpoint),
        ("Unlimited.acquire", acquire_unlimited),
        ("TokenBucket.acquire (no wait)", acquire_bucket),
        ("PerActionLimiter.acquire (no wait)", acquire_per_action),
    ):
        for _ in range(min(1000, iterations)):  # warm up
            await fn()
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            for _ in range(iterations):
                await fn()
            best = min(best, time.perf_counter() - started)
        out[label] = best / iterations * 1e6
    return out


def _pacing(times: list[float]) -> dict[str, Any]:
    """Rate, worst window and gaps of a run's grant times."""
    gaps = [b - a for a, b in itertools.pairwise(times)]
    span = times[-1] - times[0]
    return {
        "grants": len(times),
        "seconds": span,
        "achieved_rate": (len(times) - 1) / span,
        "worst_1s_window": worst_window(times),
        "min_gap_ms": min(gaps) * 1000,
        "max_gap_ms": max(gaps) * 1000,
    }


def _report(
    pacing: dict[str, dict[str, Any]], costs: dict[str, dict[str, float]], title: str
) -> Result:
    result = Result(NAME, title, ["measure", *BACKENDS, "target"])

    def row(label: str, key: str, target: str) -> None:
        result.rows.append([label, *(pacing[b][key] for b in BACKENDS), target])

    row("achieved rate, grants/s", "achieved_rate", f"<= {RATE:.0f}, close to it")
    row("worst 1-s window, grants", "worst_1s_window", f"<= {RATE:.0f}")
    row("smallest gap, ms", "min_gap_ms", f">= {1000 / RATE:.0f} (server sees arrivals)")
    row("largest gap, ms", "max_gap_ms", "-")
    for label in costs[BACKENDS[0]]:
        result.rows.append([f"{label}, us", *(costs[b][label] for b in BACKENDS), "-"])
    for backend in BACKENDS:
        c = costs[backend]
        c["bucket_over_checkpoint"] = ratio(
            c["TokenBucket.acquire (no wait)"], c["anyio.lowlevel.checkpoint()"]
        )
    result.rows.append(
        [
            "TokenBucket / checkpoint",
            *(costs[b]["bucket_over_checkpoint"] for b in BACKENDS),
            "-",
        ]
    )
    met = all(p["worst_1s_window"] <= RATE for p in pacing.values())
    result.notes.append(
        f"strictness: worst window {max(p['worst_1s_window'] for p in pacing.values())} grants "
        f"in 1 s at {RATE:.0f}/s -> {verdict(met)}"
    )
    return result


def run(smoke: bool) -> Result:
    grants = 30 if smoke else 600
    iterations = 10_000 if smoke else 100_000
    pacing: dict[str, dict[str, Any]] = {}
    costs: dict[str, dict[str, float]] = {}
    for backend in BACKENDS:
        pacing[backend] = _pacing(anyio.run(_pace, grants, backend=backend))
        costs[backend] = anyio.run(_cost, iterations, backend=backend)
    result = _report(
        pacing,
        costs,
        f"Limiter: TokenBucket({RATE:.0f}/s) over {grants} grants to {ACQUIRERS} acquirers, and "
        f"the cost of one acquire ({iterations:,} in a loop, best of 3)",
    )
    result.data = {
        "rate": RATE,
        "grants": grants,
        "acquirers": ACQUIRERS,
        "iterations": iterations,
        "pacing": pacing,
        "acquire_cost_us": costs,
        "met": all(p["worst_1s_window"] <= RATE for p in pacing.values()),
    }
    return result
