"""STS AssumeRole and AssumeRoleWithOIDC against the in-process STS stand-in."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from urllib.parse import parse_qsl

import anyio
import httpx
import pytest

from otaclient import (
    CachedProvider,
    Credentials,
    CredentialsError,
    OIDCRoleProvider,
    RamRoleArnProvider,
    ValidationError,
)
from otaclient._credentials._env import sts_endpoint
from otaclient.simulator import (
    DEMO_ACCESS_KEY_ID,
    DEMO_ACCESS_KEY_SECRET,
    DEMO_OIDC_PROVIDER_ARN,
    DEMO_OIDC_TOKEN,
    DEMO_ROLE_ARN,
    CloudStandIn,
)

from ._helpers import CLOUD_URL, EPOCH, Recording, make_cloud, virtual_wall_clock

pytestmark = [pytest.mark.anyio, pytest.mark.virtual_time]

KEYS = Credentials(DEMO_ACCESS_KEY_ID, DEMO_ACCESS_KEY_SECRET)


def _role(cloud: CloudStandIn, source: object = KEYS, **options: object) -> RamRoleArnProvider:
    return RamRoleArnProvider(
        role_arn=DEMO_ROLE_ARN,
        source=source,  # type: ignore[arg-type]
        sts_endpoint=CLOUD_URL,
        transport=options.pop("transport", cloud.transport()),  # type: ignore[arg-type]
        clock=virtual_wall_clock(),
        **options,  # type: ignore[arg-type]
    )


def _oidc(cloud: CloudStandIn, token_file: Path, **options: object) -> OIDCRoleProvider:
    return OIDCRoleProvider(
        role_arn=DEMO_ROLE_ARN,
        oidc_provider_arn=DEMO_OIDC_PROVIDER_ARN,
        oidc_token_file=token_file,
        sts_endpoint=CLOUD_URL,
        transport=options.pop("transport", cloud.transport()),  # type: ignore[arg-type]
        clock=virtual_wall_clock(),
        **options,  # type: ignore[arg-type]
    )


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "oidc-token"
    path.write_text(DEMO_OIDC_TOKEN + "\n")
    return path


# --------------------------------------------------------------------------- AssumeRole


async def test_assume_role_returns_the_keys_sts_issued() -> None:
    cloud = make_cloud()
    credentials = await _role(cloud).get_credentials()
    issued = cloud.issued.get(credentials.access_key_id)
    assert issued is not None
    assert credentials.access_key_secret == issued.access_key_secret
    assert credentials.security_token == issued.security_token
    assert credentials.expiration is not None
    assert credentials.expiration.timestamp() == EPOCH + 3600
    assert cloud.counts["AssumeRole"] == 1


async def test_assume_role_asks_for_the_configured_duration() -> None:
    cloud = make_cloud()
    credentials = await _role(cloud, duration_seconds=1200).get_credentials()
    assert credentials.expiration is not None
    assert credentials.expiration.timestamp() == EPOCH + 1200


async def test_assume_role_is_a_signed_post_with_every_parameter_in_the_body() -> None:
    cloud = make_cloud()
    recording = Recording(cloud.transport())
    await _role(cloud, transport=recording, role_session_name="audit-1").get_credentials()
    (request,) = recording.requests
    assert request.method == "POST"
    assert request.url.query == b""
    form = dict(parse_qsl(request.content.decode()))
    assert form["Action"] == "AssumeRole"
    assert form["Version"] == "2015-04-01"
    assert form["RoleArn"] == DEMO_ROLE_ARN
    assert form["RoleSessionName"] == "audit-1"
    assert form["AccessKeyId"] == DEMO_ACCESS_KEY_ID
    assert "Signature" in form
    assert "SecurityToken" not in form  # long-term source keys carry none


async def test_assume_role_signed_with_a_wrong_secret_fails_with_stss_code() -> None:
    cloud = make_cloud()
    provider = _role(cloud, source=Credentials(DEMO_ACCESS_KEY_ID, "not-the-secret"))
    with pytest.raises(CredentialsError) as caught:
        await provider.get_credentials()
    assert caught.value.code == "SignatureDoesNotMatch"
    assert caught.value.request_id
    assert "AssumeRole" in str(caught.value)
    assert "not-the-secret" not in str(caught.value)


async def test_an_unknown_role_fails_naming_the_role_and_stss_code() -> None:
    cloud = make_cloud(roles={"acs:ram::1234567890123456:role/other"})
    with pytest.raises(CredentialsError, match=r"EntityNotExist\.Role") as caught:
        await _role(cloud).get_credentials()
    assert DEMO_ROLE_ARN in str(caught.value)
    assert caught.value.code == "EntityNotExist.Role"


async def test_a_refusal_keeps_stss_own_text_as_the_message() -> None:
    cloud = make_cloud(roles={"acs:ram::1234567890123456:role/other"})
    with pytest.raises(CredentialsError) as caught:
        await _role(cloud).get_credentials()
    assert caught.value.message == f"The role not exists: {DEMO_ROLE_ARN}."
    assert str(caught.value).startswith("STS AssumeRole of ")  # the whole line, for a person


async def test_role_chaining_signs_with_the_source_roles_temporary_keys() -> None:
    cloud = make_cloud()
    first = _role(cloud)
    second = _role(cloud, source=first)
    credentials = await second.get_credentials()
    assert cloud.counts["AssumeRole"] == 2
    source = first.current
    assert source is not None
    assert credentials.access_key_id != source.access_key_id


async def test_a_source_token_sts_calls_expired_is_refreshed_once_and_the_call_retried() -> None:
    cloud = make_cloud()
    clock = virtual_wall_clock()
    handed_out = 0

    async def source_fetch() -> Credentials:
        nonlocal handed_out
        handed_out += 1
        # The first keys already expired in STS's eyes, though they claim an hour more.
        lifetime = -60.0 if handed_out == 1 else 3600.0
        key = cloud.issued.issue(lifetime=lifetime, now=clock(), issued_to="source")
        return Credentials(
            key.access_key_id,
            key.access_key_secret,
            key.security_token,
            expiration=dt.datetime.fromtimestamp(clock() + 3600, dt.UTC),
        )

    source = CachedProvider(source_fetch, name="source", clock=clock)
    credentials = await _role(cloud, source=source).get_credentials()
    assert credentials.security_token
    assert handed_out == 2
    assert cloud.counts["AssumeRole"] == 1
    assert cloud.counts["refused"] == 1


async def test_an_sts_answer_that_is_not_json_fails_with_its_status() -> None:
    cloud = make_cloud()
    cloud.failing = 503
    with pytest.raises(CredentialsError, match=r"HTTP 503, text/plain.*is not JSON"):
        await _role(cloud).get_credentials()


async def test_an_sts_call_that_never_answers_is_cut_off_at_the_timeout() -> None:
    cloud = make_cloud()
    cloud.delay = 3600.0
    started = anyio.current_time()
    with pytest.raises(CredentialsError, match="no complete answer within 10 s"):
        await _role(cloud).get_credentials()
    assert anyio.current_time() - started == pytest.approx(10.0)


async def test_an_unreachable_sts_fails_with_credentials_error() -> None:
    # The guard points OTACLIENT_STS_ENDPOINT at a closed loopback port.
    provider = RamRoleArnProvider(role_arn=DEMO_ROLE_ARN, source=KEYS)
    with pytest.raises(CredentialsError, match="ConnectError"):
        await provider.get_credentials()


@pytest.mark.parametrize("duration", [899, 0, "3600"])
def test_assume_role_refuses_a_duration_sts_would_refuse(duration: object) -> None:
    with pytest.raises(ValidationError, match="duration_seconds"):
        RamRoleArnProvider(role_arn=DEMO_ROLE_ARN, source=KEYS, duration_seconds=duration)  # type: ignore[arg-type]


def test_assume_role_refuses_a_source_that_is_not_a_provider() -> None:
    with pytest.raises(ValidationError, match="source must be a credentials provider"):
        RamRoleArnProvider(role_arn=DEMO_ROLE_ARN, source="keys")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- the endpoint


def test_an_explicit_sts_endpoint_wins() -> None:
    env = {"OTACLIENT_STS_ENDPOINT": "http://127.0.0.1:1", "ALIBABA_CLOUD_STS_REGION": "cn-beijing"}
    assert sts_endpoint("http://127.0.0.1:2/", env, configured="sts.x") == "http://127.0.0.1:2"


def test_the_environments_sts_endpoint_beats_a_profiles() -> None:
    env = {"OTACLIENT_STS_ENDPOINT": "http://127.0.0.1:1"}
    assert sts_endpoint(None, env, configured="sts.cn-x.aliyuncs.com") == "http://127.0.0.1:1"


def test_a_profiles_sts_endpoint_is_https_when_it_is_a_bare_host() -> None:
    assert sts_endpoint(None, {}, configured="sts.cn-x.aliyuncs.com") == (
        "https://sts.cn-x.aliyuncs.com"
    )


@pytest.mark.parametrize(
    ("env", "region", "vpc", "expected"),
    [
        ({}, None, None, "https://sts.aliyuncs.com"),
        (
            {"ALIBABA_CLOUD_STS_REGION": "cn-hangzhou"},
            None,
            None,
            "https://sts.cn-hangzhou.aliyuncs.com",
        ),
        ({}, "cn-shanghai", None, "https://sts.cn-shanghai.aliyuncs.com"),
        ({}, "cn-shanghai", True, "https://sts-vpc.cn-shanghai.aliyuncs.com"),
        (
            {
                "ALIBABA_CLOUD_STS_REGION": "cn-hangzhou",
                "ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED": "true",
            },
            None,
            None,
            "https://sts-vpc.cn-hangzhou.aliyuncs.com",
        ),
    ],
)
def test_the_sts_endpoint_follows_the_region_and_the_vpc_switch(
    env: dict[str, str], region: str | None, vpc: bool | None, expected: str
) -> None:
    assert sts_endpoint(None, env, region=region, vpc=vpc) == expected


# --------------------------------------------------------------------------- OIDC


async def test_oidc_role_returns_the_keys_sts_issued_for_the_token(token_file: Path) -> None:
    cloud = make_cloud()
    credentials = await _oidc(cloud, token_file).get_credentials()
    assert cloud.issued.get(credentials.access_key_id) is not None
    assert cloud.last_oidc_token == DEMO_OIDC_TOKEN
    assert cloud.counts["AssumeRoleWithOIDC"] == 1


async def test_oidc_role_rereads_the_token_file_on_every_refresh(token_file: Path) -> None:
    cloud = make_cloud()
    provider = _oidc(cloud, token_file)
    first = await provider.get_credentials()
    await anyio.Path(token_file).write_text("rotated-token")  # the kubelet replaced it
    cloud.oidc_tokens = {"rotated-token"}  # and the old token is no longer accepted
    second = await provider.refresh(rejected=first)
    assert second.access_key_id != first.access_key_id
    assert cloud.last_oidc_token == "rotated-token"


async def test_oidc_token_travels_in_the_body_and_never_in_the_url(token_file: Path) -> None:
    cloud = make_cloud()
    recording = Recording(cloud.transport())
    await _oidc(cloud, token_file, transport=recording).get_credentials()
    (request,) = recording.requests
    assert DEMO_OIDC_TOKEN not in str(request.url)
    form = dict(parse_qsl(request.content.decode()))
    assert form["OIDCToken"] == DEMO_OIDC_TOKEN
    assert form["OIDCProviderArn"] == DEMO_OIDC_PROVIDER_ARN
    assert "Signature" not in form  # AssumeRoleWithOIDC is anonymous


async def test_a_refused_oidc_token_fails_with_stss_code(token_file: Path) -> None:
    cloud = make_cloud(oidc_tokens={"some-other-token"})
    with pytest.raises(CredentialsError) as caught:
        await _oidc(cloud, token_file).get_credentials()
    assert caught.value.code == "AuthenticationFail.OIDCToken.Invalid"


async def test_an_sts_message_echoing_the_oidc_token_is_scrubbed(token_file: Path) -> None:
    def echo(request: httpx.Request) -> httpx.Response:
        token = dict(parse_qsl(request.content.decode()))["OIDCToken"]
        body = {"Code": "InvalidParameter", "Message": f"bad token {token}", "RequestId": "r1"}
        return httpx.Response(400, json=body)

    provider = _oidc(make_cloud(), token_file, transport=httpx.MockTransport(echo))
    with pytest.raises(CredentialsError, match="bad token \\*\\*\\*") as caught:
        await provider.get_credentials()
    assert DEMO_OIDC_TOKEN not in str(caught.value)


async def test_a_missing_oidc_token_file_fails_naming_the_file(tmp_path: Path) -> None:
    cloud = make_cloud()
    missing = tmp_path / "nowhere" / "token"
    with pytest.raises(CredentialsError, match=r"cannot read the OIDC token file .*nowhere"):
        await _oidc(cloud, missing).get_credentials()


async def test_an_empty_oidc_token_file_fails_clearly(tmp_path: Path) -> None:
    empty = tmp_path / "token"
    empty.write_text("  \n")
    with pytest.raises(CredentialsError, match="is empty"):
        await _oidc(make_cloud(), empty).get_credentials()


def test_oidc_role_uses_the_environments_session_name(
    token_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALIBABA_CLOUD_ROLE_SESSION_NAME", "pod-7")
    provider = _oidc(CloudStandIn(), token_file)
    assert provider.role_session_name == "pod-7"
