"""Every failure as one line on stderr and a non-zero exit status, never a traceback.

Exit status: 1 when the work failed (the service said no, it could not be reached, an
answer was unusable), 2 for bad usage or arguments (click's own convention), 130 after
Ctrl-C. ``OTACLIENT_DEBUG=1`` lets an unexpected exception through with its traceback.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import IO, Any, TypeVar

import anyio
import click

from .._errors import APIError, NoAnswerError, OTAError, ThrottlingError, ValidationError
from .._redact import scrub

__all__ = ["CliFailure", "describe", "run_async"]

T = TypeVar("T")

_CREDENTIAL_CODES = (
    "invalidaccesskeyid",
    "signaturedoesnotmatch",
    "invalidsecuritytoken",
    "incompletesignature",
    "forbidden",
    "nopermission",
)


class CliFailure(click.ClickException):
    """A failure shown as ``Error: <one line>`` on stderr."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        # Scrubbed again: an unexpected exception's text has not been through OTAError.
        super().__init__(" ".join(scrub(str(message)).split()))
        self.status = exit_code

    @property
    def exit_code(self) -> int:  # type: ignore[override]
        """The process exit status."""
        return self.status

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"Error: {self.format_message()}", err=True)


def describe(exc: BaseException, endpoint: str | None = None) -> CliFailure:
    """The one-line failure for an exception raised by the library."""
    cause = exc
    text = str(cause)
    if isinstance(cause, ThrottlingError):
        return CliFailure(f"{text} - still throttled after retries; lower --qps or retry later")
    if isinstance(cause, APIError):
        if cause.code == "SignatureDoesNotMatch":
            # The service's message quotes its whole string-to-sign: not worth a screenful.
            return CliFailure(
                f"{cause.action or 'request'} failed: SignatureDoesNotMatch "
                f"(HTTP {cause.http_status}, request id {cause.request_id or 'unknown'}) - "
                "the AccessKey secret does not match the ID; check "
                "ALIBABA_CLOUD_ACCESS_KEY_SECRET"
            )
        if cause.code and cause.code.lower().startswith(_CREDENTIAL_CODES):
            return CliFailure(
                f"{text} - check ALIBABA_CLOUD_ACCESS_KEY_ID / ALIBABA_CLOUD_ACCESS_KEY_SECRET"
            )
        return CliFailure(text)
    if isinstance(cause, NoAnswerError):
        where = f" {endpoint}" if endpoint else ""
        return CliFailure(f"cannot reach{where}: {text}")
    if isinstance(cause, ValidationError):
        return CliFailure(text, exit_code=2)
    return CliFailure(text)


def _first_leaf(group: BaseExceptionGroup[Any]) -> BaseException:
    first: BaseException = group.exceptions[0] if group.exceptions else group
    return _first_leaf(first) if isinstance(first, BaseExceptionGroup) else first


def run_async(func: Callable[[], Awaitable[T]], *, endpoint: str | None = None) -> T:
    """``anyio.run(func)``, with every failure turned into a one-line ``CliFailure``."""
    try:
        return anyio.run(func)
    except BaseException as raised:
        exc = _first_leaf(raised) if isinstance(raised, BaseExceptionGroup) else raised
        if isinstance(exc, click.ClickException | click.exceptions.Exit | click.Abort):
            raise exc from None
        if isinstance(exc, OTAError):
            raise describe(exc, endpoint) from None
        if isinstance(exc, KeyboardInterrupt):
            raise CliFailure("interrupted", exit_code=130) from None
        if not isinstance(exc, Exception) or os.environ.get("OTACLIENT_DEBUG"):
            raise
        raise CliFailure(
            f"unexpected {type(exc).__name__}: {exc} (set OTACLIENT_DEBUG=1 for the traceback)"
        ) from None
