"""The envelope rules: what in a parsed answer is a success, and what is which error.

Both dialects wrap every answer the same way: ``RequestId``, ``Success``, and on failure
``Code`` with ``Message`` (gateway errors, HTTP 4xx/5xx) or ``ErrorMessage`` (business
errors, HTTP 200). The rules, in one place:

* only an explicit ``Success`` true (``true`` text in any case) on a status below 400 is a
  success: ``0``, ``"no"``, ``"False "`` are not;
* a failure that names a ``Code`` (or has an HTTP error status) is an ``APIError``, a
  ``ThrottlingError`` when the code is a flow-control one or the status is 429, with the
  server's retry hint (``RetryPolicy.retry_hint``) and its text scrubbed of secrets;
* a body below 400 that says neither yes nor no and names no error cannot be trusted either
  way: a ``ResponseError`` (for a write the request loop turns it into an unknown outcome).
"""

from __future__ import annotations

import reprlib
from collections.abc import Mapping
from typing import Any

import attrs

from ._convert import get_key
from ._errors import APIError, ResponseError, ThrottlingError
from ._redact import scrub
from ._retry import RetryPolicy, is_throttling_code

__all__ = ["Answer", "open_envelope"]


@attrs.frozen
class Answer:
    """A successful, parsed answer."""

    body: dict[str, Any]
    request_id: str | None
    http_status: int


def open_envelope(
    action: str,
    status: int,
    headers: Mapping[str, str],
    body: dict[str, Any],
    retry: RetryPolicy,
) -> Answer:
    """The ``Answer`` in ``body``, or raise the ``APIError``/``ResponseError`` it holds."""
    request_id = _text(get_key(body, "RequestId"))
    success = get_key(body, "Success")
    code = _text(get_key(body, "Code"))
    failed = status >= 400 or not (success is True or _is_true_text(success))
    if not failed:
        return Answer(body, request_id, status)
    if status < 400 and not code:
        # Both dialects always send the flag; a body that says neither yes nor no, and
        # names no error, cannot be trusted either way (for a write: outcome unknown).
        flag = "no Success flag" if success is None else f"Success={_preview(success)}"
        raise ResponseError(
            f"HTTP {status}: the answer has {flag} and no error Code, so it is not a success",
            action=action,
            request_id=request_id,
            http_status=status,
        )
    message = _text(get_key(body, "Message")) or _text(get_key(body, "ErrorMessage"))
    throttled = status == 429 or is_throttling_code(code)
    error_type = ThrottlingError if throttled else APIError
    raise error_type(
        action=action,
        code=code or f"HTTP{status}",
        message=scrub(message) if message else None,
        request_id=request_id,
        http_status=status,
        host_id=_text(get_key(body, "HostId")),
        recommend=_text(get_key(body, "Recommend")),
        retry_after=retry.retry_hint(headers),
    )


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    return str(value)


def _is_true_text(value: Any) -> bool:
    return isinstance(value, str) and value.strip().lower() == "true"


def _preview(value: Any) -> str:
    text = reprlib.repr(value)  # depth-limited: a hostile body may nest 1,000 levels
    return text if len(text) <= 40 else text[:37] + "..."
