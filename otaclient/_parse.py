"""From response bytes to plain dicts and lists: JSON, and XML parsed with guards.

``load_body`` reads JSON (``orjson`` when installed, else the standard library) or XML
(``defusedxml``: DTDs, entity expansion and external entities are refused) into the same
plain dicts and lists, so that one converter (``_convert``) serves both formats. XML lists
are repeated child elements: a one-item list arrives as a single child, and the
converter's list hook turns it back into a list.

A body that cannot be read raises ``DecodeProblem``; one refused as hostile or absurd (a
DTD, entities, nesting deeper than ``MAX_DEPTH``) raises its subclass ``RefusedBody``, which
the request loop does not retry: asking again will not make it better.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from xml.etree.ElementTree import Element, ParseError

import defusedxml
from defusedxml.ElementTree import fromstring as _xml_fromstring

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
    try:
        root = _xml_fromstring(content, forbid_dtd=True, forbid_entities=True)
    except defusedxml.DefusedXmlException as exc:
        raise RefusedBody(f"XML body refused: {type(exc).__name__}") from None
    except RecursionError:
        raise RefusedBody("XML body refused: it nests too deeply") from None
    except (ParseError, ValueError) as exc:
        raise DecodeProblem(f"body is not valid XML ({_short(exc)})") from None
    value = _xml_value(root, MAX_DEPTH)
    return value if isinstance(value, dict) else {}


def _xml_value(element: Element, depth: int) -> Any:
    children = list(element)
    if not children:
        text = element.text
        return text.strip() if text is not None and text.strip() else None
    if depth <= 1:
        raise RefusedBody(f"XML body refused: it nests deeper than {MAX_DEPTH} levels")
    out: dict[str, Any] = {}
    for child in children:
        tag = child.tag.rpartition("}")[2]
        value = _xml_value(child, depth - 1)
        if tag in out:
            existing = out[tag]
            if isinstance(existing, _XmlRepeat):
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
