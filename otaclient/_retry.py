"""When to try again, and how long to wait: classification as tables, backoff as one function.

Every action has a retry class (``RetryClass``, from the reference):

* ``READ``   - read-only, retried freely;
* ``TICKET`` - hands out a fresh upload ticket, no lasting change, retried freely;
* ``CREATE`` - creates something; retried only when the request surely never arrived;
* ``MUTATE`` - changes or deletes; retried only when the request surely never arrived.

Every failed attempt has a kind (``FailureKind``):

* ``NOT_SENT``   - the request surely never reached the service (connection refused, no
                   pooled connection in time): any action may be retried.
* ``THROTTLED``  - the service refused it for flow control, so it did nothing: any action may
                   be retried, and the limiter is told to slow down.
* ``TRANSIENT``  - the service may or may not have acted (timeouts, dropped connections, 5xx,
                   ``ServiceUnavailable``/system codes, a truncated or corrupt body): reads are
                   retried, writes are not (their outcome is unknown).
* ``UNREADABLE`` - an answer arrived that will not get better (hostile or absurdly deep XML,
                   over the size cap, an encoding we did not ask for): reads fail at once,
                   writes have an unknown outcome (the service did answer).
* ``FATAL``      - retrying cannot help and nothing happened (signature, access key, invalid
                   parameter, not found, a request that could not even be built).

HTTP 429 is throttling, whatever its body says: the service, or a gateway in front of it,
refused the request, so it did nothing.

Server retry hints (``x-acs-retry-after`` in milliseconds, ``Retry-After`` in seconds or as
an HTTP date) are parsed, validated and capped once, by ``RetryPolicy.retry_hint``; that one
value is the floor of the retry wait and what the limiter is told.
"""

from __future__ import annotations

import enum
import math
import random
import re
import time
from collections.abc import Callable, Mapping
from datetime import UTC
from email.utils import parsedate_to_datetime

import attrs
import httpx

from ._constants import (
    DEFAULT_BACKOFF_BASE,
    DEFAULT_BACKOFF_CAP,
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_RETRY_AFTER_CAP,
)
from ._errors import ValidationError
from ._limits import shown

__all__ = [
    "FailureKind",
    "RetryClass",
    "RetryPolicy",
    "clamp_retry_hint",
    "is_throttling_code",
    "is_transient_code",
    "kind_of_transport_error",
]

_MAX_ATTEMPTS = 1000


class RetryClass(enum.Enum):
    """What a repeated call could do, so whether an ambiguous failure may be retried."""

    READ = "read"
    TICKET = "ticket"
    CREATE = "create"
    MUTATE = "mutate"

    @property
    def is_read(self) -> bool:
        """Whether a repeat is harmless: retried after any transient failure.

        >>> RetryClass.TICKET.is_read, RetryClass.CREATE.is_read
        (True, False)
        """
        return self in (RetryClass.READ, RetryClass.TICKET)


class FailureKind(enum.Enum):
    """How a failed attempt may be retried (see the module docstring)."""

    NOT_SENT = "not_sent"
    THROTTLED = "throttled"
    TRANSIENT = "transient"
    UNREADABLE = "unreadable"
    FATAL = "fatal"

    @property
    def is_ambiguous(self) -> bool:
        """Whether a write may or may not have happened after it."""
        return self in (FailureKind.TRANSIENT, FailureKind.UNREADABLE)

    @property
    def is_final(self) -> bool:
        """Whether no retry can mend it."""
        return self in (FailureKind.FATAL, FailureKind.UNREADABLE)


def _is_seconds(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


_THROTTLING_PREFIXES = ("throttling", "requestthrottled", "flowcontrol", "toomanyrequests")
_TRANSIENT_CODES = frozenset(
    code.lower()
    for code in (
        "ServiceUnavailable",
        "ServiceUnavailableTemporary",
        "InternalError",
        "InternalServerError",
        "ServerBusy",
        "SystemBusy",
        "Service.Unavailable",
        "RequestTimeout",
        "GatewayTimeout",
    )
)
# The IoT error-code page: iot.system.* and iot.Sre.* are system errors, "try again later".
_TRANSIENT_PREFIXES = ("iot.system.", "iot.sre.")


def is_throttling_code(code: str | None) -> bool:
    """Whether an error code is a flow-control refusal.

    >>> is_throttling_code("Throttling.User"), is_throttling_code("InvalidParameter")
    (True, False)
    """
    return code is not None and code.lower().startswith(_THROTTLING_PREFIXES)


def is_transient_code(code: str | None, http_status: int) -> bool:
    """Whether an error may go away on its own (reads are retried on it)."""
    if http_status >= 500 or http_status == 429:
        return True
    if not code:
        return False
    folded = code.lower()
    return folded in _TRANSIENT_CODES or folded.startswith(_TRANSIENT_PREFIXES)


_REJECTED_TOKEN_CODES = frozenset(
    code.lower()
    for code in (
        "InvalidSecurityToken.Expired",
        "InvalidSecurityToken.Malformed",
        "InvalidSecurityToken.MismatchWithAccessKey",
    )
)


def is_rejected_token_code(code: str | None) -> bool:
    """Whether the service refused the security token (new credentials may mend it)."""
    return code is not None and code.lower() in _REJECTED_TOKEN_CODES


def kind_of_transport_error(exc: Exception) -> FailureKind:
    """How an exception out of httpx's send or read is retried (see the module docstring).

    ``NOT_SENT`` when the request cannot have reached the service, ``FATAL`` when it could
    not even be built or written (it will not get better, and nothing was sent), else
    ``TRANSIENT``: once bytes may have left, the service may have acted.

    >>> kind_of_transport_error(httpx.ConnectError("refused"))
    <FailureKind.NOT_SENT: 'not_sent'>
    """
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        return FailureKind.NOT_SENT
    if isinstance(exc, httpx.InvalidURL | httpx.UnsupportedProtocol | httpx.LocalProtocolError):
        return FailureKind.FATAL
    return FailureKind.TRANSIENT


_DECIMAL = re.compile(r"\s*\d{1,12}(?:\.\d{1,9})?\s*")


def clamp_retry_hint(seconds: float | None, cap: float = DEFAULT_RETRY_AFTER_CAP) -> float | None:
    """A retry hint as a usable pause: ``None`` unless a positive finite number, at most ``cap``.

    >>> clamp_retry_hint(2.5), clamp_retry_hint(999999.0), clamp_retry_hint(float("nan"))
    (2.5, 30.0, None)
    """
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        return None
    if not seconds > 0:  # also refuses NaN
        return None
    return min(float(seconds), cap)


@attrs.frozen
class RetryPolicy:
    """How often and how patiently a call is retried.

    ``max_attempts`` counts the first try. ``max_throttled_attempts`` (default: the same)
    replaces it after a throttling answer, so a caller that would rather slow down than
    fail can allow more tries for flow control than for a server that is down: a call
    gives up once it has made that many attempts and the last one failed for that
    reason. ``deadline`` (seconds) bounds the whole call:
    waiting in the rate limiter, every attempt, and the waits between them. An attempt in
    flight when it passes is cut off (for a write: ``OutcomeUnknownError``), and a retry
    whose wait would end past it is not made. Waits are exponential with full jitter,
    ``uniform(0, min(backoff_cap, backoff_base * 2**n))``, and never shorter than a
    server-given retry hint (capped at ``retry_after_cap``). Each attempt on its own is
    bounded by the client's ``timeout``.

    >>> policy = RetryPolicy(max_attempts=3, max_throttled_attempts=20, deadline=60.0)
    >>> [policy.attempts_allowed(kind) for kind in (FailureKind.NOT_SENT, FailureKind.THROTTLED)]
    [3, 20]
    """

    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    max_throttled_attempts: int | None = None
    deadline: float | None = None
    backoff_base: float = DEFAULT_BACKOFF_BASE
    backoff_cap: float = DEFAULT_BACKOFF_CAP
    retry_after_cap: float = DEFAULT_RETRY_AFTER_CAP
    random: Callable[[], float] = attrs.field(default=random.random, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        # Checked here, once, so that a bad policy fails where it is written and not at
        # the first retry of some call much later (attrs.evolve runs this again too).
        _check_attempts("max_attempts", self.max_attempts)
        if self.max_throttled_attempts is not None:
            _check_attempts("max_throttled_attempts", self.max_throttled_attempts)
        if self.deadline is not None and not (_is_seconds(self.deadline) and self.deadline > 0):
            raise ValidationError(
                f"deadline must be a positive finite number of seconds or None, "
                f"got {shown(self.deadline)}"
            )
        for name in ("backoff_base", "backoff_cap", "retry_after_cap"):
            value = getattr(self, name)
            if not (_is_seconds(value) and value >= 0):
                raise ValidationError(
                    f"{name} must be a finite number of seconds, 0 or more, got {shown(value)}"
                )
        if not callable(self.random):
            raise ValidationError(
                f"random must be a callable returning a float in [0, 1), "
                f"got {type(self.random).__name__}"
            )

    def attempts_allowed(self, kind: FailureKind) -> int:
        """How many attempts a call may make when the last one failed with ``kind``."""
        if kind is FailureKind.THROTTLED and self.max_throttled_attempts is not None:
            return self.max_throttled_attempts
        return self.max_attempts

    def retry_hint(
        self, headers: Mapping[str, str], now: Callable[[], float] = time.time
    ) -> float | None:
        """The server's retry hint in seconds, validated and capped at ``retry_after_cap``.

        ``x-acs-retry-after`` (the gateway's, in milliseconds) wins over ``Retry-After``
        (seconds, or an HTTP date). Missing, garbled, negative, zero or non-finite hints
        are no hint (``None``).

        >>> RetryPolicy().retry_hint({"x-acs-retry-after": "1500", "retry-after": "9"})
        1.5
        >>> RetryPolicy().retry_hint({"retry-after": "999999"}), RetryPolicy().retry_hint({})
        (30.0, None)
        """
        raw = headers.get("x-acs-retry-after")
        if raw is not None and _DECIMAL.fullmatch(raw):
            hint = clamp_retry_hint(float(raw) / 1000, self.retry_after_cap)
            if hint is not None:
                return hint
        # No usable gateway hint (absent, garbled or zero): the HTTP one may still say.
        raw = headers.get("retry-after")
        if raw is None:
            return None
        seconds = float(raw) if _DECIMAL.fullmatch(raw) else _seconds_until(raw, now)
        return clamp_retry_hint(seconds, self.retry_after_cap)

    def backoff(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before attempt ``attempt + 1`` (``attempt`` starts at 1)."""
        # min() first: 2**attempt of a large attempt count would overflow a float.
        ceiling = min(self.backoff_cap, self.backoff_base * 2 ** min(attempt - 1, 64))
        wait: float = self.random() * ceiling
        if retry_after is not None and retry_after > 0:
            wait = max(wait, min(retry_after, self.retry_after_cap))
        return wait


def _check_attempts(name: str, attempts: object) -> None:
    if isinstance(attempts, bool) or not isinstance(attempts, int):
        raise ValidationError(f"{name} must be an integer, got {shown(attempts)}")
    if not 1 <= attempts <= _MAX_ATTEMPTS:
        # 2**(attempt - 1) must stay a float: past 1,024 attempts it overflows.
        raise ValidationError(f"{name} must be from 1 to {_MAX_ATTEMPTS}, got {shown(attempts)}")


def _seconds_until(http_date: str, now: Callable[[], float]) -> float | None:
    try:
        when = parsedate_to_datetime(http_date)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp() - now()
