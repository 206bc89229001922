"""A simulator whose fleet changes while it is read: a transport that calls a hook first.

``MovingTransport(sim, hook)`` answers like ``sim.transport()``, but calls
``hook(request_number, params)`` before each request reaches the simulator (``params``:
the request's query and form parameters), so a test can change the fleet at an exact
point of a read. ``move_task`` changes one task's status the way the service would, through
the fleet's own method (ground truth stays ``sim.fleet``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import parse_qsl

import httpx

from otaclient.simulator import Simulator
from otaclient.simulator.tasks import TASK_STATUSES

Hook = Callable[[int, dict[str, str]], None]


class MovingTransport(httpx.AsyncBaseTransport):
    """``sim``'s in-process transport, with ``hook`` called before every request."""

    def __init__(self, sim: Simulator, hook: Hook) -> None:
        self._inner = sim.transport()
        self._hook = hook
        self.requests = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        params = dict(request.url.params)
        body = await request.aread()
        if body:
            params.update(parse_qsl(body.decode()))
        self._hook(self.requests, params)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def move_task(sim: Simulator, job_id: str, old: str, new: str, *, count: int = 1) -> None:
    """Move ``count`` tasks of ``job_id`` from status ``old`` to ``new``."""
    fleet = sim.fleet
    job = fleet.jobs_by_id[job_id]
    rows = list(job.tasks.rows_with_status(TASK_STATUSES.index(old)))[:count]
    assert len(rows) == count, f"{job_id} has fewer than {count} {old} tasks"
    for row in rows:
        fleet.set_task_status(job, row, TASK_STATUSES.index(new), fleet.anchor_ms)


def is_count(params: dict[str, str], status: str | None = None) -> bool:
    """Whether a request is a one-item count of a job's tasks (of ``status``, if given)."""
    return (
        params.get("Action") == "ListOTATaskByJob"
        and params.get("PageSize") == "1"
        and (status is None or params.get("TaskStatus") == status)
    )


def finish_tasks(sim: Simulator, job_id: str, count: int, status: str = "SUCCEEDED") -> int:
    """Finish up to ``count`` unfinished tasks of ``job_id`` in ``status`` (a device
    upgrading); returns how many were finished."""
    fleet = sim.fleet
    job = fleet.jobs_by_id[job_id]
    done = 0
    for old in ("CONFIRM", "QUEUED", "NOTIFIED", "IN_PROGRESS"):  # the queue drains first
        for row in list(job.tasks.rows_with_status(TASK_STATUSES.index(old))):
            if done == count:
                return done
            fleet.set_task_status(job, row, TASK_STATUSES.index(status), fleet.anchor_ms)
            done += 1
    return done


class InflatedCount(httpx.AsyncBaseTransport):
    """``sim``'s transport, except that every one-item count of ``status`` answers a
    ``Total`` one too high: a service whose counts never add up."""

    def __init__(self, sim: Simulator, status: str) -> None:
        self._inner = sim.transport()
        self._status = status

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        params = dict(request.url.params)
        body = await request.aread()
        if body:
            params.update(parse_qsl(body.decode()))
        response = await self._inner.handle_async_request(request)
        if not is_count(params, self._status):
            return response
        data = json.loads(await response.aread())
        key = "Total" if "Total" in data else "total"
        data[key] = int(data[key]) + 1
        return httpx.Response(response.status_code, json=data)

    async def aclose(self) -> None:
        await self._inner.aclose()
