"""From parsed bodies to attrs models: one cattrs converter, configured once.

``_parse`` turns bytes into plain dicts and lists; this module structures those into the
models, whichever dialect or format they came in:

* Keys match whatever their case or spelling of acronyms (``FirmwareId``, ``firmwareId``,
  ``FirmwareID``; ``IotId``, ``IoTID``): they are compared with underscores removed and
  letters lower-cased, once per class, by a hook factory rather than per-class code.
* List wrappers (``{"SimpleOTAJobInfo": [...]}``, ``Tags.OtaTagDTO``) are unwrapped, and a
  one-item XML list (a single child element) becomes a list again.
* Numeric strings become ``int``, times become aware UTC ``datetime``, booleans are read
  from ``true``/``false`` text, known enum values become enum members and unknown ones stay
  raw strings.

Anything that does not fit raises ``DecodeProblem`` naming the path that failed; the client
turns it into a ``ResponseError`` naming the action and request id.
"""

from __future__ import annotations

import re
import reprlib
import types
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar, Union, get_args, get_origin

import attrs
import cattrs

from ._models import spellings
from ._parse import DecodeProblem
from ._redact import scrub

__all__ = [
    "configure_converter",
    "converter",
    "get_key",
    "make_converter",
    "normalise_key",
    "structure",
    "structure_list",
]

T = TypeVar("T")


# --------------------------------------------------------------------------- keys


def normalise_key(key: str) -> str:
    """Fold a wire key or a field name to the form keys are compared in.

    >>> normalise_key("FirmwareID") == normalise_key("firmware_id") == normalise_key("firmwareId")
    True
    """
    return key.replace("_", "").lower()


def get_key(mapping: Mapping[str, Any], name: str) -> Any:
    """Return ``mapping``'s value under ``name`` in any case, or ``None``.

    >>> get_key({"requestId": "r1"}, "RequestId")
    'r1'
    """
    if name in mapping:
        return mapping[name]
    wanted = normalise_key(name)
    for key, value in mapping.items():
        if isinstance(key, str) and normalise_key(key) == wanted:
            return value
    return None


# --------------------------------------------------------------------------- scalar hooks


def _to_str(value: Any, _: Any = None) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    raise DecodeProblem(f"expected a string, got {type(value).__name__}")


_INT_TEXT = re.compile(r"\s*[-+]?\d{1,30}\s*")


def _to_int(value: Any, _: Any = None) -> int:
    if isinstance(value, bool):
        raise DecodeProblem("expected an integer, got a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _INT_TEXT.fullmatch(value):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise DecodeProblem(f"expected an integer, got {_preview(value)}")


def _to_bool(value: Any, _: Any = None) -> bool:
    # cattrs' default would make the string "false" True: XML and loose JSON send text.
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        folded = value.strip().lower()
        if folded == "true":
            return True
        if folded == "false":
            return False
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise DecodeProblem(f"expected a boolean, got {_preview(value)}")


_EPOCH_MS_FLOOR = 10**11  # numbers above this are milliseconds, below it seconds


def _to_datetime(value: Any, _: Any = None) -> datetime:
    if type(value) is str and len(value) == 24 and value[10] == "T" and value[23] == "Z":
        # The common shape, 2019-12-28T02:43:10.000Z: one C call, already UTC.
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            pass  # fall through to the careful path for the error message
    if isinstance(value, bool):
        raise DecodeProblem("expected a time, got a boolean")
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, int | float):
        seconds = value / 1000 if value > _EPOCH_MS_FLOOR else value
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            raise DecodeProblem(f"time {value!r} is out of range") from None
    if not isinstance(value, str):
        raise DecodeProblem(f"expected a time, got {type(value).__name__}")
    # The re-hosted documents print "2019-12-28 T02:43:10.000Z": drop the stray space.
    text = value.strip().replace(" T", "T")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise DecodeProblem(f"expected an ISO 8601 time, got {_preview(value)}") from None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _preview(value: Any) -> str:
    # Scrubbed before it is cut (a secret cut in half would no longer be recognised), and
    # depth-limited: repr() of a 1,000-deep list overflows the stack.
    text = repr(scrub(value)) if isinstance(value, str) else scrub(reprlib.repr(value))
    return text if len(text) <= 40 else text[:37] + "..."


# --------------------------------------------------------------------------- hook factories


def _strip_none(tp: Any) -> Any:
    """``X | None`` -> ``X``; None values never reach a field hook."""
    if get_origin(tp) in (Union, types.UnionType):
        args = tuple(a for a in get_args(tp) if a is not type(None))
        if len(args) == 1:
            return args[0]
        return Union[args]  # noqa: UP007 - rebuilding a union from a tuple needs the old form
    return tp


def _enum_in_union(tp: Any) -> type[StrEnum] | None:
    if get_origin(tp) not in (Union, types.UnionType):
        return None
    for arg in get_args(tp):
        if isinstance(arg, type) and issubclass(arg, StrEnum):
            return arg
    return None


def _make_enum_hook(tp: Any) -> Callable[[Any, Any], Any]:
    enum_cls = _enum_in_union(tp)
    assert enum_cls is not None
    members = spellings(enum_cls)

    def structure_enum_or_raw(value: Any, _: Any) -> StrEnum | str:
        text = _to_str(value)
        member = members.get(text) or members.get(text.upper())
        return member if member is not None else text

    return structure_enum_or_raw


def _is_list(tp: Any) -> bool:
    return get_origin(tp) is list


def _make_list_hook(tp: Any, conv: cattrs.Converter) -> Callable[[Any, Any], list[Any]]:
    (item_type,) = get_args(tp) or (Any,)
    item_hook = conv.get_structure_hook(item_type)
    item_keys = (
        {normalise_key(f.name) for f in attrs.fields(item_type)} if attrs.has(item_type) else set()
    )

    def unwrap(value: Any, depth: int = 0) -> list[Any]:
        if value is None or value == "":
            return []
        if isinstance(value, list):
            return value
        if isinstance(value, dict):
            if item_keys and any(normalise_key(k) in item_keys for k in value):
                return [value]  # one XML item, or one JSON object where a list belongs
            if len(value) == 1 and depth < 2:
                return unwrap(next(iter(value.values())), depth + 1)
            if not value:
                return []
        elif not item_keys and isinstance(value, str | int):
            return [value]
        raise DecodeProblem(f"expected a list, got {type(value).__name__}")

    def structure_list(value: Any, _: Any) -> list[Any]:
        out = []
        for index, item in enumerate(unwrap(value)):
            if item is None:
                continue
            try:
                out.append(item_hook(item, item_type))
            except DecodeProblem as exc:
                raise DecodeProblem(f"[{index}]{_join(exc)}") from None
        return out

    return structure_list


def _join(exc: DecodeProblem) -> str:
    text = str(exc)
    return text if text.startswith(("[", ".")) else f": {text}"


_MAX_PLANS = 32

# One step of a plan: (wire key, field name, hook, field type); hook None = take a str as is.
_Step = tuple[str, str, Callable[[Any, Any], Any] | None, Any]
# A field by its folded name: (field name, hook, field type).
_Field = tuple[str, Callable[[Any, Any], Any] | None, Any]


def _plan_for(
    keys: tuple[Any, ...], by_key: Mapping[str, _Field], fallbacks: Mapping[str, str]
) -> list[_Step]:
    # Which wire key fills which field, worked out once per set of keys: every item of a
    # page has the same keys, so a page costs one plan and a dict lookup per item.
    steps: list[_Step] = []
    filled: set[str] = set()
    spare: dict[str, str] = {}
    for key in keys:
        if not isinstance(key, str):
            continue
        entry = by_key.get(normalise_key(key))
        if entry is None:
            spare[normalise_key(key)] = key
            continue
        steps.append((key, *entry))
        filled.add(entry[0])
    for wire, field_name in fallbacks.items():
        if field_name not in filled and wire in spare:
            steps.append((spare[wire], *by_key[normalise_key(field_name)]))
    return steps


def _make_attrs_hook(cls: type[Any], conv: cattrs.Converter) -> Callable[[Any, Any], Any]:
    hints = attrs.resolve_types(cls)
    by_key: dict[str, _Field] = {}
    for field in attrs.fields(hints):
        inner = _strip_none(field.type)
        hook = None if inner is str else conv.get_structure_hook(inner)
        by_key[normalise_key(field.name)] = (field.name, hook, inner)
    fallbacks: Mapping[str, str] = getattr(cls, "_wire_fallbacks", {})
    name = cls.__name__
    plans: dict[tuple[Any, ...], list[_Step]] = {}

    def structure_attrs(value: Any, _: Any) -> Any:
        if type(value) is not dict:
            raise DecodeProblem(f"expected an object for {name}, got {type(value).__name__}")
        keys = tuple(value)
        plan = plans.get(keys)
        if plan is None:
            plan = _plan_for(keys, by_key, fallbacks)
            if len(plans) < _MAX_PLANS:  # odd bodies cannot grow the cache without bound
                plans[keys] = plan
        kwargs: dict[str, Any] = {}
        for key, field_name, hook, field_type in plan:
            raw = value[key]
            if raw is None:
                continue
            if hook is None and type(raw) is str:
                kwargs[field_name] = raw
                continue
            try:
                kwargs[field_name] = (hook or _to_str)(raw, field_type)
            except DecodeProblem as exc:
                raise DecodeProblem(f".{field_name}{_join(exc)}") from None
        return cls(**kwargs)

    return structure_attrs


def configure_converter(conv: cattrs.Converter) -> None:
    """Register the hooks that decode API bodies into the models on ``conv``."""
    conv.register_structure_hook(str, _to_str)
    conv.register_structure_hook(int, _to_int)
    conv.register_structure_hook(bool, _to_bool)
    conv.register_structure_hook(datetime, _to_datetime)
    conv.register_structure_hook_factory(lambda tp: _enum_in_union(tp) is not None, _make_enum_hook)
    conv.register_structure_hook_factory(_is_list, _make_list_hook)
    conv.register_structure_hook_factory(attrs.has, _make_attrs_hook)


def make_converter() -> cattrs.Converter:
    """Return a new converter configured for API bodies."""
    conv = cattrs.Converter()
    configure_converter(conv)
    return conv


converter = make_converter()
"""The one converter every response goes through."""


def structure(value: Any, cls: type[T]) -> T:
    """Structure ``value`` into ``cls`` with the shared converter.

    >>> from otaclient._models import OTATag
    >>> structure({"Key": "k", "value": "v"}, OTATag)
    OTATag(key='k', value='v')
    """
    result: T = converter.structure(value, cls)
    return result


def structure_list(value: Any, item: type[T]) -> list[T]:
    """Structure ``value`` into a list of ``item``, unwrapping list wrappers on the way.

    >>> from otaclient._models import OTATag
    >>> structure_list({"OtaTagDTO": {"Key": "k", "Value": "v"}}, OTATag)
    [OTATag(key='k', value='v')]
    """
    # The alias is built at run time from `item`, which a static type cannot name.
    alias: Any = types.GenericAlias(list, (item,))
    result: list[T] = converter.structure(value, alias)
    return result
