"""The logging filter that keeps secrets out of every log record the library and its HTTP
stack (httpx, httpcore, httpcore2, aiohttp) write.

Installed once, when ``otaclient`` is imported, on the loggers that may see a request's URL.
Each record's message, arguments, traceback and stack are masked with ``_redact``'s rules:
``redact`` first (the values of ``Signature=`` and ``SecurityToken=`` in any URL), then
``scrub`` (every spelling of a live client's secret, token and signatures).
"""

from __future__ import annotations

import logging

from ._redact import redact, scrub

__all__ = ["RedactSecrets", "install"]

_FORMATTER = logging.Formatter()


class RedactSecrets(logging.Filter):
    """A logging filter that masks secrets, tokens and signatures in whole records."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: logging reports it, without our secrets
            message = f"{record.msg!r} % {record.args!r}"
        record.msg = scrub(redact(message))
        record.args = None
        if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
            record.exc_text = scrub(redact(_FORMATTER.formatException(record.exc_info)))
        if record.stack_info:
            record.stack_info = scrub(redact(record.stack_info))
        return True


_HTTPCORE_CHILDREN = ("connection", "http11", "http2", "proxy", "socks")
_AIOHTTP_CHILDREN = ("access", "client", "internal", "server", "web", "websocket")

_LOGGERS = (
    "otaclient",
    "httpx",
    # A logger's filters do not apply to its children's records: name each child too.
    # httpcore serves respx and injected httpx transports, httpcore2 the default transport
    # under trio, aiohttp the default transport on asyncio.
    "httpcore",
    *(f"httpcore.{child}" for child in _HTTPCORE_CHILDREN),
    "httpcore2",
    *(f"httpcore2.{child}" for child in _HTTPCORE_CHILDREN),
    "aiohttp",
    *(f"aiohttp.{child}" for child in _AIOHTTP_CHILDREN),
    # aiohttp reports unclosed sessions and connections through the event loop's exception
    # handler, and asyncio logs unretrieved task exceptions, whose aiohttp texts quote URLs.
    "asyncio",
)


def install() -> None:
    """Attach the filter to the loggers that may see request URLs (idempotent)."""
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecrets) for f in logger.filters):
            logger.addFilter(RedactSecrets())
