"""Fixtures for the command-line tests: the simulator in-process, or served over HTTP."""

from __future__ import annotations

import functools
from collections.abc import Iterator

import pytest
from anyio.from_thread import start_blocking_portal
from cli_helpers import Served

from otaclient import OTAClient
from otaclient._cli import connect
from otaclient.simulator import (
    DEMO_ACCESS_KEY_ID,
    DEMO_ACCESS_KEY_SECRET,
    FleetSpec,
    Simulator,
    SimulatorConfig,
    running_server,
)

ANCHOR_MS = 1_732_006_800_000


def _env(url: str) -> dict[str, str | None]:
    return {
        "ALIBABA_CLOUD_ACCESS_KEY_ID": DEMO_ACCESS_KEY_ID,
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": DEMO_ACCESS_KEY_SECRET,
        "OTACLIENT_ENDPOINT": url,
    }


def _simulator() -> Simulator:
    return Simulator(SimulatorConfig(qps=None, fleet=FleetSpec(anchor_ms=ANCHOR_MS)))


@pytest.fixture(scope="module")
def _module_sim() -> Simulator:
    return _simulator()


@pytest.fixture
def served(_module_sim: Simulator, monkeypatch: pytest.MonkeyPatch) -> Served:
    """The sample fleet (no quota, no latency), reached in-process through the CLI's own
    code path: only the client's transport is swapped for the simulator's."""
    patched = functools.partial(OTAClient, transport=_module_sim.transport())
    monkeypatch.setattr(connect, "OTAClient", patched)
    # Loopback, like a simulator on this machine (where --qps 0 is allowed); never
    # contacted: the transport is the simulator's own, in-process.
    url = "http://127.0.0.1:8686"
    return Served(_module_sim, url, _env(url))


@pytest.fixture(scope="module")
def served_http() -> Iterator[Served]:
    """The sample fleet over real HTTP (uvicorn in a thread), for the whole module."""
    sim = _simulator()
    with (
        start_blocking_portal() as portal,
        portal.wrap_async_context_manager(running_server(sim, port=0)) as url,
    ):
        yield Served(sim, url, _env(url))


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch) -> Served:
    """A sample fleet of its own (for tests that change it), reached like ``served``."""
    sim = _simulator()
    patched = functools.partial(OTAClient, transport=sim.transport())
    monkeypatch.setattr(connect, "OTAClient", patched)
    url = "http://simulator.test"
    return Served(sim, url, _env(url))
