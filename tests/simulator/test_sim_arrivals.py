"""The simulator records when each request met the quota, when asked to."""

from __future__ import annotations

import pytest
from simhelpers import FakeClock, SimClient, in_process, make_app

pytestmark = pytest.mark.anyio

LIST = {"CurrentPage": 1, "PageSize": 1}


async def test_arrivals_are_recorded_at_the_quota_clock_with_their_outcome() -> None:
    clock = FakeClock()
    app = make_app(clock, qps=2, record_arrivals=True)
    async with in_process(app) as http:
        client = SimClient(http, clock=clock)
        for _ in range(3):
            await client.send("ListOTAFirmware", LIST)
            clock.advance(0.25)
    start = app.stats.arrivals[0].at
    assert [(a.at - start, a.action, a.throttled) for a in app.stats.arrivals] == [
        (0.0, "ListOTAFirmware", False),
        (0.25, "ListOTAFirmware", False),
        (0.5, "ListOTAFirmware", True),  # the third in one second, at qps=2
    ]


async def test_arrivals_are_not_recorded_by_default_and_reset_clears_them() -> None:
    clock = FakeClock()
    quiet, recording = make_app(clock), make_app(clock, record_arrivals=True)
    for app in (quiet, recording):
        async with in_process(app) as http:
            await SimClient(http, clock=clock).send("ListOTAFirmware", LIST)
    assert quiet.stats.arrivals == []
    assert len(recording.stats.arrivals) == 1
    recording.reset_stats()
    assert recording.stats.arrivals == []


async def test_requests_refused_before_the_quota_are_not_arrivals() -> None:
    clock = FakeClock()
    app = make_app(clock, record_arrivals=True)
    async with in_process(app) as http:
        await SimClient(http, clock=clock, secret="wrong").send("ListOTAFirmware", LIST)
    assert app.stats.rejected == 1
    assert app.stats.arrivals == []
