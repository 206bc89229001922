"""The exception tree drawn in ``_errors``'s docstring is the real one."""

from __future__ import annotations

import re

import otaclient
from otaclient import _errors


def _tree_lines() -> list[str]:
    """The drawing: from the line naming OTAError to the first blank line after it."""
    lines = (_errors.__doc__ or "").splitlines()
    start = next(n for n, line in enumerate(lines) if line.strip().startswith("OTAError"))
    block: list[str] = []
    for line in lines[start:]:
        if not line.strip():
            break
        block.append(line)
    return block


def _drawn_parents() -> dict[str, str | None]:
    parents: dict[str, str | None] = {}
    stack: list[tuple[int, str]] = []
    for line in _tree_lines():
        match = re.match(r"^([ │]*(?:[├└]── )?)([A-Z]\w+Error)\b", line)
        if not match:
            continue
        depth, name = len(match.group(1)), match.group(2)
        while stack and stack[-1][0] >= depth:
            stack.pop()
        parents[name] = stack[-1][1] if stack else None
        stack.append((depth, name))
    return parents


def test_the_drawn_tree_names_every_exception_under_its_real_base() -> None:
    drawn = _drawn_parents()
    exceptions = set(_errors.__all__)
    assert set(drawn) == exceptions
    for name, parent in drawn.items():
        cls = getattr(otaclient, name)
        if parent is None:
            assert name == "OTAError"
        else:
            assert cls.__mro__[1].__name__ == parent, (name, parent)
