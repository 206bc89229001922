"""XML goes to the C parser only after a scan refuses what must never reach it.

The C parser (expat) would expand entities and read a DTD; ``_parse`` refuses any body with
a markup declaration other than a comment or CDATA, and any body with NUL bytes (expat
reads UTF-16 whenever a body starts with ``<`` and a NUL, even when told UTF-8, where a
byte scan would not see its ``<!DOCTYPE``). These tests replace the parser with one that
fails the test when used, so a refusal is seen to come before any parsing or expansion.
"""

from __future__ import annotations

from typing import Any

import pytest

from otaclient import _parse
from otaclient._parse import MAX_DEPTH, DecodeProblem, RefusedBody, load_body

BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        b'<!ENTITY lol%d "%s">' % (n, b"".join(b"&lol%d;" % (n - 1) for _ in range(10)))
        for n in range(1, 10)
    ).replace(b"&lol0;", b"&lol;")
    + b"]><R><A>&lol9;</A></R>"
)
EXTERNAL_ENTITY = b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><R><A>&x;</A></R>'
EXTERNAL_DTD = b'<!DOCTYPE r SYSTEM "http://127.0.0.1:9/evil.dtd"><R><A>1</A></R>'
PARAMETER_ENTITY = b'<!DOCTYPE r [<!ENTITY % p SYSTEM "http://127.0.0.1:9/p">%p;]><R/>'


class _NoParsing:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise AssertionError("the body reached the XML parser")


@pytest.fixture
def parser_forbidden(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_parse, "XMLParser", _NoParsing)


@pytest.mark.parametrize(
    ("content", "named"),
    [
        (BILLION_LAUGHS, "entity declarations"),
        (EXTERNAL_ENTITY, "entity declarations"),
        (EXTERNAL_DTD, "a DTD"),
        (PARAMETER_ENTITY, "entity declarations"),
        (b"<!doctype r><R/>", "a DTD"),  # any case
        (b"<R><!ELEMENT A ANY><A>1</A></R>", "a markup declaration"),
        (b"<R><!-- fine --><A>1</A><!DOCTYPE r></R>", "a DTD"),  # after a comment
    ],
    ids=[
        "billion-laughs",
        "external-entity",
        "external-dtd",
        "parameter-entity",
        "lower-case",
        "element-declaration",
        "after-a-comment",
    ],
)
def test_declarations_are_refused_before_parsing(
    parser_forbidden: None, content: bytes, named: str
) -> None:
    with pytest.raises(RefusedBody, match=f"XML body refused: it contains {named}"):
        load_body(content)


def test_a_utf16_body_is_refused_before_parsing(parser_forbidden: None) -> None:
    # It starts "<" NUL: without the NUL check expat reads it as UTF-16 and expands the
    # entity. (Big-endian UTF-16 starts NUL "<", which is neither JSON nor XML.)
    content = '<!DOCTYPE r [<!ENTITY e "x">]><R><A>&e;</A></R>'.encode("utf-16-le")
    with pytest.raises(RefusedBody, match="not UTF-8"):
        load_body(content)


def test_a_declared_encoding_does_not_change_how_the_body_is_read() -> None:
    # Read as UTF-8 whatever it declares: the bytes the scan saw are the characters parsed.
    body = '<?xml version="1.0" encoding="ISO-8859-1"?><R><A>é</A></R>'.encode()
    assert load_body(body) == {"A": "é"}


def test_comments_and_cdata_that_look_like_declarations_are_read() -> None:
    body = b"<R><!-- <!DOCTYPE x> --><A><![CDATA[<!ENTITY e 'x'> & <b>]]></A></R>"
    assert load_body(body) == {"A": "<!ENTITY e 'x'> & <b>"}


def test_an_exclamation_mark_in_text_is_read() -> None:
    assert load_body(b"<R><A>Hello! World!</A><B>!</B></R>") == {"A": "Hello! World!", "B": "!"}


def test_an_undeclared_entity_is_not_valid_xml() -> None:
    with pytest.raises(DecodeProblem, match="not valid XML"):
        load_body(b"<R><A>&e;</A></R>")


def test_nesting_one_level_past_the_limit_is_refused() -> None:
    # Non-leaf elements at depth MAX_DEPTH - 1 are read, one deeper is refused.
    def nested(levels: int) -> bytes:
        return b"<a>" * levels + b"x" + b"</a>" * levels

    assert load_body(nested(MAX_DEPTH))
    with pytest.raises(RefusedBody, match=f"nests deeper than {MAX_DEPTH} levels"):
        load_body(nested(MAX_DEPTH + 1))


def test_namespaced_tags_lose_their_namespace() -> None:
    body = b'<R xmlns="urn:a" xmlns:b="urn:b"><A>1</A><b:B>2</b:B></R>'
    assert load_body(body) == {"A": "1", "B": "2"}
