"""Harvesting every page of a paged action: page 1 first, then the rest concurrently.

Page 1 says how many items there are; with the page size the harvest asked for, that
fixes the pages to read (an answer's own ``PageCount`` is never trusted). The remaining
pages are fetched concurrently (as fast as the limiter and the in-flight bound allow) by a
producer that runs in the client's own task group, never inside the caller's async
generator: a task group must not stay open across a ``yield`` (trio #264, PEP 789), so the
generator only receives from a memory stream. The producer keeps at most ``pages_ahead``
pages fetched or in flight beyond the one the caller is reading and hands pages over in
page order, so memory is bounded by those pages however many pages there are.

Offset paging gives no snapshot: an item created or deleted ahead of the reader moves
every later item across page boundaries, so one can be read twice or not at all. What a
harvest promises, and how:

* every item it yields is yielded once: items are remembered by id (``id_field``), exactly
  up to ``max_tracked`` ids, then within a window of the last 1,024;
* one reading of the list (a *pass*) is trusted only when nothing in it shows movement:
  ``Total`` the same on every page, each page holding as many items as ``Total`` and the
  page size make it, no id twice, and page 1 the same when it is read again once every
  other page has been answered (the closing read: one extra request for a list of more
  than one page);
* a pass that shows movement is followed by another, which yields only ids not yet seen,
  until a pass is quiet; after ``max_passes`` the harvest raises ``HarvestError``, and so
  does a pass that moved over a list too long to remember by id, instead of a re-read;
* with ``verify=True`` a quiet pass must also agree with the quiet pass before it: each id
  the earlier pass saw is seen again, except as many as ``Total`` fell by. Items the later
  pass finds (created meanwhile, or missed by the earlier pass) are yielded.

What remains is stated in the README ("Harvests"): a deletion on a page already read
(other than page 1) balanced by a creation can slide an item past a single pass unseen.

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

from ._errors import HarvestError, ListTooDeepError, OTAError, ResponseError
from ._models import Page
from ._shapes import count_problem, pages_for

__all__ = ["TooDeep", "harvest", "partitioned_harvest"]

log = logging.getLogger("otaclient")

FetchPage = Callable[[int], Awaitable[Page[Any]]]
DEFAULT_MAX_PASSES = 3
DEFAULT_MAX_TRACKED = 250_000
_RECENT_WINDOW = 1024


async def harvest(
    fetch: FetchPage,
    *,
    action: str,
    id_field: str,
    page_size: int,
    pages_ahead: int,
    task_group: TaskGroup | None,
    verify: bool = False,
    max_passes: int = DEFAULT_MAX_PASSES,
    max_tracked: int | None = None,
    max_pages: int | None = None,
    ledger: _Ledger | None = None,
    totals: list[int] | None = None,
    on_plan: Callable[[int], None] | None = None,
) -> AsyncGenerator[Any, None]:
    """Yield every item of every page once, in page order.

    ``page_size`` is the size every ``fetch`` asks for. ``task_group`` is the client's;
    without one (a client not entered with ``async with``) pages are fetched one after
    another, which is correct but slower. ``max_pages`` is the deepest page the action
    can reach: a longer list raises ``TooDeep`` before any item is yielded. ``ledger``
    shares the ids already yielded with other harvests of one partitioned harvest;
    ``totals`` receives the ``Total`` the list had when it was read. ``on_plan(n)`` hears
    of every ``n`` page reads the harvest commits to, page 1 included, once page 1 is in.
    ``verify`` makes it end only on two quiet passes in a row that agree (module docstring).
    """
    if ledger is None:
        ledger = _Ledger(DEFAULT_MAX_TRACKED if max_tracked is None else max_tracked)
    quiet: _Pass | None = None  # verify: the last quiet pass, which the next must agree with
    limit = max_passes + 1 if verify else max_passes
    verdict = ""
    for number in range(1, limit + 1):
        current = _Pass(
            action, id_field, page_size, ledger, number, max_pages, verify, compared_to=quiet
        )
        current.on_plan = on_plan or _no_plan
        async with contextlib.aclosing(_read(fetch, current, pages_ahead, task_group)) as items:
            async for item in items:
                yield item
        if current.moved:
            quiet = None
            if not id_field or ledger.overflowed:
                raise HarvestError(
                    f"the list changed while it was read ({current.why()}) and is too large "
                    "to read again against the items already yielded; some items may have "
                    "been missed. Narrow the query and run it again.",
                    action=action,
                )
            verdict = f"the list kept changing over {number} passes (last: {current.why()})"
            log.warning(
                "%s: pass %d saw the list move (%s); reading it again",
                action,
                number,
                current.why(),
            )
            continue
        if verify:
            if ledger.overflowed:
                raise HarvestError(
                    f"verify=True remembers every id, and the list grew past {ledger.limit}",
                    action=action,
                )
            quiet = current
            if current.compared_to is None:
                continue  # read it again, to compare the two
            disagreement = _disagreement(current.compared_to, current)
            if disagreement is not None:
                verdict = f"passes of the list disagree ({disagreement})"
                log.warning("%s: %s; reading it again", action, verdict)
                continue
        if totals is not None:
            totals.append(current.last_total)
        return
    if verify and current.compared_to is None and not current.moved:
        verdict += "; the last pass was quiet, but no quiet pass came before it to agree with"
    raise HarvestError(f"{verdict}; some items may have been missed", action=action)


def _disagreement(before: _Pass, after: _Pass) -> str | None:
    # Ids `before` saw and `after` did not are still marked with `before`. Deleted items
    # account for as many as Total fell by; any more were missed by one of the passes.
    missing = before.live
    allowed = max(0, before.last_total - after.last_total)
    if missing <= allowed:
        return None
    return (
        f"pass {after.number} lacks {missing} items pass {before.number} saw, while Total "
        f"fell by {allowed}"
    )


async def _read(
    fetch: FetchPage, current: _Pass, pages_ahead: int, task_group: TaskGroup | None
) -> AsyncGenerator[Any, None]:
    first = await _fetch_or_fail(fetch, 1, current.action)
    try:
        current.start(first)
    except BaseException:
        current.on_plan(1)
        raise
    # Page 1, the others, and page 1 again at the end when there are others.
    current.on_plan(current.last_page + 1 if current.last_page > 1 else 1)
    for item in current.take(first):
        yield item
    if current.last_page <= 1:
        return  # one answer: nothing could move between pages
    if task_group is None:
        for number in range(2, current.last_page + 1):
            page = await _fetch_or_fail(fetch, number, current.action)
            for item in current.take(page):
                yield item
    else:
        send, receive = anyio.create_memory_object_stream[Page[Any] | _Failed](1)
        producer_scope = anyio.CancelScope()
        task_group.start_soon(
            _produce, fetch, current.action, current.last_page, pages_ahead, send, producer_scope
        )
        try:
            async with receive:
                async for chunk in receive:
                    if isinstance(chunk, _Failed):
                        raise chunk.error
                    for item in current.take(chunk):
                        yield item
        finally:
            producer_scope.cancel()
    # Only once every other page has been answered: a change at the head after this
    # answer was served can no longer move an item this pass still had to read.
    current.close(await _read_again(fetch, current.action))


async def _read_again(fetch: FetchPage, action: str) -> Page[Any]:
    try:
        return await fetch(1)
    except OTAError as exc:
        exc.page = 1
        exc.add_note(
            f"{action}: the pages were read, but reading page 1 again to see whether the list "
            "moved meanwhile failed: the items yielded are genuine, but may not be all"
        )
        raise


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
    page_size: int,
    pages_ahead: int,
    task_group: TaskGroup | None,
    max_pages: int,
    verify: bool = False,
    max_passes: int = DEFAULT_MAX_PASSES,
    on_plan: Callable[[int], None] | None = None,
) -> AsyncIterator[Any]:
    """Harvest a list deeper than paging reaches by splitting it on a filter.

    ``fetch_for(None)`` reads the whole list, ``fetch_for(value)`` the part whose
    ``partition_name`` is ``value``; ``partitions`` must cover the list. Each part is
    harvested in turn, ids are shared so nothing is yielded twice. Items move between
    parts while they are read (a task changing status), so after each round the parts'
    ``Total``s and the whole list's are read again: a part that grew is read again, and
    when fewer distinct ids were seen than the whole list holds, every part is, for
    unseen items. A part that is itself too deep raises ``ListTooDeepError``: nothing is
    truncated silently. ``on_plan`` as for ``harvest``.
    """
    ledger = _Ledger(DEFAULT_MAX_TRACKED * 4)
    harvest_part = functools.partial(
        harvest,
        action=action,
        id_field=id_field,
        page_size=page_size,
        pages_ahead=pages_ahead,
        task_group=task_group,
        verify=verify,
        max_passes=max_passes,
        max_pages=max_pages,
        ledger=ledger,
        on_plan=on_plan,
    )
    plan = on_plan or _no_plan
    try:
        async with contextlib.aclosing(harvest_part(fetch_for(None))) as items:
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
            part = harvest_part(fetch_for(value), totals=totals)
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
        if ledger.overflowed:
            raise HarvestError(
                f"more than {ledger.limit} distinct items: too many to check the parts "
                "against the whole list",
                action=action,
            )
        plan(len(read_totals) + 1)
        pending = [
            value
            for value in read_totals
            if (await _total_now(fetch_for(value), action)) > read_totals[value]
        ]
        unseen = await _total_now(fetch_for(None), action) - len(ledger)
        if not pending and unseen <= 0:
            return
        if not pending:
            # No part grew, yet the whole list holds ids no part showed: items moved
            # into parts already read while others left them.
            pending = list(partitions)
        log.warning(
            "%s: items moved between parts while they were read (%d unseen); reading %s again",
            action,
            max(unseen, 0),
            ", ".join(map(str, pending)),
        )
    raise HarvestError(
        f"the list kept changing over {max_passes} rounds; some items may have been missed",
        action=action,
    )


def _no_plan(pages: int) -> None:
    pass


async def _total_now(fetch: FetchPage, action: str) -> int:
    return (await _read_again(fetch, action)).total


class _Pass:
    """One reading of the list: what it saw, and whether anything showed it moving."""

    def __init__(
        self,
        action: str,
        id_field: str,
        page_size: int,
        ledger: _Ledger,
        number: int,
        max_pages: int | None,
        verify: bool,
        compared_to: _Pass | None,
    ) -> None:
        self.action = action
        self.id_field = id_field
        self.page_size = page_size
        self.ledger = ledger
        self.number = number
        self.max_pages = max_pages
        self.verify = verify
        self.compared_to = compared_to
        self.first_total = self.last_total = 0
        self.last_page = 0
        self.page_one: list[Any] = []
        self.moved = False
        self.reasons: list[str] = []
        self.live = 0
        """Ids whose latest sighting is this pass (kept by the ledger)."""
        self.on_plan: Callable[[int], None] = _no_plan

    def why(self) -> str:
        return "; ".join(self.reasons) or "nothing"

    def _moved(self, reason: str) -> None:
        self.moved = True
        if len(self.reasons) < 3:
            self.reasons.append(reason)

    def start(self, first: Page[Any]) -> None:
        self.first_total = self.last_total = first.total
        self.last_page = pages_for(first.total, self.page_size)
        if self.max_pages is not None and self.last_page > self.max_pages:
            raise TooDeep(first.total, self.max_pages * self.page_size)
        if self.verify and first.total > self.ledger.limit:
            raise HarvestError(
                f"verify=True remembers every id to compare two passes, and the list holds "
                f"{first.total} items, more than the {self.ledger.limit} it can; narrow the "
                "query, or harvest without verify",
                action=self.action,
            )

    def take(self, page: Page[Any]) -> list[Any]:
        """Note what ``page`` says about the list; return its items not yielded before."""
        if page.total != self.last_total:
            self._moved(f"Total went from {self.last_total} to {page.total}")
            self.last_total = page.total
        problem = count_problem(page)
        if problem is not None:
            self._moved(problem)
        if not self.id_field:
            return list(page.items)
        field = self.id_field
        keys = [getattr(item, field, None) for item in page.items]
        if not all(keys):
            raise ResponseError(
                f"an item on page {page.current_page} has no {field}; the harvest cannot "
                "tell it from the others",
                action=self.action,
                request_id=page.request_id,
            )
        fresh, repeated = self.ledger.mark_page(keys, page.items, self)
        if repeated:
            self._moved(
                f"{len(repeated)} ids seen twice, {repeated[0]!r} again on page {page.current_page}"
            )
        if page.current_page == 1:
            self.page_one = keys
        return fresh

    def close(self, again: Page[Any]) -> None:
        """Compare page 1, read again at the end of the pass, with what it was."""
        if again.total != self.last_total:
            self._moved(f"Total went from {self.last_total} to {again.total}")
            self.last_total = again.total
        keys = [getattr(item, self.id_field, None) for item in again.items]
        if self.id_field and keys != self.page_one:
            self._moved("page 1 changed while the list was read")


class _Ledger:
    """Every id yielded so far, and which pass saw it last: exact up to ``limit`` ids, then
    a window of the most recent ones (where an item shifted by one page shows up again)."""

    def __init__(self, limit: int, window: int = _RECENT_WINDOW) -> None:
        self.limit = limit
        self._window = window
        self._seen: dict[Any, _Pass] = {}
        self._recent: deque[Any] = deque()
        self.overflowed = False

    def __len__(self) -> int:
        return len(self._seen)

    def mark_page(
        self, keys: list[Any], items: list[Any], sighting: _Pass
    ) -> tuple[list[Any], list[Any]]:
        """Record that ``sighting`` saw ``keys`` (the ids of ``items``); return the items
        never seen before, and the keys ``sighting`` had already seen."""
        seen = self._seen
        room = -1 if self.overflowed else self.limit - len(seen)
        fresh: list[Any] = []
        repeated: list[Any] = []
        marked = 0
        for key, item in zip(keys, items, strict=True):
            previous = seen.get(key)
            if previous is None:
                fresh.append(item)
                if room > 0:  # the common case, kept to a dict lookup and a store
                    seen[key] = sighting
                    room -= 1
                    marked += 1
                else:
                    self._remember_past_the_limit(key, sighting)
                    seen, room = self._seen, -1
            elif previous is sighting:
                repeated.append(key)
            else:
                seen[key] = sighting
                previous.live -= 1
                marked += 1
        sighting.live += marked
        return fresh, repeated

    def _remember_past_the_limit(self, key: Any, sighting: _Pass) -> None:
        sighting.live += 1
        if not self.overflowed:
            # Past the limit, keep memory flat: only the newest ids stay remembered.
            self.overflowed = True
            seen = self._seen
            keep = [k for k, _ in zip(reversed(seen), range(self._window - 1), strict=False)]
            self._seen = {k: seen[k] for k in reversed(keep)}
            self._recent = deque(reversed(keep))
        self._seen[key] = sighting
        self._recent.append(key)
        if len(self._recent) > self._window:
            self._seen.pop(self._recent.popleft(), None)


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
    action: str,
    last_page: int,
    pages_ahead: int,
    send: MemoryObjectSendStream[Page[Any] | _Failed],
    scope: anyio.CancelScope,
) -> None:
    # Runs in the client's task group: it must never raise, or it would tear that group down.
    with scope:
        async with send:
            try:
                await _fan_out(fetch, action, last_page, pages_ahead, send)
            except Exception as exc:
                with contextlib.suppress(*_GONE):
                    await send.send(_Failed(exc))


async def _fan_out(
    fetch: FetchPage,
    action: str,
    last_page: int,
    pages_ahead: int,
    send: MemoryObjectSendStream[Page[Any] | _Failed],
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
                    _name_the_page(exc, action, slot.number)
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
                except _GONE:
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
                except _GONE:
                    task_group.cancel_scope.cancel()  # the caller stopped reading
                    break
    if failure is not None:
        raise failure
