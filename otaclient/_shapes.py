"""Result shapes: where an action's answer keeps its result, and how it is checked.

Each operation names one shape; the shape turns the parsed body into the typed result:

* ``Paged[T]``   - a paged list: items at a path, paging keys at the top level -> ``Page[T]``;
* ``Listed[T]``  - an unpaged list at a path -> ``list[T]``;
* ``Single[T]``  - one struct at a path (``Data``, ``FirmwareInfo``) -> ``T``;
* ``EnvelopeOnly`` - nothing but the envelope -> ``Acknowledged``.

Shapes are generic in what they return, so that ``Operation[R]`` (``_operation``) knows its
result type: the typed methods return ``Page[Firmware]``, not ``Any``. A body that does not
fit raises ``DecodeProblem``. The paging arithmetic (``pages_for``, ``expected_items``,
``count_problem``) is here too: a harvest asks the same questions of every page.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Generic, Protocol, TypeVar

import attrs

from ._convert import get_key, structure, structure_list
from ._models import Acknowledged, Page
from ._parse import DecodeProblem

__all__ = [
    "Asked",
    "EnvelopeOnly",
    "Listed",
    "Paged",
    "Shape",
    "Single",
    "count_problem",
    "expected_items",
    "pages_for",
]

T = TypeVar("T")
M = TypeVar("M", bound=attrs.AttrsInstance)
R_co = TypeVar("R_co", covariant=True)


@attrs.frozen
class Asked:
    """What a request asked of a paged list: the page and page size, and whether one of its
    arguments (``Paged.unpaged_by``) made the service ignore paging altogether."""

    page: int
    page_size: int
    paging_ignored: bool = False


class Shape(Protocol[R_co]):
    """Where an answer holds its result, and how to build it (``R_co``: the result type)."""

    @property
    def returns(self) -> Any:
        """The result type, as a runtime type (for the method generator)."""
        ...

    def decode(
        self, body: Mapping[str, Any], request_id: str | None, asked: Asked | None = None
    ) -> R_co:
        """The result in ``body``; raise ``DecodeProblem`` when it does not fit."""
        ...


def _generic(origin: Any, item: type[Any]) -> Any:
    # ``origin[item]`` for an item known only at run time, which no static type can name.
    return origin[item]


def _dig(body: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    """The value at ``path``: ``None`` where it, or an empty wrapper around it, is absent.

    A list met one level early is the list itself (a body that leaves out the item
    wrapper). A string, number or boolean where an object belongs is refused: it is not
    an empty list, and taking it for one would lose every item silently.
    """
    value: Any = body
    for depth, key in enumerate(path):
        if value is None or value == "" or isinstance(value, list):
            return value
        if not isinstance(value, Mapping):
            where = ".".join(path[:depth])
            raise DecodeProblem(f"{where} is {_preview(value)}, not an object")
        value = get_key(value, key)
    return value


def _preview(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def pages_for(total: int, page_size: int) -> int:
    """How many pages ``total`` items fill at ``page_size`` a page.

    >>> pages_for(0, 100), pages_for(100, 100), pages_for(101, 100)
    (0, 1, 2)
    """
    return -(-total // page_size) if page_size > 0 else 0


def expected_items(total: int, page: int, page_size: int) -> int:
    """How many items page ``page`` holds when the list has ``total`` items: ``page_size``
    inside the list, fewer on the last page, none past the end.

    >>> expected_items(250, 1, 100), expected_items(250, 3, 100), expected_items(250, 4, 100)
    (100, 50, 0)
    """
    return max(0, min(page_size, total - (page - 1) * page_size))


@attrs.frozen
class Paged(Generic[T]):
    """A paged list: items at ``path``, paging keys at the top level.

    Which page an answer is, and where the list ends, come from the page and page size
    the request asked for and the answer's ``Total``; an answer's ``PageCount`` is checked
    but never trusted (it can under-report), and an echoed ``PageSize`` other than the one
    asked for is refused.
    """

    item: type[T]
    path: tuple[str, ...]
    max_page_size: int
    max_offset: int | None = None  # CurrentPage * PageSize limit, where documented
    id_field: str = ""  # what tells two items apart: a harvest yields each once by it
    partition_by: str = ""  # a filter argument that splits a list deeper than max_offset
    partitions: tuple[Any, ...] = ()  # ... and the values that together cover the list
    unpaged_by: str = ""  # an argument with which the service ignores paging altogether

    @property
    def returns(self) -> Any:
        """``Page[item]``."""
        return _generic(Page, self.item)

    def decode(
        self, body: Mapping[str, Any], request_id: str | None, asked: Asked | None = None
    ) -> Page[T]:
        """Build the ``Page`` of ``body``.

        ``asked`` (page, page size of the request) stands in for a ``CurrentPage`` or
        ``PageSize`` the body leaves out, and is what the answer is checked against;
        ``Total`` is required. Raises ``DecodeProblem`` for an answer that contradicts
        itself or the request. Whether the page holds as many items as ``Total`` says is
        left to ``count_problem``: in a harvest that is a sign of a moving list, not
        necessarily a broken answer. When the request made the service ignore paging
        (``asked.paging_ignored``), there is nothing to check the answer against.
        """
        container = get_key(body, self.path[0])
        items = structure_list(_dig(body, self.path), self.item)
        total = _paging_int(body, "Total")
        asked_page, asked_size = (asked.page, asked.page_size) if asked else (None, None)
        page_size = _paging_int(body, "PageSize", asked_size)
        current = _paging_int(body, "CurrentPage", asked_page)
        page_count = pages_for(total, page_size)
        if asked is not None and asked.paging_ignored:
            return Page(items, total, page_count, current, page_size, request_id)
        if get_key(body, "PageCount") is not None:
            reported = _paging_int(body, "PageCount")
            # Fewer pages than Total fills is harmless (the end is found from Total); more
            # would mean items beyond Total, or an absurd count to chase.
            if page_size and reported > page_count + 1:
                raise DecodeProblem(
                    f"PageCount {reported} does not fit Total {total} at PageSize {page_size}"
                )
        if asked_page is None or asked_size is None:
            return Page(items, total, page_count, current, page_size, request_id)
        if page_size != asked_size:
            # The offsets of every page would be someone else's guess.
            raise DecodeProblem(
                f"asked for {asked_size} items a page, the answer says PageSize {page_size}"
            )
        if asked_page > page_count:
            # Past the end an answer may echo any page number: it has no items to lose.
            return Page(items, total, page_count, asked_page, page_size, request_id)
        if current != asked_page:
            # A proxy or cache serving another page would silently skip items.
            raise DecodeProblem(f"asked for page {asked_page}, the answer is page {current}")
        if container is None:
            raise DecodeProblem(
                f"the answer has no {'.'.join(self.path)} list, but Total {total} means "
                f"page {current} holds {expected_items(total, current, page_size)} items"
            )
        return Page(items, total, page_count, current, page_size, request_id)


def count_problem(page: Page[Any]) -> str | None:
    """What is wrong with how many items ``page`` holds, given its ``Total``; ``None``
    when the count is what ``Total`` and the page size make it.

    >>> count_problem(Page(["a"], total=250, page_count=3, current_page=3, page_size=100))
    'page 3 holds 1 items, but Total 250 at 100 a page means 50'
    """
    held, number = len(page.items), page.current_page
    expected = expected_items(page.total, number, page.page_size)
    if held == expected:
        return None
    if number > page.page_count:
        return (
            f"page {number} lies past the end of Total {page.total} at {page.page_size} a "
            f"page, yet holds {held} items"
        )
    return (
        f"page {number} holds {held} items, but Total {page.total} at {page.page_size} a "
        f"page means {expected}"
    )


_MAX_PAGING_VALUE = 10**9


def _paging_int(body: Mapping[str, Any], key: str, default: int | None = None) -> int:
    raw = get_key(body, key)
    if raw is None and default is not None:
        return default
    if raw is None:
        raise DecodeProblem(f"paging key {key} is missing")
    value = structure(raw, int)
    if not 0 <= value <= _MAX_PAGING_VALUE:
        raise DecodeProblem(f"paging key {key} is out of range: {value}")
    return value


@attrs.frozen
class Listed(Generic[T]):
    """An unpaged list at ``path``."""

    item: type[T]
    path: tuple[str, ...]

    @property
    def returns(self) -> Any:
        """``list[item]``."""
        return _generic(list, self.item)

    def decode(
        self, body: Mapping[str, Any], request_id: str | None, asked: Asked | None = None
    ) -> list[T]:
        """Return the list of items in ``body``."""
        return structure_list(_dig(body, self.path), self.item)


@attrs.frozen
class Single(Generic[M]):
    """One struct at ``path`` (``Data`` or ``FirmwareInfo``).

    ``identity`` names the field a create's answer must fill (the new resource's id): an
    answer without it says nothing about whether the resource exists.
    """

    model: type[M]
    path: tuple[str, ...]
    identity: str = ""

    @property
    def returns(self) -> Any:
        """The model."""
        return self.model

    def decode(
        self, body: Mapping[str, Any], request_id: str | None, asked: Asked | None = None
    ) -> M:
        """Return the model in ``body``, with the request id when the model has one."""
        data = _dig(body, self.path)
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            raise DecodeProblem(f"{'.'.join(self.path)} is not an object")
        result = structure(dict(data), self.model)
        if not any(f.name == "request_id" for f in attrs.fields(self.model)):
            return result
        # evolve() takes an attrs instance, which mypy's plugin cannot see a bound M to be.
        instance: Any = result
        stamped: M = attrs.evolve(instance, request_id=request_id)
        return stamped


@attrs.frozen
class EnvelopeOnly:
    """An answer with nothing but the envelope."""

    @property
    def returns(self) -> Any:
        """``Acknowledged``."""
        return Acknowledged

    def decode(
        self, body: Mapping[str, Any], request_id: str | None, asked: Asked | None = None
    ) -> Acknowledged:
        """Return the acknowledgement."""
        return Acknowledged(request_id)
