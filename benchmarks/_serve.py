"""Run the simulator in its own process, for benchmarks that measure the client's CPU alone.

    python -m benchmarks._serve '{"qps": 10, "latency": 0.3, "fleet": {"single_job": 12000}}'

The JSON object holds ``SimulatorConfig`` fields; ``fleet`` is either ``{"single_job": N}`` or
``FleetSpec`` keyword arguments, ``faults`` ``FaultSpec`` keyword arguments, and
``extra_keys: N`` adds access keys ``bench-key-000`` ... (secret ``bench-secret-000`` ...)
beside the demo key. ``http`` (``"h11"``, the default, or ``"httptools"``) and ``loop``
(``"asyncio"``, the default, or ``"uvloop"``) choose the server's request parser and event
loop (``otaclient.simulator.run``). The process prints the base URL on one line once the
socket listens, then serves until SIGTERM.

Besides the API at ``/`` it answers three benchmark-only paths, so the parent can read the
server's side of a run without sharing memory with it:

* ``GET /__bench__/stats``: the simulator's counters and this process's CPU seconds;
* ``GET /__bench__/reset``: zero the counters;
* ``GET /__bench__/fleet``: the job and firmware ids of the generated fleet.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from otaclient.simulator import FaultSpec, FleetSpec, Simulator, SimulatorConfig, run

from ._common import bench_keys

_BENCH = "/__bench__/"


def build_config(spec: dict[str, Any]) -> SimulatorConfig:
    """A ``SimulatorConfig`` from the JSON-friendly description above."""
    spec = dict(spec)
    fleet = spec.pop("fleet", None)
    if isinstance(fleet, dict) and "single_job" in fleet:
        spec["fleet"] = FleetSpec.single_job(
            int(fleet["single_job"]), anchor_ms=fleet.get("anchor")
        )
    elif isinstance(fleet, dict):
        spec["fleet"] = FleetSpec(
            **{k: tuple(v) if isinstance(v, list) else v for k, v in fleet.items()}
        )
    faults = spec.pop("faults", None)
    if faults:
        spec["faults"] = FaultSpec(**faults)
    extra = int(spec.pop("extra_keys", 0))
    if extra:
        keys = dict(SimulatorConfig().access_keys)
        keys.update(bench_keys(extra))
        spec["access_keys"] = keys
    return SimulatorConfig(**spec)


class BenchSimulator(Simulator):
    """The simulator plus the ``/__bench__/`` paths."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith(_BENCH):
            await self._bench(scope["path"][len(_BENCH) :], send)
            return
        await super().__call__(scope, receive, send)

    async def _bench(self, what: str, send: Any) -> None:
        if what == "reset":
            self.reset_stats()
            data: Any = {"ok": True}
        elif what == "fleet":
            fleet = self.fleet
            data = {"jobs": fleet.job_ids(), "firmware": fleet.firmware_ids()}
        else:
            times = os.times()
            data = {**self.stats.snapshot(), "cpu": times.user + times.system}
        body = json.dumps(data).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def main() -> None:
    spec = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    http, loop = spec.pop("http", "h11"), spec.pop("loop", "asyncio")
    app = BenchSimulator(build_config(spec))

    def announce(url: str) -> None:
        print(url, flush=True)

    run("127.0.0.1", 0, app, on_start=announce, http=http, loop=loop)


if __name__ == "__main__":
    main()
