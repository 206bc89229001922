"""--qps against the account's quota: the limit is never silently off against the service,
and an audit started far above the quota slows down until it completes."""

from __future__ import annotations

import functools
import json
from typing import Any

import anyio
import pytest
import trio.testing
from cli_helpers import assert_one_line_failure, on_virtual_time, run
from support.virtual_time import BACKENDS

from otaclient import OTAClient, TokenBucket
from otaclient._cli import connect
from otaclient.simulator import (
    DEMO_ACCESS_KEY_ID,
    DEMO_ACCESS_KEY_SECRET,
    FleetSpec,
    Simulator,
    SimulatorConfig,
)

REMOTE = "https://iot.cn-shanghai.aliyuncs.com"
KEYS = {
    "ALIBABA_CLOUD_ACCESS_KEY_ID": DEMO_ACCESS_KEY_ID,
    "ALIBABA_CLOUD_ACCESS_KEY_SECRET": DEMO_ACCESS_KEY_SECRET,
}


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The options of every client the command builds; none of them sends anything."""
    options: list[dict[str, Any]] = []

    def spy(**given: Any) -> OTAClient:
        options.append(given)
        raise SystemExit(0)  # stop before any request

    monkeypatch.setattr(connect, "OTAClient", spy)
    return options


def test_qps_0_against_the_service_is_refused_naming_the_override(
    built: list[dict[str, Any]],
) -> None:
    result = run("firmware", "list", "--endpoint", REMOTE, "--qps", "0", env=KEYS)
    line = assert_one_line_failure(result, exit_code=2)
    assert "--no-rate-limit" in line and REMOTE in line
    assert built == []


def test_qps_0_against_a_region_is_refused_too(built: list[dict[str, Any]]) -> None:
    result = run("--region-id", "cn-shanghai", "--qps", "0", "firmware", "list", env=KEYS)
    assert "--no-rate-limit" in assert_one_line_failure(result, exit_code=2)
    assert built == []


@pytest.mark.parametrize("before", [True, False], ids=["before", "after"])
def test_no_rate_limit_turns_the_limit_off_anywhere(
    built: list[dict[str, Any]], before: bool
) -> None:
    flag = ["--no-rate-limit"]
    args = [*flag, "firmware", "list"] if before else ["firmware", "list", *flag]
    run(*args, "--endpoint", REMOTE, env=KEYS)
    assert [options["qps"] for options in built] == [None]
    assert "limiter" not in built[0]


def test_qps_and_no_rate_limit_together_are_refused(built: list[dict[str, Any]]) -> None:
    result = run(
        "firmware", "list", "--endpoint", REMOTE, "--qps", "5", "--no-rate-limit", env=KEYS
    )
    assert "not both" in assert_one_line_failure(result, exit_code=2)


def test_qps_0_on_a_loopback_endpoint_means_no_limit(built: list[dict[str, Any]]) -> None:
    run("firmware", "list", "--endpoint", "http://127.0.0.1:8686", "--qps", "0", env=KEYS)
    assert [options["qps"] for options in built] == [None]


def _rate_after_a_minute_of_throttling(limiter: TokenBucket) -> float:
    async def throttled_every_second() -> float:
        for _ in range(60):
            limiter.report_throttled()
            await anyio.sleep(1.0)
        return limiter.current_rate

    clock = trio.testing.MockClock(autojump_threshold=0)
    return anyio.run(throttled_every_second, backend="trio", backend_options={"clock": clock})


@pytest.mark.parametrize("qps", [10, 500])
def test_throttling_every_second_brings_the_rate_down_near_the_quota(
    built: list[dict[str, Any]], qps: int
) -> None:
    run("firmware", "list", "--endpoint", REMOTE, "--qps", str(qps), env=KEYS)
    limiter = built[0]["limiter"]
    assert isinstance(limiter, TokenBucket) and limiter.rate == qps
    assert _rate_after_a_minute_of_throttling(limiter) <= 3.0


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_audit_far_above_a_strict_quota_completes_with_exact_counts(
    monkeypatch: pytest.MonkeyPatch, backend: str
) -> None:
    # Virtual time (the command's event loop and the simulator's quota windows on one
    # virtual clock): about a minute of throttled audit in a fraction of a second.
    sim = Simulator(
        SimulatorConfig(
            qps=1, fleet=FleetSpec(products=1, verify_jobs=False), clock=anyio.current_time
        )
    )
    monkeypatch.setattr(
        connect, "OTAClient", functools.partial(OTAClient, transport=sim.transport())
    )
    on_virtual_time(monkeypatch, backend)
    env = {**KEYS, "OTACLIENT_ENDPOINT": REMOTE}
    result = run("audit", "--qps", "1000", "--format", "json", env=env)
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    truth = sim.fleet
    assert sorted(job["job_id"] for job in report["jobs"]) == sorted(truth.job_ids())
    for job in report["jobs"]:
        counts = {status: n for status, n in job["task_counts"].items() if n}
        assert counts == {s: n for s, n in truth.task_status_counts(job["job_id"]).items() if n}
    assert sim.stats.throttled > 20, "the quota hardly bit: the test proves little"
    assert report["stats"]["throttled"] == sim.stats.throttled
    assert report["stats"]["requests"] == sim.stats.requests
