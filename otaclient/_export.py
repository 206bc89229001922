"""What leaves as JSON or CSV: one cattrs converter from models and reports to plain data.

Plain data is what ``json.dumps`` and a CSV cell take: ``str``, ``int``, ``float``, ``bool``,
``None``, lists, and dicts with string keys. The rules, for every class:

* an attrs instance becomes a dict of its fields, in field order, each converted by its
  value's own type (a field declared ``str`` that holds an enum member still gives the
  value); a field with ``metadata={"plain": False}`` is left out;
* a ``datetime`` becomes ISO 8601 in UTC ending in ``Z`` (milliseconds when it has any), a
  ``timedelta`` its seconds;
* an enum member becomes its value;
* tuples, lists and sets become lists; mappings (``Counter`` too) dicts with ``str`` keys.

Classes whose plain form says more than their fields (the audit's reports, with their
derived counts and rates) register hooks of their own on this converter: see
``otaclient/_audit/export.py`` (``configure_converter``, the cattrs "preconf" shape).
The structuring side (API bodies to models) is ``_decode``'s.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import cattrs

__all__ = ["configure_converter", "converter", "iso_time", "make_converter", "to_plain"]


def iso_time(value: datetime | None) -> str | None:
    """``2024-09-12T08:14:42.214Z`` (milliseconds kept when present), or ``None``.

    >>> from datetime import datetime, timezone, timedelta
    >>> iso_time(datetime(2024, 9, 12, 16, 14, 42, 214000, timezone(timedelta(hours=8))))
    '2024-09-12T08:14:42.214Z'
    """
    if value is None:
        return None
    value = value.astimezone(UTC)
    if value.microsecond:
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _enum_value(member: enum.Enum) -> Any:
    return member.value


def _attrs_hook(cls: type[Any], conv: cattrs.Converter) -> Callable[[Any], dict[str, Any]]:
    names = tuple(
        field.name for field in attrs.fields(cls) if field.metadata.get("plain", True) is not False
    )
    unstructure = conv.unstructure

    def attrs_to_plain(value: Any) -> dict[str, Any]:
        # By each value's own type, not the declared one: `str | None` may hold an enum.
        return {name: unstructure(getattr(value, name)) for name in names}

    return attrs_to_plain


def configure_converter(conv: cattrs.Converter) -> None:
    """Register on ``conv`` the rules of the module docstring."""
    unstructure = conv.unstructure

    def mapping_to_plain(value: Mapping[Any, Any]) -> dict[str, Any]:
        return {str(key): unstructure(item) for key, item in value.items()}

    def sequence_to_plain(value: Any) -> list[Any]:
        return [unstructure(item) for item in value]

    conv.register_unstructure_hook(datetime, iso_time)
    conv.register_unstructure_hook(timedelta, timedelta.total_seconds)
    # Singledispatch would take a StrEnum for a str (and pass it through) before Enum.
    for base in (enum.Enum, enum.StrEnum, enum.IntEnum):
        conv.register_unstructure_hook(base, _enum_value)
    for collection in (list, tuple, set, frozenset):
        conv.register_unstructure_hook(collection, sequence_to_plain)
    conv.register_unstructure_hook(dict, mapping_to_plain)
    conv.register_unstructure_hook_factory(attrs.has, _attrs_hook)


def make_converter() -> cattrs.Converter:
    """Return a new converter with the rules of the module docstring."""
    conv = cattrs.Converter()
    configure_converter(conv)
    return conv


converter = make_converter()
"""The one converter everything that leaves as JSON or CSV goes through."""


def to_plain(value: Any) -> Any:
    """``value`` as plain, JSON-ready data: attrs models to dicts of their fields, times to
    ISO 8601 UTC strings ending in ``Z``, enums to their values, sequences to lists.

    >>> from otaclient import OTATag, TaskStatus
    >>> to_plain({"tags": (OTATag("k", "v"),), "status": TaskStatus.FAILED})
    {'tags': [{'key': 'k', 'value': 'v'}], 'status': 'FAILED'}
    """
    return converter.unstructure(value)
