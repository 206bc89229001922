"""Where the command line finds credentials: the library's chain, in real subprocesses.

Each test runs ``python -m otaclient.cli`` with a temporary HOME and nothing but the
variables it sets, against the simulator and the cloud stand-ins (STS, the credentials
URI) served over loopback HTTP; the gateway accepts the keys the stand-ins issued.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from anyio.from_thread import start_blocking_portal

from otaclient.simulator import (
    DEMO_ACCESS_KEY_ID,
    DEMO_ACCESS_KEY_SECRET,
    DEMO_ROLE_ARN,
    CloudConfig,
    CloudStandIn,
    FleetSpec,
    Simulator,
    SimulatorConfig,
    running_server,
)

CLOSED_LOOPBACK = "http://127.0.0.1:9"
FLEET = FleetSpec(
    products=1,
    firmware_per_product=2,
    jobs_per_firmware=(1, 1),
    devices_per_product=3,
    tasks_per_job=(1, 2),
    modules_per_product=0,
    verify_jobs=False,
    anchor_ms=1_732_006_800_000,
)


@attrs.frozen
class Cloud:
    sim: Simulator
    cloud: CloudStandIn
    iot_url: str
    cloud_url: str


@pytest.fixture(scope="module")
def served() -> Iterator[Cloud]:
    sim = Simulator(SimulatorConfig(qps=None, fleet=FLEET))
    cloud = CloudStandIn(CloudConfig(), simulator=sim)
    with (
        start_blocking_portal() as portal,
        portal.wrap_async_context_manager(running_server(sim, port=0)) as iot_url,
        portal.wrap_async_context_manager(running_server(cloud, port=0)) as cloud_url,
    ):
        yield Cloud(sim, cloud, iot_url, cloud_url)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


def _otaclient(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {
        name: value
        for name, value in os.environ.items()
        if not name.upper().startswith(("ALIBABA_CLOUD_", "ALIBABACLOUD_", "OTACLIENT_"))
    }
    base.update(
        HOME=str(home),
        PYTHONUNBUFFERED="1",
        # A default that slipped through is refused at once, never sent off the machine.
        OTACLIENT_STS_ENDPOINT=CLOSED_LOOPBACK,
        OTACLIENT_ECS_METADATA_URL=CLOSED_LOOPBACK,
    )
    base.update(env)
    return subprocess.run(
        [sys.executable, "-m", "otaclient.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=base,
    )


def _write_cli_config(home: Path, *profiles: dict[str, Any], current: str) -> None:
    path = home / ".aliyun" / "config.json"
    path.parent.mkdir()
    path.write_text(json.dumps({"current": current, "profiles": list(profiles)}))


def _ak(name: str, secret: str = DEMO_ACCESS_KEY_SECRET) -> dict[str, Any]:
    return {
        "name": name,
        "mode": "AK",
        "access_key_id": DEMO_ACCESS_KEY_ID,
        "access_key_secret": secret,
    }


def _jobs(done: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    jobs: list[dict[str, Any]] = json.loads(done.stdout)["jobs"]
    return jobs


def _error_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1, done.stderr
    return lines[0]


def test_audit_with_only_the_credentials_uri_set_just_works(served: Cloud, home: Path) -> None:
    before = served.cloud.counts["credentials_uri"]
    done = _otaclient(
        home,
        "audit",
        "--endpoint",
        served.iot_url,
        "--format",
        "json",
        ALIBABA_CLOUD_CREDENTIALS_URI=f"{served.cloud_url}/credentials",
    )
    assert len(_jobs(done)) == len(served.sim.fleet.jobs)
    assert served.cloud.counts["credentials_uri"] - before == 1


@pytest.mark.parametrize("where", ["before", "after"])
def test_profile_picks_a_cli_profile_before_or_after_the_subcommand(
    served: Cloud, home: Path, where: str
) -> None:
    # `current` is a profile with a wrong secret: only --profile makes the audit work.
    _write_cli_config(home, _ak("wrong", secret="not-the-secret-1"), _ak("ops"), current="wrong")
    command = ["audit", "--endpoint", served.iot_url, "--format", "json"]
    args = ["--profile", "ops", *command] if where == "before" else [*command, "--profile", "ops"]
    assert len(_jobs(_otaclient(home, *args))) == len(served.sim.fleet.jobs)


def test_alibaba_cloud_profile_is_the_same_as_profile(served: Cloud, home: Path) -> None:
    _write_cli_config(home, _ak("wrong", secret="not-the-secret-2"), _ak("ops"), current="wrong")
    done = _otaclient(
        home,
        "audit",
        "--endpoint",
        served.iot_url,
        "--format",
        "json",
        ALIBABA_CLOUD_PROFILE="ops",
    )
    assert len(_jobs(done)) == len(served.sim.fleet.jobs)


def test_a_ram_role_profile_signs_with_the_keys_sts_issued(served: Cloud, home: Path) -> None:
    role = {
        **_ak("role"),
        "mode": "RamRoleArn",
        "ram_role_arn": DEMO_ROLE_ARN,
        "ram_session_name": "cli-test",
    }
    _write_cli_config(home, role, current="role")
    before = served.cloud.counts["AssumeRole"]
    done = _otaclient(
        home,
        "audit",
        "--endpoint",
        served.iot_url,
        "--format",
        "json",
        OTACLIENT_STS_ENDPOINT=served.cloud_url,
    )
    assert len(_jobs(done)) == len(served.sim.fleet.jobs)
    assert served.cloud.counts["AssumeRole"] - before == 1


def test_no_credentials_lists_every_place_looked_at(home: Path) -> None:
    line = _error_line(_otaclient(home, "audit", "--endpoint", "http://127.0.0.1:9"))
    assert "no credentials found; tried, in order:" in line
    for looked_at in (
        "ALIBABA_CLOUD_ACCESS_KEY_ID",
        "ALIBABA_CLOUD_ROLE_ARN",
        str(home / ".aliyun" / "config.json"),
        str(home / ".alibabacloud" / "credentials.ini"),
        "ALIBABA_CLOUD_ECS_METADATA",
        "ALIBABA_CLOUD_CREDENTIALS_URI",
    ):
        assert looked_at in line
    assert "--profile" in line and "--demo" in line


def test_a_profile_nobody_has_is_named(home: Path) -> None:
    _write_cli_config(home, _ak("ops"), current="ops")
    line = _error_line(_otaclient(home, "--profile", "typo", "audit", "--endpoint", "http://x"))
    assert "profile 'typo' was asked for" in line


def test_profile_and_explicit_keys_together_are_refused(home: Path) -> None:
    done = _otaclient(home, "audit", "--profile", "ops", "--access-key-id", "id")
    assert done.returncode == 2, done.stderr
    assert "give --profile or --access-key-id/--access-key-secret-file, not both" in done.stderr
