"""The ECS metadata service (IMDSv2, IMDSv1) and the credentials URI, against the stand-ins."""

from __future__ import annotations

import httpx
import pytest

from otaclient import CredentialsError, CredentialsURIProvider, EcsRamRoleProvider, ValidationError
from otaclient.simulator import DEMO_ECS_ROLE, CloudStandIn

from ._helpers import CLOUD_URL, EPOCH, Recording, make_cloud, virtual_wall_clock
from .conftest import NetworkGuard

pytestmark = [pytest.mark.anyio, pytest.mark.virtual_time]

TTL = "X-aliyun-ecs-metadata-token-ttl-seconds"
TOKEN = "X-aliyun-ecs-metadata-token"


def _ecs(cloud: CloudStandIn, **options: object) -> EcsRamRoleProvider:
    options.setdefault("role_name", DEMO_ECS_ROLE)
    return EcsRamRoleProvider(
        metadata_url=CLOUD_URL,
        transport=options.pop("transport", cloud.transport()),  # type: ignore[arg-type]
        clock=virtual_wall_clock(),
        **options,  # type: ignore[arg-type]
    )


# --------------------------------------------------------------------------- ECS metadata


async def test_ecs_role_asks_for_an_imdsv2_token_then_reads_with_it() -> None:
    cloud = make_cloud(imds="required")
    recording = Recording(cloud.transport())
    credentials = await _ecs(cloud, transport=recording).get_credentials()
    token_request, read = recording.requests
    assert (token_request.method, token_request.url.path) == ("PUT", "/latest/api/token")
    assert token_request.headers["X-aliyun-ecs-metadata-token-ttl-seconds"] == "21600"
    assert read.url.path == f"/latest/meta-data/ram/security-credentials/{DEMO_ECS_ROLE}"
    assert read.headers["X-aliyun-ecs-metadata-token"]
    assert cloud.issued.get(credentials.access_key_id) is not None
    assert credentials.expiration is not None
    assert credentials.expiration.timestamp() == EPOCH + 3600


async def test_ecs_role_falls_back_to_imdsv1_when_there_is_no_token_endpoint() -> None:
    cloud = make_cloud(imds="v1-only")
    recording = Recording(cloud.transport())
    await _ecs(cloud, transport=recording).get_credentials()
    assert [r.method for r in recording.requests] == ["PUT", "GET"]
    assert "X-aliyun-ecs-metadata-token" not in recording.requests[1].headers
    assert cloud.counts["imds_credentials"] == 1


async def test_ecs_role_retries_without_the_token_when_a_read_with_it_fails() -> None:
    cloud = make_cloud()
    recording = Recording(cloud.transport())
    provider = _ecs(cloud, transport=recording)
    cloud._imds_tokens.clear()
    original = cloud._imds_token

    def forgetful(method: str, headers: object):  # type: ignore[no-untyped-def]
        answer = original(method, headers)  # type: ignore[arg-type]
        cloud._imds_tokens.clear()  # a token the service no longer honours
        return answer

    cloud._imds_token = forgetful  # type: ignore[method-assign]
    await provider.get_credentials()
    assert [r.method for r in recording.requests] == ["PUT", "GET", "GET"]
    assert "X-aliyun-ecs-metadata-token" in recording.requests[1].headers
    assert "X-aliyun-ecs-metadata-token" not in recording.requests[2].headers


async def test_the_hardened_metadata_stand_in_refuses_reads_without_a_token() -> None:
    cloud = make_cloud(imds="required")
    path = f"/latest/meta-data/ram/security-credentials/{DEMO_ECS_ROLE}"
    async with httpx.AsyncClient(transport=cloud.transport(), base_url=CLOUD_URL) as http:
        assert (await http.get(path)).status_code == 403
        token = (await http.put("/latest/api/token", headers={TTL: "60"})).text
        assert (await http.get(path, headers={TOKEN: token})).status_code == 200
        assert (await http.get(path, headers={TOKEN: "forged"})).status_code == 401


async def test_ecs_role_with_imdsv1_disabled_refuses_to_read_without_a_token() -> None:
    cloud = make_cloud(imds="v1-only")
    with pytest.raises(CredentialsError, match="IMDSv1 is disabled"):
        await _ecs(cloud, imdsv1_disabled=True).get_credentials()
    assert cloud.counts["imds_credentials"] == 0


async def test_the_imdsv1_switch_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ALIBABA_CLOUD_IMDSV1_DISABLED", "true")
    assert _ecs(make_cloud()).imdsv1_disabled is True


async def test_ecs_role_without_a_name_asks_which_role_is_attached() -> None:
    cloud = make_cloud()
    await _ecs(cloud, role_name=None).get_credentials()
    assert cloud.counts["imds_role"] == 1
    assert cloud.counts["imds_credentials"] == 1


async def test_ecs_role_on_an_instance_without_a_role_fails_clearly() -> None:
    cloud = make_cloud(ecs_role=None)
    with pytest.raises(CredentialsError, match="no RAM role is attached to this instance"):
        await _ecs(cloud, role_name=None).get_credentials()


async def test_ecs_role_for_a_role_that_is_not_attached_fails_with_the_status() -> None:
    with pytest.raises(CredentialsError, match=r"role 'other'.*HTTP 404"):
        await _ecs(make_cloud(), role_name="other").get_credentials()


async def test_the_metadata_service_repeats_keys_until_it_rotates_them() -> None:
    cloud = make_cloud()
    provider = _ecs(cloud)
    first = await provider.get_credentials()
    again = await provider.refresh(rejected=first)  # before half-life: the same keys
    assert again.access_key_id == first.access_key_id
    assert cloud.counts["imds_credentials"] == 2


def test_the_metadata_kill_switch_forbids_the_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
    with pytest.raises(CredentialsError, match="ALIBABA_CLOUD_ECS_METADATA_DISABLED=true"):
        EcsRamRoleProvider(role_name=DEMO_ECS_ROLE)


def test_the_metadata_url_defaults_to_the_real_address(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTACLIENT_ECS_METADATA_URL")
    assert EcsRamRoleProvider().metadata_url == "http://100.100.100.200"


async def test_the_network_guard_refuses_the_real_metadata_address(
    monkeypatch: pytest.MonkeyPatch, network_guard: NetworkGuard
) -> None:
    monkeypatch.delenv("OTACLIENT_ECS_METADATA_URL")
    with pytest.raises(CredentialsError):
        await EcsRamRoleProvider(role_name=DEMO_ECS_ROLE).get_credentials()
    assert network_guard.blocked
    assert all("100.100.100.200" in attempt for attempt in network_guard.blocked)
    network_guard.blocked.clear()  # seen and expected: do not fail the test at teardown


async def test_the_network_guard_refuses_the_real_sts(
    monkeypatch: pytest.MonkeyPatch, network_guard: NetworkGuard
) -> None:
    from otaclient import Credentials, RamRoleArnProvider

    monkeypatch.delenv("OTACLIENT_STS_ENDPOINT")
    provider = RamRoleArnProvider(role_arn="acs:ram::1:role/x", source=Credentials("id", "secret"))
    assert provider.endpoint == "https://sts.aliyuncs.com"
    with pytest.raises(CredentialsError):
        await provider.get_credentials()
    assert network_guard.blocked
    assert all("sts.aliyuncs.com" in attempt for attempt in network_guard.blocked)
    network_guard.blocked.clear()


# --------------------------------------------------------------------------- credentials URI


def _uri(cloud: CloudStandIn, path: str = "/credentials") -> CredentialsURIProvider:
    return CredentialsURIProvider(
        CLOUD_URL + path, transport=cloud.transport(), clock=virtual_wall_clock()
    )


async def test_the_credentials_uri_hands_out_temporary_keys() -> None:
    cloud = make_cloud(lifetime=900)
    credentials = await _uri(cloud).get_credentials()
    assert cloud.issued.get(credentials.access_key_id) is not None
    assert credentials.expiration is not None
    assert credentials.expiration.timestamp() == EPOCH + 900
    assert cloud.counts["credentials_uri"] == 1


async def test_a_credentials_uri_answering_an_error_status_fails_with_it() -> None:
    cloud = make_cloud()
    cloud.failing = 500
    with pytest.raises(
        CredentialsError, match=r"credentials URI http://cloud.test/credentials: HTTP 500"
    ):
        await _uri(cloud).get_credentials()


async def test_a_credentials_uri_answering_another_shape_fails_naming_what_is_missing() -> None:
    cloud = make_cloud()
    with pytest.raises(CredentialsError, match="HTTP 404"):
        await _uri(cloud, "/elsewhere").get_credentials()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"Code": "Failed"}, "Code 'Failed', not 'Success'"),
        (
            {"Code": "Success", "AccessKeyId": "id"},
            "lacks AccessKeySecret, SecurityToken, Expiration",
        ),
        (
            {
                "Code": "Success",
                "AccessKeyId": "id",
                "AccessKeySecret": "s",
                "SecurityToken": "t",
                "Expiration": "tomorrow",
            },
            "Expiration 'tomorrow' is not a time",
        ),
    ],
)
async def test_a_credentials_uri_answer_that_does_not_fit_is_refused(
    body: dict[str, str], message: str
) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=body))
    provider = CredentialsURIProvider(CLOUD_URL + "/c", transport=transport)
    with pytest.raises(CredentialsError, match=message):
        await provider.get_credentials()


async def test_a_credentials_uri_never_shows_its_query_string() -> None:
    provider = CredentialsURIProvider("http://127.0.0.1:9/creds?token=uri-secret-123")
    assert "uri-secret-123" not in repr(provider)
    with pytest.raises(CredentialsError) as caught:
        await provider.get_credentials()  # a closed loopback port: refused
    assert "uri-secret-123" not in str(caught.value)
    assert "http://127.0.0.1:9/creds" in str(caught.value)


def test_a_credentials_uri_must_be_an_http_url() -> None:
    with pytest.raises(ValidationError, match="http"):
        CredentialsURIProvider("file:///etc/creds.json")
