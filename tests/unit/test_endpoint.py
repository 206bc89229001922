"""Which endpoints the client accepts: no cleartext to the network, no passwords in URLs."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from otaclient import OTAClient, ValidationError

from ._helpers import ACCESS_KEY_ID, ACCESS_KEY_SECRET, Recorder, make_client

PASSWORD = "hunter2-pa55word"


def _networked(**options: Any) -> OTAClient:
    """A client with the default (network) transport: nothing is sent by these tests."""
    return OTAClient(access_key_id=ACCESS_KEY_ID, access_key_secret=ACCESS_KEY_SECRET, **options)


@pytest.mark.parametrize(
    "endpoint",
    ["http://iot.cn-shanghai.aliyuncs.com", "http://192.168.1.5:8686", "http://0.0.0.0:8686"],
)
def test_cleartext_http_to_a_host_that_is_not_loopback_is_refused(endpoint: str) -> None:
    with pytest.raises(ValidationError) as caught:
        _networked(endpoint=endpoint)
    message = str(caught.value)
    assert "cleartext" in message
    assert "allow_insecure_http=True" in message
    assert "--allow-insecure-http" in message


def test_cleartext_http_is_accepted_when_the_caller_opts_in() -> None:
    client = _networked(endpoint="http://192.168.1.5:8686", allow_insecure_http=True)
    assert "http://192.168.1.5:8686" in repr(client)


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://127.0.0.1:8686",
        "http://127.45.6.7",
        "http://[::1]:8686/",
        "http://localhost:8686",
        "http://LocalHost.",
        "http://[::ffff:127.0.0.1]:8686",
    ],
)
def test_cleartext_http_to_loopback_is_accepted(endpoint: str) -> None:
    _networked(endpoint=endpoint)


def test_cleartext_http_through_an_injected_transport_is_accepted() -> None:
    # The in-process simulator and test doubles decide themselves where bytes go.
    make_client(Recorder(), endpoint="http://simulator")


def test_https_to_any_host_is_accepted() -> None:
    _networked(endpoint="https://iot.cn-shanghai.aliyuncs.com")


def test_allow_insecure_http_must_be_a_bool() -> None:
    with pytest.raises(ValidationError, match="allow_insecure_http"):
        _networked(endpoint="http://example.com", allow_insecure_http="yes")


@pytest.mark.parametrize(
    "endpoint",
    [
        f"https://admin:{PASSWORD}@iot.cn-shanghai.aliyuncs.com",
        f"http://admin:{PASSWORD}@127.0.0.1:8686",
        f"http://{PASSWORD}@127.0.0.1:8686",
    ],
)
def test_an_endpoint_with_a_password_is_refused_without_echoing_it(endpoint: str) -> None:
    with pytest.raises(ValidationError) as caught:
        _networked(endpoint=endpoint)
    assert "user:password@" in str(caught.value)
    assert PASSWORD not in str(caught.value) + repr(caught.value.args)


def test_an_invalid_endpoint_with_a_password_is_refused_without_echoing_it() -> None:
    with pytest.raises(ValidationError) as caught:
        _networked(endpoint=f"http://admin:{PASSWORD}@127.0.0.1:99999")
    assert PASSWORD not in str(caught.value)


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://127.0.0.1:99999",
        "https://exa mple.com",
        "https://exa%20mple.com",
        "http://\ud800.example",
        "https://",
        "iot.cn-shanghai.aliyuncs.com",
        "ftp://127.0.0.1",
    ],
)
def test_a_malformed_endpoint_is_a_validation_error(endpoint: str) -> None:
    with pytest.raises(ValidationError, match="endpoint"):
        _networked(endpoint=endpoint)


@pytest.mark.parametrize("endpoint", ["https://h.example/?Action=x", "https://h.example/#frag"])
def test_an_endpoint_with_a_query_or_fragment_is_refused(endpoint: str) -> None:
    with pytest.raises(ValidationError, match="query"):
        _networked(endpoint=endpoint)


@pytest.mark.parametrize("endpoint", [8686, b"http://127.0.0.1"])
def test_an_endpoint_that_is_not_a_string_is_refused(endpoint: Any) -> None:
    with pytest.raises(ValidationError, match="endpoint"):
        _networked(endpoint=endpoint)


@pytest.mark.parametrize("region_id", ["cn-shanghaï", "cn shanghai", 5, "x" * 100])
def test_a_malformed_region_is_a_validation_error(region_id: Any) -> None:
    with pytest.raises(ValidationError, match="region_id"):
        _networked(region_id=region_id)


def test_a_region_builds_the_https_endpoint() -> None:
    assert "https://iot.cn-shanghai.aliyuncs.com" in repr(_networked(region_id="cn-shanghai"))


def test_endpoint_and_region_together_are_refused() -> None:
    with pytest.raises(ValidationError, match="not both"):
        _networked(endpoint="https://iot.cn-shanghai.aliyuncs.com", region_id="cn-beijing")


async def _first_url(client: OTAClient, server: Recorder) -> httpx.URL:
    async with client:
        await client.list_ota_firmware()
    return server.requests[0].url


@pytest.mark.anyio
async def test_an_endpoint_path_prefix_is_kept() -> None:
    server = Recorder()
    url = await _first_url(make_client(server, endpoint="http://gw.test/ota/"), server)
    assert url.path == "/ota/"
