"""Every exception the library raises on purpose.

    OTAError                      base of everything below
    ├── ValidationError           bad arguments, refused before any request (also a ValueError)
    ├── APIError                  the service answered with an error (HTTP error or Success=false)
    │   └── ThrottlingError       ... a flow-control refusal (Throttling, Throttling.User, ...)
    ├── NoAnswerError             no answer came: the connection failed or dropped, or time ran
    │                             out (``TransportError``: the same class, under its old name)
    ├── ResponseError             an answer arrived but cannot be trusted: unparsable, too large,
    │                             wrong shape, HTML from a proxy, a page we did not ask for
    ├── OutcomeUnknownError       a write may or may not have taken effect; says how to check
    ├── HarvestError              an ``iter_*`` harvest could not keep its promise (the list
    │   │                         kept changing, or was too large to check for changes)
    │   └── ListTooDeepError      ... part of the list lies deeper than paging can reach
    ├── RateLimiterError          a shared limiter (Redis) is unusable
    ├── CredentialsError          no credentials could be found, or refreshing them failed
    └── ReportError               a document is not an audit report (``audit --format json``);
                                  also a ValueError

A plain ``OTAError`` says the client was closed (or entered twice): a call it ended was not
sent, or was a read.

Two texts, one meaning each, in every class:

* ``str(exc)`` is the whole line, for a person: the action, what went wrong, the code and
  the request id where known (``QueryOTAJob failed: InvalidJobId: ... (HTTP 400, request
  id r1)``).
* ``.message`` is the service's own text and nothing else: an ``APIError``'s ``Message`` or
  ``ErrorMessage``, the STS or metadata service's ``Message`` of a ``CredentialsError``, the
  server's text behind an ``OutcomeUnknownError``; ``None`` when no server said anything
  (every ``ValidationError``, a timeout, an unreadable body).

A page that fails during a harvest raises that page's own error (``APIError``,
``NoAnswerError``, ...) with ``.page`` set and a note naming the page.

Neither text, nor any attribute or note, ever carries the access key secret, the security
token or a request's signature, in any spelling: every one is scrubbed as it is set
(``_redact``), so text a server echoed back (its ``Code``, ``Message``, ``HostId``,
``Recommend``, a value of the wrong type) is masked with ``***`` before anyone can read it.
"""

from __future__ import annotations

import sys
from typing import Any

from ._redact import scrub, scrub_exception, scrub_value

__all__ = [
    "APIError",
    "CredentialsError",
    "HarvestError",
    "ListTooDeepError",
    "NoAnswerError",
    "OTAError",
    "OutcomeUnknownError",
    "RateLimiterError",
    "ReportError",
    "ResponseError",
    "ThrottlingError",
    "ValidationError",
]


class OTAError(Exception):
    """Base class of every exception otaclient raises on purpose.

    ``str(exc)`` is the whole line; ``message`` is the service's own text, scrubbed of
    secrets, or ``None`` when no server said anything (see the module docstring).
    ``action`` names the API action involved, when there is one.

    >>> error = OTAError("ListOTAFirmware: the client was closed", action="ListOTAFirmware")
    >>> str(error), error.message
    ('ListOTAFirmware: the client was closed', None)
    """

    page: int | None = None
    """Set when the error stopped an ``iter_*`` harvest: the page that failed."""

    def __init__(self, text: str, *, action: str | None = None, message: str | None = None) -> None:
        handled = sys.exc_info()[1]
        if handled is not None:
            # Raised in an `except` block, this error gets the handled one as __context__
            # (and usually as __cause__): the interpreter sets those without asking.
            scrub_exception(handled)
        super().__init__(scrub(text))
        self.message: str | None = message or None
        self.action = action

    def __setattr__(self, name: str, value: Any) -> None:
        # One door for every field, whoever sets it and when: none can hold a secret.
        if name in ("__cause__", "__context__"):
            if isinstance(value, BaseException):
                scrub_exception(value)
        elif name != "__traceback__":
            value = scrub_value(value)
        super().__setattr__(name, value)

    def add_note(self, note: str, /) -> None:
        """Add a note (scrubbed of secrets like every other text of the exception)."""
        super().add_note(scrub(note) if isinstance(note, str) else note)


class ValidationError(OTAError, ValueError):
    """An argument was refused before any request was sent.

    >>> try:
    ...     raise ValidationError("page_size must be at most 100", action="ListOTAFirmware")
    ... except ValueError as exc:
    ...     print(exc)
    ListOTAFirmware: page_size must be at most 100
    """

    def __init__(self, text: str, *, action: str | None = None) -> None:
        super().__init__(f"{action}: {text}" if action else text, action=action)


class APIError(OTAError):
    """The service answered with an error.

    Raised for an HTTP error status (the gateway body's ``Code``/``Message``) and for a
    ``Success=false`` business error (``Code``/``ErrorMessage``, HTTP 200). ``message`` is
    that ``Message``/``ErrorMessage`` (``None`` when the body had none); ``str(exc)`` adds
    the action, the code, the HTTP status and the request id.
    """

    def __init__(
        self,
        *,
        action: str | None,
        code: str,
        message: str | None,
        request_id: str | None,
        http_status: int,
        host_id: str | None = None,
        recommend: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.code = code
        self.request_id = request_id
        self.http_status = http_status
        self.host_id = host_id
        self.recommend = recommend
        self.retry_after = retry_after
        where = f"{action} failed" if action else "request failed"
        text = f"{where}: {code or 'UnknownError'}"
        if message:
            text += f": {message}"
        text += f" (HTTP {http_status}, request id {request_id or 'unknown'})"
        super().__init__(text, action=action, message=message)


class ThrottlingError(APIError):
    """The service refused the call for flow control. Retried before it surfaces."""


class NoAnswerError(OTAError):
    """No answer came: the connection was refused or dropped, or time ran out (the attempt's
    ``timeout``, or the call's deadline while it waited or was in flight).

    Catch it as ``NoAnswerError`` or under its old name, ``TransportError`` (the same class).
    """


TransportError = NoAnswerError
"""The old name of ``NoAnswerError``, kept so that existing ``except`` clauses still match."""


class ResponseError(OTAError):
    """An answer arrived but cannot be used: unparsable, oversized, or of the wrong shape."""

    def __init__(
        self,
        text: str,
        *,
        action: str | None = None,
        request_id: str | None = None,
        http_status: int | None = None,
    ) -> None:
        self.request_id = request_id
        self.http_status = http_status
        prefix = f"{action}: " if action else ""
        suffix = f" (request id {request_id})" if request_id else ""
        super().__init__(f"{prefix}{text}{suffix}", action=action)


class OutcomeUnknownError(OTAError):
    """A write may or may not have reached the service; it was not retried.

    ``how_to_check`` says how to find out (for a static upgrade job: list the firmware's jobs).
    The original failure is chained as ``__cause__``; ``message`` is the server's text in
    it, when a server said anything (a 503's ``Message``).
    """

    def __init__(
        self, text: str, *, action: str, how_to_check: str, message: str | None = None
    ) -> None:
        self.how_to_check = how_to_check
        super().__init__(
            f"{action}: outcome unknown ({text}); it was not retried. {how_to_check}",
            action=action,
            message=message,
        )


class HarvestError(OTAError):
    """An ``iter_*`` harvest could not complete without risking a missed item.

    Raised when the list kept changing while it was read, or is too large to re-read
    against the items already yielded; nothing after the failure was yielded.
    """

    def __init__(self, text: str, *, action: str) -> None:
        super().__init__(f"{action}: harvest failed: {text}", action=action)


class ListTooDeepError(HarvestError):
    """Some items of the list cannot be reached by paging, even split by the filters the
    API offers (``ListOTATaskByJob`` pages reach 100,000 tasks per status); the harvest
    stopped rather than return a truncated list. Items yielded before it are genuine."""


class RateLimiterError(OTAError):
    """A shared rate limiter cannot be used (for example, Redis is unreachable)."""


class CredentialsError(OTAError):
    """No credentials could be found, or the source of temporary ones failed.

    ``provider`` names the source involved (``None`` for the default chain as a whole);
    ``tried`` lists, in order, every step of the default chain that was looked at and why it
    did not apply. ``code``, ``message`` and ``request_id`` are the STS or metadata service's
    own, when it answered with an error. No text of it carries a secret, a security token or
    an OIDC token.
    """

    def __init__(
        self,
        text: str,
        *,
        provider: str | None = None,
        tried: tuple[str, ...] = (),
        code: str | None = None,
        message: str | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(text, message=message)
        self.provider = provider
        self.tried = tried
        self.code = code
        self.request_id = request_id


class ReportError(OTAError, ValueError):
    """A document given as an audit report is not one: not JSON, or not of the report's
    shape (``otaclient audit --format json``). The message names the document and the field.
    """
