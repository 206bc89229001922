"""What one request can carry, and how a refused value is quoted.

* Text must be valid Unicode: a lone surrogate has no UTF-8 form (``check_text``).
* Integers must fit the API's ``Integer`` (32-bit, the default range of an ``Int``
  parameter) or ``Long`` (64-bit, the widest any parameter takes).
* All parameters together must fit in one request URL (``check_size``). Lists without a
  documented maximum are refused when they do not fit, never split into several calls: one
  write split into several is no longer atomic, and a failure half-way would leave a state
  the caller did not ask for.

A message about a refused value quotes it with ``shown``: never the whole of a huge one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._errors import ValidationError
from ._signing import percent_encode

__all__ = [
    "INTEGER_MAX",
    "INTEGER_MIN",
    "LONG_MAX",
    "LONG_MIN",
    "check_size",
    "check_text",
    "shown",
]

INTEGER_MIN, INTEGER_MAX = -(2**31), 2**31 - 1
"""The API's ``Integer`` type (Java's int): the default range of an ``Int`` parameter."""
LONG_MIN, LONG_MAX = -(2**63), 2**63 - 1
"""The API's ``Long`` type: the widest integer any parameter takes."""


def check_text(value: str) -> str | None:
    """What keeps ``value`` from going on the wire as UTF-8, or ``None`` when nothing does.

    >>> check_text("ok"), check_text("bad\\ud800")
    (None, 'has a lone surrogate (U+D800) at index 3, which UTF-8 cannot encode')
    """
    if value.isascii():
        return None  # the common case, and a cheap test
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        return (
            f"has a lone surrogate (U+{ord(value[exc.start]):04X}) at index {exc.start}, "
            "which UTF-8 cannot encode"
        )
    return None


def shown(value: Any, limit: int = 60) -> str:
    """A short ``repr`` of ``value`` for a message: never the whole of a huge argument.

    >>> shown("x" * 100, limit=12)
    "'xxxxxxx...(102 characters)"
    """
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**30:
        # str() of a huge int is slow, and beyond 4,300 digits it raises ValueError.
        return f"an integer of {value.bit_length():,} bits"
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 4]}...({len(text):,} characters)"


def check_size(
    wire: Mapping[str, str],
    budget: int,
    *,
    action: str,
    names: Mapping[str, str] | None = None,
) -> None:
    """Refuse ``wire`` when its parameters, percent-encoded, exceed ``budget`` characters.

    The error names the argument taking the most room: its Python name when ``names``
    (wire name -> Python name) has it, else its wire name (``call``'s parameters).
    """
    rough = sum(len(name) + len(value) + 2 for name, value in wire.items())
    if rough * _WORST_EXPANSION <= budget:
        return  # fits even if every character took its longest encoding: skip the count
    sizes: dict[str, int] = {}
    total = 0
    for name, value in wire.items():
        size = len(percent_encode(name)) + len(percent_encode(value)) + 2
        total += size
        base = name.split(".", 1)[0]  # TaskId.17 and Tag.3.Key count for TaskId and Tag
        sizes[base] = sizes.get(base, 0) + size
    if total <= budget:
        return
    biggest = max(sizes, key=sizes.__getitem__)
    argument = (names or {}).get(biggest) or f"params[{biggest!r}]"
    raise ValidationError(
        f"{argument} is too large to send: it takes {sizes[biggest]:,} characters once "
        f"percent-encoded, and the whole request {total:,}, where one request URL carries "
        f"at most {budget:,} here (65,536 less the endpoint, the signature and the common "
        "parameters)",
        action=action,
    )


_WORST_EXPANSION = 12  # a 4-byte UTF-8 character becomes 12 characters of %XX
