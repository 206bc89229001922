"""HTTPS: certificates verified, through one context shared by every transport."""

from __future__ import annotations

import ssl
from typing import Any

import httpx
import pytest
from support.loopback import LoopbackServer

from otaclient._transport import DefaultTransport, shared_tls_context

from .conftest import LIMITS

pytestmark = pytest.mark.anyio


async def test_https_works_with_a_context_that_trusts_the_server(
    anyio_backend: str, server_tls: ssl.SSLContext, transport: DefaultTransport
) -> None:
    async with (
        LoopbackServer(tls=server_tls) as server,
        httpx.AsyncClient(transport=transport) as client,
    ):
        response = await client.get(server.url)
    assert response.status_code == 200
    assert server.requests == 1


async def test_an_untrusted_certificate_is_refused_before_anything_is_sent(
    anyio_backend: str, server_tls: ssl.SSLContext
) -> None:
    transport = DefaultTransport(limits=LIMITS)  # the shared context: the system's CAs only
    async with (
        LoopbackServer(tls=server_tls) as server,
        httpx.AsyncClient(transport=transport) as client,
    ):
        with pytest.raises(httpx.ConnectError) as refused:
            await client.get(server.url)
    assert "certificate verify failed" in _explained(refused.value)
    assert server.requests == 0


async def test_a_certificate_for_another_host_is_refused(
    anyio_backend: str, ca: Any, client_tls: ssl.SSLContext
) -> None:
    elsewhere = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("iot.cn-shanghai.aliyuncs.com").configure_cert(elsewhere)
    transport = DefaultTransport(limits=LIMITS, verify=client_tls)
    async with (
        LoopbackServer(tls=elsewhere) as server,
        httpx.AsyncClient(transport=transport) as client,
    ):
        with pytest.raises(httpx.ConnectError) as refused:
            await client.get(server.url)
    assert "mismatch" in _explained(refused.value)
    assert server.requests == 0


def _explained(error: BaseException | None) -> str:
    # The trio backend's message may be empty, with the ssl error chained to it.
    text = []
    while error is not None:
        text.append(str(error).lower())
        error = error.__cause__ or error.__context__
    return " / ".join(text)


def test_transports_share_one_verifying_context_by_default() -> None:
    first, second = DefaultTransport(limits=LIMITS), DefaultTransport(limits=LIMITS)
    assert first.tls_context is second.tls_context is shared_tls_context()
    assert shared_tls_context().verify_mode == ssl.CERT_REQUIRED
    assert shared_tls_context().check_hostname


async def test_no_tls_context_is_built_per_transport_or_per_request(
    anyio_backend: str,
    server_tls: ssl.SSLContext,
    client_tls: ssl.SSLContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shared_tls_context()  # built once per process, before counting starts
    built: list[ssl.SSLContext] = []
    original = ssl.SSLContext.__new__

    def counting_new(cls: type[ssl.SSLContext], *args: Any, **kwargs: Any) -> ssl.SSLContext:
        context = original(cls, *args, **kwargs)
        built.append(context)
        return context

    monkeypatch.setattr(ssl.SSLContext, "__new__", counting_new)
    async with LoopbackServer(tls=server_tls) as server:
        for _ in range(2):
            transport = DefaultTransport(limits=LIMITS, verify=client_tls)
            async with httpx.AsyncClient(transport=transport) as client:
                for _ in range(3):
                    assert (await client.get(server.url)).status_code == 200
            DefaultTransport(limits=LIMITS)
    assert built == []
    assert server.connections == 2
