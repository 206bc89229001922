"""Whatever bytes arrive, decoding either succeeds or raises an OTAError - nothing else;
and the fast decoder agrees with a plain reference decoder on random bodies."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, get_args, get_origin
from xml.sax.saxutils import escape

import attrs
import orjson
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from support.reference_decoder import (
    reference_load_xml,
    reference_structure,
    reference_structure_list,
)

from otaclient import _models
from otaclient._convert import _enum_in_union, _strip_none, make_converter
from otaclient._errors import OTAError
from otaclient._models import Page
from otaclient._operations import OPERATIONS
from otaclient._parse import DecodeProblem, load_body

PAGED_JOBS = OPERATIONS["ListOTAJobByFirmware"].result

SAMPLE = {
    "RequestId": "5D58AC86",
    "Success": True,
    "CurrentPage": 1,
    "PageSize": 10,
    "PageCount": 1,
    "Total": 1,
    "Data": {
        "SimpleOTAJobInfo": [
            {
                "JobId": "HvKu",
                "FirmwareId": "FJFx",
                "JobStatus": "IN_PROGRESS",
                "UtcCreate": "2019-12-28T02:43:10.000Z",
                "Tags": {"OtaTagDTO": [{"Key": "k", "Value": "v"}]},
            }
        ]
    },
}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=25,
)


def _decode(raw: bytes) -> Any:
    """What the client does with a body: parse, then structure into the action's result."""
    try:
        body = load_body(raw)
        return PAGED_JOBS.decode(body, "r")
    except DecodeProblem:
        return None  # the client wraps this in ResponseError, an OTAError


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_decode_or_raise_a_decode_problem(raw: bytes) -> None:
    _decode(raw)


@settings(max_examples=400, deadline=None)
@given(json_values)
def test_arbitrary_json_decodes_or_raises_a_decode_problem(value: Any) -> None:
    _decode(json.dumps(value).encode())


def _mutations() -> st.SearchStrategy[dict[str, Any]]:
    """The sample body with one key's value replaced by anything."""
    paths = [
        ("Total",),
        ("PageCount",),
        ("CurrentPage",),
        ("PageSize",),
        ("Data",),
        ("Data", "SimpleOTAJobInfo"),
        ("Data", "SimpleOTAJobInfo", 0),
        ("Data", "SimpleOTAJobInfo", 0, "JobStatus"),
        ("Data", "SimpleOTAJobInfo", 0, "UtcCreate"),
        ("Data", "SimpleOTAJobInfo", 0, "Tags"),
    ]

    def mutate(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
        body = json.loads(json.dumps(SAMPLE))
        target: Any = body
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        return body

    return st.builds(mutate, st.sampled_from(paths), json_values)


@settings(max_examples=500, deadline=None)
@given(_mutations())
def test_mutated_sample_bodies_decode_or_raise_a_decode_problem(body: dict[str, Any]) -> None:
    result = _decode(json.dumps(body).encode())
    if isinstance(result, Page):
        assert result.total >= 0
        assert result.page_count >= 0
        assert isinstance(result.items, list)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200), st.integers(min_value=0, max_value=400))
def test_truncated_or_spliced_bodies_decode_or_raise(noise: bytes, cut: int) -> None:
    raw = json.dumps(SAMPLE).encode()
    _decode(raw[:cut] + noise)
    xml = (
        b"<ListOTAJobByFirmwareResponse><Total>1</Total><PageSize>10</PageSize>"
        b"<CurrentPage>1</CurrentPage><Data><SimpleOTAJobInfo><JobId>j</JobId>"
        b"</SimpleOTAJobInfo></Data></ListOTAJobByFirmwareResponse>"
    )
    _decode(xml[:cut] + noise)


def test_decode_problem_becomes_an_ota_error_at_the_client() -> None:
    # The property tests above stop at DecodeProblem; the client turns it into ResponseError.
    from otaclient import ResponseError

    assert issubclass(ResponseError, OTAError)


# --------------------------------------------------------------------------- fast path = reference
#
# The decoder generates one function per key shape and takes shortcuts (values already of
# the right type, the common time format inlined, slots set directly); XML goes through the
# C parser after a byte scan. These properties hold it to the plain reference decoder in
# support/reference_decoder.py, on random items of every model, in both JSON dialects and
# in XML. Each example gets a fresh converter, so that the cache of generated functions is
# cold for the first decode (generation, and the per-item path) and warm for the second
# (the one comprehension over a whole page), and its bound is never what is tested.

MODELS = [
    cls
    for name in _models.__all__
    if attrs.has(cls := getattr(_models, name)) and cls is not _models.Page
]

_TEXT = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=0, max_size=12
)
_NAMES = st.sampled_from(["k", "Value", "Inner"])  # keys that are XML names too
_WORDS = st.sampled_from(["", " ", "x", "Smart Lock", "1.0.0", "yes", "924kB", "3.7"])
_TIMES = st.one_of(
    st.datetimes(
        min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ).map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}Z"),
    st.sampled_from(
        [
            "2019-12-28 T02:43:10.000Z",
            "2019-12-28T10:43:10+08:00",
            "2019-12-28T02:43:10",
            " 2019-12-28T02:43:10.00Z",
            "2019-12-28 02:43:10.000Z",
            "1577500990000",
        ]
    ),
    st.integers(min_value=0, max_value=4 * 10**12),
)
_BAD_TIMES = st.sampled_from(["2019-13-45T00:00:00.000Z", "2019-12-28T02:43:10.000X", "soon"])


def _scalar_for(tp: Any, clean: bool) -> st.SearchStrategy[Any]:
    """Values a body may carry for a field of type ``tp``: right or loose when ``clean``,
    else wrong."""
    tp = _strip_none(tp)
    bad: st.SearchStrategy[Any]
    if tp is str:
        good = st.one_of(_TEXT, _WORDS, st.integers(-5, 5), st.booleans())
        bad = st.lists(st.integers(), max_size=1)
    elif tp is int:
        good = st.one_of(
            st.integers(-(10**12), 10**12),
            st.integers(0, 10**6).map(str),
            st.sampled_from([" 7 ", "-3", 924.0]),
        )
        bad = st.one_of(st.booleans(), _WORDS, st.sampled_from([3.7, "1_000"]))
    elif tp is bool:
        good = st.one_of(st.booleans(), st.sampled_from(["true", "FALSE", 0, 1]))
        bad = st.sampled_from(["yes", 2])
    elif tp is datetime:
        good = _TIMES
        bad = st.one_of(_BAD_TIMES, st.booleans())
    elif (enum_cls := _enum_in_union(tp)) is not None:
        values = [m.value for m in enum_cls]
        good = st.one_of(
            st.sampled_from(values),
            st.sampled_from(values).map(str.lower),
            st.sampled_from(["COMPLETE", "VERFIY_FIRMWARE", "brand-new"]),
        )
        bad = st.just({"k": "v"})
    elif get_origin(tp) is list:
        (item,) = get_args(tp)
        items = st.lists(
            _item_for(item) if attrs.has(item) else _scalar_for(item, clean), max_size=3
        )
        good = st.one_of(
            st.none(), items, items.map(lambda values: {"Wrapper": values}), st.just("")
        )
        bad = st.just(True)
    else:
        raise AssertionError(f"no strategy for {tp!r}")
    return good if clean else bad


def _spellings(name: str) -> list[str]:
    """The wire spellings of a field: PascalCase, camelCase and the doc tables' ID forms."""
    pascal = "".join(part[:1].upper() + part[1:] for part in name.split("_"))
    spellings = [pascal, pascal[:1].lower() + pascal[1:]]
    if pascal.endswith("Id"):
        spellings.append(pascal[:-2] + "ID")
    return spellings


@st.composite
def _item_for(draw: st.DrawFn, cls: type[Any]) -> dict[str, Any]:
    """A random item of ``cls``: fields left out, respelled, repeated, null; unknown keys;
    any key order."""
    item: dict[str, Any] = {}
    fields = attrs.fields(attrs.resolve_types(cls))
    # Most items decode; in the others one field may hold a wrong value, so that whether
    # the item is refused depends on that field alone.
    wrong = draw(st.sampled_from([None, None, *[f.name for f in fields]]))
    for field in fields:
        for _ in range(draw(st.sampled_from([0, 1, 1, 1, 2]))):
            key = draw(st.sampled_from(_spellings(field.name)))
            item[key] = draw(st.none() | _scalar_for(field.type, field.name != wrong))
    if cls is _models.CreatedJob and draw(st.booleans()):
        item[draw(st.sampled_from(["firmwareId", "FirmwareId"]))] = draw(_TEXT)
    for key in draw(st.lists(st.sampled_from(["BrandNew", "extra", "Nested"]), max_size=2)):
        item[key] = draw(_scalar_for(str, True) | st.dictionaries(_NAMES, _TEXT, max_size=2))
    keys = draw(st.permutations(list(item)))
    return {key: item[key] for key in keys}


def _outcome(decode: Any, *args: Any) -> Any:
    try:
        return ("ok", decode(*args))
    except DecodeProblem:
        return ("refused", None)


def _page(draw: st.DrawFn, cls: type[Any]) -> list[dict[str, Any]]:
    """A page of items: often several of one key shape, as real pages are."""
    shapes = draw(st.lists(_item_for(cls), min_size=1, max_size=3))
    return draw(st.lists(st.sampled_from(shapes), min_size=1, max_size=6))


@st.composite
def _json_pages(draw: st.DrawFn) -> tuple[type[Any], list[dict[str, Any]]]:
    cls = draw(st.sampled_from(MODELS))
    return cls, _page(draw, cls)


def _agree(cls: type[Any], items: list[Any]) -> None:
    conv = make_converter()
    hook = conv.get_structure_hook(list[cls])
    expected = _outcome(reference_structure_list, items, cls)
    event(f"reference: {expected[0]}")
    assert _outcome(hook, items, None) == expected  # cold: shapes generated item by item
    assert _outcome(hook, items, None) == expected  # warm: the page in one comprehension
    one = _outcome(conv.structure, items[0], cls)
    assert one == _outcome(reference_structure, items[0], cls)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_json_pages(), st.sampled_from(["orjson", "json"]))
def test_fast_and_reference_decoders_agree_on_json_items_of_every_model(
    page: tuple[type[Any], list[dict[str, Any]]], parser: str
) -> None:
    cls, items = page
    # Through the bytes and back: keys and values as a parser delivers them.
    raw = json.dumps({"Items": items}).encode()
    parsed = (orjson.loads if parser == "orjson" else json.loads)(raw)["Items"]
    _agree(cls, parsed)


def _xml_element(tag: str, value: Any) -> str:
    if isinstance(value, dict):
        return f"<{tag}>{''.join(_xml_element(k, v) for k, v in value.items())}</{tag}>"
    if isinstance(value, list):
        return "".join(_xml_element(tag, v) for v in value)
    if value is None:
        return f"<{tag}/>"
    text = json.dumps(value) if isinstance(value, bool) else str(value)
    return f"<{tag}>{escape(text)}</{tag}>"


@st.composite
def _xml_pages(draw: st.DrawFn) -> tuple[type[Any], bytes]:
    cls = draw(st.sampled_from(MODELS))
    items = _page(draw, cls)
    body = "".join(_xml_element("Item", item) for item in items)
    frame = draw(
        st.sampled_from(["{}", "<!-- a comment -->{}", "{}<Note><![CDATA[<b>&</b>]]></Note>"])
    )
    xml = f"<?xml version='1.0' encoding='UTF-8'?><R><Data>{frame.format(body)}</Data></R>"
    return cls, xml.encode()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_xml_pages())
def test_fast_and_reference_decoders_agree_on_xml_pages_of_every_model(
    page: tuple[type[Any], bytes],
) -> None:
    cls, raw = page
    parsed = load_body(raw)
    assert parsed == reference_load_xml(raw)
    items = parsed["Data"]["Item"]
    _agree(cls, items if isinstance(items, list) else [items])


_xml_trees = st.recursive(
    st.none() | _TEXT | st.sampled_from(["  padded  ", "\n", "a&b<c>"]),
    lambda inner: (
        st.dictionaries(st.sampled_from(["A", "b", "Item", "ns:x"]), inner, max_size=4)
        | st.lists(inner, min_size=2, max_size=3)
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["A", "B", "Item"]), _xml_trees, max_size=4))
def test_the_c_parser_path_reads_xml_trees_as_the_reference_does(tree: dict[str, Any]) -> None:
    namespaces = ' xmlns="urn:x" xmlns:ns="urn:y"'
    body = "".join(_xml_element(k, v) for k, v in tree.items())
    raw = f"<R{namespaces}>{body}</R>".encode()
    assert _outcome(load_body, raw) == _outcome(reference_load_xml, raw)
