"""``Harvest``: every item of a paged list, each once, as one object per harvest.

``iter_*`` returns a ``Harvest``. It is an async iterator of items, an async context manager
that closes it (``async with client.iter_ota_firmware() as firmware: ... break`` stops the
fetches at the end of the block, no ``contextlib.aclosing`` needed), and it can be read
page by page instead (``.pages``). Its ``progress`` says where it stands: pages read, page
reads planned, items yielded, passes, the list's ``Total``; ``on_progress`` hears of every
change. How the pages are read, and what exactly-once means against a list that moves, is
``_reading``'s; how they are fetched concurrently is ``_fanout``'s.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator
from types import TracebackType
from typing import Any, Generic, TypeVar

import attrs
from anyio.abc import TaskGroup

from ._errors import OTAError, ValidationError
from ._models import Page
from ._reading import read_pages

__all__ = ["Harvest", "HarvestProgress", "HarvestSettings", "HarvestCallback"]

T = TypeVar("T")

_ITEMS, _PAGES = "item by item", "page by page"

DEFAULT_MAX_PASSES = 3
DEFAULT_MAX_TRACKED = 250_000


def _max_tracked() -> int:
    # Read when a harvest is set up, not when this module is imported.
    return DEFAULT_MAX_TRACKED


@attrs.frozen
class HarvestSettings:
    """Everything one harvest is told, in one place (made by ``iter_*``).

    ``page_size`` is the size every page read asks for. ``max_pages`` is the deepest page
    the action can reach (``None``: no limit): a longer list is split by the filter
    ``partition_by`` into ``partitions``, read part by part, and raises
    ``ListTooDeepError`` when it cannot be split (no ``partitions``). ``id_field`` tells
    two items apart; ``verify`` reads the list until two quiet passes agree.
    """

    action: str
    page_size: int
    pages_ahead: int
    id_field: str = ""
    verify: bool = False
    max_pages: int | None = None
    partition_by: str = ""
    partitions: tuple[Any, ...] = ()
    max_passes: int = DEFAULT_MAX_PASSES
    max_tracked: int = attrs.field(factory=_max_tracked)


@attrs.frozen
class HarvestProgress:
    """Where a harvest stands, and at its end what it did.

    * ``pages_done``: page answers read so far, re-reads included (the closing read of
      page 1, a pass that reads the list again, a split list's checks);
    * ``pages_planned``: the page reads the harvest has committed to, ``None`` until page
      1 is in. It grows when the list moves and is read again (or ``verify`` reads it
      twice), so ``pages_planned - pages_done`` is the work known to be left: an ETA is
      that over the page rate;
    * ``items``: items yielded so far (each once);
    * ``requests``: page reads started (one call each; the client's retries of a call are
      counted in ``OTAClient.stats``);
    * ``passes``: readings of the list begun (1 when it held still; more when it moved, or
      with ``verify``; a list split by a filter counts the readings of every part);
    * ``total``: the list's ``Total`` as the service last reported it, ``None`` before page
      1 is in;
    * ``finished``: every item has been yielded; ``verified``: finished with
      ``verify=True``, two quiet passes having agreed.

    >>> HarvestProgress(pages_done=3, pages_planned=4, items=250, requests=3, passes=1,
    ...                 total=250, finished=False, verified=False).pages_left
    1
    """

    pages_done: int
    pages_planned: int | None
    items: int
    requests: int
    passes: int
    total: int | None
    finished: bool
    verified: bool

    @property
    def pages_left(self) -> int | None:
        """Page reads planned and not yet answered (``None`` before page 1 is in)."""
        if self.pages_planned is None:
            return None
        return max(0, self.pages_planned - self.pages_done)


HarvestCallback = Callable[[HarvestProgress], None]
"""Called with a ``HarvestProgress`` after every page answer, when the plan grows, and at
the end. It runs on the event loop, in the task that read the page: keep it quick."""

FetchPage = Callable[[Any, int], Awaitable[Page[Any]]]
"""``fetch(part, number)``: page ``number`` of the list (``part`` ``None``) or of one part."""


class Harvest(Generic[T]):
    """Every item of a paged list, each once, in page order: the result of ``iter_*``.

    >>> async with client.iter_ota_firmware(product_key="a1B2c3") as firmware:  # doctest: +SKIP
    ...     async for f in firmware:
    ...         if f.dest_version == "2.0.0":
    ...             break               # the fetches still under way stop here, at once
    >>> harvest = client.iter_ota_task_by_job(job_id="j1").on_progress(print)  # doctest: +SKIP
    >>> async for page in harvest.pages:                                   # doctest: +SKIP
    ...     store(page.items)
    >>> harvest.progress.finished, harvest.progress.items                  # doctest: +SKIP
    (True, 20000)

    Nothing is sent until the first item (or page) is asked for. Inside the client's
    ``async with`` block, pages are fetched concurrently by the client's task group, a few
    pages ahead of the reader; outside it, one after another. Leaving an ``async with
    harvest`` block, ``aclose()``, an exception or a cancel scope stops every fetch.

    Read a harvest one way: item by item (``async for``) or page by page (``.pages``),
    once. ``.pages`` yields every page of the first reading, in page order, holding the
    items not yielded before; when the list moved and is read again, a page of the later
    reading comes only if it holds items not yet yielded, and then holds just those (its
    ``total``, ``current_page`` and ``request_id`` are the answer's). The items of all
    pages together are the harvest's items, each once.
    """

    def __init__(
        self,
        fetch: FetchPage,
        settings: HarvestSettings,
        *,
        task_group: Callable[[], TaskGroup | None],
    ) -> None:
        self._run = _Run(fetch, settings, task_group)
        self._source: AsyncGenerator[Page[Any], None] | None = None
        self._way: str | None = None  # _ITEMS or _PAGES, once reading has begun
        self._items: Iterator[T] = iter(())
        self._closed = False

    # ------------------------------------------------------------------ reading

    def __aiter__(self) -> Harvest[T]:
        return self

    async def __anext__(self) -> T:
        try:
            item = next(self._items)
        except StopIteration:
            item = await self._next_item()
        self._run.items += 1
        return item

    async def _next_item(self) -> T:
        if self._way is not _ITEMS:
            self._begin(_ITEMS)
        while True:
            page = await self._next_page()
            self._items = iter(page.items)
            for item in self._items:
                return item

    @property
    def pages(self) -> AsyncIterator[Page[T]]:
        """The same harvest read page by page (see the class docstring)."""
        return _Pages(self)

    async def _next_page(self) -> Page[T]:
        if self._closed:
            raise StopAsyncIteration
        if self._source is None:
            self._source = read_pages(self._run)
        try:
            return await anext(self._source)
        except StopAsyncIteration:
            self._run.finish()
            self._stop()
            raise
        except BaseException:
            self._stop()  # the source ended with the error: nothing is left running
            raise

    def _stop(self) -> None:
        self._closed = True
        self._items = iter(())
        self._source = None

    def _begin(self, way: str) -> None:
        if self._way is None:
            self._way = way
        elif self._way is not way:
            raise OTAError(
                f"{self._run.settings.action}: this harvest is already being read "
                f"{self._way}; read a harvest one way only, or start another one"
            )

    # ------------------------------------------------------------------ lifetime

    async def aclose(self) -> None:
        """Stop the harvest: fetches under way are cancelled, nothing more is yielded."""
        source = self._source
        self._stop()
        if source is not None:
            await source.aclose()

    async def __aenter__(self) -> Harvest[T]:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # ------------------------------------------------------------------ progress

    @property
    def progress(self) -> HarvestProgress:
        """Where the harvest stands now; at its end, what it did."""
        return self._run.snapshot()

    def on_progress(self, callback: HarvestCallback | None) -> Harvest[T]:
        """Call ``callback(progress)`` after every page answer, when the plan grows, and
        at the end (``None``: stop). Returns the harvest, to chain on ``iter_*``."""
        if callback is not None and not callable(callback):
            raise ValidationError(
                f"on_progress takes a function or None, got {type(callback).__name__}"
            )
        self._run.callback = callback
        return self

    def __repr__(self) -> str:
        progress = self._run.snapshot()
        return (
            f"<Harvest {self._run.settings.action}: {progress.items} items, "
            f"{progress.pages_done}/{progress.pages_planned} pages>"
        )


class _Pages(Generic[T]):
    """A harvest read page by page."""

    def __init__(self, harvest: Harvest[T]) -> None:
        self._harvest = harvest

    def __aiter__(self) -> _Pages[T]:
        return self

    async def __anext__(self) -> Page[T]:
        harvest = self._harvest
        harvest._begin(_PAGES)
        page = await harvest._next_page()
        harvest._run.items += len(page.items)
        return page

    async def aclose(self) -> None:
        await self._harvest.aclose()


class _Run:
    """One harvest's settings, its page source and its counters (what ``_reading`` reads)."""

    def __init__(
        self,
        fetch: FetchPage,
        settings: HarvestSettings,
        task_group: Callable[[], TaskGroup | None],
    ) -> None:
        self._fetch = fetch
        self.settings = settings
        self._task_group = task_group
        self.callback: HarvestCallback | None = None
        self.pages_done = 0
        self.pages_planned: int | None = None
        self.items = 0
        self.requests = 0
        self.passes = 0
        self.total: int | None = None
        self.finished = False

    @property
    def task_group(self) -> TaskGroup | None:
        return self._task_group()

    async def fetch(self, part: Any, number: int) -> Page[Any]:
        self.requests += 1
        page = await self._fetch(part, number)
        self.pages_done += 1
        if part is None:
            self.total = page.total
        self._tell()
        return page

    def planned(self, pages: int) -> None:
        self.pages_planned = (self.pages_planned or 0) + pages
        self._tell()

    def pass_started(self) -> None:
        self.passes += 1

    def finish(self) -> None:
        self.finished = True
        self._tell()

    def snapshot(self) -> HarvestProgress:
        return HarvestProgress(
            pages_done=self.pages_done,
            pages_planned=self.pages_planned,
            items=self.items,
            requests=self.requests,
            passes=self.passes,
            total=self.total,
            finished=self.finished,
            verified=self.finished and self.settings.verify,
        )

    def _tell(self) -> None:
        if self.callback is not None:
            self.callback(self.snapshot())
