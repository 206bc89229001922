"""The chain over real loopback HTTP: the stand-ins served by the simulator's server helper."""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from otaclient import CredentialsError, CredentialsURIProvider, DefaultCredentialsChain
from otaclient.simulator import (
    DEMO_ACCESS_KEY_ID,
    DEMO_ACCESS_KEY_SECRET,
    DEMO_ECS_ROLE,
    DEMO_ROLE_ARN,
    CloudStandIn,
    running_server,
)

pytestmark = pytest.mark.anyio  # real clocks: these tests use real sockets


@pytest.fixture
async def served() -> AsyncIterator[tuple[CloudStandIn, str]]:
    cloud = CloudStandIn()
    async with running_server(cloud) as url:
        yield cloud, url


async def test_the_credentials_uri_over_http(
    served: tuple[CloudStandIn, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    cloud, url = served
    monkeypatch.setenv("ALIBABA_CLOUD_CREDENTIALS_URI", f"{url}/credentials")
    credentials = await DefaultCredentialsChain().get_credentials()
    assert cloud.issued.get(credentials.access_key_id) is not None
    assert cloud.counts["credentials_uri"] == 1


async def test_the_ecs_role_over_http(
    served: tuple[CloudStandIn, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    cloud, url = served
    monkeypatch.setenv("ALIBABA_CLOUD_ECS_METADATA", DEMO_ECS_ROLE)
    monkeypatch.setenv("OTACLIENT_ECS_METADATA_URL", url)
    await DefaultCredentialsChain().get_credentials()
    assert (cloud.counts["imds_token"], cloud.counts["imds_credentials"]) == (1, 1)


async def test_a_cli_ram_role_profile_over_http(
    served: tuple[CloudStandIn, str], monkeypatch: pytest.MonkeyPatch, clean_environment: Path
) -> None:
    cloud, url = served
    monkeypatch.setenv("OTACLIENT_STS_ENDPOINT", url)
    config = clean_environment / ".aliyun" / "config.json"
    config.parent.mkdir()
    profile = {
        "name": "default",
        "mode": "RamRoleArn",
        "access_key_id": DEMO_ACCESS_KEY_ID,
        "access_key_secret": DEMO_ACCESS_KEY_SECRET,
        "ram_role_arn": DEMO_ROLE_ARN,
        "sts_region": "cn-hangzhou",  # the environment's endpoint wins over the region
    }
    config.write_text(json.dumps({"current": "default", "profiles": [profile]}))
    credentials = await DefaultCredentialsChain().get_credentials()
    assert cloud.issued.get(credentials.access_key_id) is not None
    assert cloud.counts["AssumeRole"] == 1


async def test_metadata_calls_never_go_through_a_proxy(
    served: tuple[CloudStandIn, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    cloud, url = served
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # a proxy that refuses everything
    monkeypatch.setenv("ALIBABA_CLOUD_ECS_METADATA", DEMO_ECS_ROLE)
    monkeypatch.setenv("OTACLIENT_ECS_METADATA_URL", url)
    await DefaultCredentialsChain().get_credentials()
    assert cloud.counts["imds_credentials"] == 1


async def test_the_tls_context_is_built_off_the_event_loop_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from otaclient._credentials import _http

    built: list[str] = []
    real = httpx.create_ssl_context

    def recording(*args: object, **kwargs: object) -> ssl.SSLContext:
        if kwargs.get("verify", True) is not False:
            built.append(threading.current_thread().name)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(httpx, "create_ssl_context", recording)
    _http.shared_tls_context.cache_clear()
    provider = CredentialsURIProvider("https://127.0.0.1:9/credentials")  # nothing listens
    with pytest.raises(CredentialsError):
        await provider.get_credentials()
    _http.shared_tls_context.cache_clear()  # do not leave the recording context cached
    assert len(built) == 1
    assert built[0] != threading.current_thread().name
