"""Client-side pacing: one token bucket (GCRA) per account, built on anyio.

The service allows 10 requests per second per account, counted by a strict window on its
side, and shared by every process of that account. The bucket here spaces requests evenly
(burst 1 by default): grants are at least ``1/rate`` apart, measured from when each grant
really happened, so a late wake-up never lets the next request in early and no 1-second
window ever sees more than ``rate`` grants (``rate + burst - 1`` with a larger burst).

Waiters are served first come, first served: they queue on a fair lock and only the head
sleeps. A waiter cancelled while it waits takes no token. When the service answers with a
throttling code anyway (another process shares the account), ``report_throttled`` halves the
rate and pauses briefly; the rate then climbs back to the configured one over
``recovery_seconds``.

Time comes from ``anyio.current_time`` by default, so tests can run the bucket in virtual
time (trio's ``MockClock``); any monotonic clock can be injected.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol, TypeGuard, runtime_checkable

import anyio

from ._constants import DEFAULT_BURST, DEFAULT_QPS
from ._errors import ValidationError
from ._retry import clamp_retry_hint

_SPACING_MARGIN = 0.005

__all__ = [
    "PerActionLimiter",
    "RateLimiter",
    "TokenBucket",
    "Unlimited",
    "lacking",
]


@runtime_checkable
class RateLimiter(Protocol):
    """What the client needs from a limiter, and what its callers read from one.

    Share one object between clients of an account. ``acquire`` and ``report_throttled``
    are what the client calls; ``rate``, ``current_rate``, ``granted`` and ``throttled``
    are what a progress display or a dashboard reads (``client.limiter.current_rate``).
    ``TokenBucket``, ``Unlimited``, ``PerActionLimiter`` and ``RedisRateLimiter`` all
    implement it; ``OTAClient(limiter=...)`` refuses an object that lacks any of it.
    """

    @property
    def rate(self) -> float | None:
        """The configured rate in requests per second; ``None``: no limit."""

    @property
    def current_rate(self) -> float | None:
        """The rate in force now (lower than ``rate`` for a while after throttling)."""

    @property
    def granted(self) -> int:
        """Requests let through so far."""

    @property
    def throttled(self) -> int:
        """Throttling answers reported so far."""

    async def acquire(self, action: str | None = None) -> None:
        """Wait until one more request of ``action`` may be sent, and take its token."""

    def report_throttled(self, retry_after: float | None = None) -> None:
        """Tell the limiter the service refused a request for flow control."""


_MEMBERS = ("rate", "current_rate", "granted", "throttled", "acquire", "report_throttled")
_CALLED = frozenset(("acquire", "report_throttled"))


def lacking(limiter: object) -> list[str]:
    """The members of ``RateLimiter`` that ``limiter`` lacks (empty: it is one).

    >>> lacking(Unlimited())
    []
    >>> lacking(object())
    ['rate', 'current_rate', 'granted', 'throttled', 'acquire', 'report_throttled']
    """
    return [
        name
        for name in _MEMBERS
        if not hasattr(limiter, name) or (name in _CALLED and not callable(getattr(limiter, name)))
    ]


class Unlimited:
    """A limiter that never waits (``qps=None``); it still counts what passes through."""

    def __init__(self) -> None:
        self.granted = 0
        """Requests let through so far."""
        self.throttled = 0
        """Throttling answers reported so far."""

    @property
    def rate(self) -> None:
        """No configured rate."""
        return None

    @property
    def current_rate(self) -> None:
        """No rate in force."""
        return None

    async def acquire(self, action: str | None = None) -> None:
        """Return at once; the request that follows is where a cancelled caller notices."""
        self.granted += 1

    def report_throttled(self, retry_after: float | None = None) -> None:
        """Count the report: there is no rate to lower."""
        self.throttled += 1

    def __repr__(self) -> str:
        return "Unlimited()"


def _is_number(value: object) -> TypeGuard[float]:
    # bool is an int subclass, but True is never a meaningful rate or duration.
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _check_positive(name: str, value: object) -> None:
    if not (_is_number(value) and value > 0):
        raise ValidationError(f"{name} must be a positive finite number, got {value!r}")


def _check_count(name: str, value: object) -> None:
    if not (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
        raise ValidationError(f"{name} must be an integer of at least 1, got {value!r}")


def _check_clock(name: str, clock: object) -> None:
    if clock is not None and not callable(clock):
        raise ValidationError(f"{name} must be a function returning seconds, got {clock!r}")


class TokenBucket:
    """A token bucket of ``rate`` tokens per second holding at most ``burst`` tokens.

    >>> bucket = TokenBucket(10.0)      # the service's quota, evenly spaced
    >>> bucket.rate
    10.0

    Pass the same bucket to every ``OTAClient`` that uses one account in this process.
    ``adaptive=False`` keeps the rate fixed even when the service throttles. Options are
    checked here, not at the first throttle: a rate, ``recovery_seconds`` or
    ``min_fraction`` that is not a finite number in range raises ``ValidationError``.
    """

    def __init__(
        self,
        rate: float = DEFAULT_QPS,
        *,
        burst: int = DEFAULT_BURST,
        adaptive: bool = True,
        recovery_seconds: float = 10.0,
        min_fraction: float = 0.1,
        clock: Callable[[], float] | None = None,
    ) -> None:
        _check_positive("TokenBucket rate (requests per second)", rate)
        _check_count("TokenBucket burst", burst)
        if not isinstance(adaptive, bool):
            raise ValidationError(f"TokenBucket adaptive must be True or False, got {adaptive!r}")
        _check_positive("TokenBucket recovery_seconds", recovery_seconds)
        if not (_is_number(min_fraction) and 0 < min_fraction <= 1):
            raise ValidationError(
                f"TokenBucket min_fraction must be a number in (0, 1], got {min_fraction!r}"
            )
        _check_clock("TokenBucket clock", clock)
        self._rate = float(rate)
        self._burst = burst
        self._adaptive = adaptive
        self._recovery_seconds = recovery_seconds
        self._min_fraction = min_fraction
        self._clock = clock or anyio.current_time
        self._lock = anyio.Lock(fast_acquire=True)
        self._tat: float | None = None  # theoretical arrival time of the next request
        self._fraction = 1.0  # share of the configured rate in force (adaptive)
        self._fraction_at = 0.0
        self._last_cut = -math.inf
        self.granted = 0
        """Tokens handed out so far."""
        self.throttled = 0
        """Throttling answers reported so far."""

    @property
    def rate(self) -> float:
        """The configured rate, in requests per second."""
        return self._rate

    @property
    def current_rate(self) -> float:
        """The rate in force now: lower than ``rate`` for a while after throttling."""
        try:
            now = self._clock()
        except RuntimeError:  # no event loop to read anyio's clock: the last known rate
            return self._rate * self._fraction
        return self._rate * self._recovered(now)

    async def acquire(self, action: str | None = None) -> None:
        """Wait for a token. FIFO; a waiter cancelled here consumes nothing."""
        await self._acquire_then(action, None)

    async def _acquire_then(
        self, action: str | None, then: Callable[[str | None], Awaitable[None]] | None
    ) -> None:
        # `then` (another limiter's acquire) runs while this bucket is held, so this bucket's
        # token is taken at the moment the request really goes: chained limiters stay strict.
        async with self._lock:
            now = self._clock()
            interval = self._interval(now)
            tat = now if self._tat is None else self._tat
            wait = tat - (self._burst - 1) * interval - now
            if wait > 0:
                await anyio.sleep(wait)
            if then is not None:
                await then(action)
            now = self._clock()
            # From the real grant time when we are late: no catching up in a burst.
            self._tat = max(tat, now) + interval
            self.granted += 1

    def report_throttled(self, retry_after: float | None = None) -> None:
        """Halve the rate (at most once a second) and pause ``retry_after`` or one interval."""
        self.throttled += 1
        if not self._adaptive:
            return
        now = self._clock()
        self._recover(now)
        if now - self._last_cut >= 1.0:
            self._fraction = max(self._fraction / 2, self._min_fraction)
            self._last_cut = now
        pause = clamp_retry_hint(retry_after) or 1.0 / self.current_rate
        self._tat = max(self._tat or now, now + pause)

    def _interval(self, now: float) -> float:
        self._recover(now)
        # A little more than 1/rate: a granted request can wait a moment for the event loop
        # (another task decoding a page) before it leaves, so arrivals at the server bunch
        # up slightly; 0.5% of spacing keeps a strict "N in any second" window from ever
        # seeing N+1 (10 intervals leave 5 ms of slack at 10/s).
        return 1.0 / (self._rate * self._fraction) * (1 + _SPACING_MARGIN)

    def _recover(self, now: float) -> None:
        self._fraction = self._recovered(now)
        self._fraction_at = now

    def _recovered(self, now: float) -> float:
        # The share of the rate in force at `now`, climbing back linearly after a cut.
        if self._fraction >= 1.0:
            return self._fraction
        climbed = (now - self._fraction_at) / self._recovery_seconds
        return min(1.0, self._fraction + max(climbed, 0.0))

    def __repr__(self) -> str:
        return f"TokenBucket(rate={self._rate}, burst={self._burst}, adaptive={self._adaptive})"


class PerActionLimiter:
    """One bucket per action at its own quota, optionally under an account-wide cap.

    The provider documents a quota per action and account (most actions 10/s, some 5 or
    20). With one bucket per action, an audit that runs several actions at once is paced
    by each action's own quota instead of one shared 10/s. ``overall`` (a number or any
    limiter, e.g. a ``RedisRateLimiter``) caps the sum as well.

    >>> limiter = PerActionLimiter({"QueryOTAFirmware": 20.0, "CancelOTATaskByJob": 5.0})
    >>> limiter.rate_of("QueryOTAFirmware"), limiter.rate_of("ListOTAFirmware")
    (20.0, 10.0)

    ``OTAClient(per_action_quotas=True)`` builds one from the operation table.
    """

    def __init__(
        self,
        quotas: Mapping[str, float] | None = None,
        *,
        default: float = DEFAULT_QPS,
        overall: RateLimiter | float | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if quotas is not None and not isinstance(quotas, Mapping):
            raise ValidationError(
                f"PerActionLimiter quotas must map action names to requests per second, "
                f"got {type(quotas).__name__}"
            )
        for action, quota in (quotas or {}).items():
            if not (isinstance(action, str) and action):
                raise ValidationError(
                    f"PerActionLimiter quotas must be keyed by action name, got {action!r}"
                )
            _check_positive(f"PerActionLimiter quota of {action}", quota)
        _check_positive("PerActionLimiter default (requests per second)", default)
        if isinstance(overall, bool) or not (
            overall is None or isinstance(overall, int | float) or not lacking(overall)
        ):
            raise ValidationError(
                "PerActionLimiter overall must be a rate in requests per second or a "
                f"RateLimiter (it lacks {', '.join(lacking(overall))}), got {overall!r}"
            )
        if isinstance(overall, int | float):
            _check_positive("PerActionLimiter overall (requests per second)", overall)
        _check_clock("PerActionLimiter clock", clock)
        self._quotas = {action: float(quota) for action, quota in (quotas or {}).items()}
        self._default = float(default)
        self._clock = clock
        self._buckets: dict[str, TokenBucket] = {}
        if isinstance(overall, int | float):
            overall = TokenBucket(float(overall), clock=clock)
        self._overall = overall
        self.granted = 0
        """Requests let through so far (each past its action's bucket and the cap)."""
        self.throttled = 0
        """Throttling answers reported so far."""

    @property
    def rate(self) -> float:
        """The overall cap when there is one, else the default per-action rate."""
        cap = self._overall.rate if self._overall is not None else None
        return self._default if cap is None else float(cap)

    @property
    def current_rate(self) -> float:
        """The overall cap in force now (see ``rate``)."""
        cap = self._overall.current_rate if self._overall is not None else None
        return self.rate if cap is None else float(cap)

    def rate_of(self, action: str) -> float:
        """The quota of ``action``, in requests per second."""
        return float(self._quotas.get(action, self._default))

    async def acquire(self, action: str | None = None) -> None:
        """Wait for a token of ``action``'s bucket and, at the same moment, the overall one."""
        bucket = self._bucket(action or "")
        then = self._overall.acquire if self._overall is not None else None
        await bucket._acquire_then(action, then)
        self.granted += 1

    def report_throttled(self, retry_after: float | None = None) -> None:
        """Slow the overall cap (the service does not say which quota it was)."""
        self.throttled += 1
        if self._overall is not None:
            self._overall.report_throttled(retry_after)

    def _bucket(self, action: str) -> TokenBucket:
        bucket = self._buckets.get(action)
        if bucket is None:
            bucket = TokenBucket(self.rate_of(action), clock=self._clock)
            self._buckets[action] = bucket
        return bucket

    def __repr__(self) -> str:
        return f"PerActionLimiter(default={self._default}, overall={self._overall!r})"
