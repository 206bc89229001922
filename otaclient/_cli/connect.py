"""A client for the command line's options: a real endpoint, or the in-process simulator.

``--demo`` builds the simulator's sample fleet (3 products, 12 packages, ~45 batches,
~5,000 device tasks: about 90 requests, ~10 s at 10 QPS) and talks to it through an ASGI
transport, with a little latency so the progress display has something to show. Nothing
listens on a socket. Without ``--demo``, credentials come from the environment (or
``--access-key-id`` / ``--access-key-secret-file``) and are never printed.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator

import attrs

from .._client import OTAClient
from .._constants import (
    DEFAULT_QPS,
    ENV_ACCESS_KEY_ID,
    ENV_ACCESS_KEY_SECRET,
    ENV_SECURITY_TOKEN,
    REGION_ENDPOINT,
)
from .._errors import OTAError
from .._redact import Secrets
from .failures import CliFailure, describe
from .options import ENV_ENDPOINT, Connection

__all__ = ["DEMO_ENDPOINT", "Session", "open_session"]

DEMO_ENDPOINT = "http://otaclient-simulator.invalid"
"""Base URL the demo client uses; requests never leave the process."""
DEMO_LATENCY = 0.12


@attrs.frozen
class Session:
    """An open client and a one-line description of what it talks to."""

    client: OTAClient
    target: str
    endpoint: str


@contextlib.asynccontextmanager
async def open_session(
    conn: Connection, *, demo_latency: float = DEMO_LATENCY
) -> AsyncIterator[Session]:
    """Open a client for ``conn`` (``--demo``: the in-process simulator)."""
    qps = DEFAULT_QPS if conn.qps is None else (conn.qps or None)
    if conn.demo:
        async with _demo_client(conn, qps, demo_latency) as session:
            yield session
        return
    key_id, secret = _credentials(conn)
    _remember_secrets(secret, os.environ.get(ENV_SECURITY_TOKEN))
    endpoint, region_id = conn.resolved_endpoint()
    if not endpoint and not region_id:
        raise CliFailure(
            "no endpoint: pass --endpoint URL or --region-id REGION "
            f"(or set {ENV_ENDPOINT}), or use --demo"
        )
    client = OTAClient(
        access_key_id=key_id,
        access_key_secret=secret,
        endpoint=endpoint,
        region_id=None if endpoint else region_id,
        qps=qps,
        iot_instance_id=conn.iot_instance_id,
        allow_insecure_http=conn.allow_insecure_http,
    )
    url = endpoint.rstrip("/") if endpoint else REGION_ENDPOINT.format(region=region_id)
    try:
        async with client:
            yield Session(client, url, url)
    except OTAError as exc:
        raise describe(exc, url) from None


_COMMAND_SECRETS: list[Secrets] = []


def _remember_secrets(secret: str, token: str | None) -> None:
    # Kept for the whole command, so that its last error line is scrubbed of them even
    # once the client that knew them is gone.
    secrets = Secrets(secret)
    secrets.add(token, travels=True)
    _COMMAND_SECRETS[:] = [secrets]


def _credentials(conn: Connection) -> tuple[str, str]:
    key_id = conn.access_key_id or os.environ.get(ENV_ACCESS_KEY_ID)
    secret: str | None
    if conn.access_key_secret_file is not None:
        try:
            secret = conn.access_key_secret_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise CliFailure(f"cannot read --access-key-secret-file: {exc.strerror}") from None
    else:
        secret = os.environ.get(ENV_ACCESS_KEY_SECRET)
    missing = [
        name
        for name, value in ((ENV_ACCESS_KEY_ID, key_id), (ENV_ACCESS_KEY_SECRET, secret))
        if not value
    ]
    if missing:
        raise CliFailure(
            f"no credentials: set {' and '.join(missing)} "
            "(or try --demo to use the built-in simulator)"
        )
    assert key_id and secret
    return key_id, secret


@contextlib.asynccontextmanager
async def _demo_client(
    conn: Connection, qps: float | None, latency: float
) -> AsyncIterator[Session]:
    # Imported here: the simulator builds a fleet, which only --demo needs.
    from ..simulator import (
        DEMO_ACCESS_KEY_ID,
        DEMO_ACCESS_KEY_SECRET,
        Simulator,
        SimulatorConfig,
    )

    config = SimulatorConfig(latency=latency, jitter=latency / 2)
    simulator = Simulator(config)
    fleet = simulator.fleet
    target = (
        f"the built-in simulator in-process ({config.dialect} dialect, seed {config.seed}): "
        f"{len(fleet.products)} products, {len(fleet.firmware)} packages, "
        f"{len(fleet.jobs)} batches, {fleet.total_tasks:,} device tasks"
    )
    client = OTAClient(
        access_key_id=DEMO_ACCESS_KEY_ID,
        access_key_secret=DEMO_ACCESS_KEY_SECRET,
        endpoint=DEMO_ENDPOINT,
        qps=qps,
        iot_instance_id=conn.iot_instance_id,
        transport=simulator.transport(),
    )
    async with client:
        yield Session(client, target, DEMO_ENDPOINT)
