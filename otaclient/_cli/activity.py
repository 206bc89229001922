"""What the client is doing, on stderr: every retry as it is decided, every attempt with -v.

Built on the library's logging (logger ``otaclient``, whose records are scrubbed of
secrets before any handler sees them): while a command runs, a handler turns

* each retry record into ``ListOTAFirmware: retrying (2/6) in 0.3 s: connection refused
  or host unreachable (ConnectError: ...)``, always, so an endpoint that does not answer
  shows at once what the command is waiting for instead of a silent spinner;
* with ``-v``, each per-attempt DEBUG record into ``ListOTAFirmware attempt 1/6: HTTP 200
  in 12 ms, request id 4F2A...`` (from the record's ``otaclient_attempt`` fields: action,
  attempt, HTTP status, latency, request id, throttled);
* warnings, always, and with ``-v`` any other record of the library, as they are.

Lines go through ``click.echo(err=True)``, so they print above the audit's live display
(rich redirects stderr while it draws) and into click's test runner.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterator
from typing import Any

import click

from .. import RetryPolicy

__all__ = ["reporting"]

_LOGGER = "otaclient"
_RETRY = re.compile(
    r"(?P<action>\w+) attempt (?P<attempt>\d+) failed \((?P<error>.*)\), "
    r"retrying in (?P<wait>[\d.]+)s",
    re.DOTALL,
)
_SHORT_REASONS = (
    # The first that matches: aiohttp says "Cannot connect to host h:80 ssl:default [Name or
    # service not known]" for an unknown name too; httpcore (under trio) says "All ...".
    ("Name or service not known", "unknown host"),
    ("All connection attempts failed", "connection refused or host unreachable"),
    ("Cannot connect to host", "connection refused or host unreachable"),
    ("Throttling", "throttled"),
)


class _ActivityLines(logging.Handler):
    def __init__(self, retry: RetryPolicy, *, verbose: bool) -> None:
        super().__init__(logging.DEBUG)
        self._attempts = retry.max_attempts
        self._throttled_attempts = retry.max_throttled_attempts or retry.max_attempts
        self._verbose = verbose

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self._line(record)
            if line is not None:
                click.echo(line, err=True)
        except Exception:
            self.handleError(record)

    def _line(self, record: logging.LogRecord) -> str | None:
        attempt = getattr(record, "otaclient_attempt", None)
        if isinstance(attempt, dict):
            return self._attempt_line(attempt) if self._verbose else None
        message = record.getMessage()
        retry = _RETRY.fullmatch(message)
        if retry is not None:
            return self._retry_line(retry)
        if record.levelno >= logging.WARNING or self._verbose:
            return f"otaclient: {message}"
        return None

    def _of(self, throttled: bool) -> int:
        return self._throttled_attempts if throttled else self._attempts

    def _attempt_line(self, fields: dict[str, Any]) -> str:
        status = fields.get("http_status")
        answer = f"HTTP {status}" if status is not None else "no answer"
        latency = fields.get("latency_ms")
        took = f" in {latency:.0f} ms" if isinstance(latency, int | float) else ""
        throttled = bool(fields.get("throttled"))
        return (
            f"{fields.get('action')} attempt {fields.get('attempt')}/{self._of(throttled)}: "
            f"{answer}{took}, request id {fields.get('request_id') or 'none'}"
            + (", throttled" if throttled else "")
        )

    def _retry_line(self, match: re.Match[str]) -> str:
        error = match["error"]
        reason = next((short for text, short in _SHORT_REASONS if text in error), None)
        why = f"{reason} ({error})" if reason else error
        following = int(match["attempt"]) + 1
        of = self._of(reason == "throttled")
        return (
            f"{match['action']}: retrying ({following}/{of}) in {float(match['wait']):.1f} s: {why}"
        )


@contextlib.contextmanager
def reporting(retry: RetryPolicy, *, verbose: bool) -> Iterator[None]:
    """While the block runs, the library's retries (and with ``verbose`` every attempt)
    are lines on stderr; ``retry`` is the policy the command's client uses."""
    logger = logging.getLogger(_LOGGER)
    handler = _ActivityLines(retry, verbose=verbose)
    level = logger.level
    logger.setLevel(logging.DEBUG if verbose else logging.INFO)
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
