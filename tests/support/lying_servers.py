"""Paged servers that do not play fair, for ``httpx.MockTransport`` (and the simulator).

``PagedList`` serves ListOTAFirmware pages over a list of ids that a test may change
between requests (``before``) and bend with ``lie`` (a function that may rewrite each
answer body). It records every page served, so tests count requests exactly, and refuses
to serve more than ``budget`` requests, so that a harvest that would never end fails the
test instead of hanging it.

``StatusSwap`` wraps the simulator's in-process transport and changes task statuses in
the simulated fleet just before the first request that asks for a given ``TaskStatus``.
``AmbiguousAnswer`` carries out one write and then answers it with an error, as a failing
proxy would.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
import httpx

from otaclient import OTAClient, RetryPolicy
from otaclient.simulator import TASK_STATUSES, Simulator

from .wire import signed_params

Body = dict[str, Any]
Lie = Callable[[int, int, Body], Body]
"""``lie(page, page_size, honest_body) -> body served``."""
Change = Callable[[list[str]], None]


def ids(prefix: str, count: int, start: int = 0) -> list[str]:
    """``count`` ids that sort in creation order: ``f-00000``, ``f-00001``, ..."""
    return [f"{prefix}-{n:05d}" for n in range(start, start + count)]


class PagedList:
    """A ListOTAFirmware server over ``self.items`` (ids, in listing order).

    Each answer takes ``latency`` seconds (virtual time in the tests), and requests in
    flight together are served in page order, so ``before`` (serve number -> change to the
    list, applied just before that request is served: 1 is the first page 1) means the same
    moment under asyncio and trio, whatever order the client's tasks happen to run in.
    """

    def __init__(
        self,
        items: list[str],
        *,
        lie: Lie | None = None,
        before: dict[int, Change] | None = None,
        budget: int = 200,
        latency: float = 0.05,
        failing: frozenset[int] = frozenset(),
    ) -> None:
        self.items = list(items)
        self.lie = lie
        self.before = dict(before or {})
        self.budget = budget
        self.latency = latency
        self.failing = failing
        """Serve numbers answered with HTTP 503 instead."""
        self.pages: list[int] = []
        """The CurrentPage of every request served, in serve order."""
        self._waiting: list[int] = []
        self._turn = anyio.Event()

    @property
    def requests(self) -> int:
        return len(self.pages)

    def honest(self, page: int, size: int) -> Body:
        """The body a truthful server sends for ``page`` at ``size`` a page."""
        chunk = self.items[(page - 1) * size : page * size]
        return {
            "RequestId": f"req-{len(self.pages)}",
            "Success": True,
            "Total": len(self.items),
            "PageSize": size,
            "CurrentPage": page,
            "PageCount": -(-len(self.items) // size),
            "FirmwareInfo": {"SimpleFirmwareInfo": [{"FirmwareId": i} for i in chunk]},
        }

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        params = signed_params(request)
        page, size = int(params["CurrentPage"]), int(params["PageSize"])
        self._waiting.append(page)
        try:
            await anyio.sleep(self.latency)  # every request of one fan-out has arrived
            while page != min(self._waiting):
                await self._turn.wait()
        finally:
            # Serving below does not yield: the next in page order goes only after it.
            self._waiting.remove(page)
            self._turn.set()
            self._turn = anyio.Event()
        self.pages.append(page)
        if len(self.pages) > self.budget:
            body = {"RequestId": "over", "Code": "TestBudgetExceeded", "Message": "too many"}
            return httpx.Response(400, json=body)
        if len(self.pages) in self.failing:
            body = {"RequestId": "down", "Code": "ServiceUnavailable", "Message": "down"}
            return httpx.Response(503, json=body)
        change = self.before.pop(len(self.pages), None)
        if change is not None:
            change(self.items)
        body = self.honest(page, size)
        if self.lie is not None:
            body = self.lie(page, size, body)
        return httpx.Response(200, json=body)


def client_for(handler: Any, **options: Any) -> OTAClient:
    """A client on ``httpx.MockTransport(handler)``: no rate limit, no backoff waits."""
    settings: dict[str, Any] = {
        "access_key_id": "id",
        "access_key_secret": "secret",
        "endpoint": "http://ota.test",
        "qps": None,
        "retry": RetryPolicy(max_attempts=2, backoff_base=0.0),
    }
    settings.update(options)
    return OTAClient(transport=httpx.MockTransport(handler), **settings)


# --------------------------------------------------------------------------- lies


def serve_page_one_always(items: list[str], page_count: int | None = 0) -> Lie:
    """Page 1's items and ``CurrentPage: 1`` whatever is asked (a cache keyed without
    the page), with ``PageCount`` under-reported (``None``: left out)."""

    def lie(page: int, size: int, body: Body) -> Body:
        first = [{"FirmwareId": i} for i in items[:size]]
        body = {**body, "CurrentPage": 1, "FirmwareInfo": {"SimpleFirmwareInfo": first}}
        if page_count is None:
            body.pop("PageCount")
        else:
            body["PageCount"] = page_count
        return body

    return lie


def with_keys(**changes: Any) -> Lie:
    """Every answer with these top-level keys replaced (a value of ``...`` drops the key)."""

    def lie(page: int, size: int, body: Body) -> Body:
        body = dict(body)
        for key, value in changes.items():
            if value is ...:
                body.pop(key, None)
            else:
                body[key] = value
        return body

    return lie


def page_items(page_number: int, make: Callable[[list[Any]], list[Any]]) -> Lie:
    """Page ``page_number``'s item list rewritten by ``make`` (other pages honest)."""

    def lie(page: int, size: int, body: Body) -> Body:
        if page != page_number:
            return body
        listed = body["FirmwareInfo"]["SimpleFirmwareInfo"]
        return {**body, "FirmwareInfo": {"SimpleFirmwareInfo": make(listed)}}

    return lie


def repeat_page_one_as_page_two(items: list[str]) -> Lie:
    """Page 2 carries page 1's items while it says ``CurrentPage: 2``."""

    def lie(page: int, size: int, body: Body) -> Body:
        if page != 2:
            return body
        first = [{"FirmwareId": i} for i in items[:size]]
        return {**body, "FirmwareInfo": {"SimpleFirmwareInfo": first}}

    return lie


def overlapping_pages(items: list[str], overlap: int) -> Lie:
    """Every page after the first starts ``overlap`` items early (Total unchanged): page 2
    repeats the end of page 1, and the last ``overlap`` items are never served."""

    def lie(page: int, size: int, body: Body) -> Body:
        if page == 1:
            return body
        start = (page - 1) * size - overlap
        chunk = items[start : start + size]
        return {**body, "FirmwareInfo": {"SimpleFirmwareInfo": [{"FirmwareId": i} for i in chunk]}}

    return lie


# --------------------------------------------------------------------------- changes


def insert_at_head(*new: str) -> Change:
    def change(items: list[str]) -> None:
        items[:0] = new

    return change


def delete(*gone: str) -> Change:
    def change(items: list[str]) -> None:
        for item in gone:
            items.remove(item)

    return change


def append(*new: str) -> Change:
    def change(items: list[str]) -> None:
        items.extend(new)

    return change


def replace(old: str, new: str) -> Change:
    """``old`` deleted and ``new`` created in its place: Total unchanged."""

    def change(items: list[str]) -> None:
        items[items.index(old)] = new

    return change


def together(*changes: Change) -> Change:
    def change(items: list[str]) -> None:
        for each in changes:
            each(items)

    return change


# --------------------------------------------------------------------------- the simulator


class StatusSwap(httpx.AsyncBaseTransport):
    """The simulator's transport, with two tasks of one job trading statuses just before
    the first ListOTATaskByJob request for ``when_status`` arrives.

    Moving ``a`` into a status the harvest has already read and ``b`` out of it into one it
    has not keeps every status's ``Total`` unchanged: only the ids tell.
    """

    def __init__(self, sim: Simulator, job_id: str, a: str, b: str, when_status: str) -> None:
        self.sim = sim
        self.inner = sim.transport()
        self.job = sim.fleet.jobs_by_id[job_id]
        self.rows = (self._row(a), self._row(b))
        self.when_status = when_status
        self.swapped = False
        self.statuses: list[str | None] = []

    def _row(self, task_id: str) -> int:
        found = self.sim.fleet.locate_task(task_id)
        assert found is not None, task_id
        return found[1]

    def status_of(self, task_id: str) -> str:
        return TASK_STATUSES[self.job.tasks.status[self._row(task_id)]]

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        status = signed_params(request).get("TaskStatus")
        self.statuses.append(status)
        if not self.swapped and status == self.when_status:
            self.swapped = True
            first, second = self.rows
            codes = self.job.tasks.status[first], self.job.tasks.status[second]
            now = self.sim.fleet.anchor_ms
            # Out of the unfinished status first, so the device stays free for the other.
            for row, code in sorted(
                ((first, codes[1]), (second, codes[0])), key=lambda pair: pair[1] < 4
            ):
                self.sim.fleet.set_task_status(self.job, row, code, now)
        return await self.inner.handle_async_request(request)


class AmbiguousAnswer(httpx.AsyncBaseTransport):
    """The simulator's transport, except that the ``nth`` request of ``action`` (from 1) is
    carried out and then answered with an HTTP 500: the caller cannot tell that it worked.

    ``seen`` counts the requests of every action that reached the simulator.
    """

    def __init__(self, sim: Simulator, action: str, nth: int) -> None:
        self.inner = sim.transport()
        self.action = action
        self.nth = nth
        self.seen: dict[str, int] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        action = signed_params(request).get("Action", "")
        self.seen[action] = self.seen.get(action, 0) + 1
        response = await self.inner.handle_async_request(request)
        if action == self.action and self.seen[action] == self.nth:
            await response.aread()
            return httpx.Response(500, json={"Code": "InternalError", "Message": "lost"})
        return response


class RefusedAt(httpx.AsyncBaseTransport):
    """The simulator's transport, except that the ``nth`` request of ``action`` (from 1) is
    refused with the API error ``code`` without reaching the simulator (nothing is done).

    ``seen`` counts the requests of every action.
    """

    def __init__(self, sim: Simulator, action: str, nth: int, code: str) -> None:
        self.inner = sim.transport()
        self.action, self.nth, self.code = action, nth, code
        self.seen: dict[str, int] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        action = signed_params(request).get("Action", "")
        self.seen[action] = self.seen.get(action, 0) + 1
        if action == self.action and self.seen[action] == self.nth:
            body = {"Code": self.code, "Message": "refused", "RequestId": "R-1", "Success": False}
            return httpx.Response(400, json=body)
        return await self.inner.handle_async_request(request)


class InterruptedAt(AmbiguousAnswer):
    """The simulator's transport, with Ctrl-C arriving while the ``nth`` request of
    ``action`` is in flight (after the simulator carried it out)."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await super().handle_async_request(request)
        if response.status_code == 500:
            raise KeyboardInterrupt
        return response


class RefusingServer(httpx.AsyncBaseTransport):
    """Refuses every connection, the way an endpoint with nothing listening does; counts
    the attempts (``attempts``)."""

    def __init__(self) -> None:
        self.attempts = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.attempts += 1
        raise httpx.ConnectError("All connection attempts failed", request=request)
