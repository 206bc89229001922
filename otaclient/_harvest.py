"""Harvesting every page of a paged action: page 1 first, then the rest concurrently.

Page 1 says how many pages there are. The remaining pages are fetched concurrently (as fast
as the limiter and the in-flight bound allow) by a producer that runs in the client's own
task group, never inside the caller's async generator: a task group must not stay open
across a ``yield`` (trio #264, PEP 789), so the generator only receives from a memory stream.

The producer keeps at most ``pages_ahead`` pages fetched or in flight beyond the one the
caller is reading, and hands pages over in page order. Memory is bounded by those pages,
however many pages there are.

When the caller stops early (``break``, an exception, a cancel scope), the generator's
``finally`` cancels the producer; nothing is left running. When a page keeps failing after
its retries, the producer stops fetching and the caller gets a ``HarvestError`` naming the
page, with the cause chained. Every item is yielded exactly once while the list does not
change; when it changes under us (``Total`` moves), items that slide across a page boundary
into a page already read would be seen twice and are dropped by id (a window of the last
pages' ids), and pages that appear are fetched too.
"""

from __future__ import annotations

import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import anyio
import attrs
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectSendStream

from ._errors import HarvestError, OTAError
from ._models import Page

__all__ = ["harvest"]

log = logging.getLogger("otaclient")

T = TypeVar("T")
FetchPage = Callable[[int], Awaitable[Page[Any]]]


@attrs.define
class _Slot:
    number: int
    done: anyio.Event = attrs.field(factory=anyio.Event)
    page: Page[Any] | None = None
    error: BaseException | None = None


@attrs.frozen
class _Failed:
    error: BaseException


async def harvest(
    fetch: FetchPage,
    *,
    action: str,
    id_field: str,
    pages_ahead: int,
    task_group: TaskGroup | None,
) -> AsyncIterator[Any]:
    """Yield every item of every page, in page order.

    ``task_group`` is the client's; without one (a client not entered with ``async with``)
    the pages are fetched one after another, which is correct but slower.
    """
    dedupe = _RecentIds(id_field)
    first = await _fetch_or_fail(fetch, 1, action)
    for item in dedupe.fresh(first.items):
        yield item
    if first.page_count <= 1:
        return
    state = _State(first.total, first.page_count, action)
    if task_group is None:
        page_number = 2
        while page_number <= state.last_page:
            page = await _fetch_or_fail(fetch, page_number, action)
            state.observe(page)
            for item in dedupe.fresh(page.items):
                yield item
            page_number += 1
        return

    send, receive = anyio.create_memory_object_stream[list[Any] | _Failed](1)
    producer_scope = anyio.CancelScope()
    task_group.start_soon(_produce, fetch, state, pages_ahead, send, producer_scope)
    try:
        async with receive:
            async for chunk in receive:
                if isinstance(chunk, _Failed):
                    raise chunk.error
                for item in dedupe.fresh(chunk):
                    yield item
    finally:
        producer_scope.cancel()


async def _fetch_or_fail(fetch: FetchPage, number: int, action: str) -> Page[Any]:
    try:
        return await fetch(number)
    except OTAError as exc:
        raise HarvestError(str(exc), action=action, page=number) from exc


@attrs.define
class _State:
    total: int
    last_page: int
    action: str

    def observe(self, page: Page[Any]) -> None:
        if page.total != self.total:
            log.warning(
                "%s: the list changed during the harvest (Total %d -> %d)",
                self.action,
                self.total,
                page.total,
            )
            self.total = page.total
        if page.page_count > self.last_page:
            self.last_page = page.page_count


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
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                return  # the caller stopped reading
            except Exception as exc:
                with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
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
        except OTAError as exc:
            error = HarvestError(str(exc), action=state.action, page=slot.number)
            error.__cause__ = exc
            failure = failure or error
            tg.cancel_scope.cancel()
        except Exception as exc:
            failure = failure or exc
            tg.cancel_scope.cancel()
        finally:
            slot.done.set()

    async def spawn() -> None:
        async with slots_send:
            number = 2
            while number <= state.last_page:
                slot = _Slot(number)
                await slots_send.send(slot)
                tg.start_soon(fill, slot)
                number += 1

    async with anyio.create_task_group() as tg:
        tg.start_soon(spawn)
        async with slots_receive:
            async for slot in slots_receive:
                await slot.done.wait()
                if slot.page is None:
                    break
                state.observe(slot.page)
                await send.send(slot.page.items)
    if failure is not None:
        raise failure


class _RecentIds:
    """Ids of the last few hundred items yielded: drops an item seen again across a boundary."""

    def __init__(self, id_field: str, keep: int = 512) -> None:
        self._field = id_field
        self._order: deque[Any] = deque()
        self._ids: set[Any] = set()
        self._keep = keep

    def fresh(self, items: list[Any]) -> list[Any]:
        if not self._field:
            return items
        out = []
        for item in items:
            key = getattr(item, self._field, None)
            if key is not None:
                if key in self._ids:
                    continue
                self._ids.add(key)
                self._order.append(key)
                if len(self._order) > self._keep:
                    self._ids.discard(self._order.popleft())
            out.append(item)
        return out
