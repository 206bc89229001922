"""Where a request carries its signed parameters, as a test double reads them.

GET actions carry them in the query string, POST actions in an
``application/x-www-form-urlencoded`` body; a double that reads only one of the two would
see half a request. ``signed_pairs`` reads both, strictly (``+`` is not a space here: the
client percent-encodes every space as ``%20``).
"""

from __future__ import annotations

from urllib.parse import unquote

import httpx

__all__ = ["FORM", "signed_pairs", "signed_params"]

FORM = "application/x-www-form-urlencoded"


def _pairs(raw: str) -> list[tuple[str, str]]:
    pairs = []
    for part in raw.split("&") if raw else []:
        name, sep, value = part.partition("=")
        assert sep, f"parameter without '=': {part!r}"
        pairs.append((unquote(name, errors="strict"), unquote(value, errors="strict")))
    return pairs


def signed_pairs(request: httpx.Request) -> list[tuple[str, str]]:
    """The request's parameters in the order sent: its query, then its form body."""
    pairs = _pairs(request.url.query.decode("ascii"))
    content_type = request.headers.get("content-type", "").split(";")[0].strip()
    if content_type == FORM:
        pairs += _pairs(request.content.decode("ascii"))
    return pairs


def signed_params(request: httpx.Request) -> dict[str, str]:
    """The request's parameters as a dict (query and form body merged)."""
    return dict(signed_pairs(request))
