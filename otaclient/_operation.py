"""``Operation[R]``: one API action as data, and the result type its call returns.

An operation says everything the client and the method generator need: the wire name, the
retry class, the result shape (``Paged[Firmware]`` makes it an
``Operation[Page[Firmware]]``, so a typed method returns ``Page[Firmware]``), the
parameters with their limits and Python types, the cross-field checks, the HTTP method,
the documented quota, and the words of its docstring. The table of every action is
``_operations``; signing, validation, the call and the decoding are the client's generic
machinery, driven by these entries.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any, Generic, TypeVar

import attrs

from . import _naming
from ._checks import Check
from ._constants import DEFAULT_QPS
from ._errors import ValidationError
from ._params import Int, Param, Str
from ._retry import RetryClass
from ._shapes import Paged, Shape

__all__ = ["Operation"]

R = TypeVar("R")


@attrs.frozen(slots=False)  # slots off: all_params is a cached_property
class Operation(Generic[R]):
    """One API action, as data; ``R`` is what a call of it returns.

    ``doc`` is the typed method's docstring: a summary line, then any more it needs (the
    generator adds the paging limits, the retry behaviour and the quota). Paged actions
    also have ``iter_doc``, the summary of their ``iter_*`` method; ``example`` is a
    doctest-style example for the method's docstring.
    """

    action: str
    retry_class: RetryClass
    result: Shape[R]
    params: tuple[Param, ...] = ()
    checks: tuple[Check, ...] = ()
    doc: str = ""
    iter_doc: str = ""
    example: str = ""
    how_to_check: str = ""
    """For writes: how a caller finds out whether an ambiguous call took effect."""
    quota: float = DEFAULT_QPS
    """The documented requests per second per account for this action."""
    http_method: str = "POST"

    @property
    def name(self) -> str:
        """The typed method's name (``list_ota_firmware``)."""
        return _naming.snake_case(self.action)

    @property
    def iterator_name(self) -> str:
        """The ``iter_*`` method's name, for a paged action."""
        return _naming.iterator_name(self.action)

    @property
    def is_read(self) -> bool:
        """Whether the action may be retried after any transient failure."""
        return self.retry_class.is_read

    @property
    def paged(self) -> Paged[Any] | None:
        """The paging shape, for paged actions."""
        return self.result if isinstance(self.result, Paged) else None

    def param(self, name: str) -> Param:
        """The parameter whose keyword is ``name`` (``KeyError`` when there is none).

        >>> from otaclient._operations import OPERATIONS
        >>> OPERATIONS["CreateOTAStaticUpgradeJob"].param("retry_count").choices
        (1, 2, 5)
        """
        return self._by_name[name]

    def encode(self, values: Mapping[str, Any]) -> dict[str, str]:
        """Validate ``values`` (keyword arguments by Python name) into wire parameters."""
        wire: dict[str, str] = {}
        for param in self.all_params:
            wire.update(param.encode(values.get(param.name), self.action))
        for check in self.checks:
            problem = check(values)
            if problem:
                raise ValidationError(problem, action=self.action)
        return wire

    @functools.cached_property
    def all_params(self) -> tuple[Param, ...]:
        """The action's parameters plus paging and ``IotInstanceId``, built once."""
        extra: list[Param] = []
        paged = self.paged
        if paged is not None:
            extra.append(Int("CurrentPage", required=True, low=1))
            extra.append(Int("PageSize", required=True, low=1, high=paged.max_page_size))
        extra.append(Str("IotInstanceId"))
        return (*self.params, *extra)

    @functools.cached_property
    def defaults(self) -> dict[str, Any]:
        """Keywords with a default other than ``None``: a paged action's ``current_page``
        (1) and ``page_size`` (its documented maximum)."""
        paged = self.paged
        return {} if paged is None else {"current_page": 1, "page_size": paged.max_page_size}

    @functools.cached_property
    def _by_name(self) -> dict[str, Param]:
        return {p.name: p for p in self.all_params}

    @functools.cached_property
    def python_names(self) -> dict[str, str]:
        """Wire name -> keyword, for messages that name an argument."""
        return {p.wire: p.name for p in self.all_params}

    @property
    def argument_names(self) -> frozenset[str]:
        """Python keyword names this action takes."""
        return frozenset(self._by_name)
