"""Request parameters: how each kind of argument is checked and written on the wire.

A ``Param`` describes one wire parameter (its wire name, kind, whether it is required, its
documented limits). ``Param.encode`` turns a Python value into ``(wire name, text)`` pairs,
or raises ``ValidationError`` naming the argument. Rules the reference documents:

* strings go on the wire unchanged; enumerations are upper-cased (``"all"`` -> ``ALL``);
* integers in decimal, booleans as ``true``/``false``;
* times (``ScheduleTime``) as 13-digit epoch milliseconds, from an aware ``datetime`` or an int;
* repeat lists as ``Name.1``, ``Name.2``, ... and struct lists as ``Tag.1.Key``, ``Tag.1.Value``;
* unset (``None``) parameters are left out entirely.

What a request can carry bounds the rest: text must be valid Unicode (a lone surrogate has
no UTF-8 form), integers must fit the API's ``Integer`` (32-bit) or ``Long`` (64-bit), and
all parameters together must fit in one request URL (``check_size``). Lists without a
documented maximum are refused when they do not fit, never split into several calls: one
write split into several is no longer atomic, and a failure half-way would leave a state
the caller did not ask for.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from enum import Enum, StrEnum
from typing import Any

import attrs

from ._errors import ValidationError
from ._signing import percent_encode

__all__ = [
    "INTEGER_MAX",
    "INTEGER_MIN",
    "LONG_MAX",
    "LONG_MIN",
    "Bool",
    "Enum_",
    "Int",
    "Millis",
    "Param",
    "Repeat",
    "Str",
    "Structs",
    "check_size",
    "check_text",
    "shown",
    "snake_case",
]

INTEGER_MIN, INTEGER_MAX = -(2**31), 2**31 - 1
"""The API's ``Integer`` type (Java's int): the default range of an ``Int`` parameter."""
LONG_MIN, LONG_MAX = -(2**63), 2**63 - 1
"""The API's ``Long`` type: the widest integer any parameter takes."""


def snake_case(name: str) -> str:
    """``GenerateOTAUploadURL`` -> ``generate_ota_upload_url``; ``IotId`` -> ``iot_id``.

    >>> snake_case("ListOTATaskByJob"), snake_case("DnListFileUrl")
    ('list_ota_task_by_job', 'dn_list_file_url')
    """
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return name.lower()


def _list_name(wire: str) -> str:
    # Naming rule: plural of a singular wire name; "...s" and "...List" names kept as they are.
    snake = snake_case(wire)
    return snake if wire.endswith(("s", "List")) else f"{snake}s"


@attrs.frozen
class Param:
    """One wire parameter of an action. Use the helpers ``Str``, ``Int``, ... to build one."""

    wire: str
    kind: str
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


def Str(wire: str, *, required: bool = False, max_len: int | None = None) -> Param:
    """A free-form string parameter, sent unchanged."""
    return Param(wire, "str", required, snake_case(wire), max_len=max_len)


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
    return Param(wire, "int", required, name or snake_case(wire), low, high, choices)


def Bool(wire: str, *, required: bool = False) -> Param:
    """A boolean parameter, sent as ``true``/``false``."""
    return Param(wire, "bool", required, snake_case(wire))


def Enum_(wire: str, enum: type[StrEnum], *, required: bool = False) -> Param:
    """An upper-case enumerated parameter: enum members or strings in any case."""
    return Param(wire, "enum", required, snake_case(wire), enum=enum)


def Millis(wire: str, *, required: bool = False) -> Param:
    """An epoch-milliseconds parameter: an aware ``datetime`` or an ``int`` of milliseconds."""
    return Param(wire, "millis", required, snake_case(wire))


def Repeat(
    wire: str,
    *,
    required: bool = False,
    max_items: int | None = None,
    enum: type[StrEnum] | None = None,
) -> Param:
    """A repeat list (``Name.1``, ``Name.2``, ...) taking a Python list of strings."""
    return Param(wire, "repeat", required, _list_name(wire), max_items=max_items, enum=enum)


def Structs(
    wire: str,
    fields: tuple[str, ...],
    *,
    each_needs: tuple[str, ...] = (),
    required: bool = False,
    max_items: int | None = None,
) -> Param:
    """A list of structs (``Tag.1.Key``, ``Tag.1.Value``, ...); ``each_needs`` per item."""
    return Param(
        wire,
        "structs",
        required,
        _list_name(wire),
        max_items=max_items,
        struct_fields=fields,
        struct_required=each_needs,
    )


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


def check_text(value: str) -> str | None:
    """What keeps ``value`` from going on the wire as UTF-8, or ``None`` when nothing does.

    >>> check_text("ok"), check_text("bad\\ud800")
    (None, 'has a lone surrogate (U+D800) at index 3, which UTF-8 cannot encode')
    """
    if value.isascii():
        return None  # the common case, and a cheap test
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        return (
            f"has a lone surrogate (U+{ord(value[exc.start]):04X}) at index {exc.start}, "
            "which UTF-8 cannot encode"
        )
    return None


def _check_param_text(p: Param, value: str, action: str, where: str = "") -> None:
    problem = check_text(value)
    if problem:
        raise p.fail(action, f"{where}{problem}")


def shown(value: Any, limit: int = 60) -> str:
    """A short ``repr`` of ``value`` for a message: never the whole of a huge argument.

    >>> shown("x" * 100, limit=12)
    "'xxxxxxx...(102 characters)"
    """
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**30:
        # str() of a huge int is slow, and beyond 4,300 digits it raises ValueError.
        return f"an integer of {value.bit_length():,} bits"
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 4]}...({len(text):,} characters)"


def _check_int(p: Param, value: Any, action: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise p.fail(action, f"must be an integer, got {type(value).__name__}")
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
    "str": _encode_str,
    "int": _encode_int,
    "bool": _encode_bool,
    "enum": _encode_enum,
    "millis": _encode_millis,
    "repeat": _encode_repeat,
    "structs": _encode_structs,
}


# --------------------------------------------------------------------------- request size


def check_size(
    wire: Mapping[str, str],
    budget: int,
    *,
    action: str,
    params: Sequence[Param] = (),
) -> None:
    """Refuse ``wire`` when its parameters, percent-encoded, exceed ``budget`` characters.

    The error names the argument taking the most room: its Python name when ``params``
    describes it, else its wire name (``call``'s parameters).
    """
    rough = sum(len(name) + len(value) + 2 for name, value in wire.items())
    if rough * _WORST_EXPANSION <= budget:
        return  # fits even if every character took its longest encoding: skip the count
    sizes: dict[str, int] = {}
    total = 0
    for name, value in wire.items():
        size = len(percent_encode(name)) + len(percent_encode(value)) + 2
        total += size
        base = name.split(".", 1)[0]  # TaskId.17 and Tag.3.Key count for TaskId and Tag
        sizes[base] = sizes.get(base, 0) + size
    if total <= budget:
        return
    biggest = max(sizes, key=sizes.__getitem__)
    names = {p.wire: p.name for p in params}
    argument = names.get(biggest) or f"params[{biggest!r}]"
    raise ValidationError(
        f"{argument} is too large to send: it takes {sizes[biggest]:,} characters once "
        f"percent-encoded, and the whole request {total:,}, where one request URL carries "
        f"at most {budget:,} here (65,536 less the endpoint, the signature and the common "
        "parameters)",
        action=action,
    )


_WORST_EXPANSION = 12  # a 4-byte UTF-8 character becomes 12 characters of %XX
