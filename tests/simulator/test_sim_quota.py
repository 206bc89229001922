"""The per-key sliding-window quota (Throttling.User)."""

from __future__ import annotations

import anyio
import pytest
from simhelpers import FakeClock, SimClient, in_process, make_app

pytestmark = pytest.mark.anyio

LIST = {"CurrentPage": 1, "PageSize": 1}


async def _burst(client: SimClient, count: int, action: str = "ListOTAFirmware") -> list[int]:
    params = LIST if action == "ListOTAFirmware" else {"FirmwareId": "nope"}
    return [(await client.send(action, params)).status_code for _ in range(count)]


async def test_eleventh_request_in_one_second_is_throttled() -> None:
    clock = FakeClock()
    async with in_process(make_app(clock)) as http:
        client = SimClient(http, clock=clock)
        statuses = await _burst(client, 10)
        response = await client.send("ListOTAFirmware", LIST)
    assert statuses == [200] * 10
    assert response.status_code == 503
    body = response.json()
    assert body["Code"] == "Throttling.User"
    assert body["Message"] == "Request was denied due to user flow control."


async def test_throttled_requests_do_not_count_against_the_window() -> None:
    clock = FakeClock()
    app = make_app(clock)
    async with in_process(app) as http:
        client = SimClient(http, clock=clock)
        await _burst(client, 10)
        clock.advance(0.5)
        refused = await _burst(client, 5)
        clock.advance(0.5)  # the first ten leave the window; the refused five never entered
        later = await _burst(client, 10)
    assert refused == [503] * 5
    assert later == [200] * 10
    assert app.stats.accepted == 20
    assert app.stats.throttled == 5


async def test_window_slides_rather_than_resetting_per_second() -> None:
    clock = FakeClock()
    async with in_process(make_app(clock)) as http:
        client = SimClient(http, clock=clock)
        await _burst(client, 5)
        clock.advance(0.6)
        await _burst(client, 5)
        clock.advance(0.6)  # first five expired, second five still inside the window
        statuses = await _burst(client, 6)
    assert statuses == [200] * 5 + [503]


async def test_quota_is_per_access_key() -> None:
    clock = FakeClock()
    app = make_app(clock, access_keys={"k1": "s1", "k2": "s2"})
    async with in_process(app) as http:
        first = await _burst(SimClient(http, clock=clock, key_id="k1", secret="s1"), 11)
        second = await _burst(SimClient(http, clock=clock, key_id="k2", secret="s2"), 10)
    assert first.count(503) == 1
    assert second == [200] * 10


async def test_qps_none_disables_the_quota() -> None:
    clock = FakeClock()
    async with in_process(make_app(clock, qps=None)) as http:
        statuses = await _burst(SimClient(http, clock=clock), 40)
    assert statuses == [200] * 40


async def test_custom_qps_is_honoured() -> None:
    clock = FakeClock()
    async with in_process(make_app(clock, qps=3)) as http:
        statuses = await _burst(SimClient(http, clock=clock), 5)
    assert statuses == [200, 200, 200, 503, 503]


async def test_per_action_quota_uses_documented_action_qps() -> None:
    clock = FakeClock()
    app = make_app(clock, qps=None, per_action_qps=True)
    async with in_process(app) as http:
        client = SimClient(http, clock=clock)
        query = await _burst(client, 21, "QueryOTAFirmware")  # documented 20 QPS
        listing = await _burst(client, 11)  # documented 10 QPS, own window
    assert query.count(200) == 20 and query[-1] == 503
    assert listing.count(200) == 10 and listing[-1] == 503
    assert app.stats.throttled_per_action == {"QueryOTAFirmware": 1, "ListOTAFirmware": 1}


async def test_per_action_quota_combines_with_the_account_window() -> None:
    clock = FakeClock()
    async with in_process(make_app(clock, qps=10, per_action_qps=True)) as http:
        statuses = await _burst(SimClient(http, clock=clock), 15, "QueryOTAFirmware")
    assert statuses.count(200) == 10


async def test_concurrent_burst_admits_exactly_the_quota() -> None:
    clock = FakeClock()
    app = make_app(clock)
    statuses: list[int] = []
    async with in_process(app) as http:
        client = SimClient(http, clock=clock)

        async def one() -> None:
            statuses.append((await client.send("ListOTAFirmware", LIST)).status_code)

        async with anyio.create_task_group() as group:
            for _ in range(30):
                group.start_soon(one)
    assert statuses.count(200) == 10
    assert statuses.count(503) == 20
    assert app.stats.snapshot()["per_action"] == {"ListOTAFirmware": 10}


async def test_quota_is_counted_on_arrival_not_after_latency() -> None:
    # With 50 ms latency and a frozen clock, 12 concurrent requests still see one window.
    clock = FakeClock()
    app = make_app(clock, latency=0.05)
    statuses: list[int] = []
    async with in_process(app) as http:
        client = SimClient(http, clock=clock)

        async def one() -> None:
            statuses.append((await client.send("ListOTAFirmware", LIST)).status_code)

        with anyio.fail_after(5):
            async with anyio.create_task_group() as group:
                for _ in range(12):
                    group.start_soon(one)
    assert sorted(statuses) == [200] * 10 + [503] * 2


async def test_retry_after_header_is_optional() -> None:
    clock = FakeClock()
    async with in_process(make_app(clock, qps=1, retry_after_header=True)) as http:
        client = SimClient(http, clock=clock)
        await client.send("ListOTAFirmware", LIST)
        response = await client.send("ListOTAFirmware", LIST)
    assert response.headers["x-acs-retry-after"] == "1"
