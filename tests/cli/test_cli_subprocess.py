"""The real console entry point, in a subprocess: the demo audit, and simulate's Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from cli_helpers import NO_ENV


def _env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in NO_ENV}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def test_demo_audit_json_runs_end_to_end() -> None:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "otaclient.cli", "audit", "--demo", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(),
    )
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert len(report["jobs"]) > 10
    assert all(sum(job["task_counts"].values()) > 0 for job in report["jobs"])
    assert "built-in simulator" in done.stderr
    assert "Traceback" not in done.stderr
    assert elapsed < 45


def test_simulate_serves_until_ctrl_c_and_exits_zero() -> None:
    command = [sys.executable, "-m", "otaclient.cli", "simulate", "--port", "0", "--qps", "0"]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env()
    ) as process:
        try:
            assert process.stdout is not None
            first = process.stdout.readline()
            assert first.startswith("otaclient simulator listening on http://127.0.0.1:")
            lines = [process.stdout.readline() for _ in range(6)]
            assert any("ALIBABA_CLOUD_ACCESS_KEY_SECRET=" in line for line in lines)
            process.send_signal(signal.SIGINT)
            assert process.wait(timeout=15) == 0
        finally:
            if process.poll() is None:
                process.kill()
        assert "Traceback" not in (process.stderr.read() if process.stderr else "")
