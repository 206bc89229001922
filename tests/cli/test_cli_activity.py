"""What the client is doing, on stderr: retries always, every attempt with -v, no secret."""

from __future__ import annotations

import logging
import os
import re
import socket
import subprocess
import sys

import pytest
from cli_helpers import NO_ENV, Served, assert_one_line_failure, on_virtual_time, run
from support.lying_servers import RefusingServer
from support.virtual_time import BACKENDS

from otaclient import OTAClient, RetryPolicy
from otaclient._cli import connect
from otaclient._cli.activity import reporting

KEYS = {"ALIBABA_CLOUD_ACCESS_KEY_ID": "id", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "secret"}
TOKEN = "sts-token-that/must+never=appear"
LOG = logging.getLogger("otaclient")


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_unreachable_endpoint_shows_each_retry_then_one_error(
    monkeypatch: pytest.MonkeyPatch, backend: str
) -> None:
    server = RefusingServer()
    monkeypatch.setattr(connect, "OTAClient", _on(server))
    on_virtual_time(monkeypatch, backend)
    env = {**KEYS, "OTACLIENT_ENDPOINT": "http://127.0.0.1:9"}
    result = run("firmware", "list", env=env)
    assert_one_line_failure(result)
    retries = [line for line in result.stderr.splitlines() if "retrying" in line]
    assert [re.sub(r" in [\d.]+ s", "", line) for line in retries] == [
        f"ListOTAFirmware: retrying ({n}/6): connection refused or host unreachable "
        "(ConnectError: All connection attempts failed)"
        for n in range(2, 7)
    ]
    assert server.attempts == 6
    assert result.stderr.splitlines()[-1].startswith("Error: cannot reach")


def _on(server: RefusingServer) -> object:
    def build(**options: object) -> OTAClient:
        return OTAClient(**options, transport=server)  # type: ignore[arg-type]

    return build


def test_the_first_retry_shows_at_once_from_the_console_script() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again before the command connects
    env = {key: value for key, value in os.environ.items() if key not in NO_ENV}
    env.update(KEYS, PYTHONUNBUFFERED="1")
    command = [sys.executable, "-m", "otaclient.cli", "firmware", "list"]
    with subprocess.Popen(
        [*command, "--endpoint", f"http://127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    ) as process:
        try:
            assert process.stderr is not None
            first = process.stderr.readline()  # before the command gives up, or it fails
            assert first.startswith("ListOTAFirmware: retrying (2/6) in "), first
            assert "connection refused or host unreachable" in first
        finally:
            process.kill()


def _lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return capsys.readouterr().err.splitlines()


def test_a_throttled_retry_counts_against_the_throttling_budget(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with reporting(RetryPolicy(max_throttled_attempts=30), verbose=False):
        LOG.info(
            "%s attempt %d failed (%s), retrying in %.2fs",
            "ListOTATaskByJob",
            4,
            "ListOTATaskByJob failed: Throttling.User: Request was denied",
            1.5,
        )
    assert _lines(capsys) == [
        "ListOTATaskByJob: retrying (5/30) in 1.5 s: throttled "
        "(ListOTATaskByJob failed: Throttling.User: Request was denied)"
    ]


def test_v_formats_each_attempt_record_as_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    fields = {
        "action": "ListOTAFirmware",
        "attempt": 1,
        "http_status": 200,
        "request_id": "4F2A-1",
        "latency_ms": 12.34,
        "throttled": False,
    }
    with reporting(RetryPolicy(), verbose=True):
        LOG.debug("ListOTAFirmware attempt 1: ...", extra={"otaclient_attempt": fields})
    assert _lines(capsys) == ["ListOTAFirmware attempt 1/6: HTTP 200 in 12 ms, request id 4F2A-1"]


def test_without_v_attempt_records_stay_quiet(capsys: pytest.CaptureFixture[str]) -> None:
    with reporting(RetryPolicy(), verbose=False):
        LOG.debug("an attempt", extra={"otaclient_attempt": {"action": "X"}})
        LOG.info("something the library noted")
    assert _lines(capsys) == []


def test_the_handler_is_gone_after_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    with reporting(RetryPolicy(), verbose=True):
        pass
    LOG.warning("after the command")
    assert "otaclient: after the command" not in capsys.readouterr().err


def test_v_prints_one_line_per_request_and_never_the_token(served: Served) -> None:
    before = served.sim.stats.requests
    env = {**served.env, "ALIBABA_CLOUD_SECURITY_TOKEN": TOKEN}
    result = run("-v", "firmware", "list", "--format", "json", env=env)
    assert TOKEN not in result.stdout + result.stderr
    sent = served.sim.stats.requests - before
    lines = [line for line in result.stderr.splitlines() if " attempt " in line]
    pattern = r"ListOTAFirmware attempt 1/6: (HTTP \d{3}) in \d+ ms, request id \S+"
    assert sent > 0 and len(lines) == sent
    assert all(re.fullmatch(pattern, line) for line in lines), lines


def test_v_never_shows_the_token(served: Served) -> None:
    env = {**served.env, "ALIBABA_CLOUD_SECURITY_TOKEN": TOKEN}
    result = run("-v", "firmware", "list", env=env)
    assert TOKEN not in result.stdout + result.stderr
    assert TOKEN.replace("/", "%2F") not in result.stdout + result.stderr
