"""Harvesting every page of a paged action: page 1 first, then the rest concurrently.

Page 1 says how many pages there are. The remaining pages are fetched concurrently (as fast
as the limiter and the in-flight bound allow) by a producer that runs in the client's own
task group, never inside the caller's async generator: a task group must not stay open
across a ``yield`` (trio #264, PEP 789), so the generator only receives from a memory stream.

The producer keeps at most ``pages_ahead`` pages fetched or in flight beyond the one the
caller is reading and hands pages over in page order, so memory is bounded by those pages
however many pages there are.

The guarantee, when the list changes while we read it (``Total`` moves between pages):
items slide across page boundaries, so one could be read twice or not at all. Every item
yielded is remembered by id (up to ``max_tracked`` ids); duplicates are dropped, and once a
pass has seen ``Total`` move, the whole list is read again and only unseen items are
yielded, until a pass sees a stable list. A harvest that cannot give that guarantee (the
list keeps changing, or is too large to remember) raises ``HarvestError`` instead of
returning a list that may be missing items.

When the caller stops early (``break``, an exception, a cancel scope), the generator's
``finally`` cancels the producer; nothing is left running. When a page keeps failing after
its retries, the other fetches are cancelled and the caller gets that page's error as it
is (``APIError``, ``ThrottlingError``, ``TransportError``, ...), its ``page`` attribute and
a note naming the page where the harvest stopped.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import anyio
import attrs
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectSendStream

from ._errors import HarvestError, ListTooDeepError, OTAError
from ._models import Page

__all__ = ["TooDeep", "harvest", "partitioned_harvest"]

log = logging.getLogger("otaclient")

FetchPage = Callable[[int], Awaitable[Page[Any]]]
DEFAULT_MAX_PASSES = 3
DEFAULT_MAX_TRACKED = 250_000


async def harvest(
    fetch: FetchPage,
    *,
    action: str,
    id_field: str,
    pages_ahead: int,
    task_group: TaskGroup | None,
    max_passes: int = DEFAULT_MAX_PASSES,
    max_tracked: int = DEFAULT_MAX_TRACKED,
    max_pages: int | None = None,
    seen: _SeenIds | None = None,
    totals: list[int] | None = None,
) -> AsyncGenerator[Any, None]:
    """Yield every item of every page once, in page order.

    ``task_group`` is the client's; without one (a client not entered with ``async with``)
    pages are fetched one after another, which is correct but slower. ``max_pages`` is the
    deepest page the action can reach: a longer list raises ``TooDeep`` before any item is
    yielded. ``seen`` shares the ids already yielded with other harvests of one partitioned
    harvest; ``totals`` receives the ``Total`` the list had when it was read.
    """
    if seen is None:
        seen = _SeenIds(id_field, max_tracked)
    for pass_number in range(1, max_passes + 1):
        state = _State(action, max_pages=max_pages)
        async with contextlib.aclosing(_one_pass(fetch, state, pages_ahead, task_group)) as items:
            async for item in items:
                if seen.first_time(item):
                    yield item
        if not state.moved:
            if totals is not None:
                totals.append(state.last_total)
            return
        if not id_field or seen.overflowed:
            raise HarvestError(
                f"the list changed while it was read (Total {state.first_total} -> "
                f"{state.last_total}) and is too large to re-read against the items already "
                "yielded; some items may have been missed. Narrow the query and run it again.",
                action=action,
            )
        log.warning(
            "%s: the list changed during pass %d (Total %d -> %d); reading it again",
            action,
            pass_number,
            state.first_total,
            state.last_total,
        )
    raise HarvestError(
        f"the list kept changing over {max_passes} passes; some items may have been missed",
        action=action,
    )


async def _one_pass(
    fetch: FetchPage, state: _State, pages_ahead: int, task_group: TaskGroup | None
) -> AsyncGenerator[Any, None]:
    first = await _fetch_or_fail(fetch, 1, state.action)
    state.start(first)
    if state.max_pages is not None and state.last_page > state.max_pages:
        raise TooDeep(first.total, state.max_pages * first.page_size)
    for item in first.items:
        yield item
    if state.last_page <= 1:
        return
    if task_group is None:
        number = 2
        while number <= state.last_page:
            page = await _fetch_or_fail(fetch, number, state.action)
            state.observe(page)
            for item in page.items:
                yield item
            number += 1
        return

    send, receive = anyio.create_memory_object_stream[list[Any] | _Failed](1)
    producer_scope = anyio.CancelScope()
    task_group.start_soon(_produce, fetch, state, pages_ahead, send, producer_scope)
    try:
        async with receive:
            async for chunk in receive:
                if isinstance(chunk, _Failed):
                    raise chunk.error
                for item in chunk:
                    yield item
    finally:
        producer_scope.cancel()


async def _fetch_or_fail(fetch: FetchPage, number: int, action: str) -> Page[Any]:
    try:
        return await fetch(number)
    except OTAError as exc:
        _name_the_page(exc, action, number)
        raise


def _name_the_page(exc: OTAError, action: str, number: int) -> None:
    # The error keeps its own type (a caller's `except APIError` still works) and says
    # where the harvest stopped.
    exc.page = number
    exc.add_note(f"{action}: the harvest stopped at page {number}; nothing after it was yielded")


def _last_page(page: Page[Any]) -> int:
    # Trust Total over an under-reported PageCount: one page too many is harmless, one too
    # few loses items.
    derived = -(-page.total // page.page_size) if page.page_size else 0
    return max(page.page_count, derived)


class TooDeep(Exception):
    """The list has more items than paging can reach (raised before any item is yielded)."""

    def __init__(self, total: int, reachable: int) -> None:
        super().__init__(f"{total} items, only the first {reachable} can be paged to")
        self.total = total
        self.reachable = reachable


async def partitioned_harvest(
    fetch_for: Callable[[Any], FetchPage],
    partitions: Sequence[Any],
    *,
    partition_name: str,
    action: str,
    id_field: str,
    pages_ahead: int,
    task_group: TaskGroup | None,
    max_pages: int,
    max_passes: int = DEFAULT_MAX_PASSES,
) -> AsyncIterator[Any]:
    """Harvest a list deeper than paging reaches by splitting it on a filter.

    ``fetch_for(None)`` reads the whole list, ``fetch_for(value)`` the part whose
    ``partition_name`` is ``value``; ``partitions`` must cover the list. Each part is
    harvested in turn, ids are shared so nothing is yielded twice, and afterwards each
    part's ``Total`` is read again: a part that grew (an item changed state into it after
    it was read) is read again for unseen items. A part that is itself too deep raises
    ``HarvestError``: nothing is truncated silently.
    """
    seen = _SeenIds(id_field, DEFAULT_MAX_TRACKED * 4)
    harvest_part = functools.partial(
        harvest, action=action, id_field=id_field, pages_ahead=pages_ahead, task_group=task_group
    )
    try:
        whole = harvest_part(fetch_for(None), max_pages=max_pages, seen=seen)
        async with contextlib.aclosing(whole) as items:
            async for item in items:
                yield item
        return
    except TooDeep as deep:
        if not partitions:
            raise ListTooDeepError(
                f"{deep}, and the list cannot be split further; refusing to return a "
                "truncated list",
                action=action,
            ) from None
        log.info("%s: %s; splitting the harvest by %s", action, deep, partition_name)
    pending = list(partitions)
    for _round in range(max_passes):
        read_totals: dict[Any, int] = {}
        for value in pending:
            totals: list[int] = []
            part = harvest_part(fetch_for(value), max_pages=max_pages, seen=seen, totals=totals)
            try:
                async with contextlib.aclosing(part) as items:
                    async for item in items:
                        yield item
            except TooDeep as deep:
                raise ListTooDeepError(
                    f"{deep.total} items have {partition_name}={value}, but only the first "
                    f"{deep.reachable} of a list can be paged to and it cannot be split "
                    "further; refusing to return a truncated list",
                    action=action,
                ) from None
            read_totals[value] = totals[-1] if totals else 0
        if seen.overflowed:
            return
        pending = [
            value
            for value in partitions
            if value in read_totals
            and (await _total_now(fetch_for(value), action)) > read_totals[value]
        ]
        if not pending:
            return
        log.warning("%s: parts %s grew while read; reading them again", action, pending)
    raise HarvestError(
        f"the list kept changing over {max_passes} rounds; some items may have been missed",
        action=action,
    )


async def _total_now(fetch: FetchPage, action: str) -> int:
    return (await _fetch_or_fail(fetch, 1, action)).total


@attrs.define
class _State:
    action: str
    max_pages: int | None = None
    first_total: int = 0
    last_total: int = 0
    last_page: int = 0
    moved: bool = False

    def start(self, first: Page[Any]) -> None:
        self.first_total = self.last_total = first.total
        self.last_page = _last_page(first)

    def observe(self, page: Page[Any]) -> None:
        if page.total != self.last_total:
            self.moved = True
            self.last_total = page.total
        self.last_page = max(self.last_page, _last_page(page))


_GONE = (anyio.BrokenResourceError, anyio.ClosedResourceError)


@attrs.frozen
class _Failed:
    error: BaseException


@attrs.define
class _Slot:
    number: int
    done: anyio.Event = attrs.field(factory=anyio.Event)
    page: Page[Any] | None = None


async def _produce(
    fetch: FetchPage,
    state: _State,
    pages_ahead: int,
    send: MemoryObjectSendStream[list[Any] | _Failed],
    scope: anyio.CancelScope,
) -> None:
    # Runs in the client's task group: it must never raise, or it would tear that group down.
    with scope:
        async with send:
            try:
                await _fan_out(fetch, state, pages_ahead, send)
            except Exception as exc:
                with contextlib.suppress(*_GONE):
                    await send.send(_Failed(exc))


async def _fan_out(
    fetch: FetchPage,
    state: _State,
    pages_ahead: int,
    send: MemoryObjectSendStream[list[Any] | _Failed],
) -> None:
    # Slots queue up in page order; the bounded queue is what limits pages in flight.
    slots_send, slots_receive = anyio.create_memory_object_stream[_Slot](pages_ahead)
    failure: BaseException | None = None

    async def fill(slot: _Slot) -> None:
        nonlocal failure
        try:
            slot.page = await fetch(slot.number)
        except Exception as exc:
            if failure is None:
                if isinstance(exc, OTAError):
                    _name_the_page(exc, state.action, slot.number)
                failure = exc
            task_group.cancel_scope.cancel()
        finally:
            slot.done.set()

    async def spawn() -> None:
        async with slots_send:
            number = 2
            while number <= state.last_page:
                slot = _Slot(number)
                try:
                    await slots_send.send(slot)
                except _GONE:
                    return  # the hand-over loop below has stopped
                task_group.start_soon(fill, slot)
                number += 1

    # Nothing but `failure` may leave this task group: a closed stream raised in here would
    # come out wrapped in an exception group (trio), which the producer cannot tell apart
    # from a real error.
    async with anyio.create_task_group() as task_group:
        task_group.start_soon(spawn)
        async with slots_receive:
            async for slot in slots_receive:
                await slot.done.wait()
                if slot.page is None:
                    break
                state.observe(slot.page)
                try:
                    await send.send(slot.page.items)
                except _GONE:
                    task_group.cancel_scope.cancel()  # the caller stopped reading
                    break
    if failure is not None:
        raise failure


class _SeenIds:
    """Ids already yielded in this harvest: exact up to ``limit`` ids, then a recent window."""

    def __init__(self, id_field: str, limit: int, window: int = 1024) -> None:
        self._field = id_field
        self._ids: set[Any] = set()
        self._recent: deque[Any] = deque()
        self._limit = limit
        self._window = window
        self.overflowed = False

    def first_time(self, item: Any) -> bool:
        if not self._field:
            return True
        key = getattr(item, self._field, None)
        if key is None:
            return True
        if key in self._ids:
            return False
        self._ids.add(key)
        if self.overflowed:
            self._recent.append(key)
            if len(self._recent) > self._window:
                self._ids.discard(self._recent.popleft())
        elif len(self._ids) >= self._limit:
            # Past the limit, keep memory flat: remember only the last few pages' ids,
            # which is where a shifted item shows up again.
            self.overflowed = True
            self._ids.clear()
            self._recent.clear()
        return True
