"""Pins of the decoder's scalar rules and body sniffing, found by mutation testing."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from otaclient._convert import structure
from otaclient._parse import DecodeProblem, load_body

MS = 1_577_500_990_000  # 2019-12-28T02:43:10Z in epoch milliseconds
WHEN = datetime(2019, 12, 28, 2, 43, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    "raw",
    [
        MS,
        str(MS),
        f" {MS} ",
        MS // 1000,  # epoch seconds
        float(MS),
        "2019-12-28T02:43:10.000Z",
        "2019-12-28 T02:43:10.000Z",  # the re-hosted documents' stray space
        "2019-12-28T02:43:10",  # no zone: UTC
        "2019-12-28T10:43:10+08:00",  # another zone: converted
        "2019-12-28T02:43:10.000+00:00",  # an explicit zero offset
    ],
    ids=repr,
)
def test_times_decode_to_the_same_aware_utc_datetime(raw: Any) -> None:
    value = structure(raw, datetime)
    assert value == WHEN
    assert value.utcoffset() is not None
    assert value.tzinfo == UTC


def test_the_epoch_threshold_between_seconds_and_milliseconds() -> None:
    # 10**11 seconds is the year 5138; as milliseconds it is 1973.
    assert structure(10**11, datetime).year == 5138
    assert structure(10**11 + 1, datetime).year == 1973


@pytest.mark.parametrize("raw", [True, [], {}, "yesterday", "2019-13-45T00:00:00Z", 10**20])
def test_what_is_not_a_time_is_refused(raw: Any) -> None:
    with pytest.raises(DecodeProblem):
        structure(raw, datetime)


@pytest.mark.parametrize(
    ("raw", "expected"), [(True, "true"), (False, "false"), (12, "12"), (1.5, "1.5"), ("s", "s")]
)
def test_strings_take_json_scalars_as_text(raw: Any, expected: str) -> None:
    assert structure(raw, str) == expected


@pytest.mark.parametrize("raw", [[], {}, None.__class__])
def test_strings_refuse_containers(raw: Any) -> None:
    with pytest.raises(DecodeProblem, match="expected a string"):
        structure(raw, str)


@pytest.mark.parametrize(("raw", "expected"), [(924.0, 924), (-3.0, -3), (" 7 ", 7)])
def test_integers_take_whole_floats_and_padded_text(raw: Any, expected: int) -> None:
    value = structure(raw, int)
    assert type(value) is int
    assert value == expected


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b'  \n {"RequestId": "r"}', {"RequestId": "r"}),
        (b'{"RequestId": "r"}   ', {"RequestId": "r"}),
        (b"\n<R><RequestId>r</RequestId></R>", {"RequestId": "r"}),
        (b"<R/>", {}),
    ],
    ids=["json-after-whitespace", "json-then-whitespace", "xml-after-newline", "empty-xml"],
)
def test_bodies_are_sniffed_after_leading_whitespace(content: bytes, expected: Any) -> None:
    assert load_body(content) == expected


@pytest.mark.parametrize(
    "content",
    [b"<HTML><BODY>502</BODY></HTML>", b"<!DOCTYPE HTML><html></html>", b"  <html>x</html>"],
)
def test_an_html_page_in_any_case_is_named_as_such(content: bytes) -> None:
    with pytest.raises(DecodeProblem, match="HTML page"):
        load_body(content)


@pytest.mark.parametrize(
    "content",
    [
        b"<!DOCTYPE R [<!ELEMENT R ANY>]><R><A>1</A></R>",  # a DTD, no entity
        b'<!DOCTYPE R [<!ENTITY e "x">]><R>&e;</R>',
    ],
    ids=["dtd", "entity"],
)
def test_xml_with_a_dtd_or_an_entity_is_refused(content: bytes) -> None:
    with pytest.raises(DecodeProblem, match="XML body refused"):
        load_body(content)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "empty body"),
        (b"   ", "empty body"),
        (b"[1, 2]", "JSON body is a list"),
        (b'{"a": ', "not valid JSON"),
        (b"<R><A></R>", "not valid XML"),
        (b"OK", "neither JSON nor XML"),
    ],
)
def test_unusable_bodies_say_what_is_wrong(content: bytes, problem: str) -> None:
    with pytest.raises(DecodeProblem, match=problem):
        load_body(content)


@pytest.fixture
def shanghai_time_zone(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process's local time zone set to UTC+8 for one test."""
    monkeypatch.setenv("TZ", "Asia/Shanghai")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize("raw", [MS, "2019-12-28T10:43:10+08:00", "2019-12-28T02:43:10"])
def test_times_are_utc_whatever_the_machines_time_zone(shanghai_time_zone: None, raw: Any) -> None:
    value = structure(raw, datetime)
    assert value == WHEN
    assert value.utcoffset() == timedelta(0)
