"""The logging filter that keeps secrets out of every log record the library and httpx write.

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


_LOGGERS = (
    "otaclient",
    "httpx",
    "httpcore",
    # A logger's filters do not apply to its children's records: name httpcore's own.
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
)


def install() -> None:
    """Attach the filter to the loggers that may see request URLs (idempotent)."""
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecrets) for f in logger.filters):
            logger.addFilter(RedactSecrets())
