"""Fixtures for the audit tests: a simulator with a fixed fleet "now", and a client of it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from audit_helpers import client_of, make_simulator

from otaclient import OTAClient
from otaclient.simulator import Simulator


@pytest.fixture
def sim() -> Simulator:
    """The sample fleet (3 products, 12 packages, ~45 jobs, ~5,000 tasks), aliyun dialect."""
    return make_simulator()


@pytest.fixture
async def client(sim: Simulator) -> AsyncIterator[OTAClient]:
    """A client of ``sim``, in-process, without a rate limit."""
    async with client_of(sim) as client:
        yield client
