"""A plain reference decoder: what the fast one must agree with, written for clarity only.

``reference_structure(value, cls)`` structures a parsed body into a model field by field:
for each field, the keys that fold to its name (``normalise_key``), the last that is not
``None`` winning; the model's ``_wire_fallbacks`` when none is present; each value through
the library's scalar rules, the enum rule (a member by value or upper-cased value, else the
raw text) and the list rule (wrappers unwrapped, one object taken for a list of one).
``reference_load_xml(content)`` parses XML the way the library did before issue 14:
defusedxml's pure-Python parser, then a recursive walk.

Nothing here is generated, cached or inlined; it is slow on purpose. The property tests
(``tests/reliability/test_decoder_properties.py``) compare it with the library's decoder.
"""

from __future__ import annotations

import types
from datetime import datetime
from enum import StrEnum
from typing import Any, Union, get_args, get_origin
from xml.etree.ElementTree import Element

import attrs
import defusedxml
from defusedxml.ElementTree import fromstring

from otaclient._convert import _to_bool, _to_datetime, _to_int, _to_str, normalise_key
from otaclient._parse import DecodeProblem, RefusedBody

__all__ = ["reference_load_xml", "reference_structure", "reference_structure_list"]


def reference_structure(value: Any, cls: type[Any]) -> Any:
    """``value`` as a ``cls``; ``DecodeProblem`` when it does not fit."""
    if type(value) is not dict:
        raise DecodeProblem(f"expected an object for {cls.__name__}")
    fallbacks: dict[str, str] = getattr(cls, "_wire_fallbacks", {})
    kwargs: dict[str, Any] = {}
    for field in attrs.fields(attrs.resolve_types(cls)):
        wanted = normalise_key(field.name)
        keys = [k for k in value if isinstance(k, str) and normalise_key(k) == wanted]
        if not keys:
            keys = [
                k
                for k in value
                if isinstance(k, str) and fallbacks.get(normalise_key(k)) == field.name
            ]
        for key in keys:
            if value[key] is not None:
                kwargs[field.name] = _value(value[key], _optional(field.type))
    return cls(**kwargs)


def reference_structure_list(value: Any, item: type[Any]) -> list[Any]:
    """``value`` as a list of ``item``: ``None`` items dropped."""
    return [_value(v, item) for v in _as_list(value, item) if v is not None]


def _optional(tp: Any) -> Any:
    if get_origin(tp) in (Union, types.UnionType):
        args = tuple(a for a in get_args(tp) if a is not type(None))
        return args[0] if len(args) == 1 else Union[args]  # noqa: UP007
    return tp


def _value(raw: Any, tp: Any) -> Any:
    if tp is str:
        return _to_str(raw)
    if tp is int:
        return _to_int(raw)
    if tp is bool:
        return _to_bool(raw)
    if tp is datetime:
        return _to_datetime(raw)
    if get_origin(tp) is list:
        (item,) = get_args(tp)
        return reference_structure_list(raw, item)
    if get_origin(tp) in (Union, types.UnionType):
        (enum_cls,) = [a for a in get_args(tp) if isinstance(a, type) and issubclass(a, StrEnum)]
        text = _to_str(raw)
        for spelling in (text, text.upper()):
            for member in enum_cls:
                if member.value == spelling:
                    return member
        return text
    if attrs.has(tp):
        return reference_structure(raw, tp)
    raise AssertionError(f"the reference decoder knows no type {tp!r}")


def _as_list(value: Any, item: type[Any], depth: int = 0) -> list[Any]:
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return value
    names = {normalise_key(f.name) for f in attrs.fields(item)} if attrs.has(item) else set()
    if isinstance(value, dict):
        if names and any(normalise_key(k) in names for k in value):
            return [value]
        if len(value) == 1 and depth < 2:
            return _as_list(next(iter(value.values())), item, depth + 1)
        if not value:
            return []
    elif not names and isinstance(value, str | int):
        return [value]
    raise DecodeProblem(f"expected a list, got {type(value).__name__}")


def reference_load_xml(content: bytes, max_depth: int = 64) -> dict[str, Any]:
    """``content`` parsed by defusedxml, then walked into dicts, lists and stripped text."""
    try:
        root = fromstring(content, forbid_dtd=True, forbid_entities=True)
    except defusedxml.DefusedXmlException:
        raise RefusedBody("XML body refused") from None
    value = _walk(root, max_depth)
    return value if isinstance(value, dict) else {}


def _walk(element: Element, depth: int) -> Any:
    children = list(element)
    if not children:
        text = (element.text or "").strip()
        return text or None
    if depth <= 1:
        raise RefusedBody("XML body refused: it nests too deeply")
    out: dict[str, Any] = {}
    repeated: set[str] = set()
    for child in children:
        tag = child.tag.rpartition("}")[2]
        value = _walk(child, depth - 1)
        if tag not in out:
            out[tag] = value
        elif tag in repeated:
            out[tag].append(value)
        else:
            out[tag] = [out[tag], value]
            repeated.add(tag)
    return out
