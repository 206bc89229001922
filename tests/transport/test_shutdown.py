"""Closing the client closes every connection, and nothing complains afterwards.

aiohttp reports a session or connector left open with a ``ResourceWarning`` and an error
through the event loop's exception handler ("Unclosed client session"), and Python warns
about a socket left open when it is collected. Each test collects garbage while recording
warnings and log records, and fails on any of them.
"""

from __future__ import annotations

import gc
import logging
import os
import ssl
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from support.loopback import LoopbackServer

from otaclient._transport import DefaultTransport

from .conftest import LIMITS

pytestmark = [pytest.mark.anyio, pytest.mark.filterwarnings("error::ResourceWarning")]


@contextmanager
def _nothing_left_behind(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    with warnings.catch_warnings(record=True) as warned, caplog.at_level(logging.WARNING):
        warnings.simplefilter("always", ResourceWarning)
        yield
        gc.collect()
    assert [str(w.message) for w in warned] == []
    assert [r.getMessage() for r in caplog.records if "nclosed" in r.getMessage()] == []


def _open_sockets() -> int:
    return sum(1 for fd in os.listdir("/proc/self/fd") if _link(fd).startswith("socket:"))


def _link(fd: str) -> str:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:  # the directory's own descriptor, gone by now
        return ""


@pytest.mark.parametrize("scheme", ["http", "https"])
async def test_closing_the_client_closes_every_connection(
    anyio_backend: str,
    scheme: str,
    server_tls: ssl.SSLContext,
    client_tls: ssl.SSLContext,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with _nothing_left_behind(caplog):
        async with LoopbackServer(tls=server_tls if scheme == "https" else None) as server:
            before = _open_sockets()
            transport = DefaultTransport(limits=LIMITS, verify=client_tls)
            async with httpx.AsyncClient(transport=transport) as client:
                for _ in range(3):
                    await client.get(server.url)
                assert server.open == 1
            await server.wait_open()
            assert _open_sockets() == before


async def test_closing_a_transport_that_sent_nothing_is_quiet(
    anyio_backend: str, caplog: pytest.LogCaptureFixture
) -> None:
    with _nothing_left_behind(caplog):
        async with httpx.AsyncClient(transport=DefaultTransport(limits=LIMITS)):
            pass


async def test_closing_with_a_response_left_open_closes_its_connection(
    anyio_backend: str, caplog: pytest.LogCaptureFixture
) -> None:
    with _nothing_left_behind(caplog):
        async with LoopbackServer() as server:
            transport = DefaultTransport(limits=LIMITS)
            async with httpx.AsyncClient(transport=transport) as client:
                await client.send(client.build_request("GET", server.url), stream=True)
            await server.wait_open()
