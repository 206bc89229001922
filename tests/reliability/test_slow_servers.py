"""A real loopback server that trickles bytes is cut off at the attempt timeout.

Each byte arrives every 20 ms, well inside httpx's per-read timeout, so only the client's
bound on the attempt as a whole can end it. Timeouts are small (0.3 s) and the assertions
are on request counts and lower bounds of time, never on how fast this machine is; the
outer ``fail_after`` turns a hang into a failure instead of a stuck suite.
"""

from __future__ import annotations

import anyio
import pytest
from support.slow_server import SlowServer

from otaclient import OTAClient, OutcomeUnknownError, RetryPolicy, TransportError

pytestmark = pytest.mark.anyio

TIMEOUT = 0.3
GUARD = 20.0  # far above any honest run; only a hang reaches it


def _client(server: SlowServer, attempts: int) -> OTAClient:
    return OTAClient(
        access_key_id="id",
        access_key_secret="secret",
        endpoint=server.url,
        qps=None,
        timeout=TIMEOUT,
        retry=RetryPolicy(max_attempts=attempts, backoff_base=0.0),
    )


@pytest.mark.parametrize("mode", ["body", "headers"])
async def test_a_trickling_server_cannot_hold_a_read_past_its_timeouts(mode: str) -> None:
    async with SlowServer(mode, interval=0.02) as server, _client(server, 2) as client:
        started = anyio.current_time()
        with anyio.fail_after(GUARD), pytest.raises(TransportError, match="timeout"):
            await client.list_ota_module_by_product(product_key="pk")
        elapsed = anyio.current_time() - started
        assert server.requests == 2
    assert elapsed >= 2 * TIMEOUT


@pytest.mark.parametrize("mode", ["body", "headers"])
async def test_a_write_to_a_trickling_server_is_sent_once(mode: str) -> None:
    async with SlowServer(mode, interval=0.02) as server, _client(server, 4) as client:
        with anyio.fail_after(GUARD), pytest.raises(OutcomeUnknownError):
            await client.create_ota_static_upgrade_job(
                firmware_id="f1", product_key="pk", target_selection="ALL"
            )
        assert server.requests == 1


async def test_the_deadline_ends_a_call_to_a_trickling_server() -> None:
    async with SlowServer("body", interval=0.02) as server:
        client = OTAClient(
            access_key_id="id",
            access_key_secret="secret",
            endpoint=server.url,
            qps=None,
            timeout=10.0,
            retry=RetryPolicy(max_attempts=10, deadline=0.4),
        )
        async with client:
            started = anyio.current_time()
            with anyio.fail_after(GUARD), pytest.raises(TransportError, match="deadline"):
                await client.list_ota_module_by_product(product_key="pk")
            assert anyio.current_time() - started >= 0.4
            assert server.requests == 1
