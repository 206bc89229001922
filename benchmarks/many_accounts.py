"""Many accounts in one process: 100 clients, each harvesting at its own 10/s cap.

The simulator (its own process) accepts 100 extra access keys, each with its own strict
10-per-second window, and answers after ``L = 300 +/- 50 ms``. One client process (a fresh
interpreter, so its memory and CPU are its own) opens 100 ``OTAClient``s, one per key, and
runs 100 ``iter_ota_task_by_job`` harvests of a ``P``-page job at once: 1,000 requests/s
in aggregate if every client holds its cap. Reported: aggregate requests/s against that
cap and against the floor (each harvest cannot beat ``2L + (P-2)/C``), client CPU per
request and the share of one core it used, server CPU (from /proc) and whether the server
was the bottleneck, memory per client (idle, after entering, and at the peak of the run).
"""

from __future__ import annotations

import contextlib
import gc
import json
import subprocess
import sys
import time
from typing import Any

from ._common import ROOT, Result, bench_keys, rss_bytes, serve

NAME = "many_accounts"

CAP = 10.0
LATENCY = 0.3
JITTER = 0.05
PAGE_SIZE = 100
TARGET_RPS = 1000.0
MB = 1024 * 1024


def _reset_peak() -> None:
    with contextlib.suppress(OSError), open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def _child(spec: dict[str, Any]) -> dict[str, Any]:
    import anyio

    from otaclient import OTAClient

    keys = list(bench_keys(spec["clients"]).items())

    async def main() -> dict[str, Any]:
        gc.collect()
        rss0 = rss_bytes()
        _reset_peak()
        async with contextlib.AsyncExitStack() as stack:
            clients = [
                await stack.enter_async_context(
                    OTAClient(endpoint=spec["url"], access_key_id=key, access_key_secret=secret)
                )
                for key, secret in keys
            ]
            rss1 = rss_bytes()
            finished: list[float] = []
            items = [0] * len(clients)

            async def harvest(index: int, client: OTAClient) -> None:
                async for _ in client.iter_ota_task_by_job(job_id=spec["job_id"]):
                    items[index] += 1
                finished.append(time.perf_counter() - started)

            started = time.perf_counter()
            cpu0 = time.process_time()
            async with anyio.create_task_group() as group:
                for index, client in enumerate(clients):
                    group.start_soon(harvest, index, client)
            wall = time.perf_counter() - started
            cpu = time.process_time() - cpu0
            stats = [client.stats for client in clients]
            rss2 = rss_bytes()
        return {
            "clients": len(clients),
            "items": sum(items),
            "items_min": min(items),
            "wall_s": wall,
            "cpu_s": cpu,
            "finish_first_s": min(finished),
            "finish_last_s": max(finished),
            "attempts": sum(s["attempts"] for s in stats),
            "retries": sum(s["retries"] for s in stats),
            "throttled": sum(s["throttled"] for s in stats),
            "rss_before": rss0,
            "rss_clients_entered": rss1,
            "rss_after_run": rss2,
            "peak_hwm": rss_bytes("VmHWM"),
        }

    return anyio.run(main)


def run(smoke: bool) -> Result:
    clients = 10 if smoke else 100
    pages = 10 if smoke else 100  # 10 s at 10/s per client (full)
    config = {
        "seed": 9,
        "qps": int(CAP),
        "latency": LATENCY,
        "jitter": JITTER,
        "fleet": {"single_job": pages * PAGE_SIZE},
        "extra_keys": clients,
    }
    with serve(config) as server:
        job_id = server.fleet()["jobs"][0]
        server.reset()
        server_cpu0, t0 = server.cpu(), time.perf_counter()
        spec = {"url": server.url, "job_id": job_id, "clients": clients}
        out = subprocess.run(
            [sys.executable, "-m", "benchmarks.many_accounts", "--child", json.dumps(spec)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        server_cpu = server.cpu() - server_cpu0
        outer_wall = time.perf_counter() - t0
        sim = server.stats()
    if out.returncode != 0:
        raise RuntimeError(f"many_accounts child failed:\n{out.stderr[-3000:]}")
    row: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    if row["items"] != clients * pages * PAGE_SIZE:
        raise AssertionError(f"{row['items']} items, expected {clients * pages * PAGE_SIZE}")

    floor = 2 * LATENCY + (pages - 2) / CAP
    requests = sim["requests"]
    rps = requests / row["wall_s"]
    ideal_rps = clients * pages / floor
    row.update(
        pages=pages,
        floor_s=floor,
        server_requests=requests,
        server_accepted=sim["accepted"],
        server_throttled=sim["throttled"],
        req_per_s=rps,
        cap_rps=clients * CAP,
        ideal_rps=ideal_rps,
        client_cpu_ms_per_request=row["cpu_s"] / requests * 1000,
        client_core_share=row["cpu_s"] / row["wall_s"],
        server_cpu_s=server_cpu,
        server_core_share=server_cpu / outer_wall,
        server_cpu_ms_per_request=server_cpu / requests * 1000,
        kb_per_client_entered=(row["rss_clients_entered"] - row["rss_before"]) / clients / 1024,
        kb_per_client_peak=(row["peak_hwm"] - row["rss_before"]) / clients / 1024,
    )
    target_rps = clients * CAP
    result = Result(
        NAME,
        f"Many accounts: {clients} clients x {pages} pages at {CAP:.0f}/s each, one client "
        f"process, L={LATENCY * 1000:.0f}+/-{JITTER * 1000:.0f} ms (floor per harvest "
        f"{floor:.2f} s)",
        ["measure", "value", "target / reference"],
    )
    result.rows += [
        ["aggregate requests/s", rps, f"{target_rps:,.0f} cap; {ideal_rps:,.0f} at the floor"],
        ["achieved / cap", rps / target_rps, "1.00"],
        ["achieved / floor rate", rps / ideal_rps, "1.00"],
        ["harvest wall s (first .. last finished)", row["wall_s"], f"floor {floor:.2f}"],
        ["first client finished, s", row["finish_first_s"], "-"],
        ["throttled answers", f"{sim['throttled']} ({sim['throttled'] / requests:.2%})", "-"],
        ["client retries (attempts that failed in transport)", row["retries"], "0"],
        ["client CPU ms / request", row["client_cpu_ms_per_request"], "-"],
        ["client CPU, share of one core", row["client_core_share"], "< 1.00"],
        ["server CPU ms / request", row["server_cpu_ms_per_request"], "-"],
        ["server CPU, share of one core", row["server_core_share"], "< 1.00 (else it limits)"],
        ["memory per client after entering, KB", row["kb_per_client_entered"], "-"],
        ["memory per client at peak, KB", row["kb_per_client_peak"], "-"],
    ]
    met = rps >= 0.95 * min(target_rps, ideal_rps)
    client_rps_per_core = 1000 / row["client_cpu_ms_per_request"]
    server_rps_per_core = 1000 / row["server_cpu_ms_per_request"]
    limit = min(client_rps_per_core, server_rps_per_core)
    bottleneck = "the client" if client_rps_per_core <= server_rps_per_core else "the server"
    if limit >= target_rps:
        bottleneck = "neither at this CPU cost per request"
    row.update(
        client_rps_per_core=client_rps_per_core,
        server_rps_per_core=server_rps_per_core,
        client_cores_at_target=row["client_cpu_ms_per_request"] * target_rps / 1000,
        server_cores_at_target=row["server_cpu_ms_per_request"] * target_rps / 1000,
    )
    result.rows += [
        ["requests/s one client core could carry", client_rps_per_core, f"{target_rps:,.0f}"],
        ["requests/s one server core could carry", server_rps_per_core, f"{target_rps:,.0f}"],
    ]
    result.notes += [
        f"target {target_rps:,.0f} req/s on one core: {rps:,.0f} req/s achieved "
        f"({rps / ideal_rps:.1%} of what the floor allows) -> {'MET' if met else 'MISSED'}",
        f"at {target_rps:,.0f} req/s the client would need {row['client_cores_at_target']:.2f} "
        f"cores and the server {row['server_cores_at_target']:.2f} (2 cores, shared); "
        f"the first limit is {bottleneck}",
    ]
    row["met"] = met
    row["bottleneck"] = bottleneck
    result.data = row
    return result


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "--child":
        print(json.dumps(_child(json.loads(sys.argv[2]))))
