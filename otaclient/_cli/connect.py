"""A client for the command line's options: a real endpoint, or the in-process simulator.

``--demo`` builds the simulator's sample fleet (3 products, 12 packages, ~45 batches,
~5,000 device tasks: about 90 requests, ~10 s at 10 QPS) and talks to it through an ASGI
transport, with a little latency so the progress display has something to show. Nothing
listens on a socket. Without ``--demo``, credentials are ``--access-key-id`` /
``--access-key-secret-file`` when given (each falling back to its environment variable),
else the library's default chain (environment, RRSA, the ``--profile`` of the aliyun CLI's
config or of credentials.ini, the ECS role, ``ALIBABA_CLOUD_CREDENTIALS_URI``), run before
anything is sent; they are never printed.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import attrs

from .. import (
    Credentials,
    CredentialsError,
    CredentialsProvider,
    DefaultCredentialsChain,
    OTAClient,
    OTAError,
    ValidationError,
)
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
    if conn.demo:
        async with _demo_client(conn, demo_latency) as session:
            yield session
        return
    credentials = await _credentials(conn)
    endpoint, region_id = conn.resolved_endpoint()
    if not endpoint and not region_id:
        raise CliFailure(
            "no endpoint: pass --endpoint URL or --region-id REGION "
            f"(or set {ENV_ENDPOINT}), or use --demo"
        )
    client = _kept(
        OTAClient(
            credentials=credentials,
            endpoint=endpoint,
            region_id=None if endpoint else region_id,
            iot_instance_id=conn.iot_instance_id,
            allow_insecure_http=conn.allow_insecure_http,
            **conn.pacing(endpoint),
        )
    )
    url = client.endpoint
    try:
        async with client:
            yield Session(client, url, url)
    except OTAError as exc:
        raise describe(exc, url) from None


_COMMAND_CLIENTS: list[OTAClient] = []


def _kept(client: OTAClient) -> OTAClient:
    # Kept for the whole command: a live client's secrets are what `scrub_secrets` masks,
    # so the command's last error line is scrubbed of them even once the client is closed.
    _COMMAND_CLIENTS[:] = [client]
    return client


_HINT = (
    "(command line: --access-key-id, --access-key-secret-file, --profile); "
    "or try --demo to use the built-in simulator"
)


async def _credentials(conn: Connection) -> CredentialsProvider:
    if conn.access_key_id is None and conn.access_key_secret_file is None:
        chain = DefaultCredentialsChain(profile=conn.profile)
        try:
            found = await chain.resolve()  # "no credentials" before anything is sent
        except CredentialsError as exc:
            raise CliFailure(f"{exc} {_HINT}") from None
        # Static keys go to the client as they are: it knows their secrets from the start,
        # so even an unexpected error before the first request is scrubbed of them.
        return found if isinstance(found, Credentials) else chain
    if conn.profile is not None:
        raise CliFailure(
            "give --profile or --access-key-id/--access-key-secret-file, not both", exit_code=2
        )
    secret: str | None = None
    if conn.access_key_secret_file is not None:
        try:
            secret = conn.access_key_secret_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise CliFailure(f"cannot read --access-key-secret-file: {exc.strerror}") from None
    try:
        return Credentials.resolve(conn.access_key_id, secret or None)
    except ValidationError as exc:
        raise CliFailure(f"{exc} {_HINT}") from None


@contextlib.asynccontextmanager
async def _demo_client(conn: Connection, latency: float) -> AsyncIterator[Session]:
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
        iot_instance_id=conn.iot_instance_id,
        transport=simulator.transport(),
        **conn.pacing(DEMO_ENDPOINT),
    )
    async with client:
        yield Session(client, target, DEMO_ENDPOINT)
