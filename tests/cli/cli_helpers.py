"""Helpers for the command-line tests."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Mapping
from typing import Any

import anyio
import attrs
import pytest
from click.testing import CliRunner, Result
from support.virtual_time import virtual_time_backend

from otaclient.cli import cli
from otaclient.simulator import Simulator

#: Unsets every variable the command line reads.
NO_ENV: dict[str, str | None] = {
    "ALIBABA_CLOUD_ACCESS_KEY_ID": None,
    "ALIBABA_CLOUD_ACCESS_KEY_SECRET": None,
    "ALIBABA_CLOUD_SECURITY_TOKEN": None,
    "OTACLIENT_ENDPOINT": None,
    "ALIBABA_CLOUD_REGION_ID": None,
}


@attrs.frozen
class Served:
    """A simulator served over HTTP, and the environment that points the CLI at it."""

    sim: Simulator
    url: str
    env: Mapping[str, str | None]


def run(
    *args: str, env: Mapping[str, str | None] | None = None, input: str | None = None
) -> Result:
    """Invoke ``otaclient ARGS`` in-process; stdout and stderr kept apart."""
    return CliRunner().invoke(cli, list(args), env={**NO_ENV, **(env or {})}, input=input)


def assert_one_line_failure(result: Result, exit_code: int = 1) -> str:
    """The command failed with one ``Error:`` line on stderr, no traceback; returns it."""
    assert result.exit_code == exit_code, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert isinstance(result.exception, SystemExit)
    return lines[0]


def on_virtual_time(monkeypatch: pytest.MonkeyPatch, backend: str) -> None:
    """Commands run in-process on ``backend`` with a virtual clock: their sleeps (backoff,
    the rate limiter) return at once. For commands that do no real I/O (in-process fakes)."""
    real_run = anyio.run
    name, options = virtual_time_backend(backend)

    def virtual_run(func: Any, *args: Any, **ignored: Any) -> Any:
        return real_run(func, *args, backend=name, backend_options=options)

    monkeypatch.setattr(anyio, "run", virtual_run)


def simulate_until_sigterm(*options: str, env: Mapping[str, str]) -> tuple[int, str]:
    """Start ``otaclient [OPTIONS...]`` (a simulate command) in a real process, send SIGTERM
    once it says it listens, and return its exit status and stderr."""
    command = [sys.executable, "-m", "otaclient.cli", *options]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(env)
    ) as process:
        try:
            assert process.stdout is not None
            assert process.stdout.readline().startswith("otaclient simulator listening on")
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
    return process.returncode, stderr
