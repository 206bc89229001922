"""iter_ota_task_by_job reaches every task of a job deeper than CurrentPage*PageSize allows."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from support.wire import signed_params

from otaclient import HarvestError, OTAClient

pytestmark = pytest.mark.anyio

STATUSES = ("CONFIRM", "QUEUED", "NOTIFIED", "IN_PROGRESS", "SUCCEEDED", "FAILED", "CANCELED")


class TaskList:
    """A ListOTATaskByJob server that refuses pages past CurrentPage*PageSize = 100000."""

    def __init__(self, count: int, status_of: Callable[[int], str]) -> None:
        self.status_of = status_of
        self.by_status: dict[str, list[int]] = {}
        for index in range(count):
            self.by_status.setdefault(status_of(index), []).append(index)
        self.count = count
        self.requests: list[dict[str, str]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        query = signed_params(request)
        self.requests.append(query)
        page, size = int(query["CurrentPage"]), int(query["PageSize"])
        if page * size > 100_000:
            return httpx.Response(
                200,
                json={
                    "RequestId": "deep",
                    "Success": False,
                    "Code": "iot.common.InvalidPageParams",
                    "ErrorMessage": "CurrentPage*PageSize must not exceed 100000",
                },
            )
        status = query.get("TaskStatus")
        selected = self.by_status.get(status, []) if status else range(self.count)
        chunk = selected[(page - 1) * size : page * size]
        items = [{"TaskId": f"t{i}", "TaskStatus": self.status_of(i)} for i in chunk]
        return httpx.Response(
            200,
            json={
                "RequestId": f"r{page}",
                "Success": True,
                "CurrentPage": page,
                "PageSize": size,
                "Total": len(selected),
                "PageCount": -(-len(selected) // size),
                "Data": {"SimpleOTATaskInfo": items},
            },
        )


def _client(server: TaskList) -> OTAClient:
    return OTAClient(
        access_key_id="id",
        access_key_secret="secret",
        endpoint="http://ota.test",
        qps=None,
        transport=httpx.MockTransport(server),
    )


async def test_a_job_of_250000_tasks_is_harvested_whole_and_once() -> None:
    server = TaskList(250_000, lambda i: STATUSES[i % 7])
    async with _client(server) as client:
        ids = [task.task_id async for task in client.iter_ota_task_by_job(job_id="big")]
    assert len(ids) == 250_000
    assert len(set(ids)) == 250_000
    assert all(int(q["CurrentPage"]) * int(q["PageSize"]) <= 100_000 for q in server.requests)


async def test_a_deep_job_is_split_by_task_status() -> None:
    server = TaskList(120_000, lambda i: STATUSES[i % 7])
    async with _client(server) as client:
        async for _ in client.iter_ota_task_by_job(job_id="big"):
            pass
    asked = {q.get("TaskStatus") for q in server.requests}
    assert asked == {None, *STATUSES}


async def test_a_job_within_reach_is_not_split() -> None:
    server = TaskList(5_000, lambda i: STATUSES[i % 7])
    async with _client(server) as client:
        count = sum([1 async for _ in client.iter_ota_task_by_job(job_id="small")])
    assert count == 5_000
    assert {q.get("TaskStatus") for q in server.requests} == {None}


async def test_a_status_too_deep_to_reach_raises_instead_of_truncating() -> None:
    server = TaskList(150_000, lambda i: "SUCCEEDED" if i % 10 else "FAILED")
    async with _client(server) as client:
        with pytest.raises(HarvestError, match="task_status=SUCCEEDED") as caught:
            async for _ in client.iter_ota_task_by_job(job_id="big"):
                pass
    assert "truncated" in str(caught.value)


async def test_a_chosen_status_too_deep_to_reach_raises_before_yielding() -> None:
    server = TaskList(150_000, lambda i: "SUCCEEDED")
    yielded = 0
    async with _client(server) as client:
        with pytest.raises(HarvestError):
            async for _ in client.iter_ota_task_by_job(job_id="big", task_status="succeeded"):
                yielded += 1
    assert yielded == 0


@pytest.mark.backends("asyncio")  # one backend: ~2,600 requests
async def test_a_simulated_job_of_250000_tasks_is_harvested_whole(anyio_backend: str) -> None:
    from otaclient.simulator import (
        DEMO_ACCESS_KEY_ID,
        DEMO_ACCESS_KEY_SECRET,
        FleetSpec,
        Simulator,
        SimulatorConfig,
    )

    sim = Simulator(SimulatorConfig(qps=None, fleet=FleetSpec.single_job(250_000)))
    (job_id,) = sim.fleet.job_ids()
    async with OTAClient(
        endpoint="http://sim",
        access_key_id=DEMO_ACCESS_KEY_ID,
        access_key_secret=DEMO_ACCESS_KEY_SECRET,
        qps=None,
        transport=sim.transport(),
    ) as client:
        ids = [task.task_id async for task in client.iter_ota_task_by_job(job_id=job_id)]
    assert len(ids) == len(set(ids)) == 250_000
    assert set(ids) == set(sim.fleet.task_ids(job_id))
