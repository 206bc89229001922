"""Fixtures of the transport tests: a test CA, and transports to test.

Every test here runs under asyncio and under trio (the suite's ``anyio_backend``), against
``support.loopback.LoopbackServer`` on 127.0.0.1 in the test's own loop. Certificates come from a
``trustme`` CA made once per session: ``server_tls`` serves with a certificate for 127.0.0.1
and ``client_tls`` is the one context that trusts it.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import httpx
import pytest
import trustme

from otaclient._constants import KEEPALIVE_EXPIRY
from otaclient._transport import DefaultTransport


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def server_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


@pytest.fixture(scope="session")
def client_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


LIMITS = httpx.Limits(
    max_connections=4, max_keepalive_connections=4, keepalive_expiry=KEEPALIVE_EXPIRY
)
"""What OTAClient gives its pool, at a small size."""


@pytest.fixture
def transport(client_tls: ssl.SSLContext) -> Iterator[DefaultTransport]:
    yield DefaultTransport(limits=LIMITS, verify=client_tls)
