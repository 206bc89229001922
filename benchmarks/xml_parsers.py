"""Parsing an XML page: the candidates for the C parser, side by side, microseconds per item.

Issue 14 asks for at most 8 us per item from XML bytes to typed models. This benchmark
measures what each step and each candidate parser costs on the same recorded 100-item
pages as ``decode`` (firmware, jobs, tasks; the aliyun dialect's XML), so that the share
of the parser, of the walk that turns its tree into the dict the converter reads, and of
the converter can be read off one table:

* ``expat, no handlers``: pyexpat tokenizing the body and calling nothing back: the floor
  of any parser built on expat, ElementTree's included;
* ``ElementTree tree``: the C ``XMLParser`` with its C tree builder (what the library uses);
* ``ElementTree + walk``: the library's ``_load_xml`` (the refusal scan, the tree, and the
  walk into dicts);
* ``lxml tree`` / ``lxml + walk``: libxml2 through lxml with entities, DTDs and the network
  off, then the same walk over lxml's elements (each child it visits becomes a Python proxy);
* ``xmltodict-rs``: a Rust (quick-xml) reimplementation of xmltodict, bytes straight to dicts;
* ``regex tokens``: one ``re.findall`` over the text for leaves, open and close tags (the
  start of a hand-written parser; the dicts would still have to be built after it);
* ``library, bytes to models``: ``load_body`` then the operation's decoder, as ``decode``.

lxml and xmltodict-rs come with the ``bench`` extra; a row whose package is missing says so.
"""

from __future__ import annotations

import importlib
import pyexpat
import re
from collections.abc import Callable
from typing import Any
from xml.etree.ElementTree import XMLParser

from otaclient._operations import OPERATIONS
from otaclient._parse import MAX_DEPTH, _load_xml, _xml_object, load_body

from ._common import Result
from .decode import ITEMS, KINDS, best_per_call, record

NAME = "xml_parsers"

_NAME_PATTERN = r"[A-Za-z_][A-Za-z0-9_.\-]*"
_TOKENS = re.compile(
    rf"<({_NAME_PATTERN})>([^<&]*)</\1>|<(/?)({_NAME_PATTERN})>|([^ \t\r\n])",
)


def _expat(body: bytes) -> Callable[[], Any]:
    def run() -> Any:
        parser = pyexpat.ParserCreate("utf-8")
        return parser.Parse(body, True)

    return run


def _element_tree(body: bytes) -> Callable[[], Any]:
    def run() -> Any:
        parser = XMLParser(encoding="utf-8")
        parser.feed(body)
        return parser.close()

    return run


def _lxml(body: bytes, *, walk: bool) -> Callable[[], Any] | str:
    try:
        etree: Any = importlib.import_module("lxml.etree")
    except ImportError:
        return "lxml not installed"
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )

    def tree() -> Any:
        return etree.fromstring(body, parser)

    def tree_and_walk() -> Any:
        return _xml_object(etree.fromstring(body, parser), MAX_DEPTH)

    return tree_and_walk if walk else tree


def _xmltodict_rs(body: bytes) -> Callable[[], Any] | str:
    try:
        module: Any = importlib.import_module("xmltodict_rs")
    except ImportError:
        return "xmltodict-rs not installed"
    return lambda: module.parse(body)


def _regex_tokens(body: bytes) -> Callable[[], Any]:
    return lambda: _TOKENS.findall(body.decode("utf-8"))


def _library(kind: str, body: bytes) -> Callable[[], Any]:
    decode = OPERATIONS[KINDS[kind]].result.decode
    return lambda: decode(load_body(body), "request-id")


def _candidates(kind: str, body: bytes) -> dict[str, Callable[[], Any] | str]:
    return {
        "expat, no handlers": _expat(body),
        "ElementTree tree": _element_tree(body),
        "ElementTree + walk (the library's parse)": lambda: _load_xml(body),
        "lxml tree": _lxml(body, walk=False),
        "lxml + walk": _lxml(body, walk=True),
        "xmltodict-rs, bytes to dicts": _xmltodict_rs(body),
        "regex tokens only": _regex_tokens(body),
        "library, bytes to models": _library(kind, body),
    }


def run(smoke: bool) -> Result:
    budget, repeat = (0.002, 2) if smoke else (0.01, 120)
    recorded = record()
    candidates = {kind: _candidates(kind, recorded[kind, "XML"]) for kind in KINDS}
    timed = {
        (kind, name): fn
        for kind, fns in candidates.items()
        for name, fn in fns.items()
        if not isinstance(fn, str)
    }
    best = best_per_call(timed, budget, repeat)
    rows: list[dict[str, Any]] = []
    for kind, fns in candidates.items():
        for name, fn in fns.items():
            missing = fn if isinstance(fn, str) else ""
            us = None if missing else best[kind, name] / ITEMS * 1e6
            rows.append({"kind": kind, "candidate": name, "us_per_item": us, "note": missing})
    result = Result(
        NAME,
        f"Parse one {ITEMS}-item XML page: microseconds per item by candidate (best of "
        f"{repeat} interleaved runs of ~{budget * 1000:.0f} ms)",
        ["items", "candidate", "us/item", "note"],
    )
    for row in rows:
        result.rows.append([row["kind"], row["candidate"], row["us_per_item"], row["note"]])
    result.data = {"rows": rows, "budget_s": budget, "repeat": repeat}
    result.notes.append(
        "every figure but the last is parsing only: the converter (dicts to models) comes on "
        "top, as the last row shows"
    )
    return result
