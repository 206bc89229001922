"""Serialise response trees as the service does: JSON or XML, PascalCase or camelCase.

Handlers build one tree with the aliyun (PascalCase) wire names. The tuya-hosted dialect
is the same tree with each key's first letter lower-cased (``SimpleOTAJobInfo`` ->
``simpleOTAJobInfo``, ``IotId`` -> ``iotId``), which is exactly how seeds 000-003 differ.

XML follows the POP convention seen in seed 004: a dict is an element with one child per
key, a list under key ``K`` is ``K`` repeated once per item (so a one-item list is just one
child element), ``None`` is omitted, booleans are ``true``/``false``.
"""

from __future__ import annotations

import json
from typing import Any
from xml.sax.saxutils import escape

__all__ = ["camel_keys", "render_json", "render_xml"]

_XML_DECLARATION = "<?xml version='1.0' encoding='UTF-8'?>"


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def camel_keys(tree: Any) -> Any:
    """Return ``tree`` with every dict key's first letter lower-cased.

    >>> camel_keys({"Data": {"SimpleOTAJobInfo": [{"JobId": "1"}]}})
    {'data': {'simpleOTAJobInfo': [{'jobId': '1'}]}}
    """
    if isinstance(tree, dict):
        return {_camel(key): camel_keys(value) for key, value in tree.items()}
    if isinstance(tree, list):
        return [camel_keys(item) for item in tree]
    return tree


def render_json(tree: Any) -> bytes:
    """Compact UTF-8 JSON (``None`` stays ``null``: the service sends nulls, e.g. SrcVersion)."""
    return json.dumps(tree, ensure_ascii=False, separators=(",", ":")).encode()


def _scalar(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    return escape(str(value))


def _emit(name: str, value: Any, out: list[str]) -> None:
    if value is None:
        return
    if isinstance(value, list):
        for item in value:
            _emit(name, item, out)
        return
    if isinstance(value, dict):
        out.append(f"<{name}>")
        for key, child in value.items():
            _emit(key, child, out)
        out.append(f"</{name}>")
        return
    out.append(f"<{name}>{_scalar(value)}</{name}>")


def render_xml(root: str, tree: dict[str, Any]) -> bytes:
    """Render ``tree`` under a ``<root>`` element.

    >>> render_xml("R", {"Data": {"Item": [{"A": 1}, {"A": 2}]}, "Ok": True}).decode()[38:]
    '<R><Data><Item><A>1</A></Item><Item><A>2</A></Item></Data><Ok>true</Ok></R>'
    """
    out = [_XML_DECLARATION]
    _emit(root, tree, out)
    if out[-1] == _XML_DECLARATION:  # an all-None tree still needs its root element
        out.append(f"<{root}/>")
    return "".join(out).encode()
