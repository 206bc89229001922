"""HTTP transports side by side: client CPU per call and requests/s at 1 to 128 in flight.

The server is ``_page_server`` in its own process: an ``asyncio.Protocol`` that answers
every request with one prepared 100-firmware JSON page (about 40 KB), over plain HTTP and
over HTTPS with a certificate from a ``trustme`` test CA. It does no routing, signing or
encoding per request, so it costs far less than any client and isolates the transport
better than the simulator would (whose signature checks and rendering would cap
requests/s at its own speed).

Every candidate runs the request loop's read pattern: ``GET`` of one signed-looking URL,
the body streamed raw (``send(stream=True)`` then ``aiter_raw()``), the response closed.
``N`` in flight means ``N`` workers and a pool of ``N`` connections (what a client with
``max_concurrency=N`` has). Each cell warms its pool first (TLS handshakes excluded), then
times ``calls`` calls: client CPU is ``time.process_time()`` of this process, the server's
comes from its own counters. Candidates, on asyncio:

* httpx + httpcore: httpx 0.28's own transport (otaclient's transport before this change);
* httpx2: pydantic's fork, whole (its client and its httpcore2 pool);
* httpx + httpcore2: httpx's client over httpx2's pool (``otaclient._transport``'s adapter);
* httpx + httpx-aiohttp: ``AiohttpTransport`` as published (openai-python's choice);
* httpx + DefaultTransport: ``otaclient._transport``, the one the library ships;
* bare aiohttp: ``ClientSession.get`` and ``read``, no httpx at all: the floor.

Under trio (aiohttp runs only on asyncio): httpx + httpcore, httpx2 and DefaultTransport
(which is httpx + httpcore2 there). All candidates trust the test CA
through one shared ``ssl.SSLContext``. Cells run interleaved, round by round, in a rotating
order, so machine noise hits every candidate alike.
"""

from __future__ import annotations

import contextlib
import cProfile
import gc
import importlib.util
import pstats
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import attrs
import httpx

from otaclient._transport import DefaultTransport, _Httpcore2Transport

from ._common import ROOT, Result, ratio

NAME = "transports"

IN_FLIGHT = (1, 8, 32, 128)
SCHEMES = ("http", "https")
FLATNESS_TARGET = 1.3  # CPU per call at 128 in flight <= 1.3x that at 1
OURS = "httpx + DefaultTransport"
TODAY = "httpx + httpcore"
FLOOR = "bare aiohttp"
# What otaclient's requests look like on the wire (values made up, lengths real).
QUERY = (
    "/?AccessKeyId=LTAI5tBenchmarkKey0000&Action=ListOTAFirmware&CurrentPage=1&Format=JSON"
    "&PageSize=100&SignatureMethod=HMAC-SHA1&SignatureNonce=9f1c2a7be3d44c3c8d0c4e3f1a2b3c4d"
    "&SignatureVersion=1.0&Timestamp=2026-11-23T18%3A05%3A00Z&Version=2018-01-20"
    "&Signature=q%2BK9v3J0n5y8mR2wX4tL6aZ1bC0%3D"
)

Call = Callable[[str], Awaitable[int]]
"""``await call(url)`` -> body bytes read."""
Opener = Callable[[int, Any], contextlib.AbstractAsyncContextManager[Call]]
"""``opener(in_flight, ssl_context)``: a pool of ``in_flight`` connections, as a call."""


@attrs.frozen
class Candidate:
    label: str
    loops: tuple[str, ...]
    open: Opener
    needs: str | None = None
    """The module it needs; a candidate whose module is not installed is skipped."""


# --------------------------------------------------------------------------- candidates


def _limits(in_flight: int) -> httpx.Limits:
    return httpx.Limits(
        max_connections=in_flight, max_keepalive_connections=in_flight, keepalive_expiry=4.0
    )


async def _read_raw(client: Any, url: str) -> int:
    response = await client.send(client.build_request("GET", url), stream=True)
    size = 0
    try:
        async for chunk in response.aiter_raw():
            size += len(chunk)
    finally:
        await response.aclose()
    if response.status_code != 200:
        raise RuntimeError(f"HTTP {response.status_code}")
    return size


@contextlib.asynccontextmanager
async def _httpx_client(transport: httpx.AsyncBaseTransport | None, **options: Any) -> Any:
    async with httpx.AsyncClient(transport=transport, **options) as client:

        async def call(url: str) -> int:
            return await _read_raw(client, url)

        yield call


def _httpcore(in_flight: int, tls: Any) -> Any:
    return _httpx_client(None, limits=_limits(in_flight), verify=tls)


def _ours(in_flight: int, tls: Any) -> Any:
    return _httpx_client(DefaultTransport(limits=_limits(in_flight), verify=tls))


def _httpx_aiohttp(in_flight: int, tls: Any) -> Any:
    from httpx_aiohttp import AiohttpTransport

    return _httpx_client(AiohttpTransport(verify=tls, limits=_limits(in_flight)))


def _httpcore2(in_flight: int, tls: Any) -> Any:
    return _httpx_client(_Httpcore2Transport(_limits(in_flight), tls))


@contextlib.asynccontextmanager
async def _httpx2(in_flight: int, tls: Any) -> Any:
    import httpx2

    limits = httpx2.Limits(
        max_connections=in_flight, max_keepalive_connections=in_flight, keepalive_expiry=4.0
    )
    async with httpx2.AsyncClient(limits=limits, verify=tls) as client:

        async def call(url: str) -> int:
            return await _read_raw(client, url)

        yield call


@contextlib.asynccontextmanager
async def _bare_aiohttp(in_flight: int, tls: Any) -> Any:
    import aiohttp

    connector = aiohttp.TCPConnector(limit=in_flight, keepalive_timeout=4.0, ssl=tls)
    async with aiohttp.ClientSession(
        connector=connector, cookie_jar=aiohttp.DummyCookieJar(), auto_decompress=False
    ) as session:

        async def call(url: str) -> int:
            async with session.get(url) as response:
                body = await response.read()
                if response.status != 200:
                    raise RuntimeError(f"HTTP {response.status}")
                return len(body)

        yield call


BOTH = ("asyncio", "trio")
CANDIDATES = (
    Candidate(TODAY, BOTH, _httpcore),
    Candidate("httpx2", BOTH, _httpx2, needs="httpx2"),
    # Under trio this is what DefaultTransport runs: its row there is this one.
    Candidate("httpx + httpcore2", ("asyncio",), _httpcore2),
    Candidate("httpx + httpx-aiohttp", ("asyncio",), _httpx_aiohttp, needs="httpx_aiohttp"),
    Candidate(OURS, BOTH, _ours),
    Candidate(FLOOR, ("asyncio",), _bare_aiohttp),
)


# --------------------------------------------------------------------------- the server


class _PageServer:
    """``_page_server`` in a child process, with a test CA the clients trust."""

    def __init__(self, folder: Path) -> None:
        import trustme

        self.ca = trustme.CA()
        cert = self.ca.issue_cert("127.0.0.1", "localhost")
        cert_file, key_file = folder / "cert.pem", folder / "key.pem"
        cert.cert_chain_pems[0].write_to_path(cert_file)
        cert.private_key_pem.write_to_path(key_file)
        self.tls = _trusting(self.ca)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks._page_server", str(cert_file), str(key_file)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        line: list[str] = []
        reader = threading.Thread(target=lambda: line.append(self.proc.stdout.readline()))  # type: ignore[union-attr]
        reader.start()
        reader.join(60)
        urls = line[0].split() if line else []
        if len(urls) != 2:
            self.close()
            raise RuntimeError(f"the page server did not start (said {line!r})")
        self.urls = dict(zip(SCHEMES, urls, strict=True))
        # A new connection per ask, so each ask adds exactly one to the server's count.
        self._stats = httpx.Client(
            base_url=self.urls["http"],
            timeout=30.0,
            limits=httpx.Limits(max_keepalive_connections=0),
        )

    def stats(self) -> dict[str, Any]:
        data: dict[str, Any] = self._stats.get("/__stats__").json()
        return data

    def close(self) -> None:
        with contextlib.suppress(AttributeError):
            self._stats.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _trusting(ca: Any) -> Any:
    import ssl

    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


@contextlib.contextmanager
def page_server() -> Iterator[_PageServer]:
    """The page server in its own process, over HTTP and HTTPS (``.tls`` trusts it)."""
    with tempfile.TemporaryDirectory() as folder:
        server = _PageServer(Path(folder))
        try:
            yield server
        finally:
            server.close()


# --------------------------------------------------------------------------- measuring


async def _drive(call: Call, url: str, calls: int, in_flight: int) -> int:
    remaining = iter(range(calls))
    sizes: list[int] = []

    async def worker() -> None:
        for _ in remaining:
            sizes.append(await call(url))

    async with anyio.create_task_group() as group:
        for _ in range(in_flight):
            group.start_soon(worker)
    return min(sizes)


def _cell(
    server: _PageServer,
    candidate: Candidate,
    loop: str,
    scheme: str,
    in_flight: int,
    calls: int,
    profiler: cProfile.Profile | None = None,
) -> dict[str, float]:
    url = server.urls[scheme] + QUERY
    warmup = max(2 * in_flight, 20)

    async def main() -> tuple[float, float, int]:
        async with candidate.open(in_flight, server.tls) as call:
            await _drive(call, url, warmup, in_flight)
            gc.collect()
            wall, cpu = time.perf_counter(), time.process_time()
            if profiler is not None:
                profiler.enable()
            size = await _drive(call, url, calls, in_flight)
            if profiler is not None:
                profiler.disable()
            return time.perf_counter() - wall, time.process_time() - cpu, size

    before = server.stats()
    wall, cpu, size = anyio.run(main, backend=loop)
    after = server.stats()
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "body_bytes": size,
        "connections": after["connections"] - before["connections"] - 1,  # -1: the stats call
        "server_cpu_s": after["cpu"] - before["cpu"],
        "requests": after["requests"] - before["requests"],
    }


def _profile(
    server: _PageServer, loop: str, in_flight: int, calls: int, top: int = 6
) -> dict[str, Any]:
    """Where DefaultTransport's CPU goes at ``in_flight`` (plain HTTP): top self time."""
    ours = next(c for c in CANDIDATES if c.label == OURS)
    profiler = cProfile.Profile()
    _cell(server, ours, loop, "http", in_flight, calls, profiler)
    entries = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    busy = {
        key: value
        for key, value in entries.items()
        if not ("poll" in key[2] or "select" in key[2] or "epoll" in key[2])
    }
    total = sum(value[2] for value in busy.values())
    ranked = sorted(busy.items(), key=lambda kv: -kv[1][2])[:top]
    return {
        "loop": loop,
        "in_flight": in_flight,
        "calls": calls,
        "busy_us_per_call": total / calls * 1e6,
        "top_self_time": [
            {
                "function": f"{_short(file)}:{line}({name})",
                "share": round(value[2] / total, 4),
                "calls_per_request": round(value[0] / calls, 1),
            }
            for (file, line, name), value in ranked
        ],
    }


def _short(file: str) -> str:
    return file.split("site-packages/", 1)[-1].split("/work/", 1)[-1]


def _plan(candidates: tuple[Candidate, ...]) -> list[tuple[Candidate, str]]:
    return [(c, loop) for c in candidates for loop in c.loops]


def _measure(
    server: _PageServer,
    plan: list[tuple[Candidate, str]],
    in_flight: tuple[int, ...],
    calls: int,
    rounds: int,
) -> dict[tuple[str, str, str, int], list[dict[str, float]]]:
    runs: dict[tuple[str, str, str, int], list[dict[str, float]]] = {}
    for round_ in range(rounds):
        for scheme in SCHEMES:
            for n in in_flight:
                turn = round_ % len(plan)
                for candidate, loop in plan[turn:] + plan[:turn]:
                    cell = _cell(server, candidate, loop, scheme, n, calls)
                    runs.setdefault((candidate.label, loop, scheme, n), []).append(cell)
    return runs


def _summary(runs: list[dict[str, float]], calls: int) -> dict[str, Any]:
    cpu = [r["cpu_s"] / calls * 1000 for r in runs]
    rates = [calls / r["wall_s"] for r in runs]
    return {
        "calls": calls * len(runs),
        "cpu_ms_per_call": statistics.median(cpu),
        "cpu_ms_per_call_rounds": cpu,
        "cpu_ms_per_call_best": min(cpu),
        "req_per_s": statistics.median(rates),
        "req_per_s_rounds": rates,
        "server_cpu_ms_per_call": statistics.median(r["server_cpu_s"] / calls * 1000 for r in runs),
        "connections": max(r["connections"] for r in runs),
        "body_bytes": min(r["body_bytes"] for r in runs),
    }


# --------------------------------------------------------------------------- run


def run(smoke: bool) -> Result:
    rounds = 1 if smoke else 5
    calls = 40 if smoke else 600
    in_flight = (1, 8) if smoke else IN_FLIGHT
    available = tuple(c for c in CANDIDATES if c.needs is None or importlib.util.find_spec(c.needs))
    skipped = [c.label for c in CANDIDATES if c not in available]
    plan = _plan(available)
    with page_server() as server:
        runs = _measure(server, plan, in_flight, calls, rounds)
        profiles = [] if smoke else [_profile(server, loop, IN_FLIGHT[-1], calls) for loop in BOTH]
    rows = {key: _summary(cells, calls) for key, cells in runs.items()}

    result = Result(
        NAME,
        f"Transports: GET of a 100-firmware page (~40 KB), {rounds} interleaved round(s) x "
        f"{calls:,} calls per cell, pool = in flight, server in its own process; "
        "medians, and the best round",
        [
            "candidate",
            "loop",
            "scheme",
            "in flight",
            "calls",
            "client CPU ms/call",
            "best",
            "best vs 1",
            "req/s",
            "server CPU ms/call",
            "conns",
        ],
    )
    for (label, loop, scheme, n), row in sorted(
        rows.items(), key=lambda kv: (kv[0][1], kv[0][2], _order(kv[0][0]), kv[0][3])
    ):
        base = rows[(label, loop, scheme, in_flight[0])]["cpu_ms_per_call_best"]
        row["best_vs_first"] = ratio(row["cpu_ms_per_call_best"], base)
        result.rows.append(
            [
                label,
                loop,
                scheme,
                n,
                row["calls"],
                row["cpu_ms_per_call"],
                row["cpu_ms_per_call_best"],
                row["best_vs_first"],
                row["req_per_s"],
                row["server_cpu_ms_per_call"],
                row["connections"],
            ]
        )
    result.notes += _notes(rows, in_flight)
    for profile in profiles:
        result.notes.append(
            f"profile, {OURS} on {profile['loop']} at {profile['in_flight']} in flight: "
            + "; ".join(
                f"{e['function'].rsplit('/', 1)[-1]} {e['share']:.0%}"
                for e in profile["top_self_time"][:4]
            )
        )
    if skipped:
        result.notes.append("not installed, skipped: " + ", ".join(skipped))
    result.data = {
        "rounds": rounds,
        "calls_per_cell": calls,
        "in_flight": list(in_flight),
        "rows": [
            {"candidate": label, "loop": loop, "scheme": scheme, "in_flight": n, **row}
            for (label, loop, scheme, n), row in rows.items()
        ],
        "skipped": skipped,
        "profiles": profiles,
    }
    return result


def _order(label: str) -> int:
    return [c.label for c in CANDIDATES].index(label)


def _notes(
    rows: dict[tuple[str, str, str, int], dict[str, Any]], in_flight: tuple[int, ...]
) -> list[str]:
    first, last = in_flight[0], in_flight[-1]
    notes = []
    for loop in ("asyncio", "trio"):
        for scheme in SCHEMES:
            ours = (OURS, loop, scheme)
            flat = rows[(*ours, last)]["best_vs_first"]
            met = "MET" if flat <= FLATNESS_TARGET else "MISSED"
            line = (
                f"{OURS} on {loop}, {scheme}: CPU/call at {last} in flight = {flat:.2f}x "
                f"that at {first} (target <= {FLATNESS_TARGET}x: {met})"
            )
            today = rows.get((TODAY, loop, scheme, last))
            if today is not None and loop == "asyncio":
                speed = ratio(
                    today["cpu_ms_per_call_best"], rows[(*ours, last)]["cpu_ms_per_call_best"]
                )
                line += f"; {speed:.1f}x less CPU than {TODAY} at {last}"
            notes.append(line)
    return notes
