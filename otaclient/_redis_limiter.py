"""A quota shared by every process and host that uses one Redis key (``otaclient[redis]``).

Each ``acquire`` runs one Lua script that *reserves* the next free slot of a GCRA schedule
kept in Redis and returns how long the caller must wait for it. Time comes from Redis
itself (``TIME``), so hosts with skewed clocks still agree; the wait is a duration, so the
caller's own clock only measures it. Callers never poll: one round trip, then one sleep,
and slots are handed out in the order the reservations reached Redis.

A caller cancelled while it waits gives its slot back only when it is still the latest
reservation (a compare-and-set in Lua); otherwise the slot stays spent, which can only make
the shared rate lower, never higher.

When Redis cannot be reached the limiter raises ``RateLimiterError``, or, when built with
``fallback_share``, logs a warning and paces this process alone at that share of the rate.

``redis.asyncio`` runs on asyncio only; under trio use a ``TokenBucket`` per process.
"""

from __future__ import annotations

import contextlib
import logging
import math
from typing import Any

import anyio

from ._constants import DEFAULT_QPS
from ._errors import RateLimiterError, ValidationError
from ._limiter import TokenBucket

__all__ = ["RedisRateLimiter"]

log = logging.getLogger("otaclient")

_SAFETY = 0.02

# KEYS[1]: the schedule key. ARGV: interval (us), tolerance (us), ttl (ms).
# Returns {wait_us, reserved_tat}.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local slot = tat - tolerance
local wait = slot - now
if wait < 0 then wait = 0 end
local new_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', tonumber(ARGV[3]))
return {wait, string.format('%d', new_tat)}
"""

# Give a reservation back only if nobody reserved after it.
_RELEASE = """
local tat = redis.call('GET', KEYS[1])
if tat == ARGV[1] then
  redis.call('SET', KEYS[1], string.format('%d', tonumber(ARGV[1]) - tonumber(ARGV[2])),
             'KEEPTTL')
  return 1
end
return 0
"""


class RedisRateLimiter:
    """A GCRA limiter whose schedule lives in Redis, shared by every client using ``key``.

    >>> limiter = RedisRateLimiter("redis://127.0.0.1:6379/0", key="my-account", qps=10.0)
    >>> # async with OTAClient(..., limiter=limiter) as client: ...   # in every worker

    ``burst`` > 1 lets that many requests through back to back after a quiet spell.
    ``safety`` widens the spacing (default 2%) to absorb the varying delay between a slot
    granted in Redis and the request reaching the service from each process.
    ``fallback_share`` (e.g. ``0.5``): if Redis is unreachable, pace this process alone at
    ``qps * fallback_share`` instead of failing.
    """

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        key: str,
        qps: float = DEFAULT_QPS,
        burst: int = 1,
        fallback_share: float | None = None,
        safety: float = _SAFETY,
        prefix: str = "otaclient:quota:",
        client: Any = None,
    ) -> None:
        if not (isinstance(qps, int | float) and math.isfinite(qps) and qps > 0):
            raise ValidationError(f"qps must be a positive number, got {qps!r}")
        if not key:
            raise ValidationError("key must name the shared quota (e.g. the account)")
        if not 0 <= safety < 1:
            raise ValidationError(f"safety must be in [0, 1), got {safety!r}")
        if fallback_share is not None and not 0 < fallback_share <= 1:
            raise ValidationError(f"fallback_share must be in (0, 1], got {fallback_share!r}")
        try:
            import redis.asyncio as redis_asyncio
        except ImportError as exc:  # pragma: no cover - depends on the installed extras
            raise RateLimiterError(
                "RedisRateLimiter needs the redis extra: pip install 'otaclient[redis]'"
            ) from exc
        self._redis = client or redis_asyncio.Redis.from_url(url)
        self._key = f"{prefix}{key}"
        self._qps = float(qps)
        # A slot is granted in Redis but the request reaches the service a little later, and
        # by how much varies from process to process (scheduling, a new connection). A small
        # margin of spacing keeps a strict server-side window from seeing one too many.
        self._interval_us = round(1_000_000 / qps * (1 + safety))
        self._tolerance_us = (burst - 1) * self._interval_us
        self._ttl_ms = max(60_000, math.ceil((burst + 1) * 1000 / qps) * 10)
        self._reserve = self._redis.register_script(_RESERVE)
        self._release = self._redis.register_script(_RELEASE)
        self._fallback = TokenBucket(qps * fallback_share) if fallback_share else None
        self._using_fallback = False
        self.granted = 0
        self.throttled = 0

    @property
    def rate(self) -> float:
        """The shared rate, in requests per second."""
        return self._qps

    current_rate = rate

    async def acquire(self, action: str | None = None) -> None:
        """Reserve the next shared slot and sleep until it comes."""
        try:
            wait_us, reserved = await self._reserve(
                keys=[self._key], args=[self._interval_us, self._tolerance_us, self._ttl_ms]
            )
        except Exception as exc:  # redis raises many types; all mean "cannot pace with it"
            await self._without_redis(exc, action)
            return
        if self._using_fallback:
            log.warning("Redis is reachable again; back to the shared quota %s", self._key)
            self._using_fallback = False
        try:
            await anyio.sleep(int(wait_us) / 1_000_000)
        except BaseException:
            # If the release fails the slot stays spent: that only ever errs on the slow side.
            with anyio.CancelScope(shield=True), contextlib.suppress(Exception):
                await self._release(keys=[self._key], args=[reserved, self._interval_us])
            raise
        self.granted += 1

    def report_throttled(self, retry_after: float | None = None) -> None:
        """Count it; the shared schedule is already the account's whole quota."""
        self.throttled += 1

    async def _without_redis(self, exc: Exception, action: str | None) -> None:
        if self._fallback is None:
            raise RateLimiterError(
                f"cannot reach Redis for the shared quota {self._key}: {type(exc).__name__}: {exc}"
            ) from exc
        if not self._using_fallback:
            log.warning(
                "Redis unreachable (%s); pacing this process alone at %.2f req/s",
                type(exc).__name__,
                self._fallback.rate,
            )
            self._using_fallback = True
        await self._fallback.acquire(action)
        self.granted += 1

    async def aclose(self) -> None:
        """Close the Redis connection pool."""
        await self._redis.aclose()

    def __repr__(self) -> str:
        return f"RedisRateLimiter(key={self._key!r}, qps={self._qps})"
