"""The simulator over real HTTP (uvicorn on 127.0.0.1)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from typing import Any

import anyio
import httpx
import pytest
from simhelpers import ANCHOR_MS, SimClient

from otaclient.simulator import (
    FaultSpec,
    FleetSpec,
    Simulator,
    SimulatorConfig,
    running_server,
    serve,
)

LIST = {"CurrentPage": 1, "PageSize": 2}


def _app(**config: Any) -> Simulator:
    return Simulator(SimulatorConfig(fleet=FleetSpec(anchor_ms=ANCHOR_MS), **config))


@pytest.mark.anyio
async def test_running_server_on_port_zero_serves_signed_requests() -> None:
    async with running_server(_app(), port=0) as base_url:
        assert base_url.startswith("http://127.0.0.1:")
        assert not base_url.endswith(":0")
        async with httpx.AsyncClient(base_url=base_url, trust_env=False) as http:
            body = await SimClient(http).call("ListOTAFirmware", LIST)
    assert body["Success"] is True
    assert body["Total"] == 12


@pytest.mark.anyio
async def test_server_is_gone_after_the_context_exits() -> None:
    async with running_server(_app(), port=0) as base_url:
        pass
    async with httpx.AsyncClient(base_url=base_url, trust_env=False) as http:
        with pytest.raises(httpx.ConnectError):
            await http.get("/")


@pytest.mark.anyio
async def test_dropped_connection_over_http_is_an_incomplete_body() -> None:
    async with (
        running_server(_app(faults=FaultSpec(drop=1.0)), port=0) as base_url,
        httpx.AsyncClient(base_url=base_url, trust_env=False) as http,
    ):
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            await SimClient(http).send("ListOTAFirmware", LIST)


@pytest.mark.anyio
async def test_truncated_body_over_http_has_a_matching_content_length() -> None:
    async with (
        running_server(_app(faults=FaultSpec(truncate=1.0)), port=0) as base_url,
        httpx.AsyncClient(base_url=base_url, trust_env=False) as http,
    ):
        response = await SimClient(http).send("ListOTAFirmware", LIST)
    assert response.status_code == 200
    assert int(response.headers["content-length"]) == len(response.content)
    with pytest.raises(json.JSONDecodeError):
        response.json()


@pytest.mark.anyio
async def test_state_is_shared_between_http_and_the_app_object() -> None:
    app = _app()
    async with (
        running_server(app, port=0) as base_url,
        httpx.AsyncClient(base_url=base_url, trust_env=False) as http,
    ):
        await SimClient(http).call("ListOTAFirmware", LIST)
    assert app.stats.per_action["ListOTAFirmware"] == 1


@pytest.mark.backends("asyncio")
@pytest.mark.anyio
async def test_serve_runs_in_the_current_asyncio_loop(anyio_backend: str) -> None:
    started = anyio.Event()
    urls: list[str] = []

    def on_start(url: str) -> None:
        urls.append(url)
        started.set()

    async with anyio.create_task_group() as group:
        group.start_soon(lambda: serve(_app(), port=0, on_start=on_start))
        with anyio.fail_after(10):
            await started.wait()
        async with httpx.AsyncClient(base_url=urls[0], trust_env=False) as http:
            body = await SimClient(http).call("ListOTAFirmware", LIST)
        group.cancel_scope.cancel()
    assert body["Success"] is True


_RUN = """
from otaclient.simulator import SimulatorConfig, run
run("127.0.0.1", 0, SimulatorConfig(seed=3), on_start=lambda url: print(url, flush=True))
print("stopped", flush=True)
"""


def test_run_blocks_until_interrupted_and_prints_only_what_on_start_prints() -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", _RUN], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        response = httpx.get(url + "/", trust_env=False)
        assert response.status_code == 400  # unsigned: MissingAction
        assert response.json()["Code"] == "MissingAction"
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    assert out.strip() == "stopped"
    assert "Traceback" not in err


_IN_PROCESS = """
import sys

import anyio

from otaclient import OTAClient
from otaclient.simulator import DEMO_ACCESS_KEY_ID, DEMO_ACCESS_KEY_SECRET, Simulator


async def main() -> None:
    sim = Simulator()
    async with OTAClient(
        endpoint="http://sim",
        access_key_id=DEMO_ACCESS_KEY_ID,
        access_key_secret=DEMO_ACCESS_KEY_SECRET,
        transport=sim.transport(),
    ) as client:
        page = await client.list_ota_firmware()
    print(page.total, sorted(name for name in sys.modules if name.split(".")[0] == "uvicorn"))


anyio.run(main)
"""


def test_the_in_process_simulator_never_imports_uvicorn() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _IN_PROCESS], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["12", "[]"]
