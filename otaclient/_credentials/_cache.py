"""The refresh rules every source of temporary credentials shares.

``CachedProvider`` wraps an async ``fetch`` (an STS call, a metadata read, ...) and decides
when to call it:

* Fresh credentials are answered from memory: one clock read and a comparison, no lock and
  nothing that yields, so asking before every attempt costs well under 2 us.
* They are refreshed ahead of expiry by the smaller of ``ahead`` (15 minutes) and
  ``ahead_fraction`` (a third) of their lifetime, which suits hour-long STS keys and
  two-minute test keys alike.
* One fetch at a time per provider. The caller that finds them due runs the fetch; callers
  arriving meanwhile keep the old keys while those are still usable, and wait for the fetch
  (an ``anyio.Event``, never a thread lock) only when there is nothing usable to give.
* A failed fetch while the old keys are still usable is logged and retried with backoff;
  no caller sees it until the old keys expire. With nothing usable, the failure is raised
  as ``CredentialsError`` to every caller that waited for that fetch.
* ``refresh(rejected)`` (the service said the token expired) fetches once even if the keys
  look fresh, unless another caller already replaced ``rejected``; concurrent calls share
  one fetch.

Everything is anyio, so it runs under asyncio and trio; the clock is injectable (epoch
seconds) so the rules can be tested in virtual time.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable

import anyio
import attrs

from .._errors import CredentialsError, ValidationError
from ._model import Credentials, same_keys

__all__ = ["CachedProvider", "Clock", "RefreshPolicy"]

log = logging.getLogger("otaclient.credentials")

Clock = Callable[[], float]
"""Epoch seconds (``time.time`` by default): expirations are wall-clock times."""


def _non_negative(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not value >= 0:
        raise ValidationError(f"RefreshPolicy.{attribute.name} must be >= 0, got {value!r}")


def _fraction(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not 0 < value < 1:
        raise ValidationError(f"RefreshPolicy.{attribute.name} must be in (0, 1), got {value!r}")


@attrs.frozen
class RefreshPolicy:
    """When temporary credentials are refreshed, and how failed refreshes are retried.

    * refresh at ``expiration - min(ahead, ahead_fraction * lifetime)``;
    * stop using them ``min(margin, lifetime / 10)`` before they expire (a request signed
      a moment before expiry may arrive after it);
    * after the n-th failure in a row, try again ``min(retry_cap, retry_base * 2**(n-1))``
      seconds later, shortened by up to ``jitter`` of itself so that many processes do not
      retry in step.
    """

    ahead: float = attrs.field(default=900.0, validator=_non_negative)
    ahead_fraction: float = attrs.field(default=1 / 3, validator=_fraction)
    margin: float = attrs.field(default=10.0, validator=_non_negative)
    retry_base: float = attrs.field(default=1.0, validator=_non_negative)
    retry_cap: float = attrs.field(default=60.0, validator=_non_negative)
    jitter: float = attrs.field(default=0.2, validator=_non_negative)

    def __attrs_post_init__(self) -> None:
        if self.jitter > 1:
            raise ValidationError(f"RefreshPolicy.jitter must be at most 1, got {self.jitter!r}")

    def retry_delay(self, failures: int, rng: random.Random) -> float:
        """Seconds to wait after ``failures`` consecutive failed refreshes."""
        delay = min(self.retry_cap, self.retry_base * 2.0 ** max(0, failures - 1))
        return delay * (1 - self.jitter * rng.random())


@attrs.define
class _Round:
    """One fetch in flight; waiters read its outcome once ``done`` is set."""

    done: anyio.Event
    result: Credentials | None = None
    error: CredentialsError | None = None


class CachedProvider:
    """A provider that caches what ``fetch`` returns and refreshes it by :class:`RefreshPolicy`.

    ``fetch`` is any async callable returning :class:`Credentials`; credentials without an
    ``expiration`` are kept until ``refresh()`` is called. ``name`` appears in logs, in
    errors and as the credentials' ``provider_name`` when ``fetch`` leaves it unset.

    >>> async def from_vault() -> Credentials:                  # doctest: +SKIP
    ...     ...
    >>> provider = CachedProvider(from_vault, name="vault")      # doctest: +SKIP
    """

    def __init__(
        self,
        fetch: Callable[[], Awaitable[Credentials]],
        *,
        name: str,
        clock: Clock = time.time,
        refresh_policy: RefreshPolicy | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._fetch = fetch
        self.name = name
        self._clock = clock
        self._policy = refresh_policy if refresh_policy is not None else RefreshPolicy()
        self._rng = rng if rng is not None else random.Random()
        self._current: Credentials | None = None
        self._refresh_at = -math.inf
        self._usable_until = -math.inf
        self._failures = 0
        self._round: _Round | None = None
        self.fetches = 0
        """Fetches started so far (successful or not)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, current={self._current!r})"

    @property
    def current(self) -> Credentials | None:
        """The cached credentials, if any (without refreshing them)."""
        return self._current

    async def get_credentials(self) -> Credentials:
        """The current credentials; fetched first if they are missing or due."""
        current = self._current
        if current is not None and self._clock() < self._refresh_at:
            return current
        return await self._when_due()

    async def refresh(self, rejected: Credentials | None = None) -> Credentials:
        """Fetch new credentials now, unless another caller already replaced ``rejected``.

        Concurrent calls share one fetch. A failure raises ``CredentialsError`` even when the
        cached credentials look valid: the service has just refused them.
        """
        while True:
            current = self._current
            if rejected is not None and current is not None and not same_keys(current, rejected):
                return current
            pending = self._round
            if pending is None:
                return await self._run_round(forced=True)
            await pending.done.wait()
            if pending.result is not None:
                return pending.result
            if pending.error is not None:
                raise pending.error
            # That fetch was cancelled, or failed while the old keys were kept: this
            # caller was told they are refused, so fetch again (callers arriving now join).

    # ------------------------------------------------------------------ internals

    async def _when_due(self) -> Credentials:
        while True:
            now = self._clock()
            current = self._current
            if current is not None and now < self._refresh_at:
                return current
            usable = current is not None and now < self._usable_until
            pending = self._round
            if pending is None:
                return await self._run_round(forced=False)
            if usable:
                assert current is not None
                return current  # someone is refreshing; the old ones are still good
            await pending.done.wait()
            current = self._current
            if current is not None and self._clock() < self._usable_until:
                return current
            if pending.error is not None:
                raise pending.error
            # That fetch was cancelled, or what it brought is already unusable: go again.

    async def _run_round(self, *, forced: bool) -> Credentials:
        pending = _Round(anyio.Event())
        self._round = pending
        try:
            fresh = await self._checked_fetch()
        except CredentialsError as exc:
            error = self._failed(exc, forced=forced)
            pending.error = error
            if error is None:
                assert self._current is not None
                return self._current
            if error is exc:
                raise
            raise error from exc
        else:
            pending.result = fresh
            return fresh
        finally:
            # Also on cancellation: waiters wake up, see neither a result nor an error, and
            # one of them starts a fetch of its own.
            self._round = None
            pending.done.set()

    async def _checked_fetch(self) -> Credentials:
        self.fetches += 1
        started = self._clock()
        try:
            fresh = await self._fetch()
        except CredentialsError:
            raise
        except Exception as exc:
            # A user-supplied fetch may raise anything: callers only ever see OTAError.
            raise CredentialsError(
                f"{self.name}: fetching credentials failed: {type(exc).__name__}: {exc}",
                provider=self.name,
            ) from exc
        if not isinstance(fresh, Credentials):
            raise CredentialsError(
                f"{self.name}: fetch returned {type(fresh).__name__}, not Credentials",
                provider=self.name,
            )
        if fresh.provider_name is None:
            fresh = attrs.evolve(fresh, provider_name=self.name)
        self._install(fresh, started)
        return fresh

    def _install(self, fresh: Credentials, obtained: float) -> None:
        now = self._clock()
        policy = self._policy
        current = self._current
        if fresh.expiration is None:
            refresh_at = usable_until = math.inf
        else:
            expires = fresh.expiration.timestamp()
            # The lifetime is counted from when the fetch started, so keys handed out again
            # (a metadata service repeats them until it rotates them) are asked for again
            # after a third of what is left of them, not on every call.
            lifetime = max(expires - obtained, 0.0)
            if (
                current is not None
                and same_keys(current, fresh)
                and (current.expiration == fresh.expiration)
            ):
                usable_until = self._usable_until  # the margin of their first sighting
            else:
                usable_until = expires - min(policy.margin, lifetime / 10)
            if usable_until <= now:
                raise CredentialsError(
                    f"{self.name}: the credentials it handed out expire at "
                    f"{_when(fresh.expiration)}, too soon to use them",
                    provider=self.name,
                )
            refresh_at = expires - min(policy.ahead, policy.ahead_fraction * lifetime)
        self._current = fresh
        self._usable_until = usable_until
        self._refresh_at = refresh_at
        self._failures = 0
        log.debug(
            "%s: credentials (key %s) expire %s, refresh in %.0f s",
            self.name,
            fresh.access_key_id,
            _when(fresh.expiration),
            refresh_at - now,
        )

    def _failed(self, exc: CredentialsError, *, forced: bool) -> CredentialsError | None:
        """Record a failed fetch; return the error to raise, or ``None`` to keep the old keys."""
        now = self._clock()
        self._failures += 1
        current = self._current
        if current is not None and now < self._usable_until:
            delay = self._policy.retry_delay(self._failures, self._rng)
            self._refresh_at = min(now + delay, self._usable_until)
            log.warning(
                "%s: refreshing credentials failed (%s); keeping the current ones "
                "(expire %s), next attempt in %.1f s",
                self.name,
                exc,
                _when(current.expiration),
                self._refresh_at - now,
            )
            if not forced:
                return None
            return exc
        if current is not None:
            assert current.expiration is not None
            return CredentialsError(
                f"{self.name}: refreshing the credentials failed and the current ones expire "
                f"at {_when(current.expiration)} (too soon to use them): {exc}",
                provider=exc.provider or self.name,
                code=exc.code,
                request_id=exc.request_id,
            )
        return exc


def _when(expiration: dt.datetime | None) -> str:
    if expiration is None:
        return "never"
    return expiration.strftime("%Y-%m-%dT%H:%M:%SZ")
