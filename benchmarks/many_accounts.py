"""Many accounts in one process: 100 clients, each harvesting at its own 10/s cap.

The simulator (its own process) accepts 100 extra access keys, each with its own strict
10-per-second window, and answers after ``L = 300 +/- 50 ms``. One client process (a fresh
interpreter, so its memory and CPU are its own) opens 100 ``OTAClient``s, one per key, and
runs 100 ``iter_ota_task_by_job`` harvests of a ``P``-page job at once: 1,000 requests/s
in aggregate if every client holds its cap. Reported: aggregate requests/s against that
cap and against the floor (each harvest cannot beat ``2L + (P-2)/C``), client CPU per
request and the share of one core it used, server CPU (from /proc) and whether the server
was the bottleneck, memory per client (idle, after entering, and at the peak of the run).

The simulator serves with uvicorn's httptools parser on uvloop (``SERVER``): at 1,000
requests/s it must stay well under a core of its own, and h11 on asyncio cost about a
third more per request. The full run repeats the scenario under three garbage-collector
settings, each in a fresh client process, and reports the time spent in collections
(``gc.callbacks``) and the longest pause: the interpreter's defaults, ``gc.freeze()`` once
the clients are open (their long-lived objects leave the generations every collection
walks), and a first-generation threshold of 7,000 (``gc.set_threshold(7000, 10, 10)``) on
top of the freeze.
"""

from __future__ import annotations

import contextlib
import gc
import json
import time
from typing import Any

from ._common import (
    CAP,
    JITTER,
    LATENCY,
    PAGE_SIZE,
    Result,
    at_the_cap,
    bench_keys,
    child_main,
    floor_seconds,
    otaclient_of,
    reset_peak,
    rss_bytes,
    run_child,
    serve,
    timed,
    verdict,
)

NAME = "many_accounts"
#: The simulator's request parser and event loop (``benchmarks/_serve.py``).
SERVER = {"http": "httptools", "loop": "uvloop"}


# --------------------------------------------------------------------------- the child


def _child(args: list[str]) -> dict[str, Any]:
    """Open one client per key, then harvest the job with all of them at once."""
    import anyio

    spec = json.loads(args[0])
    keys = list(bench_keys(spec["clients"]).items())

    async def main() -> dict[str, Any]:
        gc.collect()
        rss0 = rss_bytes()
        reset_peak()
        async with contextlib.AsyncExitStack() as stack:
            clients = [
                await stack.enter_async_context(otaclient_of(spec["url"], key)) for key in keys
            ]
            rss1 = rss_bytes()
            _set_gc(spec.get("gc", "default"))
            with _gc_timer() as pauses:
                row = await _harvest_all(clients, spec["job_id"])
            stats = [client.stats for client in clients]
            rss2 = rss_bytes()
        return {
            "clients": len(clients),
            **row,
            "gc": spec.get("gc", "default"),
            "gc_collections": len(pauses),
            "gc_s": sum(pauses),
            "gc_max_pause_ms": max(pauses, default=0.0) * 1000,
            "attempts": sum(s["attempts"] for s in stats),
            "retries": sum(s["retries"] for s in stats),
            "throttled": sum(s["throttled"] for s in stats),
            "rss_before": rss0,
            "rss_clients_entered": rss1,
            "rss_after_run": rss2,
            "peak_hwm": rss_bytes("VmHWM"),
        }

    return anyio.run(main)


GC_SETTINGS = ("default", "freeze", "freeze+threshold")


def _set_gc(setting: str) -> None:
    if setting not in GC_SETTINGS:
        raise ValueError(f"unknown gc setting {setting!r}")
    if setting != "default":
        gc.freeze()  # what exists now (clients, modules, caches) is never walked again
    if setting == "freeze+threshold":
        gc.set_threshold(7000, 10, 10)


@contextlib.contextmanager
def _gc_timer() -> Any:
    """The seconds of every collection while the block runs (a list, filled as they end)."""
    pauses: list[float] = []
    began: list[float] = []

    def callback(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            began.append(time.perf_counter())
        elif began:
            pauses.append(time.perf_counter() - began.pop())

    gc.callbacks.append(callback)
    try:
        yield pauses
    finally:
        gc.callbacks.remove(callback)


async def _harvest_all(clients: list[Any], job_id: str) -> dict[str, Any]:
    import anyio

    finished: list[float] = []
    items = [0] * len(clients)

    failures: list[str] = []

    async def harvest(index: int, client: Any) -> None:
        # A harvest that fails (an overloaded server: attempts past the client's timeout)
        # is counted and reported, not allowed to end the other 99.
        try:
            async for _ in client.iter_ota_task_by_job(job_id=job_id):
                items[index] += 1
        except Exception as exc:
            failures.append(f"{type(exc).__name__}: {str(exc)[:160]}")
            return
        finished.append(time.perf_counter() - started)

    started = time.perf_counter()
    with timed() as took:
        async with anyio.create_task_group() as group:
            for index, client in enumerate(clients):
                group.start_soon(harvest, index, client)
    return {
        "items": sum(items),
        "items_min": min(items),
        "wall_s": took.wall,
        "cpu_s": took.cpu,
        "finish_first_s": min(finished, default=float("nan")),
        "finish_last_s": max(finished, default=float("nan")),
        "harvests_failed": len(failures),
        "failures": failures[:5],
    }


# --------------------------------------------------------------------------- measure


def _measure(
    clients: int, pages: int, gc_setting: str = "default"
) -> tuple[dict[str, Any], dict[str, Any], float, float]:
    """The child's row, the server's counters, its CPU seconds and the outer wall time."""
    with serve({**at_the_cap(seed=9, pages=pages, keys=clients), **SERVER}) as server:
        job_id = server.fleet()["jobs"][0]
        server.reset()
        server_cpu0 = server.cpu()
        spec = {"url": server.url, "job_id": job_id, "clients": clients, "gc": gc_setting}
        with timed() as took:
            row = run_child(NAME, json.dumps(spec))
        server_cpu = server.cpu() - server_cpu0
        sim = server.stats()
    if not row["harvests_failed"] and row["items"] != clients * pages * PAGE_SIZE:
        raise AssertionError(f"{row['items']} items, expected {clients * pages * PAGE_SIZE}")
    return row, sim, server_cpu, took.wall


def _derive(row: dict[str, Any], sim: dict[str, Any], server_cpu: float, outer_wall: float) -> None:
    """Rates, CPU per request and memory per client, from the raw counters."""
    clients, requests = row["clients"], sim["requests"]
    floor = floor_seconds(row["pages"])
    rps = requests / row["wall_s"]
    row.update(
        floor_s=floor,
        server_requests=requests,
        server_accepted=sim["accepted"],
        server_throttled=sim["throttled"],
        req_per_s=rps,
        cap_rps=clients * CAP,
        ideal_rps=clients * row["pages"] / floor,
        client_cpu_ms_per_request=row["cpu_s"] / requests * 1000,
        client_core_share=row["cpu_s"] / row["wall_s"],
        server_cpu_s=server_cpu,
        server_core_share=server_cpu / outer_wall,
        server_cpu_ms_per_request=server_cpu / requests * 1000,
        kb_per_client_entered=(row["rss_clients_entered"] - row["rss_before"]) / clients / 1024,
        kb_per_client_peak=(row["peak_hwm"] - row["rss_before"]) / clients / 1024,
    )
    target_rps = clients * CAP
    client_rps_per_core = 1000 / row["client_cpu_ms_per_request"]
    server_rps_per_core = 1000 / row["server_cpu_ms_per_request"]
    bottleneck = "the client" if client_rps_per_core <= server_rps_per_core else "the server"
    if min(client_rps_per_core, server_rps_per_core) >= target_rps:
        bottleneck = "neither at this CPU cost per request"
    row.update(
        client_rps_per_core=client_rps_per_core,
        server_rps_per_core=server_rps_per_core,
        client_cores_at_target=row["client_cpu_ms_per_request"] * target_rps / 1000,
        server_cores_at_target=row["server_cpu_ms_per_request"] * target_rps / 1000,
        met=rps >= 0.95 * min(target_rps, row["ideal_rps"]) and not row["harvests_failed"],
        bottleneck=bottleneck,
    )


# --------------------------------------------------------------------------- report


def _report(row: dict[str, Any], throttled: int) -> Result:
    clients, pages, floor, rps = row["clients"], row["pages"], row["floor_s"], row["req_per_s"]
    target_rps, ideal_rps, requests = clients * CAP, row["ideal_rps"], row["server_requests"]
    result = Result(
        NAME,
        f"Many accounts: {clients} clients x {pages} pages at {CAP:.0f}/s each, one client "
        f"process, L={LATENCY * 1000:.0f}+/-{JITTER * 1000:.0f} ms (floor per harvest "
        f"{floor:.2f} s); server {SERVER['http']} on {SERVER['loop']}",
        ["measure", "value", "target / reference"],
    )
    result.rows += [
        ["aggregate requests/s", rps, f"{target_rps:,.0f} cap; {ideal_rps:,.0f} at the floor"],
        ["achieved / cap", rps / target_rps, "1.00"],
        ["achieved / floor rate", rps / ideal_rps, "1.00"],
        ["harvest wall s (first .. last finished)", row["wall_s"], f"floor {floor:.2f}"],
        ["first client finished, s", row["finish_first_s"], "-"],
        ["throttled answers", f"{throttled} ({throttled / requests:.2%})", "-"],
        ["harvests that failed", row["harvests_failed"], "0"],
        ["client retries (attempts that failed in transport)", row["retries"], "0"],
        ["client CPU ms / request", row["client_cpu_ms_per_request"], "-"],
        ["client CPU, share of one core", row["client_core_share"], "< 1.00"],
        ["server CPU ms / request", row["server_cpu_ms_per_request"], "-"],
        ["server CPU, share of one core", row["server_core_share"], "< 1.00 (else it limits)"],
        ["memory per client after entering, KB", row["kb_per_client_entered"], "-"],
        ["memory per client at peak, KB", row["kb_per_client_peak"], "-"],
        [
            "requests/s one client core could carry",
            row["client_rps_per_core"],
            f"{target_rps:,.0f}",
        ],
        [
            "requests/s one server core could carry",
            row["server_rps_per_core"],
            f"{target_rps:,.0f}",
        ],
    ]
    result.notes += [
        f"target {target_rps:,.0f} req/s on one core: {rps:,.0f} req/s achieved "
        f"({rps / ideal_rps:.1%} of what the floor allows) -> {verdict(row['met'])}",
        f"at {target_rps:,.0f} req/s the client would need {row['client_cores_at_target']:.2f} "
        f"cores and the server {row['server_cores_at_target']:.2f} (2 cores, shared); "
        f"the first limit is {row['bottleneck']}",
    ]
    result.data = row
    return result


def run(smoke: bool) -> Result:
    clients = 10 if smoke else 100
    pages = 10 if smoke else 100  # 10 s at 10/s per client (full)
    rows = {}
    for setting in GC_SETTINGS[:1] if smoke else GC_SETTINGS:
        row, sim, server_cpu, outer_wall = _measure(clients, pages, setting)
        row["pages"] = pages
        _derive(row, sim, server_cpu, outer_wall)
        rows[setting] = (row, sim["throttled"])
    result = _report(*rows["default"])
    for setting, (row, _) in rows.items():
        requests = row["server_requests"]
        result.notes.append(
            f"gc {setting}: {row['req_per_s']:,.0f} req/s, client CPU "
            f"{row['client_cpu_ms_per_request']:.2f} ms/request, of which collections "
            f"{row['gc_s'] / requests * 1000:.3f} ms ({row['gc_collections']} collections, "
            f"longest pause {row['gc_max_pause_ms']:.1f} ms); {row['harvests_failed']} "
            "harvests failed" + (f" (first: {row['failures'][0]})" if row["failures"] else "")
        )
    result.data = {
        **rows["default"][0],
        "server": SERVER,
        "gc_settings": {k: v[0] for k, v in rows.items()},
    }
    return result


if __name__ == "__main__":
    child_main(_child)
