"""Reading a paged list until one reading can be trusted: the passes, the ids, the split.

Page 1 says how many items there are; with the page size the harvest asked for, that
fixes the pages to read (an answer's own ``PageCount`` is never trusted). The other pages
come from ``_fanout`` (concurrently, in page order, a few pages ahead) when the client is
open, one after another when it is not.

Offset paging gives no snapshot: an item created or deleted ahead of the reader moves
every later item across page boundaries, so one can be read twice or not at all. What a
harvest promises, and how:

* every item it yields is yielded once: items are remembered by id (``id_field``), exactly
  up to ``max_tracked`` ids, then within a window of the last 1,024 (``Ledger``);
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

A list deeper than paging reaches (``max_pages``) is split by a filter (``partitions``)
and each part read in turn, ids shared; see ``_split_pages``.

When the reader stops early (``break``, an exception, a cancel scope), the generators'
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
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

import anyio
import attrs
from anyio.abc import TaskGroup

from ._errors import HarvestError, ListTooDeepError, OTAError, ResponseError
from ._fanout import Failed, produce
from ._models import Page
from ._shapes import count_problem, pages_for

if TYPE_CHECKING:
    from ._harvest import HarvestSettings

__all__ = ["Reader", "read_pages"]

log = logging.getLogger("otaclient")

_RECENT_WINDOW = 1024
_SPLIT_TRACKING = 4
"""A split harvest remembers this many times ``max_tracked`` ids: it spans every part."""

FetchPage = Callable[[int], Awaitable[Page[Any]]]


class Reader(Protocol):
    """What reading needs from the harvest it serves."""

    @property
    def settings(self) -> HarvestSettings:
        """The harvest's settings."""

    @property
    def task_group(self) -> TaskGroup | None:
        """The client's task group, ``None`` when it is not open (then: one page at a time)."""

    async def fetch(self, part: Any, number: int) -> Page[Any]:
        """Page ``number`` of the list (``part`` ``None``) or of one part of it."""

    def planned(self, pages: int) -> None:
        """The reading commits to ``pages`` more page reads."""

    def pass_started(self) -> None:
        """A reading of the list (or of one part) has its page 1."""


def read_pages(reader: Reader) -> AsyncGenerator[Page[Any], None]:
    """Every page of the harvest, each holding only items not yielded before."""
    settings = reader.settings
    if settings.max_pages is None:
        return _Reading(reader, None, Ledger(settings.max_tracked)).pages()
    return _split_pages(reader)


# --------------------------------------------------------------------------- one list


class _Reading:
    """One list, or one part of a split list, read pass after pass until one is trusted.

    ``total`` is the ``Total`` the list had when its trusted pass read it.
    """

    def __init__(self, reader: Reader, part: Any, ledger: Ledger) -> None:
        self.reader = reader
        self.part = part
        self.ledger = ledger
        self.total = 0
        self.fetch: FetchPage = functools.partial(reader.fetch, part)

    async def pages(self) -> AsyncGenerator[Page[Any], None]:
        settings = self.reader.settings
        quiet: Pass | None = None  # verify: the last quiet pass, which the next must agree with
        limit = settings.max_passes + 1 if settings.verify else settings.max_passes
        verdict = ""
        for number in range(1, limit + 1):
            current = Pass(settings, self.ledger, number, compared_to=quiet)
            async with contextlib.aclosing(self._read_pass(current)) as pages:
                async for page in pages:
                    yield page
            if current.moved:
                quiet = None
                verdict = self._after_movement(current)
                continue
            if settings.verify:
                self._check_every_id_kept()
                quiet = current
                if current.compared_to is None:
                    continue  # read it again, to compare the two
                disagreement = self._disagreement(current.compared_to, current)
                if disagreement:
                    verdict = disagreement
                    continue
            self.total = current.last_total
            return
        if settings.verify and current.compared_to is None and not current.moved:
            verdict += "; the last pass was quiet, but no quiet pass came before it to agree with"
        raise HarvestError(f"{verdict}; some items may have been missed", action=settings.action)

    def _after_movement(self, current: Pass) -> str:
        """Why another pass follows one that saw the list move (or raise: none can)."""
        action = self.reader.settings.action
        if not current.id_field or self.ledger.overflowed:
            raise HarvestError(
                f"the list changed while it was read ({current.why()}) and is too large "
                "to read again against the items already yielded; some items may have "
                "been missed. Narrow the query and run it again.",
                action=action,
            )
        log.warning(
            "%s: pass %d saw the list move (%s); reading it again",
            action,
            current.number,
            current.why(),
        )
        return f"the list kept changing over {current.number} passes (last: {current.why()})"

    def _check_every_id_kept(self) -> None:
        if self.ledger.overflowed:
            raise HarvestError(
                f"verify=True remembers every id, and the list grew past {self.ledger.limit}",
                action=self.reader.settings.action,
            )

    def _disagreement(self, before: Pass, after: Pass) -> str:
        """verify=True: how two quiet passes disagree ("" when they agree)."""
        # Ids `before` saw and `after` did not are still marked with `before`. Deleted
        # items account for as many as Total fell by; any more were missed by one pass.
        allowed = max(0, before.last_total - after.last_total)
        if before.live <= allowed:
            return ""
        verdict = (
            f"passes of the list disagree (pass {after.number} lacks {before.live} items "
            f"pass {before.number} saw, while Total fell by {allowed})"
        )
        log.warning("%s: %s; reading it again", self.reader.settings.action, verdict)
        return verdict

    async def _read_pass(self, current: Pass) -> AsyncGenerator[Page[Any], None]:
        reader = self.reader
        first = await _fetch_or_fail(self.fetch, 1, current.action)
        try:
            current.start(first)
        except BaseException:
            reader.planned(1)
            raise
        reader.pass_started()
        # Page 1, the others, and page 1 again at the end when there are others.
        reader.planned(current.last_page + 1 if current.last_page > 1 else 1)
        page = current.take(first)
        if page.items or current.number == 1:
            yield page
        if current.last_page <= 1:
            return  # one answer: nothing could move between pages
        async with contextlib.aclosing(self._later_pages(current)) as answers:
            async for answer in answers:
                page = current.take(answer)
                if page.items or current.number == 1:
                    yield page
        # Only once every other page has been answered: a change at the head after this
        # answer was served can no longer move an item this pass still had to read.
        current.close(await _read_again(self.fetch, current.action))

    async def _later_pages(self, current: Pass) -> AsyncGenerator[Page[Any], None]:
        """Pages 2 to the last, in order: from the producer in the client's task group
        when the client is open, else one after another."""
        task_group = self.reader.task_group
        if task_group is None:
            for number in range(2, current.last_page + 1):
                yield await _fetch_or_fail(self.fetch, number, current.action)
            return
        send, receive = anyio.create_memory_object_stream[Page[Any] | Failed](1)
        producer_scope = anyio.CancelScope()
        task_group.start_soon(
            produce,
            self.fetch,
            current.last_page,
            self.reader.settings.pages_ahead,
            send,
            producer_scope,
            functools.partial(_name_the_page, action=current.action),
        )
        try:
            async with receive:
                async for chunk in receive:
                    if isinstance(chunk, Failed):
                        raise chunk.error
                    yield chunk
        finally:
            producer_scope.cancel()


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
        _name_the_page(exc, number, action=action)
        raise


def _name_the_page(exc: OTAError, number: int, *, action: str) -> None:
    # The error keeps its own type (a caller's `except APIError` still works) and says
    # where the harvest stopped.
    exc.page = number
    exc.add_note(f"{action}: the harvest stopped at page {number}; nothing after it was yielded")


# --------------------------------------------------------------------------- a split list


async def _split_pages(reader: Reader) -> AsyncGenerator[Page[Any], None]:
    """A list deeper than paging reaches, read part by part on a filter.

    ``fetch(None, n)`` reads the whole list, ``fetch(value, n)`` the part whose
    ``partition_by`` is ``value``; ``partitions`` cover the list. Each part is read in
    turn, ids shared so nothing is yielded twice. Items move between parts while they
    are read (a task changing status), so after each round the parts' ``Total``s and the
    whole list's are read again (``_parts_to_read_again``). A part that is itself too deep
    raises ``ListTooDeepError``: nothing is truncated silently.
    """
    settings = reader.settings
    ledger = Ledger(settings.max_tracked * _SPLIT_TRACKING)
    try:
        async with contextlib.aclosing(_Reading(reader, None, ledger).pages()) as pages:
            async for page in pages:
                yield page
        return
    except TooDeep as deep:
        if not settings.partitions:
            raise ListTooDeepError(
                f"{deep}, and the list cannot be split further; refusing to return a "
                "truncated list",
                action=settings.action,
            ) from None
        log.info(
            "%s: %s; splitting the harvest by %s", settings.action, deep, settings.partition_by
        )
    pending = list(settings.partitions)
    for _round in range(settings.max_passes):
        parts = [_Reading(reader, value, ledger) for value in pending]
        for part in parts:
            async with contextlib.aclosing(_part_pages(part)) as pages:
                async for page in pages:
                    yield page
        pending = await _parts_to_read_again(reader, parts, ledger)
        if not pending:
            return
    raise HarvestError(
        f"the list kept changing over {settings.max_passes} rounds; some items may have been "
        "missed",
        action=settings.action,
    )


async def _part_pages(part: _Reading) -> AsyncGenerator[Page[Any], None]:
    settings = part.reader.settings
    try:
        async with contextlib.aclosing(part.pages()) as pages:
            async for page in pages:
                yield page
    except TooDeep as deep:
        raise ListTooDeepError(
            f"{deep.total} items have {settings.partition_by}={part.part}, but only the first "
            f"{deep.reachable} of a list can be paged to and it cannot be split further; "
            "refusing to return a truncated list",
            action=settings.action,
        ) from None


async def _parts_to_read_again(reader: Reader, parts: list[_Reading], ledger: Ledger) -> list[Any]:
    """After a round: the parts to read again for items that moved (empty: none)."""
    settings = reader.settings
    if ledger.overflowed:
        raise HarvestError(
            f"more than {ledger.limit} distinct items: too many to check the parts "
            "against the whole list",
            action=settings.action,
        )
    reader.planned(len(parts) + 1)
    grown = [
        part.part
        for part in parts
        if (await _read_again(part.fetch, settings.action)).total > part.total
    ]
    whole = await _read_again(functools.partial(reader.fetch, None), settings.action)
    unseen = whole.total - len(ledger)
    if not grown and unseen <= 0:
        return []
    # No part grew, yet the whole list holds ids no part showed: items moved into parts
    # already read while others left them.
    pending = grown or list(settings.partitions)
    log.warning(
        "%s: items moved between parts while they were read (%d unseen); reading %s again",
        settings.action,
        max(unseen, 0),
        ", ".join(map(str, pending)),
    )
    return pending


# --------------------------------------------------------------------------- bookkeeping


class TooDeep(Exception):
    """The list has more items than paging can reach (raised before any item is yielded)."""

    def __init__(self, total: int, reachable: int) -> None:
        super().__init__(f"{total} items, only the first {reachable} can be paged to")
        self.total = total
        self.reachable = reachable


class Pass:
    """One reading of the list: what it saw, and whether anything showed it moving."""

    def __init__(
        self, settings: HarvestSettings, ledger: Ledger, number: int, compared_to: Pass | None
    ) -> None:
        self.action = settings.action
        self.id_field = settings.id_field
        self.page_size = settings.page_size
        self.max_pages = settings.max_pages
        self.verify = settings.verify
        self.ledger = ledger
        self.number = number
        self.compared_to = compared_to
        self.first_total = self.last_total = 0
        self.last_page = 0
        self.page_one: list[Any] = []
        self.moved = False
        self.reasons: list[str] = []
        self.live = 0
        """Ids whose latest sighting is this pass (kept by the ledger)."""
        self.tag = ledger.enrol(self)

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

    def take(self, page: Page[Any]) -> Page[Any]:
        """Note what ``page`` says about the list; return it holding only its items not
        yielded before."""
        if page.total != self.last_total:
            self._moved(f"Total went from {self.last_total} to {page.total}")
            self.last_total = page.total
        problem = count_problem(page)
        if problem is not None:
            self._moved(problem)
        if not self.id_field:
            return page
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
        return page if len(fresh) == len(page.items) else attrs.evolve(page, items=fresh)

    def close(self, again: Page[Any]) -> None:
        """Compare page 1, read again at the end of the pass, with what it was."""
        if again.total != self.last_total:
            self._moved(f"Total went from {self.last_total} to {again.total}")
            self.last_total = again.total
        keys = [getattr(item, self.id_field, None) for item in again.items]
        if self.id_field and keys != self.page_one:
            self._moved("page 1 changed while the list was read")


class Ledger:
    """Every id yielded so far, and which pass saw it last: exact up to ``limit`` ids, then
    a window of the most recent ones (where an item shifted by one page shows up again)."""

    def __init__(self, limit: int, window: int = _RECENT_WINDOW) -> None:
        self.limit = limit
        self._window = window
        # id -> the tag of the pass that saw it last. Ints, not the passes: a dict holding
        # only strings and ints is one the garbage collector never walks, and with
        # hundreds of thousands of ids (100 clients harvesting at once) its walks of this
        # dict were a quarter of the client's CPU.
        self._seen: dict[Any, int] = {}
        self._passes: list[Pass] = []
        self._recent: deque[Any] = deque()
        self.overflowed = False

    def enrol(self, sighting: Pass) -> int:
        """The tag ``sighting`` is recorded under."""
        self._passes.append(sighting)
        return len(self._passes) - 1

    def __len__(self) -> int:
        return len(self._seen)

    def mark_page(
        self, keys: list[Any], items: list[Any], sighting: Pass
    ) -> tuple[list[Any], list[Any]]:
        """Record that ``sighting`` saw ``keys`` (the ids of ``items``); return the items
        never seen before, and the keys ``sighting`` had already seen."""
        seen = self._seen
        tag = sighting.tag
        room = -1 if self.overflowed else self.limit - len(seen)
        fresh: list[Any] = []
        repeated: list[Any] = []
        marked = 0
        for key, item in zip(keys, items, strict=True):
            previous = seen.get(key)
            if previous is None:
                fresh.append(item)
                if room > 0:  # the common case, kept to a dict lookup and a store
                    seen[key] = tag
                    room -= 1
                    marked += 1
                else:
                    self._remember_past_the_limit(key, sighting)
                    seen, room = self._seen, -1
            elif previous == tag:
                repeated.append(key)
            else:
                seen[key] = tag
                self._passes[previous].live -= 1
                marked += 1
        sighting.live += marked
        return fresh, repeated

    def _remember_past_the_limit(self, key: Any, sighting: Pass) -> None:
        sighting.live += 1
        if not self.overflowed:
            # Past the limit, keep memory flat: only the newest ids stay remembered.
            self.overflowed = True
            seen = self._seen
            keep = [k for k, _ in zip(reversed(seen), range(self._window - 1), strict=False)]
            self._seen = {k: seen[k] for k in reversed(keep)}
            self._recent = deque(reversed(keep))
        self._seen[key] = sighting.tag
        self._recent.append(key)
        if len(self._recent) > self._window:
            self._seen.pop(self._recent.popleft(), None)
