"""From response bytes to plain dicts and lists: JSON, and XML parsed with guards.

``load_body`` reads JSON (``orjson`` when installed, else the standard library) or XML
(the standard library's C parser, after refusing any DTD or entity declaration: no entity
is ever expanded or fetched) into the same plain dicts and lists, so that one converter
(``_convert``) serves both formats. XML lists are repeated child elements: a one-item list
arrives as a single child, and the converter's list hook turns it back into a list.

A body that cannot be read raises ``DecodeProblem``; one refused as hostile or absurd (a
DTD, entities, nesting deeper than ``MAX_DEPTH``) raises its subclass ``RefusedBody``, which
the request loop does not retry: asking again will not make it better.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from xml.etree.ElementTree import Element, ParseError, XMLParser

__all__ = ["MAX_DEPTH", "DecodeProblem", "RefusedBody", "load_body"]

try:  # pragma: no cover - which branch runs depends on the installed extras
    import orjson

    _json_loads: Callable[[bytes], Any] = orjson.loads
    _JSON_ERRORS: tuple[type[BaseException], ...] = (orjson.JSONDecodeError,)
except ImportError:  # pragma: no cover
    _json_loads = json.loads
    _JSON_ERRORS = (ValueError,)


class DecodeProblem(Exception):
    """A body, or a part of it, does not fit what the API documents."""


class RefusedBody(DecodeProblem):
    """A body refused as hostile (a DTD, entities, absurd nesting): asking again will not help."""


MAX_DEPTH = 64
"""Deepest nesting accepted in an XML body; the API's own bodies nest six or seven levels."""


def load_body(content: bytes) -> dict[str, Any]:
    """Parse a response body (JSON object or XML document) into a dict.

    >>> load_body(b'{"RequestId": "r1", "Success": true}')
    {'RequestId': 'r1', 'Success': True}
    >>> load_body(b"<R><Success>true</Success><Data><Item><Id>1</Id></Item></Data></R>")
    {'Success': 'true', 'Data': {'Item': {'Id': '1'}}}
    """
    head = content[:64].lstrip()
    if not head:
        raise DecodeProblem("empty body")
    if head[:1] in (b"{", b"["):
        try:
            data = _json_loads(content)
        except RecursionError:
            raise RefusedBody("JSON body refused: it nests too deeply") from None
        except _JSON_ERRORS as exc:
            if "depth limit" in str(exc) or "recursion" in str(exc):  # orjson: 1,024 levels
                raise RefusedBody("JSON body refused: it nests too deeply") from None
            raise DecodeProblem(f"body is not valid JSON ({_short(exc)})") from None
        if not isinstance(data, dict):
            raise DecodeProblem(f"JSON body is a {type(data).__name__}, not an object")
        return data
    if head[:1] == b"<":
        lowered = head.lower()
        if lowered.startswith((b"<!doctype html", b"<html")):
            raise DecodeProblem("body is an HTML page (a proxy or gateway error page?)")
        return _load_xml(content)
    raise DecodeProblem(f"body is neither JSON nor XML (starts with {head[:16]!r})")


def _load_xml(content: bytes) -> dict[str, Any]:
    _refuse_what_the_parser_must_not_see(content)
    # The C parser, told the body is UTF-8 whatever it declares: the bytes scanned above
    # are then exactly the characters it reads, and without a DTD there is no entity to
    # expand or fetch.
    parser = XMLParser(encoding="utf-8")
    try:
        parser.feed(content)
        root = parser.close()
    except (ParseError, ValueError) as exc:
        raise DecodeProblem(f"body is not valid XML ({_short(exc)})") from None
    if not len(root):
        return {}
    return _xml_object(root, MAX_DEPTH)


def _refuse_what_the_parser_must_not_see(content: bytes) -> None:
    """Refuse a body that is not UTF-8, or that holds a DTD, an entity or any other markup
    declaration, before parsing begins.

    Expat reads UTF-16 whenever a body starts with "<" and a NUL byte (either order),
    even when told UTF-8, and a scan of the bytes would not see a UTF-16 ``<!DOCTYPE``.
    UTF-8 XML never holds a NUL byte (XML forbids U+0000) and UTF-16 text always does:
    one ``find`` tells them apart. Every declaration starts ``<!``; comments and CDATA
    sections are the only ones a document may hold outside a DTD. The API's bodies have
    none at all, so the scan is usually one more ``find``.
    """
    if content.find(b"\x00") != -1:
        raise RefusedBody("XML body refused: it is not UTF-8 (it holds NUL bytes)")
    # Found by its "!": a search for one byte is memchr, one for "<!" is 50 times slower.
    bang = content.find(b"!")
    while bang != -1:
        start = bang - 1
        if start < 0 or content[start] != _LESS_THAN:
            bang = content.find(b"!", bang + 1)
            continue
        if content.startswith(b"<!--", start):
            end = content.find(b"-->", start + 4)
        elif content.startswith(b"<![CDATA[", start):
            end = content.find(b"]]>", start + 9)
        else:
            declared = content[start + 2 : start + 9].upper()
            kind = "a DTD" if declared == b"DOCTYPE" else "a markup declaration"
            if b"<!ENTITY" in content.upper():
                kind = "entity declarations"
            raise RefusedBody(f"XML body refused: it contains {kind}")
        if end == -1:
            return  # unterminated: the parser says the body is not valid XML
        bang = content.find(b"!", end)


_LESS_THAN = ord("<")


def _xml_object(element: Element, depth: int) -> dict[str, Any]:
    # A leaf is text (stripped; None when empty), an element with children an object;
    # leaves are read in line, without a call each: they are most of every body.
    if depth <= 1:
        raise RefusedBody(f"XML body refused: it nests deeper than {MAX_DEPTH} levels")
    out: dict[str, Any] = {}
    for child in element:
        tag = child.tag
        if "}" in tag:
            tag = tag.rpartition("}")[2]
        if len(child):
            value: Any = _xml_object(child, depth - 1)
        else:
            text = child.text
            value = (text.strip() or None) if text is not None else None
        if tag in out:
            existing = out[tag]
            if existing.__class__ is _XmlRepeat:
                existing.append(value)
            else:
                out[tag] = _XmlRepeat([existing, value])
        else:
            out[tag] = value
    return out


class _XmlRepeat(list[Any]):
    """Repeated XML siblings: a list, as JSON would have sent it."""


def _short(exc: BaseException) -> str:
    return str(exc)[:120]
