"""The client signs every attempt with what its provider hands out, against the simulator.

The simulator's gateway accepts the keys the STS stand-in issued until they expire, then
answers ``InvalidSecurityToken.Expired``; both run on the virtual wall clock. The client's
own ``Timestamp`` is real time, so the gateway's timestamp window is opened wide here.
"""

from __future__ import annotations

import logging
from typing import Any

import anyio
import httpx
import pytest

from otaclient import (
    APIError,
    CachedProvider,
    Credentials,
    CredentialsError,
    OTAClient,
    RamRoleArnProvider,
    RequestEvent,
    RetryEvent,
    RetryPolicy,
    ValidationError,
)
from otaclient._credentials._chain import STEPS
from otaclient.simulator import (
    DEMO_ACCESS_KEY_ID,
    DEMO_ACCESS_KEY_SECRET,
    DEMO_ROLE_ARN,
    CloudConfig,
    CloudStandIn,
    FleetSpec,
    Simulator,
    SimulatorConfig,
)

from ._helpers import CLOUD_URL, NO_JITTER, virtual_wall_clock

KEYS = Credentials(DEMO_ACCESS_KEY_ID, DEMO_ACCESS_KEY_SECRET)
IOT = "http://iot.test"
LIFETIME = 900.0


def _fleet(firmware: int = 1) -> FleetSpec:
    return FleetSpec(
        products=1,
        firmware_per_product=firmware,
        jobs_per_firmware=(1, 1),
        devices_per_product=2,
        tasks_per_job=(1, 1),
        modules_per_product=0,
        verify_jobs=False,
        anchor_ms=1_700_000_000_000,
    )


def _simulator(firmware: int = 1) -> Simulator:
    return Simulator(
        SimulatorConfig(
            qps=None,
            fleet=_fleet(firmware),
            wall_clock=virtual_wall_clock(),
            clock=lambda: anyio.current_time(),
            timestamp_window=1e10,  # the client stamps real time; the gateway lives in 2023
        )
    )


def _cloud(sim: Simulator) -> CloudStandIn:
    return CloudStandIn(
        CloudConfig(lifetime=LIFETIME, wall_clock=virtual_wall_clock()), simulator=sim
    )


def _role(cloud: CloudStandIn) -> RamRoleArnProvider:
    return RamRoleArnProvider(
        role_arn=DEMO_ROLE_ARN,
        source=KEYS,
        sts_endpoint=CLOUD_URL,
        transport=cloud.transport(),
        clock=virtual_wall_clock(),
        refresh_policy=NO_JITTER,
    )


def _client(sim: Simulator, credentials: Any, **options: Any) -> OTAClient:
    return OTAClient(endpoint=IOT, transport=sim.transport(), credentials=credentials, **options)


class KeepsForever:
    """A provider that never looks at the expiration: only a refused token makes it refresh."""

    def __init__(self, inner: RamRoleArnProvider) -> None:
        self.inner = inner
        self.held: Credentials | None = None
        self.refreshes = 0

    async def get_credentials(self) -> Credentials:
        if self.held is None:
            self.held = await self.inner.get_credentials()
        return self.held

    async def refresh(self, rejected: Credentials | None = None) -> Credentials:
        self.refreshes += 1
        self.held = await self.inner.refresh(rejected)
        return self.held


class Refusing(httpx.AsyncBaseTransport):
    """Answers every request with ``code`` (HTTP 400), counting them."""

    def __init__(self, code: str) -> None:
        self.code = code
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        body = {"RequestId": f"r{len(self.requests)}", "Code": self.code, "Message": "no"}
        return httpx.Response(400, json=body)


# --------------------------------------------------------------------------- choosing


def test_keys_and_credentials_together_are_refused() -> None:
    with pytest.raises(ValidationError, match="give credentials= or access_key_id, not both"):
        OTAClient(endpoint=IOT, credentials=KEYS, access_key_id="other-id")


def test_credentials_must_be_a_provider() -> None:
    with pytest.raises(ValidationError, match=r"CredentialsProvider.*got dict"):
        OTAClient(endpoint=IOT, credentials={"id": "x"})


def test_unusable_static_credentials_are_refused_at_construction() -> None:
    with pytest.raises(ValidationError, match="access_key_secret"):
        OTAClient(endpoint=IOT, credentials=Credentials("id", "secret-\ud800"))


@pytest.mark.anyio
async def test_without_keys_the_first_call_lists_every_step_and_sends_nothing() -> None:
    sent: list[httpx.Request] = []
    client = OTAClient(endpoint=IOT, transport=httpx.MockTransport(sent.append))  # type: ignore[arg-type]
    async with client:
        with pytest.raises(CredentialsError) as caught:
            await client.list_ota_firmware()
    assert "ALIBABA_CLOUD_ACCESS_KEY_ID" in str(caught.value)
    assert [entry.split(":")[0] for entry in caught.value.tried] == list(STEPS)
    assert sent == []


@pytest.mark.anyio
async def test_a_missing_secret_is_named_and_nothing_is_sent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "env-id")
    sent: list[httpx.Request] = []
    client = OTAClient(endpoint=IOT, transport=httpx.MockTransport(sent.append))  # type: ignore[arg-type]
    with pytest.raises(CredentialsError, match="ALIBABA_CLOUD_ACCESS_KEY_SECRET is not set"):
        await client.list_ota_firmware()
    assert sent == []


@pytest.mark.anyio
async def test_environment_keys_still_sign_through_the_chain(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", DEMO_ACCESS_KEY_ID)
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", DEMO_ACCESS_KEY_SECRET)
    sim = Simulator(SimulatorConfig(qps=None, fleet=_fleet()))
    async with OTAClient(endpoint=IOT, transport=sim.transport()) as client:
        page = await client.list_ota_firmware()
        assert page.total == 1
        assert getattr(client.credentials_provider, "source", "").startswith("environment")


# --------------------------------------------------------------------------- refresh


@pytest.mark.anyio
@pytest.mark.virtual_time
async def test_a_harvest_outliving_four_lifetimes_signs_with_unexpired_keys_refreshing_once_per_lifetime() -> (  # noqa: E501
    None
):
    sim = _simulator(firmware=60)
    cloud = _cloud(sim)
    signed: list[tuple[float, str]] = []

    def record(event: RequestEvent) -> None:
        signed.append((anyio.current_time(), event.access_key_id))

    # One page a minute: 60 pages take an hour, four lifetimes of 900-s keys.
    client = _client(sim, _role(cloud), qps=1 / 60, event_hooks={"request": [record]})
    async with client:
        seen = [firmware.firmware_id async for firmware in client.iter_ota_firmware(page_size=1)]
    assert len(seen) == len(set(seen)) == 60
    # 60 pages and the harvest's closing read of page 1.
    assert client.stats == {"attempts": 61, "retries": 0, "throttled": 0}
    # One request a minute from 0 to 3600 s; 900-s keys are refreshed 300 s ahead (a third
    # of their lifetime): at 0, 600, ... 3600 s.
    assert cloud.counts["AssumeRole"] == 7
    first_use: dict[str, float] = {}
    for at, key in signed:
        first_use.setdefault(key, at)
        assert at - first_use[key] < LIFETIME - 10  # never signed with keys about to expire
    assert len(first_use) == 7


@pytest.mark.anyio
@pytest.mark.virtual_time
async def test_an_expired_token_answer_forces_one_refresh_and_one_retry() -> None:
    sim = _simulator()
    cloud = _cloud(sim)
    provider = KeepsForever(_role(cloud))
    retries: list[RetryEvent] = []
    async with _client(sim, provider, event_hooks={"retry": [retries.append]}) as client:
        await client.list_ota_firmware()
        await anyio.sleep(LIFETIME)  # the provider still holds the keys; they expired
        page = await client.list_ota_firmware()
    assert page.total == 1
    assert [(r.attempt, r.wait, r.reason) for r in retries] == [(1, 0.0, "credentials")]
    assert provider.refreshes == 1
    assert cloud.counts["AssumeRole"] == 2
    assert client.stats == {"attempts": 3, "retries": 1, "throttled": 0}


@pytest.mark.anyio
@pytest.mark.virtual_time
async def test_a_write_refused_for_its_token_is_sent_again_once() -> None:
    sim = _simulator()
    cloud = _cloud(sim)
    provider = KeepsForever(_role(cloud))
    firmware_id = next(iter(sim.fleet.firmware))
    product_key = sim.fleet.products[0].key
    async with _client(sim, provider) as client:
        await provider.get_credentials()
        await anyio.sleep(LIFETIME)
        created = await client.create_ota_static_upgrade_job(
            firmware_id=firmware_id, product_key=product_key, target_selection="ALL"
        )
    assert created.job_id
    assert client.stats == {"attempts": 2, "retries": 1, "throttled": 0}


@pytest.mark.anyio
async def test_a_token_refused_again_after_the_refresh_is_raised() -> None:
    source = _Numbered()
    refusing = Refusing("InvalidSecurityToken.Expired")
    provider = CachedProvider(source, name="numbered")
    async with OTAClient(endpoint=IOT, transport=refusing, credentials=provider) as client:
        with pytest.raises(APIError) as caught:
            await client.list_ota_firmware()
    assert caught.value.code == "InvalidSecurityToken.Expired"
    assert [_query(r)["AccessKeyId"] for r in refusing.requests] == ["key-1", "key-2"]
    assert source.calls == 2


@pytest.mark.anyio
@pytest.mark.parametrize(
    "code", ["InvalidSecurityToken.Malformed", "InvalidSecurityToken.MismatchWithAccessKey"]
)
async def test_other_refused_token_codes_also_refresh_once(code: str) -> None:
    source = _Numbered()
    refusing = Refusing(code)
    provider = CachedProvider(source, name="numbered")
    async with OTAClient(endpoint=IOT, transport=refusing, credentials=provider) as client:
        with pytest.raises(APIError, match=code):
            await client.list_ota_firmware()
    assert len(refusing.requests) == 2


@pytest.mark.anyio
async def test_static_keys_refused_for_their_token_are_not_retried() -> None:
    refusing = Refusing("InvalidSecurityToken.Expired")
    static = Credentials("static-id", "static-secret", "static-token-value")
    async with OTAClient(endpoint=IOT, transport=refusing, credentials=static) as client:
        with pytest.raises(APIError, match=r"InvalidSecurityToken\.Expired"):
            await client.list_ota_firmware()
    assert len(refusing.requests) == 1


@pytest.mark.anyio
async def test_a_failed_refresh_after_a_refused_token_is_noted_on_the_error() -> None:
    source = _Numbered()
    refusing = Refusing("InvalidSecurityToken.Expired")
    provider = CachedProvider(source, name="numbered")
    async with OTAClient(endpoint=IOT, transport=refusing, credentials=provider) as client:
        await provider.get_credentials()
        source.failing = CredentialsError("numbered: STS is down", provider="numbered")
        with pytest.raises(APIError) as caught:
            await client.list_ota_firmware()
    assert len(refusing.requests) == 1
    assert any("STS is down" in note for note in caught.value.__notes__)


@pytest.mark.anyio
@pytest.mark.virtual_time
async def test_a_failing_refresh_falls_back_to_the_still_valid_old_keys() -> None:
    sim = _simulator()
    cloud = _cloud(sim)
    async with _client(sim, _role(cloud)) as client:
        await client.list_ota_firmware()
        cloud.failing = 503
        await anyio.sleep(700.0)  # due for a refresh (at 600 s), valid until 900 s
        await client.list_ota_firmware()
        await client.list_ota_firmware()
        refused_while_down = cloud.counts["refused"]
        cloud.failing = None
        await anyio.sleep(150.0)  # past the refresh backoff, still before the old expiry
        await client.list_ota_firmware()
    assert client.stats == {"attempts": 4, "retries": 0, "throttled": 0}
    # One failed refresh, then backoff: the second call did not ask STS again.
    assert refused_while_down == 1
    assert cloud.counts["AssumeRole"] == 2


# --------------------------------------------------------------------------- failures


class _Numbered:
    """A fetch handing out key-1, key-2, ... (no expiration); ``failing`` makes it raise."""

    def __init__(self) -> None:
        self.calls = 0
        self.failing: Exception | None = None

    async def __call__(self) -> Credentials:
        self.calls += 1
        if self.failing is not None:
            raise self.failing
        n = self.calls
        return Credentials(f"key-{n}", f"secret-number-{n}", f"token-number-{n}")


def _query(request: httpx.Request) -> dict[str, str]:
    return dict(httpx.QueryParams(request.url.query.decode()))


class Broken:
    name = "broken-vault"

    async def get_credentials(self) -> Credentials:
        raise KeyError("vault path missing")

    async def refresh(self, rejected: Credentials | None = None) -> Credentials:
        raise KeyError("vault path missing")


class Hanging:
    async def get_credentials(self) -> Credentials:
        await anyio.sleep_forever()
        raise AssertionError

    async def refresh(self, rejected: Credentials | None = None) -> Credentials:
        raise AssertionError


@pytest.mark.anyio
async def test_a_provider_that_raises_is_a_credentials_error_naming_it() -> None:
    sent: list[httpx.Request] = []
    transport = httpx.MockTransport(sent.append)  # type: ignore[arg-type]
    async with OTAClient(endpoint=IOT, transport=transport, credentials=Broken()) as client:
        with pytest.raises(CredentialsError, match="broken-vault failed: KeyError") as caught:
            await client.list_ota_firmware()
    assert caught.value.provider == "broken-vault"
    assert sent == []


@pytest.mark.anyio
@pytest.mark.virtual_time
async def test_a_provider_that_hangs_is_cut_off_by_the_attempt_timeout() -> None:
    sent: list[httpx.Request] = []
    transport = httpx.MockTransport(sent.append)  # type: ignore[arg-type]
    client = OTAClient(
        endpoint=IOT,
        transport=transport,
        credentials=Hanging(),
        timeout=5.0,
        retry=RetryPolicy(max_attempts=1),
    )
    async with client:
        started = anyio.current_time()
        with pytest.raises(CredentialsError, match="Hanging gave no credentials within") as caught:
            await client.list_ota_firmware()
    assert anyio.current_time() - started == pytest.approx(5.0)
    assert caught.value.provider == "Hanging"
    assert sent == []


@pytest.mark.anyio
@pytest.mark.virtual_time
async def test_a_provider_that_hangs_past_the_call_deadline_is_named() -> None:
    sent: list[httpx.Request] = []
    transport = httpx.MockTransport(sent.append)  # type: ignore[arg-type]
    client = OTAClient(
        endpoint=IOT, transport=transport, credentials=Hanging(), retry=RetryPolicy(deadline=2.0)
    )
    async with client:
        with pytest.raises(CredentialsError, match="while it waited for credentials from Hanging"):
            await client.list_ota_firmware()
    assert anyio.current_time() == pytest.approx(2.0)
    assert sent == []


@pytest.mark.anyio
async def test_a_provider_handing_out_something_else_is_a_credentials_error() -> None:
    class Wrong:
        async def get_credentials(self) -> Any:
            return ("id", "secret")

        async def refresh(self, rejected: Credentials | None = None) -> Any:
            return ("id", "secret")

    async with OTAClient(endpoint=IOT, transport=Refusing("x"), credentials=Wrong()) as client:
        with pytest.raises(CredentialsError, match="handed out a tuple, not Credentials"):
            await client.list_ota_firmware()


# --------------------------------------------------------------------------- secrets


class Echoing(httpx.AsyncBaseTransport):
    """An error whose message quotes the whole request URL (as some gateways do)."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = {"RequestId": "r1", "Code": "SignatureDoesNotMatch", "Message": str(request.url)}
        return httpx.Response(400, json=body)


@pytest.mark.anyio
async def test_handed_out_secrets_never_show_in_logs_reprs_or_errors(
    caplog: pytest.LogCaptureFixture,
) -> None:
    source = _Numbered()
    provider = CachedProvider(source, name="numbered")
    caplog.set_level(logging.DEBUG)
    async with OTAClient(endpoint=IOT, transport=Echoing(), credentials=provider) as client:
        with pytest.raises(APIError) as caught:
            await client.list_ota_firmware()
        texts = [
            str(caught.value),
            repr(caught.value),
            str(caught.value.message),
            repr(client),
            repr(provider),
            caplog.text,
        ]
    assert "secret-number-1" not in "".join(texts)
    assert "token-number-1" not in "".join(texts)
    assert "key-1" in caplog.text  # the key id is not a secret: it names the keys used


@pytest.mark.anyio
async def test_only_the_last_keys_handed_out_stay_registered() -> None:
    # Months of hourly keys must not make every scrub slower: old ones are let go.
    source = _Numbered()
    provider = CachedProvider(source, name="numbered")
    refusing = Refusing("Busy")
    async with OTAClient(endpoint=IOT, transport=refusing, credentials=provider) as client:
        for _ in range(12):
            await provider.refresh()
            with pytest.raises(APIError):
                await client.list_ota_firmware()
        masked = client._secrets.scrub(" ".join(f"secret-number-{n}" for n in range(1, 13)))
    assert masked.split() == [f"secret-number-{n}" for n in range(1, 5)] + ["***"] * 8


# --------------------------------------------------------------------------- the URI


@pytest.mark.anyio
async def test_a_client_with_only_the_credentials_uri_set_works(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from otaclient.simulator import running_server

    sim = Simulator(SimulatorConfig(qps=None, fleet=_fleet()))
    cloud = CloudStandIn(CloudConfig(), simulator=sim)
    async with running_server(cloud) as cloud_url:
        monkeypatch.setenv("ALIBABA_CLOUD_CREDENTIALS_URI", f"{cloud_url}/credentials")
        async with OTAClient(endpoint=IOT, transport=sim.transport()) as client:
            first = await client.list_ota_firmware()
            second = await client.list_ota_firmware()
    assert (first.total, second.total) == (1, 1)
    assert cloud.counts["credentials_uri"] == 1
    assert client.stats["attempts"] == 2
