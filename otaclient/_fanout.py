"""Pages 2..N of one reading, fetched concurrently and handed over in page order.

A producer (``produce``) runs in the client's task group, never inside the caller's async
generator: a task group must not stay open across a ``yield`` (trio #264, PEP 789), so the
reader only receives from a memory stream. At most ``pages_ahead`` pages are fetched or in
flight beyond the one the reader is taking, which bounds memory however long the list.

The producer never raises (it would tear the client's task group down): the first page
that keeps failing after its retries is sent down the stream as ``Failed``, the other
fetches are cancelled, and the reader raises it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import attrs
from anyio.streams.memory import MemoryObjectSendStream

from ._errors import OTAError
from ._models import Page

__all__ = ["GONE", "Failed", "produce"]

GONE = (anyio.BrokenResourceError, anyio.ClosedResourceError)
"""What sending raises once the other end of a stream has stopped."""


@attrs.frozen
class Failed:
    """The error that ended the fetching, sent in place of the next page."""

    error: BaseException


@attrs.define
class _Slot:
    number: int
    done: anyio.Event = attrs.field(factory=anyio.Event)
    page: Page[Any] | None = None


async def produce(
    fetch: Callable[[int], Awaitable[Page[Any]]],
    last_page: int,
    pages_ahead: int,
    send: MemoryObjectSendStream[Page[Any] | Failed],
    scope: anyio.CancelScope,
    name_the_page: Callable[[OTAError, int], None],
) -> None:
    """Send pages 2..``last_page`` down ``send`` in order, then close it; ``scope`` stops it.

    ``name_the_page(error, number)`` notes on a page's error where the reading stopped.
    """
    with scope:
        async with send:
            try:
                await _fan_out(fetch, last_page, pages_ahead, send, name_the_page)
            except Exception as exc:
                with contextlib.suppress(*GONE):
                    await send.send(Failed(exc))


async def _fan_out(
    fetch: Callable[[int], Awaitable[Page[Any]]],
    last_page: int,
    pages_ahead: int,
    send: MemoryObjectSendStream[Page[Any] | Failed],
    name_the_page: Callable[[OTAError, int], None],
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
                    name_the_page(exc, slot.number)
                failure = exc
            task_group.cancel_scope.cancel()
        finally:
            slot.done.set()

    async def spawn() -> None:
        async with slots_send:
            for number in range(2, last_page + 1):
                slot = _Slot(number)
                try:
                    await slots_send.send(slot)
                except GONE:
                    return  # the hand-over loop below has stopped
                task_group.start_soon(fill, slot)

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
                try:
                    await send.send(slot.page)
                except GONE:
                    task_group.cancel_scope.cancel()  # the reader stopped reading
                    break
    if failure is not None:
        raise failure
