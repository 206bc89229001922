"""Every failure as one line on stderr and a non-zero exit status, never a traceback.

Exit status: 1 when the work failed (the service said no, it could not be reached, an
answer was unusable, or an unexpected error), 2 for bad usage or arguments (click's own
convention), 130 after Ctrl-C (SIGINT), 141 when whoever reads the output closed it early
(``otaclient audit | head -1``: the status a shell gives a command killed by SIGPIPE,
with nothing on stderr). ``OTACLIENT_DEBUG=1`` lets an unexpected exception through with
its traceback.

``run_async`` handles what happens inside the event loop; ``GuardedGroup`` (the class of
the ``otaclient`` group) handles the rest of every subcommand the same way.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Awaitable, Callable
from typing import IO, Any, TypeVar

import anyio
import click

from .. import APIError, NoAnswerError, OTAError, ThrottlingError, ValidationError, scrub_secrets

__all__ = [
    "EXIT_BROKEN_PIPE",
    "EXIT_INTERRUPTED",
    "CliFailure",
    "GuardedGroup",
    "debug_enabled",
    "describe",
    "run_async",
]

T = TypeVar("T")

EXIT_INTERRUPTED = 130
"""Exit status after Ctrl-C (128 + SIGINT), as shells report it."""
EXIT_BROKEN_PIPE = 141
"""Exit status when stdout was closed by its reader (128 + SIGPIPE), as shells report it."""

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
        super().__init__(" ".join(scrub_secrets(str(message)).split()))
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
        return CliFailure(_as_options(text), exit_code=2)
    return CliFailure(text)


def _as_options(text: str) -> str:
    """``text`` with the library's argument names replaced by the current command's options
    (``target_device_names`` -> ``--device-name``): the operator typed options, not Python.

    A command's parameter is named after the library argument it feeds, so the mapping is
    read from the command itself.
    """
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return text
    options = {
        param.name: param.opts[0]
        for param in ctx.command.params
        if isinstance(param, click.Option) and param.name and param.opts[0].startswith("--")
    }
    if not options:
        return text
    names = "|".join(re.escape(name) for name in sorted(options, key=len, reverse=True))
    return re.sub(rf"\b({names})\b", lambda found: options[found.group(1)], text)


def _first_leaf(group: BaseExceptionGroup[Any]) -> BaseException:
    first: BaseException = group.exceptions[0] if group.exceptions else group
    return _first_leaf(first) if isinstance(first, BaseExceptionGroup) else first


def debug_enabled() -> bool:
    """Whether ``OTACLIENT_DEBUG`` asks for tracebacks of unexpected errors."""
    return os.environ.get("OTACLIENT_DEBUG", "").strip().lower() not in ("", "0", "false", "no")


def _interrupted() -> CliFailure:
    return CliFailure("interrupted", exit_code=EXIT_INTERRUPTED)


def _unexpected(exc: BaseException) -> CliFailure:
    return CliFailure(
        f"unexpected {type(exc).__name__}: {exc} (set OTACLIENT_DEBUG=1 for the traceback)"
    )


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
            raise _interrupted() from None
        if isinstance(exc, BrokenPipeError):
            raise exc from None  # GuardedGroup exits quietly
        if not isinstance(exc, Exception) or debug_enabled():
            raise
        raise _unexpected(exc) from None


class GuardedGroup(click.Group):
    """A click group whose subcommands end the way ``run_async`` ends them.

    click alone prints "Aborted!" and exits 1 after Ctrl-C, exits 1 without a word on a
    closed pipe, and prints a traceback for any other exception.
    """

    def invoke(self, ctx: click.Context) -> Any:
        """Run the subcommand; map interrupts, a closed stdout and unexpected errors."""
        try:
            result = super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit):
            raise
        except click.Abort as exc:
            # click turns Ctrl-C at a prompt into Abort; EOF on stdin stays click's Abort.
            if isinstance(exc.__context__, KeyboardInterrupt):
                raise _interrupted() from None
            raise
        except KeyboardInterrupt:
            raise _interrupted() from None
        except BrokenPipeError:
            _silence_standard_streams()
            raise click.exceptions.Exit(EXIT_BROKEN_PIPE) from None
        except SystemExit as exc:
            # rich's Console answers a closed pipe with SystemExit(1) (Console.on_broken_pipe).
            if isinstance(exc.__context__, BrokenPipeError):
                _silence_standard_streams()
                raise click.exceptions.Exit(EXIT_BROKEN_PIPE) from None
            raise
        except Exception as exc:
            if debug_enabled():
                raise
            raise _unexpected(exc) from None
        _flush_stdout()
        return result


def _flush_stdout() -> None:
    # Output small enough to sit in the buffer meets a closed pipe or a full disk only
    # here, once the command's work is done: say that it was done.
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_standard_streams()
        raise click.exceptions.Exit(EXIT_BROKEN_PIPE) from None
    except OSError as exc:
        _silence_standard_streams(sys.stdout)
        raise CliFailure(
            f"the command finished, but writing its output to stdout failed: {exc.strerror or exc}"
        ) from None


def _silence_standard_streams(*streams: IO[str]) -> None:
    # Whatever is still buffered would fail again at interpreter exit, with an "Exception
    # ignored" message: point the descriptors at /dev/null so the exit stays quiet.
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        for stream in streams or (sys.stdout, sys.stderr):
            # ValueError, OSError: not a real file (click's CliRunner, a test harness).
            with contextlib.suppress(OSError, ValueError):
                os.dup2(devnull, stream.fileno())
    finally:
        os.close(devnull)
