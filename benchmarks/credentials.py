"""What asking the credentials provider before every attempt costs when nothing is due.

The request loop awaits ``provider.get_credentials()`` before signing each attempt. When the
cached credentials are fresh that must be close to free (target: under 2 us). Measured in
one event loop, ``M`` asks in a loop, best of 3, on asyncio and on trio, side by side with:

* a dict lookup in the same loop (the floor: what reading a cached value costs at all);
* awaiting a coroutine that returns at once (the floor of any async method call);
* static ``Credentials`` (a provider that is its own value);
* ``CachedProvider`` holding fresh STS credentials (one clock read and a comparison);
* ``DefaultCredentialsChain`` after it found its source (the credentials URI of the
  in-process cloud stand-in): the chain's delegation on top of the cached provider;
* what the Sender pays per attempt: ``SigningKeys.current()`` (the ask, wrapped so that a
  provider's failure names it, plus the check that the keys are the ones already
  registered with the client's secret scrubber) over the cached provider and the chain.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from collections.abc import Awaitable, Callable

import anyio

from otaclient import CachedProvider, Credentials, DefaultCredentialsChain
from otaclient._redact import Secrets
from otaclient._signing_keys import SigningKeys
from otaclient.simulator import CloudConfig, CloudStandIn

from ._common import Result, ratio, verdict

NAME = "credentials"
BACKENDS = ("asyncio", "trio")
TARGET_US = 2.0
FLOORS = ("dict lookup (floor)", "await a coroutine returning at once")


async def _returns_at_once() -> Credentials:
    return _STATIC


_STATIC = Credentials("bench-id", "bench-secret")


async def _fresh_sts() -> Credentials:
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    return Credentials("STS.bench", "secret", "token", expiration=expires)


async def _cost(iterations: int, home: str) -> dict[str, float]:
    cloud = CloudStandIn(CloudConfig(lifetime=3600))
    chain = DefaultCredentialsChain(
        environ={"ALIBABA_CLOUD_CREDENTIALS_URI": "http://cloud.bench/credentials"},
        home=home,
        transport=cloud.transport(),
    )
    cached = CachedProvider(_fresh_sts, name="bench")
    await chain.get_credentials()  # find the source and fetch once: nothing is due after
    await cached.get_credentials()
    sender_cached = SigningKeys(cached, Secrets())
    sender_chain = SigningKeys(chain, Secrets())
    await sender_cached.current()  # registers the secrets once, as a client's first attempt
    await sender_chain.current()
    table = {"credentials": _STATIC}
    out: dict[str, float] = {}

    def loop_dict() -> float:
        started = time.perf_counter()
        for _ in range(iterations):
            table["credentials"]  # the lookup is what is measured
        return time.perf_counter() - started

    async def loop_await(ask: Callable[[], Awaitable[Credentials]]) -> float:
        started = time.perf_counter()
        for _ in range(iterations):
            await ask()
        return time.perf_counter() - started

    cases: list[tuple[str, Callable[[], Awaitable[float]]]] = [
        ("dict lookup (floor)", _as_async(loop_dict)),
        ("await a coroutine returning at once", lambda: loop_await(_returns_at_once)),
        ("Credentials.get_credentials (static)", lambda: loop_await(_STATIC.get_credentials)),
        ("CachedProvider.get_credentials (fresh)", lambda: loop_await(cached.get_credentials)),
        (
            "DefaultCredentialsChain.get_credentials (found)",
            lambda: loop_await(chain.get_credentials),
        ),
        (
            "Sender per attempt: SigningKeys.current (cached)",
            lambda: loop_await(sender_cached.current),
        ),
        (
            "Sender per attempt: SigningKeys.current (chain)",
            lambda: loop_await(sender_chain.current),
        ),
    ]
    for label, measure in cases:
        await measure()  # warm up
        out[label] = min([await measure() for _ in range(3)]) / iterations * 1e6
    assert cloud.counts["credentials_uri"] == 1, "the benchmark must not refresh"
    return out


def _as_async(fn: Callable[[], float]) -> Callable[[], Awaitable[float]]:
    async def run() -> float:
        return fn()

    return run


def run(smoke: bool) -> Result:
    iterations = 20_000 if smoke else 1_000_000
    result = Result(
        NAME,
        f"Credentials: one ask when nothing is due ({iterations:,} in a loop, best of 3), us",
        ["ask", *BACKENDS, "x dict lookup (asyncio)", "target"],
    )
    costs: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as home:  # an empty home: no profile files are read
        for backend in BACKENDS:
            costs[backend] = anyio.run(_cost, iterations, home, backend=backend)
    floor = costs["asyncio"]["dict lookup (floor)"]
    for label in costs["asyncio"]:
        target = f"< {TARGET_US:g}" if label not in FLOORS else "-"
        result.rows.append(
            [
                label,
                *(costs[b][label] for b in BACKENDS),
                ratio(costs["asyncio"][label], floor),
                target,
            ]
        )
    asks = [costs[b][label] for b in BACKENDS for label in costs[b] if label not in FLOORS]
    met = max(asks) < TARGET_US
    result.notes.append(
        f"slowest ask {max(asks):.2f} us against the {TARGET_US:g} us target -> {verdict(met)}"
    )
    result.data = {"iterations": iterations, "cost_us": costs, "target_us": TARGET_US, "met": met}
    return result
