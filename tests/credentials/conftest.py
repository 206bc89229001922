"""Every credentials test runs with a clean environment, a fresh home and a network guard.

The guard is the reason these tests can exercise the default chain: the real defaults are
``https://sts.aliyuncs.com`` and ``http://100.100.100.200``, and no test may reach them.

* The environment loses every ``ALIBABA_CLOUD_*``, ``OTACLIENT_*`` and proxy variable;
  ``HOME`` is an empty temporary directory (the machine's own ``~/.aliyun`` is never read),
  and ``OTACLIENT_STS_ENDPOINT`` / ``OTACLIENT_ECS_METADATA_URL`` point at a closed loopback
  port, so a default that slips through is refused at once instead of going out.
* httpx's network transport, name resolution and ``socket.connect`` refuse anything but
  loopback. A refused attempt is recorded and fails the test at teardown, even when the
  code under test swallowed the error.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

# A port nothing listens on: loopback, so a connection attempt is refused immediately.
CLOSED_LOOPBACK = "http://127.0.0.1:9"
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}


def _is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class NetworkGuard:
    """Records (and refuses) every attempt to leave the machine."""

    def __init__(self) -> None:
        self.blocked: list[str] = []

    def refuse(self, what: str) -> OSError:
        self.blocked.append(what)
        return ConnectionRefusedError(f"test network guard: {what} is not loopback")


@pytest.fixture(autouse=True)
def network_guard(monkeypatch: pytest.MonkeyPatch) -> Iterator[NetworkGuard]:
    guard = NetworkGuard()
    real_handle = httpx.AsyncHTTPTransport.handle_async_request
    real_getaddrinfo = socket.getaddrinfo
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    async def handle(self: httpx.AsyncHTTPTransport, request: httpx.Request) -> httpx.Response:
        if not _is_loopback(request.url.host):
            raise httpx.ConnectError(
                str(guard.refuse(f"{request.method} {request.url}")), request=request
            )
        return await real_handle(self, request)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name is not None and not _is_loopback(str(name)):
            raise socket.gaierror(str(guard.refuse(f"resolving {name}")))
        return real_getaddrinfo(host, *args, **kwargs)

    def _check(sock: socket.socket, address: Any) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(str(address[0])):
            raise guard.refuse(f"connecting to {address[0]}")

    def connect(self: socket.socket, address: Any) -> None:
        _check(self, address)
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        _check(self, address)
        return real_connect_ex(self, address)

    monkeypatch.setattr(httpx.AsyncHTTPTransport, "handle_async_request", handle)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    yield guard
    assert not guard.blocked, f"tried to leave loopback: {guard.blocked}"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Only the variables a test sets; an empty home; loopback stand-ins for the defaults."""
    for name in list(os.environ):
        upper = name.upper()
        if upper.startswith(("ALIBABA_CLOUD_", "OTACLIENT_", "ALIBABACLOUD_")) or upper in (
            "HTTP_PROXY",
            "HTTPS_PROXY",
            "ALL_PROXY",
            "NO_PROXY",
        ):
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("OTACLIENT_STS_ENDPOINT", CLOSED_LOOPBACK)
    monkeypatch.setenv("OTACLIENT_ECS_METADATA_URL", CLOSED_LOOPBACK)
    return home
