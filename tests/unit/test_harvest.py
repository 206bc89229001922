"""iter_*: every item once and in order, pages fetched concurrently, bounded, cancellable.

A ``PagedServer`` double serves ListOTAFirmware pages over ``httpx.MockTransport``, with an
optional per-page latency (``await anyio.sleep``) and failing pages. The tests run in
virtual time, so "300 ms per request" costs nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import anyio
import httpx
import pytest

from otaclient import APIError, HarvestProgress, OTAClient, OTAError, RetryPolicy, ValidationError

from ._helpers import make_client, query_of

pytestmark = [pytest.mark.anyio, pytest.mark.virtual_time]

Latency = Callable[[int], float]


class PagedServer:
    """A paged list of ``count`` items (ListOTAFirmware's shape unless told), recording
    what the client asked for."""

    def __init__(
        self,
        count: int,
        *,
        latency: float | Latency = 0.0,
        failing_pages: frozenset[int] = frozenset(),
        shape: tuple[str, str, str] = ("FirmwareInfo", "SimpleFirmwareInfo", "FirmwareId"),
    ) -> None:
        self.ids = [f"id-{n:05d}" for n in range(count)]
        self.shape = shape
        self.latency: Latency = latency if callable(latency) else (lambda page: latency)
        self.failing_pages = failing_pages
        self.requested: list[int] = []
        self.page_sizes: set[int] = set()
        self.events: list[tuple[str, int]] = []
        self.cancelled: list[int] = []
        self.in_flight = 0
        self.max_in_flight = 0

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        query = query_of(request)
        page, size = int(query["CurrentPage"]), int(query["PageSize"])
        self.requested.append(page)
        self.page_sizes.add(size)
        self.events.append(("start", page))
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await anyio.sleep(self.latency(page))
        except anyio.get_cancelled_exc_class():
            self.cancelled.append(page)
            raise
        finally:
            self.in_flight -= 1
        self.events.append(("end", page))
        if page in self.failing_pages:
            body = {"RequestId": f"req-{page}", "Code": "ServiceUnavailable", "Message": "down"}
            return httpx.Response(503, json=body)
        chunk = self.ids[(page - 1) * size : page * size]
        wrapper, item_key, id_key = self.shape
        return httpx.Response(
            200,
            json={
                "RequestId": f"req-{page}",
                "Success": True,
                "Total": len(self.ids),
                "PageSize": size,
                "CurrentPage": page,
                "PageCount": -(-len(self.ids) // size),
                wrapper: {item_key: [{id_key: i} for i in chunk]},
            },
        )

    def page_of(self, firmware_id: str | None, page_size: int) -> int:
        assert firmware_id is not None
        return self.ids.index(firmware_id) // page_size + 1


async def _harvest(client: OTAClient, **arguments: Any) -> list[str | None]:
    return [f.firmware_id async for f in client.iter_ota_firmware(**arguments)]


# --------------------------------------------------------------------------- completeness


async def test_every_item_once_in_page_order_though_later_pages_answer_first() -> None:
    # Later pages answer sooner, so completion order is the reverse of page order.
    server = PagedServer(1234, latency=lambda page: 0.05 * (20 - page))
    async with make_client(server) as client:
        ids = await _harvest(client)
    assert ids == server.ids
    # 13 pages of 100, each once, and page 1 once more at the end to see the list kept still
    assert sorted(server.requested) == [1, *range(1, 14)]


JOBS = ("Data", "SimpleOTAJobInfo", "JobId")
TASKS = ("Data", "SimpleOTATaskInfo", "TaskId")


@pytest.mark.parametrize(
    ("shape", "iterate", "id_field"),
    [
        (JOBS, lambda c: c.iter_ota_job_by_firmware(firmware_id="f"), "job_id"),
        (
            JOBS,
            lambda c: c.iter_ota_job_by_device(firmware_id="f", product_key="p", device_name="d"),
            "job_id",
        ),
        (TASKS, lambda c: c.iter_ota_task_by_job(job_id="j"), "task_id"),
    ],
    ids=["iter_ota_job_by_firmware", "iter_ota_job_by_device", "iter_ota_task_by_job"],
)
async def test_every_iter_method_yields_every_item_in_order(
    shape: tuple[str, str, str], iterate: Callable[[OTAClient], Any], id_field: str
) -> None:
    server = PagedServer(1050, latency=lambda page: 0.05 * (12 - page), shape=shape)
    async with make_client(server) as client:
        ids = [getattr(item, id_field) async for item in iterate(client)]
    assert ids == server.ids
    assert server.max_in_flight > 1


@pytest.mark.parametrize("count", [1, 99, 100, 101, 250])
async def test_page_boundaries_lose_and_repeat_nothing(count: int) -> None:
    server = PagedServer(count)
    async with make_client(server) as client:
        ids = await _harvest(client, page_size=50)
    assert ids == server.ids
    pages = -(-count // 50)
    closing = [1] if pages > 1 else []  # a list of one page is read in one answer
    assert sorted(server.requested) == sorted([*range(1, pages + 1), *closing])


async def test_an_empty_list_yields_nothing_after_one_request() -> None:
    server = PagedServer(0)
    async with make_client(server) as client:
        ids = await _harvest(client)
    assert ids == []
    assert server.requested == [1]


async def test_page_size_defaults_to_the_maximum_and_can_be_chosen() -> None:
    default, chosen = PagedServer(300), PagedServer(300)
    async with make_client(default) as client:
        await _harvest(client)
    async with make_client(chosen) as client:
        await _harvest(client, page_size=7)
    assert default.page_sizes == {100}
    assert chosen.page_sizes == {7}
    assert len(chosen.requested) == 43 + 1  # 43 pages and the closing read of page 1


# --------------------------------------------------------------------------- concurrency


async def test_page_one_is_fetched_alone_first() -> None:
    server = PagedServer(1000, latency=0.3)
    async with make_client(server) as client:
        await _harvest(client)
    assert server.events[:2] == [("start", 1), ("end", 1)]


async def test_later_pages_are_fetched_concurrently() -> None:
    server = PagedServer(1000, latency=0.3)
    async with make_client(server) as client:
        await _harvest(client)
    assert server.max_in_flight > 1


async def test_thirty_slow_pages_take_far_less_than_thirty_round_trips() -> None:
    server = PagedServer(3000, latency=0.3)
    start = anyio.current_time()
    async with make_client(server, qps=None) as client:
        ids = await _harvest(client)
    elapsed = anyio.current_time() - start
    assert len(ids) == 3000
    assert elapsed < 30 * 0.3 / 3


async def test_the_rate_limit_still_paces_a_concurrent_harvest() -> None:
    server = PagedServer(3000, latency=0.3)
    start = anyio.current_time()
    async with make_client(server, qps=10.0) as client:
        await _harvest(client)
    assert anyio.current_time() - start >= 29 * 0.1  # 30 requests, 0.1 s apart at least


async def test_iter_without_async_with_fetches_one_page_at_a_time() -> None:
    server = PagedServer(1000, latency=0.3)
    client = make_client(server)
    try:
        ids = await _harvest(client)
    finally:
        await client.aclose()
    assert ids == server.ids
    assert server.max_in_flight == 1


# --------------------------------------------------------------------------- bounded memory


@pytest.mark.parametrize("pages_ahead", [1, 2, 4])
async def test_a_paused_reader_stops_the_fetching_after_a_few_pages(pages_ahead: int) -> None:
    server = PagedServer(500, latency=0.2)  # 50 pages of 10
    ids: list[str | None] = []
    fetched_while_paused = 0
    async with make_client(server, pages_ahead=pages_ahead) as client:
        async for firmware in client.iter_ota_firmware(page_size=10):
            ids.append(firmware.firmware_id)
            if len(ids) == 21:  # the first item of page 3: the reader pauses for a minute
                await anyio.sleep(60)
                fetched_while_paused = max(server.requested)
    assert 3 < fetched_while_paused <= 3 + pages_ahead + 3
    assert ids == server.ids  # and once it reads on, it gets everything


# --------------------------------------------------------------------------- stopping early


@pytest.mark.parametrize(
    "closing",
    [contextlib.aclosing, lambda harvest: harvest],
    ids=["contextlib.aclosing", "async-with-the-harvest"],
)
async def test_closing_the_iterator_cancels_outstanding_fetches(
    closing: Callable[[Any], Any], recwarn: pytest.WarningsRecorder
) -> None:
    # Pages 1 and 2 answer at once, the others take 5 s: they are in flight at the break.
    server = PagedServer(5000, latency=lambda page: 0.1 if page <= 2 else 5.0)
    async with make_client(server, pages_ahead=8) as client:
        async with closing(client.iter_ota_firmware()) as iterator:
            async for firmware in iterator:
                if server.page_of(firmware.firmware_id, 100) == 2:
                    break
        closed_at, sent_at_close = anyio.current_time(), len(server.requested)
        await anyio.wait_all_tasks_blocked()
        assert server.in_flight == 0  # the fetches in flight were cancelled ...
        assert anyio.current_time() == closed_at  # ... at once, not waited for
        await anyio.sleep(30)
        assert len(server.requested) == sent_at_close  # and nothing new was started
    assert server.cancelled
    assert max(server.requested) <= 2 + 8 + 2  # of 50 pages: only the look-ahead was asked for
    assert not recwarn.list


async def test_leaving_the_client_block_stops_an_abandoned_harvest(
    recwarn: pytest.WarningsRecorder,
) -> None:
    server = PagedServer(1000, latency=1.0)
    iterator: Any = None
    with anyio.fail_after(60):
        async with make_client(server, pages_ahead=8) as client:
            iterator = client.iter_ota_firmware()
            async for firmware in iterator:
                if server.page_of(firmware.firmware_id, 100) == 2:
                    break  # left without aclose(): the client's exit must stop the producer
        sent_at_exit = len(server.requested)
        assert server.in_flight == 0
        await anyio.sleep(30)
    assert len(server.requested) == sent_at_exit
    await iterator.aclose()
    assert not recwarn.list


async def test_stopping_a_harvest_while_its_producer_waits_leaves_the_client_working() -> None:
    server = PagedServer(500, latency=0.2)
    async with make_client(server, pages_ahead=2) as client:
        iterator = client.iter_ota_firmware(page_size=10)
        async with contextlib.aclosing(iterator):  # type: ignore[type-var]
            async for firmware in iterator:
                if server.page_of(firmware.firmware_id, 10) == 3:
                    await anyio.sleep(60)  # meanwhile the producer fills the buffer and waits
                    break
        ids = await _harvest(client, page_size=10)  # the client is still usable
    assert ids == server.ids


async def test_a_cancelled_reader_leaves_nothing_running() -> None:
    server = PagedServer(1000, latency=1.0)
    async with make_client(server, pages_ahead=8) as client:
        with anyio.move_on_after(2.5):
            await _harvest(client)
        sent = len(server.requested)
        assert server.in_flight == 0
        await anyio.sleep(30)
        assert len(server.requested) == sent


# --------------------------------------------------------------------------- failures


@pytest.mark.parametrize("failing", [1, 2, 5, 10])
async def test_a_page_failing_after_retries_raises_its_own_error_naming_the_page(
    failing: int,
) -> None:
    server = PagedServer(100, failing_pages=frozenset({failing}), latency=0.1)
    retry = RetryPolicy(max_attempts=2, backoff_base=0.0)
    ids: list[str | None] = []
    async with make_client(server, retry=retry) as client:
        with pytest.raises(APIError) as caught:
            async for firmware in client.iter_ota_firmware(page_size=10):
                ids.append(firmware.firmware_id)
    error = caught.value
    assert error.code == "ServiceUnavailable"
    assert error.page == failing
    assert "ListOTAFirmware" in str(error)
    assert any(f"stopped at page {failing}" in note for note in error.__notes__)
    assert server.requested.count(failing) == 2  # retried, then given up
    assert ids == server.ids[: len(ids)]  # what came out is an in-order prefix
    assert all(server.page_of(i, 10) < failing for i in ids)  # nothing from or after page k


async def test_after_a_failed_page_no_more_pages_are_requested() -> None:
    server = PagedServer(1000, failing_pages=frozenset({3}), latency=0.5)
    retry = RetryPolicy(max_attempts=1)
    async with make_client(server, retry=retry, pages_ahead=4) as client:
        with pytest.raises(APIError):
            await _harvest(client, page_size=10)
        sent = len(server.requested)
        assert server.in_flight == 0
        await anyio.sleep(30)
        assert len(server.requested) == sent


# --------------------------------------------------------------------------- the Harvest object


async def test_a_harvest_sends_nothing_until_it_is_read() -> None:
    server = PagedServer(300)
    async with make_client(server) as client, client.iter_ota_firmware():
        await anyio.sleep(10)
    assert server.requested == []


async def test_pages_reads_the_harvest_page_by_page_in_order() -> None:
    server = PagedServer(250, latency=lambda page: 0.05 * (4 - page))
    async with make_client(server) as client:
        pages = [page async for page in client.iter_ota_firmware(page_size=100).pages]
    assert [page.current_page for page in pages] == [1, 2, 3]
    assert [f.firmware_id for page in pages for f in page.items] == server.ids
    assert {page.total for page in pages} == {250}
    assert sorted(server.requested) == [1, 1, 2, 3]  # the same cost as item by item


async def test_an_empty_list_gives_one_empty_page_that_says_total_zero() -> None:
    server = PagedServer(0)
    async with make_client(server) as client:
        pages = [page async for page in client.iter_ota_firmware().pages]
    assert [(page.items, page.total) for page in pages] == [([], 0)]


async def test_a_harvest_is_read_one_way_only() -> None:
    server = PagedServer(300)
    async with make_client(server) as client:
        harvest = client.iter_ota_firmware()
        await anext(harvest)
        with pytest.raises(OTAError, match="already being read item by item"):
            await anext(harvest.pages)
        assert len([f async for f in harvest]) == 299  # the item reader goes on
    assert len(server.requested) == 3 + 1


async def test_a_finished_harvest_yields_nothing_more_and_sends_nothing() -> None:
    server = PagedServer(300)
    async with make_client(server) as client:
        harvest = client.iter_ota_firmware()
        assert len([f async for f in harvest]) == 300
        assert [f async for f in harvest] == []
    assert len(server.requested) == 3 + 1


async def test_progress_counts_every_read_and_ends_with_the_numbers_of_the_harvest() -> None:
    server = PagedServer(1234, latency=0.1)
    seen: list[HarvestProgress] = []
    async with make_client(server) as client:
        harvest = client.iter_ota_firmware().on_progress(seen.append)
        ids = [f.firmware_id async for f in harvest]
    assert len(ids) == 1234
    assert seen[0].pages_done == 1 and seen[0].pages_planned is None  # page 1, not sized yet
    assert all(p.pages_planned == 14 for p in seen[1:])  # 13 pages and the closing read
    assert [p.pages_done for p in seen] == sorted(p.pages_done for p in seen)
    assert seen[-1] == harvest.progress
    assert harvest.progress == HarvestProgress(
        pages_done=14,
        pages_planned=14,
        items=1234,
        requests=14,
        passes=1,
        total=1234,
        finished=True,
        verified=False,
    )
    assert harvest.progress.pages_left == 0
    assert len(server.requested) == 14


async def test_progress_of_a_harvest_stopped_early_is_not_finished() -> None:
    server = PagedServer(1000, latency=0.1)
    async with make_client(server, pages_ahead=2) as client, client.iter_ota_firmware() as harvest:
        async for _ in harvest:
            break
    progress = harvest.progress
    assert (progress.items, progress.pages_done, progress.pages_planned) == (1, 1, 11)
    assert not progress.finished


async def test_a_verified_harvest_says_so_at_its_end() -> None:
    server = PagedServer(300)
    async with make_client(server) as client:
        harvest = client.iter_ota_firmware(verify=True)
        assert len([f async for f in harvest]) == 300
    assert (harvest.progress.passes, harvest.progress.verified) == (2, True)
    assert harvest.progress.pages_done == harvest.progress.pages_planned == 2 * 4


async def test_on_progress_takes_a_function() -> None:
    async with make_client(PagedServer(1)) as client:
        with pytest.raises(ValidationError, match="on_progress"):
            client.iter_ota_firmware().on_progress("print")  # type: ignore[arg-type]
