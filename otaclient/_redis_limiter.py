"""A quota shared by every process and host that uses one Redis key (``otaclient[redis]``).

Each ``acquire`` runs one Lua script that *reserves* the next free slot of a GCRA schedule
kept in Redis and returns how long the caller must wait for it. Time comes from Redis
itself (``TIME``), so hosts with skewed clocks still agree; the wait is a duration, so the
caller's own clock only measures it. Callers never poll: one round trip, then one sleep,
and slots are handed out in the order the reservations reached Redis.

A caller cancelled while it waits gives its slot back only when it is still the latest
reservation (a compare-and-set in Lua); otherwise the slot stays spent, which can only make
the shared rate lower, never higher.

No Redis call waits longer than ``connect_timeout + command_timeout``: a paused or
partitioned Redis (its port may still accept connections) makes ``acquire`` raise
``RateLimiterError`` or, when built with ``fallback_share``, fall back. In fallback each
process paces itself alone; it cannot see the others, so it divides the quota by the number
of participants it last saw in Redis (a sorted set of limiters that acquired within
``participant_ttl``, kept by the same script). A background task pings Redis every
``probe_interval``; the first answer puts the process back on the shared schedule.

``redis.asyncio`` runs on asyncio only; under trio ``acquire`` says so (use a
``TokenBucket`` per process there).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import uuid
from typing import Any

import anyio

from ._constants import DEFAULT_QPS
from ._errors import RateLimiterError, ValidationError
from ._limiter import TokenBucket, _check_count, _check_positive, _is_number

__all__ = ["RedisRateLimiter"]

log = logging.getLogger("otaclient")

_SAFETY = 0.02

# KEYS[1]: the schedule key; KEYS[2]: the participants (member -> last acquire, in Redis us).
# ARGV: interval (us), tolerance (us), schedule ttl (ms), member, participant ttl (us).
# Returns {wait_us, reserved_tat, participants}.
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
local member_ttl = tonumber(ARGV[5])
redis.call('ZADD', KEYS[2], now, ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - member_ttl)
redis.call('PEXPIRE', KEYS[2], math.ceil(member_ttl / 1000))
return {wait, string.format('%d', new_tat), redis.call('ZCARD', KEYS[2])}
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


def _running_library() -> str:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        return "asyncio"
    try:
        import sniffio

        return sniffio.current_async_library()
    except Exception:  # sniffio absent, or no async library it knows
        return "an event loop other than asyncio"


class RedisRateLimiter:
    """A GCRA limiter whose schedule lives in Redis, shared by every client using ``key``.

    >>> limiter = RedisRateLimiter("redis://127.0.0.1:6379/0", key="my-account", qps=10.0)
    >>> # async with OTAClient(..., limiter=limiter) as client: ...   # in every worker

    ``burst`` > 1 lets that many requests through back to back after a quiet spell.
    ``safety`` widens the spacing (default 2%) to absorb the varying delay between a slot
    granted in Redis and the request reaching the service from each process.

    ``connect_timeout`` and ``command_timeout`` (seconds) bound every Redis call: the
    connection's sockets get them, and the whole call (connecting, retrying once on a stale
    connection, the script) is cut off after their sum, also for a ``client=`` built
    elsewhere.

    ``fallback_share`` (e.g. ``0.5``): when Redis does not answer, pace this process alone
    instead of raising ``RateLimiterError``, at ``qps * min(fallback_share, 1 / N)``, where
    ``N`` counts the participants (limiters that acquired on this key within
    ``participant_ttl`` seconds) at Redis's last answer. The rate is rounded down to whole
    requests per second when it is at least 1, so that ``N`` processes together never put
    more than ``qps`` requests into one strict 1-second window. A background task pings
    Redis every ``probe_interval`` seconds and the first answer puts the process back on
    the shared schedule. One warning is logged when the fallback starts, one when it ends.
    While alone, a throttling answer halves this process's rate (``report_throttled``).

    What the fallback costs: ``floor(qps / N) * N`` requests per second while Redis is away
    (9 of 10 for three processes), and one wait of ``connect_timeout + command_timeout``
    for the callers that find Redis gone. What it cannot know: a process that starts during
    the outage, or that last acquired more than ``participant_ttl`` ago, is not counted by
    the others, and one that never reached Redis knows only ``fallback_share``; set
    ``fallback_share`` to ``1 / (the most processes you run)`` to stay under the quota in
    those cases too. With more processes than ``qps`` each sends ``qps / N`` per second on
    average, yet a strict window may see one from each (the client's throttling retries
    absorb that). Returning to Redis takes up to ``probe_interval`` in each process; for
    that moment the ones still alone add to the shared schedule.

    The limiter keeps two keys: ``prefix + key`` (the schedule) and ``prefix + key +
    ":participants"``; it needs one Redis (not Redis Cluster). Close it with ``aclose()``.
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
        connect_timeout: float = 1.0,
        command_timeout: float = 0.5,
        probe_interval: float = 1.0,
        participant_ttl: float = 120.0,
        client: Any = None,
    ) -> None:
        if not isinstance(url, str):
            raise ValidationError(f"RedisRateLimiter url must be a redis:// URL, got {url!r}")
        if not (isinstance(key, str) and key):
            raise ValidationError(
                f"RedisRateLimiter key must name the shared quota (e.g. the account), got {key!r}"
            )
        if not isinstance(prefix, str):
            raise ValidationError(f"RedisRateLimiter prefix must be a string, got {prefix!r}")
        _check_positive("RedisRateLimiter qps", qps)
        _check_count("RedisRateLimiter burst", burst)
        if fallback_share is not None and not (
            _is_number(fallback_share) and 0 < fallback_share <= 1
        ):
            raise ValidationError(
                f"RedisRateLimiter fallback_share must be in (0, 1] or None, got {fallback_share!r}"
            )
        if not (_is_number(safety) and 0 <= safety < 1):
            raise ValidationError(f"RedisRateLimiter safety must be in [0, 1), got {safety!r}")
        for name, value in (
            ("connect_timeout", connect_timeout),
            ("command_timeout", command_timeout),
            ("probe_interval", probe_interval),
            ("participant_ttl", participant_ttl),
        ):
            _check_positive(f"RedisRateLimiter {name} (seconds)", value)
        try:
            import redis.asyncio as redis_asyncio
            from redis.asyncio.retry import Retry
            from redis.backoff import NoBackoff
            from redis.exceptions import TimeoutError as RedisTimeoutError
        except ImportError as exc:  # pragma: no cover - depends on the installed extras
            raise RateLimiterError(
                "RedisRateLimiter needs the redis extra: pip install 'otaclient[redis]'"
            ) from exc
        if client is None:
            try:
                client = redis_asyncio.Redis.from_url(
                    url,
                    socket_connect_timeout=connect_timeout,
                    socket_timeout=command_timeout,
                    # One immediate retry (a pooled connection Redis closed meanwhile); no
                    # backoff: waiting out an outage is this limiter's decision, not redis-py's.
                    retry=Retry(NoBackoff(), 1),
                )
            except ValueError as exc:
                raise ValidationError(f"RedisRateLimiter url is not a Redis URL: {exc}") from exc
        self._redis = client
        self._timeout_error: type[Exception] = RedisTimeoutError
        self._key = f"{prefix}{key}"
        self._members_key = f"{self._key}:participants"
        self._member = uuid.uuid4().hex
        self._qps = float(qps)
        # A slot is granted in Redis but the request reaches the service a little later, and
        # by how much varies from process to process (scheduling, a new connection). A small
        # margin of spacing keeps a strict server-side window from seeing one too many.
        self._interval_us = round(1_000_000 / qps * (1 + safety))
        self._tolerance_us = (burst - 1) * self._interval_us
        self._ttl_ms = max(60_000, math.ceil((burst + 1) * 1000 / qps) * 10)
        self._participant_ttl_us = round(participant_ttl * 1_000_000)
        self._deadline = connect_timeout + command_timeout
        self._probe_interval = float(probe_interval)
        self._reserve = self._redis.register_script(_RESERVE)
        self._release = self._redis.register_script(_RELEASE)
        self._fallback_share = fallback_share
        self._fallback: TokenBucket | None = None  # set while Redis is away
        self._fallback_since = 0.0
        self._probe: asyncio.Task[None] | None = None
        self.participants: int | None = None
        """Limiters on this key that acquired within ``participant_ttl``, as Redis last said."""
        self.granted = 0
        """Slots handed out so far (shared or, in fallback, alone)."""
        self.throttled = 0
        """Throttling answers reported so far."""

    @property
    def rate(self) -> float:
        """The shared rate, in requests per second."""
        return self._qps

    @property
    def current_rate(self) -> float:
        """The shared rate, or this process's own rate while Redis is away."""
        return self._qps if self._fallback is None else self._fallback.current_rate

    @property
    def using_fallback(self) -> bool:
        """Whether this process paces itself alone because Redis does not answer."""
        return self._fallback is not None

    async def acquire(self, action: str | None = None) -> None:
        """Reserve the next shared slot and sleep until it comes (or pace alone, see above)."""
        library = _running_library()
        if library != "asyncio":
            raise RateLimiterError(
                f"RedisRateLimiter runs on asyncio only (redis-py's redis.asyncio), and this "
                f"is {library}: pace each process with a TokenBucket instead"
            )
        while True:
            bucket = self._fallback
            if bucket is None:
                if await self._acquire_shared():
                    return
                continue
            await bucket.acquire(action)
            if self._fallback is bucket:
                self.granted += 1
                return
            # Redis answered again while this caller waited alone: take a shared slot too,
            # so the shared schedule counts every request sent after the switch (slower for
            # a moment, never faster).

    def report_throttled(self, retry_after: float | None = None) -> None:
        """Count it; while pacing alone, slow this process down as well.

        On the shared schedule there is nothing to lower: it is the account's whole quota.
        """
        self.throttled += 1
        if self._fallback is not None:
            self._fallback.report_throttled(retry_after)

    async def aclose(self) -> None:
        """Leave the participants and close the Redis connection pool (bounded, like acquire)."""
        if _running_library() != "asyncio":
            return  # nothing was opened: acquire refuses to run there
        probe, self._probe = self._probe, None
        if probe is not None:
            probe.cancel()
            await asyncio.wait([probe], timeout=self._deadline)
        with anyio.move_on_after(self._deadline, shield=True), contextlib.suppress(Exception):
            await self._redis.zrem(self._members_key, self._member)
        with anyio.move_on_after(self._deadline, shield=True), contextlib.suppress(Exception):
            await self._redis.aclose()

    async def _acquire_shared(self) -> bool:
        # True once a shared slot is taken; False when this process now paces alone.
        try:
            with anyio.fail_after(self._deadline):
                wait_us, reserved, participants = await self._reserve(
                    keys=[self._key, self._members_key],
                    args=[
                        self._interval_us,
                        self._tolerance_us,
                        self._ttl_ms,
                        self._member,
                        self._participant_ttl_us,
                    ],
                )
        except Exception as exc:  # redis raises many types; all mean "cannot pace with it"
            self._start_fallback(exc)
            return False
        self.participants = int(participants)
        try:
            await anyio.sleep(int(wait_us) / 1_000_000)
        except BaseException:
            # If the release fails the slot stays spent: that only ever errs on the slow side.
            with (
                anyio.move_on_after(self._deadline, shield=True),
                contextlib.suppress(Exception),
            ):
                await self._release(keys=[self._key], args=[reserved, self._interval_us])
            raise
        self.granted += 1
        return True

    def _start_fallback(self, exc: Exception) -> None:
        if isinstance(exc, TimeoutError | self._timeout_error):
            reason = f"no answer within {self._deadline:g} s" + (f" ({exc})" if str(exc) else "")
        else:
            reason = f"{type(exc).__name__}: {exc}"
        if self._fallback_share is None:
            raise RateLimiterError(
                f"cannot reach Redis for the shared quota {self._key}: {reason}"
            ) from exc
        if self._fallback is not None:
            return  # another caller of this process got there first
        share, why = self._fallback_share, f"fallback_share {self._fallback_share:g}"
        seen = self.participants
        if seen is not None and 1 / seen < share:
            share, why = 1 / seen, f"1/{seen} of {self._qps:g} req/s for the {seen} participants"
            why += " last seen"
        rate = self._qps * share
        # Whole requests per second: N buckets at 10/3 each put 4 grants into some 1-second
        # windows, 12 together; at 3 each they never exceed 9.
        if rate >= 1:
            rate = float(math.floor(rate + 1e-9))
        bucket = self._fallback = TokenBucket(rate)
        self._fallback_since = anyio.current_time()
        # The probe runs beside the callers, so none of them waits for a Redis that does not
        # answer; asyncio's own task is fine here, this class runs on asyncio only.
        self._probe = asyncio.get_running_loop().create_task(self._probe_until_back(bucket))
        log.warning(
            "Redis unreachable for the shared quota %s (%s); "
            "pacing this process alone at %.2f req/s (%s)",
            self._key,
            reason,
            rate,
            why,
        )

    async def _probe_until_back(self, bucket: TokenBucket) -> None:
        while self._fallback is bucket:
            await asyncio.sleep(self._probe_interval)
            try:
                async with asyncio.timeout(self._deadline):
                    await self._redis.ping()
            except Exception:  # still away
                continue
            if self._fallback is bucket:
                self._fallback = None
                log.warning(
                    "Redis answers again; back to the shared quota %s after %.1f s alone",
                    self._key,
                    anyio.current_time() - self._fallback_since,
                )

    def __repr__(self) -> str:
        return f"RedisRateLimiter(key={self._key!r}, qps={self._qps})"
