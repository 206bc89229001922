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

Speed (issue 14): a model is structured by a function generated for its key shape (the
keys of a dict, in order; every item of a page has one of a few), found by the dict's
length alone when one shape has that length. The function reads the dict's keys by name,
skips the hook for a value that already has the right type (a str for a str, an int for
an int, a known enum value), reads the common time format with one C call, and fills a
mutable twin of the model's layout that then becomes the model: no kwargs dict, no attrs
``__init__``, no call per field. The same plan is also interpreted
(``_ModelStructurer.interpret``): for shapes past the cache's bound and to say which field
failed. benchmarks/decode.py measures it; the property tests hold it to a plain reference
decoder.

Anything that does not fit raises ``DecodeProblem`` naming the path that failed; the client
turns it into a ``ResponseError`` naming the action and request id.
"""

from __future__ import annotations

import functools
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
    wanted = _folded.get(name) or _fold(name)
    for key, value in mapping.items():
        if isinstance(key, str) and (_folded.get(key) or _fold(key)) == wanted:
            return value
    return None


# Folded keys by wire key: a page's paging keys and envelope are looked up in every answer,
# and the camelCase dialect misses the exact spelling each time (a fold per key per lookup).
_folded: dict[str, str] = {}
_MAX_FOLDED = 4096
_MAX_FOLDED_KEY = 64  # a hostile body's megabyte-long key is folded, never kept


def _fold(key: str) -> str:
    folded = normalise_key(key)
    if len(_folded) < _MAX_FOLDED and len(key) <= _MAX_FOLDED_KEY:
        _folded[key] = folded
    return folded


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
    if value.__class__ is str and value.isdecimal() and len(value) <= 30:
        return int(value)  # what XML sends: digits only, no regex needed
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

    # Keys seen wrapping a list of items (``OtaTagDTO``): no item has them, so a one-key
    # dict holding a list under one of them is that list, found without folding its key.
    wrappers: set[str] = set()

    def unwrap(value: Any, depth: int = 0) -> list[Any]:
        if value is None or value == "":
            return []
        if isinstance(value, list):
            return value
        if isinstance(value, dict):
            if item_keys and any(normalise_key(k) in item_keys for k in value):
                return [value]  # one XML item, or one JSON object where a list belongs
            if len(value) == 1 and depth < 2:
                ((key, inner),) = value.items()
                if isinstance(inner, list) and isinstance(key, str) and len(wrappers) < _MAX_SHAPES:
                    wrappers.add(key)
                return unwrap(inner, depth + 1)
            if not value:
                return []
        elif not item_keys and isinstance(value, str | int):
            return [value]
        raise DecodeProblem(f"expected a list, got {type(value).__name__}")

    by_length = item_hook.by_length if isinstance(item_hook, _ModelStructurer) else None

    def structure_list(value: Any, _: Any) -> list[Any]:
        if value.__class__ is list:
            items = value
        elif value.__class__ is dict and len(value) == 1:
            ((key, items),) = value.items()
            if items.__class__ is not list or key not in wrappers:
                items = unwrap(value)
        else:
            items = unwrap(value)
        if by_length:
            # The common case: every item a dict of a key shape already generated for.
            try:
                return [by_length[len(item)](item) for item in items]
            except (KeyError, TypeError, AttributeError, *_GENERATED_FAILURES):
                pass  # a new shape, an item that is not an object, or a value that does not fit
        out = []
        for index, item in enumerate(items):
            if item is None:
                continue
            try:
                out.append(item_hook(item, item_type))
            except DecodeProblem as exc:
                raise DecodeProblem(f"[{index}]{_join(exc)}") from None
        return out

    return structure_list


def _either(key: Any, with_key: _Build, without_key: _Build, value: dict[Any, Any]) -> Any:
    return (with_key if key in value else without_key)(value)


def _join(exc: DecodeProblem) -> str:
    text = str(exc)
    return text if text.startswith(("[", ".")) else f": {text}"


_MAX_SHAPES = 32  # per model: odd bodies cannot grow the caches without bound
_MAX_GENERATED_KEYS = 64  # a shape with more keys than this is interpreted, never compiled

# One step of a plan: (wire key, field name, hook, field type); hook None = take a str as is.
_Step = tuple[str, str, Callable[[Any, Any], Any] | None, Any]
# A field by its folded name: (field name, hook, field type).
_Field = tuple[str, Callable[[Any, Any], Any] | None, Any]
# A model built from a dict of the key shape it was made for.
_Build = Callable[[dict[Any, Any]], Any]
# What a generated function raises to hand an item to ``interpret``: a value that does not
# fit, or a time its inlined fast path could not read (``interpret`` reads it carefully).
_GENERATED_FAILURES = (DecodeProblem, ValueError)


def _plan_for(
    keys: tuple[Any, ...], by_key: Mapping[str, _Field], fallbacks: Mapping[str, str]
) -> list[_Step]:
    # Which wire key fills which field, worked out once per key shape: every item of a
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


class _ModelStructurer:
    """Structures dicts into one attrs model, by a function generated per key shape.

    A key shape is ``tuple(value)``: the keys a dict has, in order. Its plan (which key
    fills which field, through which hook) is compiled into a function that reads the
    dict's keys by name, converts each value with a fast path for values that already
    have the right type, and sets the slots of a new instance directly: no kwargs dict,
    no per-field calls. The plan is also interpreted (``interpret``): for shapes past
    the cache's bound, and to name the path when a value does not fit.
    """

    def __init__(self, cls: type[Any], conv: cattrs.Converter) -> None:
        self.cls = cls
        self.name = cls.__name__
        hints = attrs.resolve_types(cls)
        self.fields = attrs.fields(hints)
        self.by_key: dict[str, _Field] = {}
        for field in self.fields:
            inner = _strip_none(field.type)
            hook = None if inner is str else conv.get_structure_hook(inner)
            self.by_key[normalise_key(field.name)] = (field.name, hook, inner)
        self.fallbacks: Mapping[str, str] = getattr(cls, "_wire_fallbacks", {})
        self.plans: dict[tuple[Any, ...], list[_Step]] = {}
        self.builds: dict[tuple[Any, ...], _Build] = {}
        # The build for a dict of each length: the one shape of that length, or, where
        # several shapes share it (or key order matters), the lookup by shape. Either
        # raises KeyError for a dict of a shape not generated yet.
        self.by_length: dict[int, _Build] = {}
        builds = self.builds

        def by_shape(value: dict[Any, Any]) -> Any:
            return builds[tuple(value)](value)

        self.by_shape = by_shape
        # Every field has a default that needs no instance, and is an __init__ argument: a
        # shape may leave any of them out.
        self.generates = all(
            f.init
            and f.default is not attrs.NOTHING
            and not getattr(f.default, "takes_self", False)
            for f in self.fields
        )
        self.sets_slots = _slots_settable(cls)
        self.twin = _mutable_twin(cls) if self.sets_slots else None

    def __call__(self, value: Any, _: Any = None) -> Any:
        if type(value) is not dict:
            raise DecodeProblem(f"expected an object for {self.name}, got {type(value).__name__}")
        build = self.builds.get(tuple(value))
        if build is None:
            build = self.build_for(tuple(value))
            if build is None:
                return self.interpret(value)
        try:
            return build(value)
        except _GENERATED_FAILURES:
            return self.interpret(value)  # raises, naming the field, or takes the slow path

    def build_for(self, keys: tuple[Any, ...]) -> _Build | None:
        """The generated function for ``keys``; ``None`` when the shape is interpreted."""
        build = self.builds.get(keys)
        if (
            build is None
            and self.generates
            and len(self.builds) < _MAX_SHAPES
            and len(keys) <= _MAX_GENERATED_KEYS
        ):
            build = self.builds[keys] = self._generate(keys)
            self.by_length[len(keys)] = self._for_length(keys, build)
        return build

    def _for_length(self, keys: tuple[Any, ...], build: _Build) -> _Build:
        """What ``by_length`` holds for dicts of ``len(keys)`` once ``keys`` has ``build``.

        A build reads its keys by name and raises KeyError for a dict without them, so a
        dict of the right length that a build accepts has exactly its keys. One shape of a
        length: its build. Two: one key that only the first holds tells them apart (the
        jobs lists' ``UtcEndTime`` and ``Tags`` shapes), a set lookup instead of hashing
        every key. More, or key order that matters: the lookup by shape.
        """
        length = len(keys)
        others = [shape for shape in self.builds if len(shape) == length and shape != keys]
        if not self._order_free(keys):
            return self.by_shape
        if not others:
            return build
        if len(others) > 1 or not self._order_free(others[0]):
            return self.by_shape
        (other,) = others
        if set(other) == set(keys):
            return self.builds[other]  # the same keys in another order: either build
        only_in_other = next(key for key in other if key not in set(keys))
        return functools.partial(_either, only_in_other, self.builds[other], build)

    def _order_free(self, keys: tuple[Any, ...]) -> bool:
        # A build reads its keys by name: a dict of the same length holding them all has
        # exactly these keys, maybe in another order, which matters only where two keys
        # fill one field (the last that is not None wins).
        fields = [step[1] for step in self.plan(keys)]
        return len(fields) == len(set(fields))

    def plan(self, keys: tuple[Any, ...]) -> list[_Step]:
        """Which key fills which field, for a dict with ``keys``."""
        plan = self.plans.get(keys)
        if plan is None:
            plan = _plan_for(keys, self.by_key, self.fallbacks)
            if len(self.plans) < _MAX_SHAPES:
                self.plans[keys] = plan
        return plan

    def interpret(self, value: dict[Any, Any]) -> Any:
        """Structure ``value`` by walking its plan: the plain path, and the one whose
        errors name the field that failed."""
        kwargs: dict[str, Any] = {}
        for key, field_name, hook, field_type in self.plan(tuple(value)):
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
        return self.cls(**kwargs)

    def _generate(self, keys: tuple[Any, ...]) -> _Build:
        steps_by_field: dict[str, list[tuple[int, Callable[[Any, Any], Any] | None, Any]]] = {}
        position = {key: index for index, key in enumerate(keys)}
        for key, field_name, hook, field_type in self.plan(keys):
            steps_by_field.setdefault(field_name, []).append((position[key], hook, field_type))
        env: dict[str, Any] = {
            "_cls": self.cls,
            "_new": object.__new__,
            "_to_str": _to_str,
            "_to_int": _to_int,
            "DecodeProblem": DecodeProblem,
        }
        lines: list[str] = []
        outputs: list[str] = []
        last_time: tuple[str, str] | None = None  # (arg, out) of the last time field
        for number, field in enumerate(self.fields):
            steps = steps_by_field.get(field.name, [])
            out = f"f{number}"
            outputs.append(out)
            default = _default_expression(field, number, env)
            if len(steps) == 1:
                index, hook, field_type = steps[0]
                converted = _convert_lines(f"a{index}", out, hook, field_type, number, env)
                if field_type is datetime and default == "None":
                    if last_time is not None:
                        # Times repeat within an item (UtcModified is often UtcCreate): the
                        # same text is the same datetime, and a datetime is immutable.
                        arg, earlier = f"a{index}", last_time
                        lines.append(f"    if {arg}.__class__ is str and {arg} == {earlier[0]}:")
                        lines.append(f"        {out} = {earlier[1]}")
                        lines.append("    else:")
                        converted = ["    " + line for line in converted]
                    last_time = (f"a{index}", out)
                lines += converted
                if default != "None":
                    lines.append(f"    if {out} is None: {out} = {default}")
                continue
            # Absent, or filled by several spellings (JobId and JobID): the last one that
            # is not None wins, as in ``interpret``.
            lines.append(f"    {out} = {default}")
            for index, hook, field_type in steps:
                lines.append(f"    if a{index} is not None:")
                lines += [
                    "    " + line
                    for line in _convert_lines(f"a{index}", out, hook, field_type, number, env)
                ]
        for index, key in enumerate(keys):
            env[f"_key{index}"] = key
        # Every key is read, used or not: a dict missing one is of another shape (KeyError).
        reads = [f"    a{index} = d[_key{index}]" for index in range(len(keys))]
        if self.twin is not None:
            env["_twin"] = self.twin
            body = ["    o = _twin()"]
            body += [
                f"    o.{field.name} = {out}"
                for field, out in zip(self.fields, outputs, strict=True)
            ]
            body += ["    o.__class__ = _cls", "    return o"]
        elif self.sets_slots:
            for number, field in enumerate(self.fields):
                env[f"_set{number}"] = getattr(self.cls, field.name).__set__
            body = ["    o = _new(_cls)"]
            body += [f"    _set{number}(o, {out})" for number, out in enumerate(outputs)]
            body.append("    return o")
        else:
            arguments = ", ".join(
                f"{f.alias}={out}" for f, out in zip(self.fields, outputs, strict=True)
            )
            body = [f"    return _cls({arguments})"]
        source = "\n".join(["def build(d):", *reads, *lines, *body]) + "\n"
        namespace: dict[str, Any] = {}
        # The source holds generated names only: wire keys never reach it.
        exec(
            compile(source, f"<otaclient: {self.name} from {len(keys)} keys>", "exec"),
            env,
            namespace,
        )
        build: _Build = namespace["build"]
        return build


def _convert_lines(
    arg: str,
    out: str,
    hook: Callable[[Any, Any], Any] | None,
    field_type: Any,
    number: int,
    env: dict[str, Any],
) -> list[str]:
    """Source lines that set ``out`` to ``arg`` converted for the field (``None`` stays
    ``None``), skipping the hook when the value already has the right type."""
    if hook is None:
        return [f"    {out} = {arg} if {arg}.__class__ is str or {arg} is None else _to_str({arg})"]
    env[f"_hook{number}"], env[f"_type{number}"] = hook, field_type
    call = f"_hook{number}({arg}, _type{number})"
    if field_type is int and hook is _to_int:
        # Ints as JSON sends them, or digits only as XML does; anything else to the hook.
        return [
            f"    {out} = {arg} if {arg}.__class__ is int or {arg} is None else "
            f"int({arg}) if {arg}.__class__ is str and {arg}.isdecimal() and len({arg}) <= 30 "
            f"else {call}"
        ]
    if field_type is int:
        return [f"    {out} = {arg} if {arg}.__class__ is int or {arg} is None else {call}"]
    if field_type is datetime and hook is _to_datetime:
        # _to_datetime's own fast path, inlined; a ValueError goes to ``interpret``.
        env["_fromisoformat"] = datetime.fromisoformat
        return [
            f"    {out} = _fromisoformat({arg}) if {arg}.__class__ is str and len({arg}) == 24 "
            f"and {arg}[23] == 'Z' else ({arg} if {arg} is None else {call})"
        ]
    enum_cls = _enum_in_union(field_type)
    if enum_cls is not None:
        # The hook's own table (values and variant spellings) for text it would find as is.
        env[f"_member{number}"] = spellings(enum_cls).get
        return [
            f"    {out} = {arg} if {arg} is None else "
            f"(_member{number}({arg}) if {arg}.__class__ is str else None) or {call}"
        ]
    return [f"    {out} = {arg} if {arg} is None else {call}"]


def _default_expression(field: attrs.Attribute[Any], number: int, env: dict[str, Any]) -> str:
    default: Any = field.default
    factory = getattr(default, "factory", None)  # an attrs.Factory: a new value each time
    if factory is list:
        return "[]"
    if factory is not None:
        env[f"_factory{number}"] = factory
        return f"_factory{number}()"
    if default is None:
        return "None"
    env[f"_default{number}"] = default
    return f"_default{number}"


def _slots_settable(cls: type[Any]) -> bool:
    """Whether an instance can be built by setting its slots: slots that are exactly the
    fields (no hidden state such as a cached hash), and nothing in ``__init__`` besides
    storing the arguments (no validators, converters, pre- or post-init hooks)."""
    fields = attrs.fields(cls)
    slots = {name for klass in cls.__mro__ for name in getattr(klass, "__slots__", ())}
    if slots - {"__weakref__"} != {f.name for f in fields}:
        return False
    if hasattr(cls, "__attrs_post_init__") or hasattr(cls, "__attrs_pre_init__"):
        return False
    return all(
        isinstance(getattr(cls, f.name, None), types.MemberDescriptorType)
        and f.validator is None
        and f.converter is None
        for f in fields
    )


def _mutable_twin(cls: type[Any]) -> type[Any] | None:
    """A class of ``cls``'s exact layout without its frozen ``__setattr__``, or ``None``.

    An instance of the twin is filled by plain attribute stores (the interpreter's fastest
    way to set a slot: setting through ``object.__setattr__`` or a slot descriptor costs a
    call each, about 100 ns a field) and then becomes a ``cls`` by ``__class__``
    assignment, which CPython allows only between classes of the same layout. Whether it
    allows it is tried once, here: a ``__weakref__`` slot of the class's own, for one,
    sits where CPython's layout check does not expect it (models keep theirs in a base).
    """
    if len(cls.__bases__) != 1:
        return None
    twin = type(
        f"_Mutable{cls.__name__}",
        cls.__bases__,
        {
            "__slots__": cls.__dict__.get("__slots__", ()),
            "__setattr__": object.__setattr__,
            # ``_twin()`` is quicker than ``object.__new__(_twin)``; a base's attrs
            # __init__ must not run on it.
            "__init__": object.__init__,
        },
    )
    probe: Any = object.__new__(twin)
    try:
        probe.__class__ = cls
    except TypeError:
        return None
    return twin


def _make_attrs_hook(cls: type[Any], conv: cattrs.Converter) -> _ModelStructurer:
    return _ModelStructurer(cls, conv)


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
