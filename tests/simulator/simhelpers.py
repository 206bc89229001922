"""A tiny signed-request client and a fake clock for the simulator tests.

Deliberately independent of the otaclient client (which is written elsewhere): it uses
only ``otaclient._signing`` so that a signing bug there and here would have to agree.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx
from defusedxml import ElementTree

from otaclient._signing import canonical_query, sign
from otaclient.simulator import (
    DEMO_ACCESS_KEY_ID,
    DEMO_ACCESS_KEY_SECRET,
    FleetSpec,
    Simulator,
    SimulatorConfig,
)

#: Fleet "now" used by the tests: 2024-11-19T09:00:00Z.
ANCHOR_MS = 1_732_006_800_000


class FakeClock:
    """Monotonic and wall clocks that only move when told to."""

    def __init__(self, wall: float = ANCHOR_MS / 1000 + 600) -> None:
        self.mono = 1000.0
        self.wall = wall

    def monotonic(self) -> float:
        return self.mono

    def time(self) -> float:
        return self.wall

    def advance(self, seconds: float) -> None:
        self.mono += seconds
        self.wall += seconds


def make_app(clock: FakeClock | None = None, **config: Any) -> Simulator:
    """A simulator on a fake clock with a fixed fleet anchor (overridable)."""
    clock = clock or FakeClock()
    config.setdefault("fleet", FleetSpec(anchor_ms=ANCHOR_MS))
    config.setdefault("clock", clock.monotonic)
    config.setdefault("wall_clock", clock.time)
    return Simulator(SimulatorConfig(**config))


_NONCES = itertools.count()


def common_params(
    action: str,
    *,
    key_id: str = DEMO_ACCESS_KEY_ID,
    wall: float | None = None,
    fmt: str | None = "JSON",
    nonce: str | None = None,
) -> dict[str, str]:
    """The common parameters of a v1 RPC request (aliyun style: all of them)."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if wall is None else wall))
    params = {
        "Action": action,
        "Version": "2018-01-20",
        "AccessKeyId": key_id,
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "SignatureNonce": nonce or f"{next(_NONCES):08d}{time.time_ns():024x}"[-32:],
        "Timestamp": stamp,
    }
    if fmt is not None:
        params["Format"] = fmt
    return params


def signed_query(params: Mapping[str, str], method: str, secret: str) -> str:
    """Canonical query plus its Signature, ready to append to ``/?``."""
    canonical = canonical_query(params)
    return f"{canonical}&Signature={quote(sign(method, canonical, secret), safe='')}"


class SimClient:
    """Signs and sends requests to a simulator (in-process or over HTTP)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        clock: FakeClock | None = None,
        key_id: str = DEMO_ACCESS_KEY_ID,
        secret: str = DEMO_ACCESS_KEY_SECRET,
    ) -> None:
        self.http = http
        self.clock = clock
        self.key_id = key_id
        self.secret = secret

    async def send(
        self,
        action: str,
        params: Mapping[str, str | int] | None = None,
        *,
        method: str = "POST",
        in_body: bool = False,
        fmt: str | None = "JSON",
        secret: str | None = None,
        nonce: str | None = None,
        common: Mapping[str, str | None] | None = None,
    ) -> httpx.Response:
        """Send one signed request.

        ``in_body`` puts the business parameters in a form body (still signed);
        ``common`` overrides common parameters (``None`` removes one) before signing.
        """
        wall = None if self.clock is None else self.clock.time()
        signed = common_params(action, key_id=self.key_id, wall=wall, fmt=fmt, nonce=nonce)
        for name, value in (common or {}).items():
            if value is None:
                signed.pop(name, None)
            else:
                signed[name] = value
        business = {name: str(value) for name, value in (params or {}).items()}
        query = signed_query({**signed, **business}, method, secret or self.secret)
        if in_body:
            only_common = {**signed}
            canonical = canonical_query({**signed, **business})
            signature = sign(method, canonical, secret or self.secret)
            url = f"/?{canonical_query(only_common)}&Signature={quote(signature, safe='')}"
            return await self.http.request(method, url, data=business)
        return await self.http.request(method, f"/?{query}")

    async def call(
        self, action: str, params: Mapping[str, str | int] | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """Send and return the decoded JSON body (any status)."""
        response = await self.send(action, params, **kwargs)
        body: dict[str, Any] = response.json()
        return body


def xml_root(response: httpx.Response) -> Any:
    """Parse an XML answer."""
    return ElementTree.fromstring(response.content)


def in_process(app: Simulator) -> httpx.AsyncClient:
    """An httpx client bound to the app in-process."""
    return httpx.AsyncClient(transport=app.transport(), base_url="http://sim")
