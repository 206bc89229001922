"""Every page of one list, read concurrently and handed over as each arrives (any order).

The client's ``iter_*`` harvests yield items in order and hide the page counts; the audit
needs neither the order nor the hiding. It wants the page count (for its progress) and
pages of many lists in flight at once, bounded by one shared semaphore of pages in flight
(the limiter still paces every request). A page is handed to ``on_page`` after its slot is
given back, so a handler may start more reading without holding a slot.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio

from .._models import Page
from .crew import Crew

__all__ = ["Fetch", "OnPage", "first_page", "read_pages"]

Fetch = Callable[[int], Awaitable[Page[Any]]]
OnPage = Callable[[Page[Any]], Awaitable[None]]


async def first_page(fetch: Fetch, slots: anyio.Semaphore) -> Page[Any]:
    """Page 1, read under one of the ``slots``."""
    async with slots:
        return await fetch(1)


async def read_pages(
    fetch: Fetch,
    on_page: OnPage,
    *,
    first: Page[Any],
    slots: anyio.Semaphore,
    crew: Crew,
    max_page: int | None = None,
    on_grow: Callable[[int], None] | None = None,
) -> bool:
    """Hand ``first`` and every later page of its list to ``on_page``.

    Pages beyond ``max_page`` are not read (the service refuses deep offsets); returns
    ``False`` when some were left out. When a later page says the list has grown, the new
    pages are read too and ``on_grow`` hears how many.
    """
    truncated = False

    def clamp(pages: int) -> int:
        nonlocal truncated
        pages = max(1, pages)
        if max_page is not None and pages > max_page:
            truncated = True
            return max_page
        return pages

    last = clamp(first.page_count)
    await on_page(first)

    async def one(number: int) -> None:
        nonlocal last
        try:
            page = await fetch(number)
        finally:
            slots.release()
        grown = clamp(page.page_count)
        if grown > last:
            if on_grow is not None:
                on_grow(grown - last)
            last = grown
        await on_page(page)

    number = 2
    while number <= last:  # again when the list grew after the last spawn
        async with anyio.create_task_group() as task_group:
            while number <= last:
                await slots.acquire()
                crew.start_soon(one, number, task_group=task_group)
                number += 1
    return not truncated
