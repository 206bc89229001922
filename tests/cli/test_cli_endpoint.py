"""The command line holds endpoints to the library's rules: no cleartext to the network
unless --allow-insecure-http, no passwords in URLs; the simulator prints a loopback URL."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from cli_helpers import Served, assert_one_line_failure, run

from otaclient import OTAClient
from otaclient._cli import connect
from otaclient.simulator import server

PASSWORD = "hunter2-pa55word"
REMOTE = "http://192.0.2.10:8686"  # TEST-NET-1: never contacted, refused before any request


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Were a refusal to break, the request fails here instead of leaving the machine."""

    async def refuse(self: Any, request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"a request to {request.url.host} was about to be sent")

    monkeypatch.setattr(httpx.AsyncHTTPTransport, "handle_async_request", refuse)


def _env(served: Served, endpoint: str) -> dict[str, str | None]:
    return {**served.env, "OTACLIENT_ENDPOINT": endpoint}


def test_cleartext_to_a_remote_host_is_refused_and_names_the_flag(
    monkeypatch: pytest.MonkeyPatch, served: Served
) -> None:
    monkeypatch.setattr(connect, "OTAClient", OTAClient)  # the real network transport
    result = run("firmware", "list", env=_env(served, REMOTE))
    line = assert_one_line_failure(result, exit_code=2)
    assert "--allow-insecure-http" in line


@pytest.mark.parametrize("before", [True, False], ids=["before", "after"])
def test_allow_insecure_http_reaches_the_client(
    monkeypatch: pytest.MonkeyPatch, served: Served, before: bool
) -> None:
    seen: list[Any] = []
    patched = connect.OTAClient  # the served fixture's client on the simulator

    def spy(**options: Any) -> OTAClient:
        seen.append(options.get("allow_insecure_http"))
        return patched(**options)  # type: ignore[no-any-return]

    monkeypatch.setattr(connect, "OTAClient", spy)
    flag = ["--allow-insecure-http"]
    args = [*flag, "firmware", "list"] if before else ["firmware", "list", *flag]
    result = run(*args, "--format", "json", env=_env(served, REMOTE))
    assert result.exit_code == 0, result.stderr
    assert seen == [True]


def test_an_endpoint_with_a_password_is_refused_without_echoing_it(
    monkeypatch: pytest.MonkeyPatch, served: Served
) -> None:
    monkeypatch.setattr(connect, "OTAClient", OTAClient)
    endpoint = f"https://admin:{PASSWORD}@iot.cn-shanghai.aliyuncs.com"
    result = run("firmware", "list", env=_env(served, endpoint))
    assert "user:password@" in assert_one_line_failure(result, exit_code=2)
    assert PASSWORD not in result.stdout + result.stderr


class _BoundTo:
    def __init__(self, host: str) -> None:
        self.host = host

    def getsockname(self) -> tuple[str, int]:
        return self.host, 8686


@pytest.mark.parametrize(
    ("bound", "url"),
    [
        ("0.0.0.0", "http://127.0.0.1:8686"),
        ("::", "http://[::1]:8686"),
        ("127.0.0.1", "http://127.0.0.1:8686"),
    ],
)
def test_the_simulator_prints_a_loopback_url_when_bound_to_every_interface(
    bound: str, url: str
) -> None:
    assert server._base_url(_BoundTo(bound)) == url  # type: ignore[arg-type]
