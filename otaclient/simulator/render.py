"""Serialise response trees as the service does: JSON or XML, PascalCase or camelCase.

Handlers build one tree with the aliyun (PascalCase) wire names. The tuya-hosted dialect
is the same tree with each key's first letter lower-cased (``SimpleOTAJobInfo`` ->
``simpleOTAJobInfo``, ``IotId`` -> ``iotId``), which is exactly how seeds 000-003 differ.

XML follows the POP convention seen in seed 004: a dict is an element with one child per
key, a list under key ``K`` is ``K`` repeated once per item (so a one-item list is just one
child element), ``None`` is omitted, booleans are ``true``/``false``.

A :class:`KeptList` in a tree renders exactly as the list it holds; it is how a page that
is answered many times unchanged (:mod:`.pages`) gets its JSON encoded once.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from xml.sax.saxutils import escape

__all__ = ["KeptList", "camel_keys", "render_json", "render_xml"]

_XML_DECLARATION = "<?xml version='1.0' encoding='UTF-8'?>"


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


class KeptList:
    """A list of response items that is rendered many times unchanged.

    It renders as ``items`` would, in every format and dialect; its JSON and its
    camelCase twin are computed once, on first use. The items must not change after.

    >>> kept = KeptList([{"JobId": "1"}])
    >>> render_json({"Data": kept}) == render_json({"Data": [{"JobId": "1"}]})
    True
    """

    __slots__ = ("_camel", "_json", "items")

    def __init__(self, items: list[Any]) -> None:
        self.items = items
        self._json: bytes | None = None
        self._camel: KeptList | None = None

    def json(self) -> bytes:
        """``render_json(items)``, computed once."""
        if self._json is None:
            self._json = _encode(self.items)
        return self._json

    def camel(self) -> KeptList:
        """The same list with ``camel_keys`` applied, computed once."""
        if self._camel is None:
            self._camel = KeptList(camel_keys(self.items))
        return self._camel

    def __len__(self) -> int:
        return len(self.items)


def camel_keys(tree: Any) -> Any:
    """Return ``tree`` with every dict key's first letter lower-cased.

    >>> camel_keys({"Data": {"SimpleOTAJobInfo": [{"JobId": "1"}]}})
    {'data': {'simpleOTAJobInfo': [{'jobId': '1'}]}}
    """
    if isinstance(tree, KeptList):
        return tree.camel()
    if isinstance(tree, dict):
        return {_camel(key): camel_keys(value) for key, value in tree.items()}
    if isinstance(tree, list):
        return [camel_keys(item) for item in tree]
    return tree


def _stdlib_json(tree: Any) -> bytes:
    return json.dumps(tree, ensure_ascii=False, separators=(",", ":"), default=_kept_items).encode()


def _kept_items(value: object) -> list[Any]:
    if isinstance(value, KeptList):
        return value.items
    raise TypeError(f"{type(value).__name__} is not part of a response tree")


try:
    import orjson
except ImportError:  # platforms without an orjson wheel: the same bytes, ten times slower
    _encode: Callable[[Any], bytes] = _stdlib_json
else:

    def _kept_json(value: object) -> orjson.Fragment:
        if isinstance(value, KeptList):
            return orjson.Fragment(value.json())
        raise TypeError(f"{type(value).__name__} is not part of a response tree")

    def _orjson(tree: Any) -> bytes:
        # orjson writes exactly what the stdlib call above writes for these trees (str
        # keys; str, int, bool, None, list and dict values: tests/simulator/
        # test_sim_render.py compares them) in a tenth of the time, 40 us instead of 440
        # for a 100-task page; a kept list is copied in as the bytes it was encoded to.
        return orjson.dumps(tree, default=_kept_json)

    _encode = _orjson


def render_json(tree: Any) -> bytes:
    """Compact UTF-8 JSON (``None`` stays ``null``: the service sends nulls, e.g. SrcVersion)."""
    return _encode(tree)


def _scalar(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    return escape(str(value))


def _emit(name: str, value: Any, out: list[str]) -> None:
    if value is None:
        return
    if isinstance(value, KeptList):
        value = value.items
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
