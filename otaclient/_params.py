"""Request parameters: how each kind of argument is checked and written on the wire.

A ``Param`` describes one wire parameter (its wire name, kind, whether it is required, its
documented limits, the Python type its keyword takes). ``Param.encode`` turns a Python
value into ``(wire name, text)`` pairs, or raises ``ValidationError`` naming the argument.
``encode_raw`` does the same for ``call``'s ``{"WireName": value}`` with the same encoders,
the kind of each value read from its Python type. Rules the reference documents:

* strings go on the wire unchanged; enumerations are upper-cased (``"all"`` -> ``ALL``);
* integers in decimal, booleans as ``true``/``false``;
* times (``ScheduleTime``) as 13-digit epoch milliseconds, from an aware ``datetime`` or an int;
* repeat lists as ``Name.1``, ``Name.2``, ... and struct lists as ``Tag.1.Key``, ``Tag.1.Value``;
* unset (``None``) parameters are left out entirely.

What one request can carry (valid Unicode, the API's integer types, one URL) is checked
with ``_limits``.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from enum import Enum, StrEnum
from typing import Any

import attrs

from ._errors import ValidationError
from ._limits import INTEGER_MAX, INTEGER_MIN, LONG_MAX, LONG_MIN, check_text, shown
from ._naming import list_name, snake_case

__all__ = [
    "Bool",
    "Enum_",
    "Int",
    "Kind",
    "Millis",
    "Param",
    "Repeat",
    "Str",
    "Structs",
    "encode_raw",
]


class Kind(enum.Enum):
    """How a parameter's value is checked and written (one encoder each)."""

    STR = "str"
    INT = "int"
    FLOAT = "float"  # only in call()'s parameters: no action documents one
    BOOL = "bool"
    ENUM = "enum"
    MILLIS = "millis"
    REPEAT = "repeat"
    STRUCTS = "structs"


@attrs.frozen
class Param:
    """One wire parameter of an action. Use the helpers ``Str``, ``Int``, ... to build one."""

    wire: str
    kind: Kind
    required: bool = False
    name: str = ""
    low: int | None = None
    high: int | None = None
    choices: tuple[int, ...] | None = None
    max_items: int | None = None
    max_len: int | None = None
    enum: type[StrEnum] | None = None
    struct_fields: tuple[str, ...] = ()
    struct_required: tuple[str, ...] = ()
    accepts: Any = None
    """For a struct list: the Python type of one item (``OTATag | tuple[str, str]``)."""

    def encode(self, value: Any, action: str) -> Iterator[tuple[str, str]]:
        """Yield the wire pairs for ``value`` (nothing for ``None``), or raise ValidationError."""
        if value is None:
            if self.required:
                raise ValidationError(f"{self.name} is required", action=action)
            return
        yield from _ENCODERS[self.kind](self, value, action)

    def fail(self, action: str, problem: str) -> ValidationError:
        """Build the ValidationError for this parameter."""
        return ValidationError(f"{self.name} {problem}", action=action)

    @property
    def annotation(self) -> Any:
        """The Python type its keyword argument takes (``None`` aside), as a runtime type.

        >>> from otaclient._models import TaskStatus
        >>> Repeat("TaskStatusList", enum=TaskStatus).annotation
        collections.abc.Sequence[otaclient._models.TaskStatus | str]
        """
        # Built from values known only at run time (the enum, the item type): Any-typed.
        sequence: Any = Sequence
        if self.kind is Kind.ENUM or (self.kind is Kind.REPEAT and self.enum):
            one: Any = self.enum | str
        else:
            one = self.accepts if self.kind is Kind.STRUCTS else _ANNOTATIONS[self.kind]
        return sequence[one] if self.kind in (Kind.REPEAT, Kind.STRUCTS) else one


def Str(wire: str, *, required: bool = False, max_len: int | None = None) -> Param:
    """A free-form string parameter, sent unchanged."""
    return Param(wire, Kind.STR, required, snake_case(wire), max_len=max_len)


def Int(
    wire: str,
    *,
    required: bool = False,
    low: int = INTEGER_MIN,
    high: int = INTEGER_MAX,
    choices: tuple[int, ...] | None = None,
    name: str | None = None,
) -> Param:
    """An integer parameter: a documented range (default: the API's 32-bit ``Integer``)
    or set of documented values."""
    return Param(wire, Kind.INT, required, name or snake_case(wire), low, high, choices)


def Bool(wire: str, *, required: bool = False) -> Param:
    """A boolean parameter, sent as ``true``/``false``."""
    return Param(wire, Kind.BOOL, required, snake_case(wire))


def Enum_(wire: str, enum: type[StrEnum], *, required: bool = False) -> Param:
    """An upper-case enumerated parameter: enum members or strings in any case."""
    return Param(wire, Kind.ENUM, required, snake_case(wire), enum=enum)


def Millis(wire: str, *, required: bool = False) -> Param:
    """An epoch-milliseconds parameter: an aware ``datetime`` or an ``int`` of milliseconds."""
    return Param(wire, Kind.MILLIS, required, snake_case(wire))


def Repeat(
    wire: str,
    *,
    required: bool = False,
    max_items: int | None = None,
    enum: type[StrEnum] | None = None,
) -> Param:
    """A repeat list (``Name.1``, ``Name.2``, ...) taking a Python list of strings."""
    return Param(wire, Kind.REPEAT, required, list_name(wire), max_items=max_items, enum=enum)


def Structs(
    wire: str,
    fields: tuple[str, ...],
    *,
    accepts: Any,
    each_needs: tuple[str, ...] = (),
    required: bool = False,
    max_items: int | None = None,
) -> Param:
    """A list of structs (``Tag.1.Key``, ``Tag.1.Value``, ...); ``each_needs`` per item.

    An item may be an attrs instance, a dict (by field or wire name) or a tuple in field
    order; ``accepts`` is the item type the keyword's annotation names.
    """
    return Param(
        wire,
        Kind.STRUCTS,
        required,
        list_name(wire),
        max_items=max_items,
        struct_fields=fields,
        struct_required=each_needs,
        accepts=accepts,
    )


_ANNOTATIONS: dict[Kind, Any] = {
    Kind.STR: str,
    Kind.INT: int,
    Kind.FLOAT: float,
    Kind.BOOL: bool,
    Kind.MILLIS: datetime | int,
    Kind.REPEAT: str,
}


# --------------------------------------------------------------------------- encoders


def _encode_str(p: Param, value: Any, action: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, Enum):
        value = value.value
    if not isinstance(value, str):
        raise p.fail(action, f"must be a string, got {type(value).__name__}")
    if value == "" and p.required:
        raise p.fail(action, "must not be empty")
    if p.max_len is not None and len(value) > p.max_len:
        raise p.fail(action, f"must be at most {p.max_len} characters, got {len(value):,}")
    _check_param_text(p, value, action)
    yield p.wire, value


def _check_param_text(p: Param, value: str, action: str, where: str = "") -> None:
    problem = check_text(value)
    if problem:
        raise p.fail(action, f"{where}{problem}")


def _check_int(p: Param, value: Any, action: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise p.fail(action, f"must be an integer, got {type(value).__name__}")
    if (p.low, p.high) == (LONG_MIN, LONG_MAX) and not LONG_MIN <= value <= LONG_MAX:
        raise p.fail(action, f"must fit in a 64-bit Long, got {shown(value)}")
    if p.low is not None and value < p.low:
        raise p.fail(action, f"must be at least {p.low}, got {shown(value)}")
    if p.high is not None and value > p.high:
        raise p.fail(action, f"must be at most {p.high}, got {shown(value)}")
    if p.choices is not None and value not in p.choices:
        allowed = ", ".join(map(str, p.choices))
        raise p.fail(action, f"must be one of {allowed}, got {shown(value)}")
    return value


def _encode_int(p: Param, value: Any, action: str) -> Iterator[tuple[str, str]]:
    yield p.wire, str(_check_int(p, value, action))


def _encode_float(p: Param, value: Any, action: str) -> Iterator[tuple[str, str]]:
    if not math.isfinite(value):
        raise p.fail(action, f"must be a finite number, got {value!r}")
    yield p.wire, repr(value)


def _encode_bool(p: Param, value: Any, action: str) -> Iterator[tuple[str, str]]:
    if not isinstance(value, bool):
        raise p.fail(action, f"must be True or False, got {shown(value)}")
    yield p.wire, "true" if value else "false"


def _enum_text(p: Param, value: Any, action: str) -> str:
    assert p.enum is not None
    text = value.value if isinstance(value, Enum) else value
    if not isinstance(text, str) or not text.strip():
        raise p.fail(action, f"must be one of {_enum_values(p)}, got {shown(value)}")
    upper = text.strip().upper()
    if upper not in p.enum.__members__.values():
        raise p.fail(action, f"must be one of {_enum_values(p)}, got {shown(value)}")
    return upper


def _enum_values(p: Param) -> str:
    assert p.enum is not None
    return ", ".join(m.value for m in p.enum)


def _encode_enum(p: Param, value: Any, action: str) -> Iterator[tuple[str, str]]:
    yield p.wire, _enum_text(p, value, action)


def _encode_millis(p: Param, value: Any, action: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise p.fail(action, "must be a timezone-aware datetime (or epoch milliseconds)")
        millis = round(value.timestamp() * 1000)
    elif isinstance(value, int) and not isinstance(value, bool):
        millis = value
    else:
        raise p.fail(action, f"must be an aware datetime or epoch milliseconds, got {shown(value)}")
    if not 10**12 <= millis < 10**13:
        raise p.fail(action, f"must be a 13-digit epoch-milliseconds time, got {shown(millis)}")
    yield p.wire, str(millis)


def _as_list(p: Param, value: Any, action: str) -> Sequence[Any]:
    # A bare string is iterable too; taking it as a list of characters would be a silent bug.
    if isinstance(value, str | bytes) or not isinstance(value, Sequence | set | frozenset):
        raise p.fail(action, f"must be a list, got {type(value).__name__}")
    items = list(value)
    if p.required and not items:
        raise p.fail(action, "must not be empty")
    if p.max_items is not None and len(items) > p.max_items:
        raise p.fail(action, f"takes at most {p.max_items} items, got {len(items):,}")
    return items


def _encode_repeat(p: Param, value: Any, action: str) -> Iterator[tuple[str, str]]:
    for index, item in enumerate(_as_list(p, value, action), start=1):
        if p.enum is not None:
            text = _enum_text(p, item, action)
        elif isinstance(item, str) and item:
            text = item
            _check_param_text(p, text, action, f"item {index} ")
        else:
            raise p.fail(action, f"item {index} must be a non-empty string, got {shown(item)}")
        yield f"{p.wire}.{index}", text


def _encode_structs(p: Param, value: Any, action: str) -> Iterator[tuple[str, str]]:
    for index, item in enumerate(_as_list(p, value, action), start=1):
        values = _struct_values(p, item, action, index)
        for field, field_value in zip(p.struct_fields, values, strict=True):
            if field_value is None or field_value == "":
                if field in p.struct_required:
                    raise p.fail(action, f"item {index} needs a {field}")
                continue
            if isinstance(field_value, bool) or not isinstance(field_value, str | int):
                raise p.fail(
                    action, f"item {index} {field} must be a string, got {shown(field_value)}"
                )
            if isinstance(field_value, int) and not LONG_MIN <= field_value <= LONG_MAX:
                raise p.fail(
                    action, f"item {index} {field} is out of range, got {shown(field_value)}"
                )
            if isinstance(field_value, str):
                _check_param_text(p, field_value, action, f"item {index} {field} ")
            yield f"{p.wire}.{index}.{field}", str(field_value)


def _struct_values(p: Param, item: Any, action: str, index: int) -> tuple[Any, ...]:
    if attrs.has(type(item)):
        return tuple(getattr(item, snake_case(f), None) for f in p.struct_fields)
    if isinstance(item, dict):
        return tuple(item.get(snake_case(f), item.get(f)) for f in p.struct_fields)
    if isinstance(item, tuple | list) and len(item) <= len(p.struct_fields):
        return tuple(item) + (None,) * (len(p.struct_fields) - len(item))
    raise p.fail(action, f"item {index} must be a {'/'.join(p.struct_fields)} object or tuple")


_ENCODERS = {
    Kind.STR: _encode_str,
    Kind.INT: _encode_int,
    Kind.FLOAT: _encode_float,
    Kind.BOOL: _encode_bool,
    Kind.ENUM: _encode_enum,
    Kind.MILLIS: _encode_millis,
    Kind.REPEAT: _encode_repeat,
    Kind.STRUCTS: _encode_structs,
}


# --------------------------------------------------------------------------- call()'s params

_RESERVED = frozenset(
    (
        "Action",
        "Format",
        "Version",
        "AccessKeyId",
        "SignatureMethod",
        "SignatureVersion",
        "SignatureNonce",
        "Timestamp",
        "SecurityToken",
        "Signature",
    )
)
_WIRE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.]{0,127}", re.ASCII)


def encode_raw(action: str, params: Mapping[Any, Any]) -> dict[str, str]:
    """Wire parameters from ``{"WireName": value}``, as ``call`` takes them.

    Each value is encoded by the kind its Python type names (a bool, an int within the
    API's 64-bit ``Long``, a finite float, a string); a list or tuple becomes ``Name.1``,
    ``Name.2``, ... and a mapping in it ``Name.1.Key``; ``None`` is left out.

    >>> encode_raw("QueryOTAJob", {"JobId": "j1", "Tag": [{"Key": "k"}], "Flag": True})
    {'JobId': 'j1', 'Tag.1.Key': 'k', 'Flag': 'true'}
    """
    wire: dict[str, str] = {}
    for name, value in params.items():
        _check_wire_name(action, name)
        if value is None:
            continue
        for key, text in _raw_pairs(action, name, value):
            if key in wire:
                raise ValidationError(f"params give {key} twice", action=action)
            wire[key] = text
    return wire


def _raw_pairs(action: str, name: str, value: Any) -> Iterator[tuple[str, str]]:
    if not isinstance(value, list | tuple):
        yield name, _raw_scalar(action, name, value)
        return
    for index, item in enumerate(value, start=1):
        if not isinstance(item, Mapping):
            yield f"{name}.{index}", _raw_scalar(action, name, item)
            continue
        for key, sub in item.items():
            if not (isinstance(key, str) and _WIRE_NAME.fullmatch(key)):
                raise ValidationError(
                    f"{name}: item {index} has a key that is not a wire name: {shown(key)}",
                    action=action,
                )
            if sub is not None:
                yield f"{name}.{index}.{key}", _raw_scalar(action, name, sub)


def _raw_scalar(action: str, name: str, value: Any) -> str:
    # bool before int: True is an int too.
    kind = next((k for t, k in _RAW_KINDS if isinstance(value, t)), None)
    if kind is None:
        raise ValidationError(f"{name}: cannot send a {type(value).__name__}", action=action)
    param = Param(name, kind, name=name, low=LONG_MIN, high=LONG_MAX)
    ((_, text),) = _ENCODERS[kind](param, value, action)
    return text


_RAW_KINDS = ((bool, Kind.BOOL), (int, Kind.INT), (float, Kind.FLOAT), (str, Kind.STR))


def _check_wire_name(action: str, name: object) -> None:
    if not (isinstance(name, str) and _WIRE_NAME.fullmatch(name)):
        raise ValidationError(
            f"params: {shown(name)} is not a wire name (ASCII letters, digits, '_' and '.', "
            "starting with a letter, such as 'JobId'); a parameter name is required",
            action=action,
        )
    if name in _RESERVED:
        raise ValidationError(
            f"params: {name} is set by the client on every request and cannot be given",
            action=action,
        )
