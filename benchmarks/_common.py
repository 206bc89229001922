"""What every benchmark shares.

* the service: the simulator in its own process (:func:`serve`), the capped setting the
  harvest benchmarks simulate (:func:`at_the_cap`, :func:`floor_seconds`), access keys, and
  clients of it (:func:`otaclient_of`, the official SDK's :func:`sdk_client`, hand-signed
  requests :func:`signed_query`);
* measuring: :func:`timed` (wall and CPU seconds), CPU and memory from /proc, a fresh
  interpreter per measurement (:func:`run_child`, :func:`child_main`);
* reporting: :class:`Result` (one table and the data for results.json), :func:`fmt`,
  :func:`ratio`, :func:`verdict`, :func:`machine_info`.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import attrs
import httpx

from otaclient import OTAClient
from otaclient._signing import canonical_query, sign
from otaclient.simulator import DEMO_ACCESS_KEY_ID, DEMO_ACCESS_KEY_SECRET

__all__ = [
    "CAP",
    "DEMO_ACCESS_KEY_ID",
    "DEMO_ACCESS_KEY_SECRET",
    "DEMO_KEY",
    "JITTER",
    "LATENCY",
    "PAGE_SIZE",
    "ROOT",
    "Key",
    "Result",
    "Server",
    "Timing",
    "at_the_cap",
    "bench_keys",
    "child_main",
    "floor_seconds",
    "fmt",
    "machine_info",
    "otaclient_of",
    "proc_cpu_seconds",
    "ratio",
    "reset_peak",
    "rss_bytes",
    "run_child",
    "sdk_client",
    "serve",
    "signed_query",
    "timed",
    "verdict",
]

ROOT = Path(__file__).resolve().parent.parent
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

Key = tuple[str, str]
"""An access key: (id, secret)."""
DEMO_KEY: Key = (DEMO_ACCESS_KEY_ID, DEMO_ACCESS_KEY_SECRET)

#: The service's strict window: at most 10 accepted requests per key in any second.
CAP = 10.0
#: Seconds the simulator takes to answer at the cap, plus or minus ``JITTER``.
LATENCY = 0.3
JITTER = 0.05
#: Tasks per page of the harvests (ListOTATaskByJob's maximum).
PAGE_SIZE = 100


def bench_keys(count: int) -> dict[str, str]:
    """``count`` extra access keys the benchmark simulator accepts, id -> secret."""
    return {f"bench-key-{i:03d}": f"bench-secret-{i:03d}" for i in range(count)}


def at_the_cap(*, seed: int, pages: int, keys: int) -> dict[str, Any]:
    """The simulator (for :func:`serve`) of one job of ``pages`` pages of tasks, at the
    cap with its latency, accepting ``keys`` extra access keys."""
    return {
        "seed": seed,
        "qps": int(CAP),
        "latency": LATENCY,
        "jitter": JITTER,
        "fleet": {"single_job": pages * PAGE_SIZE},
        "extra_keys": keys,
    }


def floor_seconds(pages: int, latency: float = LATENCY, cap: float = CAP) -> float:
    """``2L + (P - 2)/C``: the shortest possible harvest of ``pages`` pages.

    Page 1 takes one round trip and says how many pages there are, the other ``P - 1``
    requests are spaced ``1/C`` apart, and the last one takes another round trip.
    """
    if pages <= 1:
        return latency
    return 2 * latency + (pages - 2) / cap


# --------------------------------------------------------------------------- the server


class Server:
    """A simulator running in a child process (see ``_serve``)."""

    def __init__(self, proc: subprocess.Popen[str], url: str) -> None:
        self.proc = proc
        self.url = url
        self._http = httpx.Client(base_url=url, timeout=30.0)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stats(self) -> dict[str, Any]:
        """The simulator's counters and the server process's CPU seconds."""
        data: dict[str, Any] = self._http.get("/__bench__/stats").json()
        return data

    def reset(self) -> None:
        """Zero the simulator's counters."""
        self._http.get("/__bench__/reset").raise_for_status()

    def fleet(self) -> dict[str, list[str]]:
        """Job and firmware ids of the simulator's fleet."""
        data: dict[str, list[str]] = self._http.get("/__bench__/fleet").json()
        return data

    def cpu(self) -> float:
        """CPU seconds the server process has used (from /proc, without asking it)."""
        return proc_cpu_seconds(self.pid)

    def close(self) -> None:
        self._http.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@contextmanager
def serve(config: dict[str, Any], *, timeout: float = 120.0) -> Iterator[Server]:
    """Start ``python -m benchmarks._serve CONFIG`` and yield it once it listens."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks._serve", json.dumps(config)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=None,  # the server's own warnings go to our stderr
        text=True,
    )
    line: list[str] = []
    reader = threading.Thread(target=lambda: line.append(proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(timeout)
    url = line[0].strip() if line else ""
    if not url.startswith("http://"):
        proc.kill()
        proc.wait()
        raise RuntimeError(f"the simulator did not start (said {url!r})")
    server = Server(proc, url)
    try:
        yield server
    finally:
        server.close()


# --------------------------------------------------------------------------- clients


def otaclient_of(url: str, key: Key = DEMO_KEY, **options: Any) -> OTAClient:
    """An ``OTAClient`` of the benchmark simulator at ``url``, signing with ``key``."""
    return OTAClient(endpoint=url, access_key_id=key[0], access_key_secret=key[1], **options)


def sdk_client(url: str, key: Key = DEMO_KEY) -> Any:
    """The official SDK's async-capable ``Client`` of the simulator at ``url``."""
    from alibabacloud_iot20180120.client import Client
    from alibabacloud_tea_openapi.models import Config

    return Client(
        Config(
            access_key_id=key[0],
            access_key_secret=key[1],
            endpoint=url.removeprefix("http://"),
            protocol="http",
            signature_algorithm="v2",  # selects the v1 RPC signer in tea-openapi 0.4.x
        )
    )


def signed_query(action: str, params: Mapping[str, str], *, nonce: str, key: Key = DEMO_KEY) -> str:
    """The signed query string of a POST of ``action`` (aliyun JSON), timestamped now."""
    common = {
        "Format": "JSON",
        "Version": "2018-01-20",
        "AccessKeyId": key[0],
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "Action": action,
        "SignatureNonce": nonce,
        "Timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    query = canonical_query({**common, **params})
    return f"{query}&Signature={quote(sign('POST', query, key[1]), safe='')}"


# --------------------------------------------------------------------------- measuring


@attrs.define
class Timing:
    """Seconds a block took: ``wall`` (``perf_counter``) and this process's ``cpu``."""

    wall: float = 0.0
    cpu: float = 0.0


@contextmanager
def timed() -> Iterator[Timing]:
    """``with timed() as took: ...`` then ``took.wall`` and ``took.cpu``."""
    took = Timing()
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        yield took
    finally:
        took.wall = time.perf_counter() - wall
        took.cpu = time.process_time() - cpu


def run_child(module: str, *args: str) -> dict[str, Any]:
    """Run ``python -m benchmarks.<module> --child ARGS`` in a fresh interpreter (its memory
    and CPU are its own); return the JSON object it prints last."""
    out = subprocess.run(
        [sys.executable, "-m", f"benchmarks.{module}", "--child", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"{module} child {list(args[:2])} failed:\n{out.stderr[-3000:]}")
    data: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return data


def child_main(measure: Callable[[list[str]], dict[str, Any]]) -> None:
    """The ``__main__`` of a module that :func:`run_child` starts: ``measure(ARGS)``, printed."""
    if len(sys.argv) >= 2 and sys.argv[1] == "--child":
        print(json.dumps(measure(sys.argv[2:])))


def reset_peak() -> bool:
    """Reset this process's peak resident set (``VmHWM``) to the current one (Linux >= 4.0);
    ``False`` where the kernel does not allow it."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def proc_cpu_seconds(pid: int) -> float:
    """utime + stime of process ``pid``, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rpartition(")")[2].split()
    # fields[0] is the state (field 3); utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def rss_bytes(field: str = "VmRSS") -> int:
    """This process's resident set (``VmRSS``) or its peak (``VmHWM``), in bytes."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field} not found in /proc/self/status")


def ratio(a: float, b: float) -> float:
    """``a / b``, or ``nan`` when ``b`` is zero."""
    return a / b if b else float("nan")


def verdict(met: bool) -> str:
    """How a target reads in the tables and notes."""
    return "MET" if met else "MISSED"


def machine_info() -> dict[str, Any]:
    """CPU model, cores, Python, platform and date, for results.json."""
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cpu_model": model,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }


# --------------------------------------------------------------------------- results


@attrs.define
class Result:
    """One benchmark's outcome: a table for people, ``data`` for results.json."""

    name: str
    title: str
    columns: Sequence[str]
    rows: list[list[Any]] = attrs.field(factory=list)
    notes: list[str] = attrs.field(factory=list)
    data: dict[str, Any] = attrs.field(factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "columns": list(self.columns),
            "rows": [[_plain(cell) for cell in row] for row in self.rows],
            "notes": self.notes,
            "data": self.data,
        }


def _plain(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 6)
    return value


def fmt(value: Any, digits: int = 2) -> str:
    """A table cell: numbers rounded, thousands separated."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value != value:  # nan
            return "-"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:,.{digits}f}"
    return str(value)
