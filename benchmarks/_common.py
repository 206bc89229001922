"""What every benchmark shares: the simulator subprocess, clocks, memory, machine, tables."""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs
import httpx

from otaclient.simulator import DEMO_ACCESS_KEY_ID, DEMO_ACCESS_KEY_SECRET

__all__ = [
    "DEMO_ACCESS_KEY_ID",
    "DEMO_ACCESS_KEY_SECRET",
    "ROOT",
    "Result",
    "Server",
    "bench_keys",
    "fmt",
    "machine_info",
    "proc_cpu_seconds",
    "ratio",
    "rss_bytes",
    "serve",
]

ROOT = Path(__file__).resolve().parent.parent
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def bench_keys(count: int) -> dict[str, str]:
    """``count`` extra access keys the benchmark simulator accepts, id -> secret."""
    return {f"bench-key-{i:03d}": f"bench-secret-{i:03d}" for i in range(count)}


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


# --------------------------------------------------------------------------- measuring


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
