"""A scriptable source of temporary credentials, and a virtual wall clock."""

from __future__ import annotations

import datetime as dt
import itertools

import anyio
import httpx

from otaclient import CachedProvider, Credentials, RefreshPolicy
from otaclient._credentials._cache import Clock
from otaclient.simulator import CloudConfig, CloudStandIn

EPOCH = 1_700_000_000.0
"""Virtual wall-clock time when a test starts (2023-11-14T22:13:20Z)."""

NO_JITTER = RefreshPolicy(jitter=0.0)


def virtual_wall_clock() -> Clock:
    """Epoch seconds that move with the event loop's virtual clock (which starts at 0).

    Safe to build outside the event loop: it reads the loop's clock only when called.
    """
    return lambda: EPOCH + anyio.current_time()


def at(seconds: float) -> dt.datetime:
    """The aware UTC datetime ``seconds`` after the test's start."""
    return dt.datetime.fromtimestamp(EPOCH + seconds, dt.UTC)


class FakeSource:
    """An async fetch handing out ``lifetime``-second credentials, numbered 1, 2, 3...

    ``latency`` seconds per fetch (virtual); ``failing`` makes every fetch raise;
    ``repeat`` hands out the last credentials again instead of new ones.
    """

    def __init__(self, clock: Clock, lifetime: float = 3600.0, latency: float = 0.0) -> None:
        self.clock = clock
        self.lifetime = lifetime
        self.latency = latency
        self.failing: BaseException | None = None
        self.repeat = False
        self.calls = 0
        self.handed_out: list[Credentials] = []
        self._numbers = itertools.count(1)

    async def __call__(self) -> Credentials:
        self.calls += 1
        if self.latency:
            await anyio.sleep(self.latency)
        if self.failing is not None:
            raise self.failing
        if self.repeat and self.handed_out:
            return self.handed_out[-1]
        number = next(self._numbers)
        expires = dt.datetime.fromtimestamp(self.clock() + self.lifetime, dt.UTC)
        credentials = Credentials(
            f"STS.key-{number}", f"secret-{number}", f"token-{number}", expiration=expires
        )
        self.handed_out.append(credentials)
        return credentials


def cached(source: FakeSource, policy: RefreshPolicy = NO_JITTER) -> CachedProvider:
    """A CachedProvider over ``source`` on the same clock."""
    return CachedProvider(source, name="fake", clock=source.clock, refresh_policy=policy)


CLOUD_URL = "http://cloud.test"
"""Where in-process stand-ins are addressed (the transport never resolves it)."""


def make_cloud(**config: object) -> CloudStandIn:
    """Cloud stand-ins on the virtual wall clock."""
    config.setdefault("wall_clock", virtual_wall_clock())
    return CloudStandIn(CloudConfig(**config))  # type: ignore[arg-type]


class Recording(httpx.AsyncBaseTransport):
    """Wraps a transport and keeps every request it sends."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        self.requests.append(request)
        return await self.inner.handle_async_request(request)
