"""Keep signatures and security tokens out of log records.

Request parameters travel in the query string, as the provider's SDKs send them, and httpx
logs each request's URL at INFO level. This filter, attached to the ``httpx`` and
``otaclient`` loggers when the package is imported, masks the values of ``Signature`` and
``SecurityToken`` in any record before a handler sees it.
"""

from __future__ import annotations

import contextvars
import logging
import re
from collections import deque
from typing import Any

__all__ = ["RedactSecrets", "begin_call", "install", "remember_signature"]

_CALL: contextvars.ContextVar[deque[str]] = contextvars.ContextVar("otaclient_call")
_SIGNATURES_KEPT = 32


def begin_call() -> deque[str]:
    """Start the record of one call in the running task and return it.

    The record holds the signature of each attempt of the call, added just before the
    attempt is sent: an empty record means nothing of this call went on the wire.
    """
    record: deque[str] = deque(maxlen=_SIGNATURES_KEPT)
    _CALL.set(record)
    return record


def remember_signature(signature: str) -> None:
    """Add an attempt's signature to the running task's call record."""
    record = _CALL.get(None)
    if record is None:
        record = begin_call()
    record.append(signature)


_SECRET_PARAM = re.compile(r"((?:^|[?&])(?:Signature|SecurityToken)=)[^&\s\"']*")


def redact(text: str) -> str:
    """Mask secret query parameters in ``text``.

    >>> redact("GET http://h/?A=1&Signature=abc%3D&SecurityToken=t&B=2")
    'GET http://h/?A=1&Signature=***&SecurityToken=***&B=2'
    """
    return _SECRET_PARAM.sub(r"\1***", text)


class RedactSecrets(logging.Filter):
    """A logging filter that masks ``Signature`` and ``SecurityToken`` values."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.args = tuple(_redact_arg(a) for a in _as_tuple(record.args))
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


def _as_tuple(args: Any) -> tuple[Any, ...]:
    return args if isinstance(args, tuple) else (args,)


def _redact_arg(arg: Any) -> Any:
    # httpx passes the URL object; render it and mask, other args pass through unchanged.
    if isinstance(arg, str | bytes) or type(arg).__name__ == "URL":
        text = arg.decode("utf-8", "replace") if isinstance(arg, bytes) else str(arg)
        return redact(text)
    return arg


def install() -> None:
    """Attach the filter to the loggers that may see request URLs (idempotent)."""
    for name in ("httpx", "httpcore", "otaclient"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecrets) for f in logger.filters):
            logger.addFilter(RedactSecrets())
