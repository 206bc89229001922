"""The default chain: its order, both profile files in every mode, and what it says when empty."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pytest

from otaclient import (
    Credentials,
    CredentialsError,
    CredentialsProvider,
    DefaultCredentialsChain,
    EcsRamRoleProvider,
    OIDCRoleProvider,
    RamRoleArnProvider,
)
from otaclient._credentials._chain import STEPS
from otaclient.simulator import (
    DEMO_ACCESS_KEY_ID,
    DEMO_ACCESS_KEY_SECRET,
    DEMO_ECS_ROLE,
    DEMO_OIDC_PROVIDER_ARN,
    DEMO_OIDC_TOKEN,
    DEMO_ROLE_ARN,
    CloudStandIn,
)

from ._helpers import CLOUD_URL, make_cloud, virtual_wall_clock

pytestmark = [pytest.mark.anyio, pytest.mark.virtual_time]


@pytest.fixture
def home(clean_environment: Path) -> Path:
    return clean_environment


@pytest.fixture
def cloud() -> CloudStandIn:
    return make_cloud()


def _chain(cloud: CloudStandIn, **options: Any) -> DefaultCredentialsChain:
    return DefaultCredentialsChain(
        sts_endpoint=CLOUD_URL,
        metadata_url=CLOUD_URL,
        transport=cloud.transport(),
        clock=virtual_wall_clock(),
        **options,
    )


def _write_cli_config(home: Path, profiles: list[dict[str, Any]], current: str = "main") -> Path:
    path = home / ".aliyun" / "config.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps({"current": current, "profiles": profiles, "meta_path": ""}))
    return path


def _write_ini(home: Path, text: str) -> Path:
    path = home / ".alibabacloud" / "credentials.ini"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return path


def _ak(name: str = "main", key_id: str = "cli-key", secret: str = "cli-secret") -> dict[str, Any]:
    return {"name": name, "mode": "AK", "access_key_id": key_id, "access_key_secret": secret}


# --------------------------------------------------------------------------- the order


def _enable(step: int, monkeypatch: pytest.MonkeyPatch, home: Path, tmp_path: Path) -> None:
    """Make step ``step`` (0-5) of the chain applicable."""
    if step == 0:
        monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "env-key")
        monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "env-secret")
    elif step == 1:
        token = tmp_path / "oidc-token"
        token.write_text(DEMO_OIDC_TOKEN)
        monkeypatch.setenv("ALIBABA_CLOUD_ROLE_ARN", DEMO_ROLE_ARN)
        monkeypatch.setenv("ALIBABA_CLOUD_OIDC_PROVIDER_ARN", DEMO_OIDC_PROVIDER_ARN)
        monkeypatch.setenv("ALIBABA_CLOUD_OIDC_TOKEN_FILE", str(token))
    elif step == 2:
        _write_cli_config(home, [_ak()])
    elif step == 3:
        _write_ini(
            home,
            "[default]\ntype = access_key\naccess_key_id = ini-key\n"
            "access_key_secret = ini-secret\n",
        )
    elif step == 4:
        monkeypatch.setenv("ALIBABA_CLOUD_ECS_METADATA", DEMO_ECS_ROLE)
    else:
        monkeypatch.setenv("ALIBABA_CLOUD_CREDENTIALS_URI", f"{CLOUD_URL}/credentials")


@pytest.mark.parametrize("first", range(6), ids=STEPS)
async def test_each_step_shadows_every_later_one(
    first: int,
    monkeypatch: pytest.MonkeyPatch,
    home: Path,
    tmp_path: Path,
    cloud: CloudStandIn,
) -> None:
    for step in range(first, 6):
        _enable(step, monkeypatch, home, tmp_path)
    chain = _chain(cloud)
    credentials = await chain.get_credentials()
    assert chain.source is not None
    assert chain.source.startswith(STEPS[first] + ":")
    expected_key = {0: "env-key", 2: "cli-key", 3: "ini-key"}.get(first)
    if expected_key is not None:
        assert credentials.access_key_id == expected_key
    else:  # a temporary key from the stand-in: STS, metadata or the URI
        assert cloud.issued.get(credentials.access_key_id) is not None
    served = {1: "AssumeRoleWithOIDC", 4: "imds_credentials", 5: "credentials_uri"}
    assert sum(cloud.counts[kind] for kind in served.values()) == (1 if first in served else 0)


async def test_with_nothing_set_the_error_names_every_step_and_why_in_order(
    cloud: CloudStandIn,
) -> None:
    with pytest.raises(CredentialsError) as caught:
        await _chain(cloud).get_credentials()
    error = caught.value
    assert [entry.split(":", 1)[0] for entry in error.tried] == list(STEPS)
    text = str(error)
    for needle in (
        "ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET are not set",
        "ALIBABA_CLOUD_ROLE_ARN, ALIBABA_CLOUD_OIDC_PROVIDER_ARN, ALIBABA_CLOUD_OIDC_TOKEN_FILE",
        ".aliyun/config.json does not exist",
        ".alibabacloud/credentials.ini does not exist",
        "ALIBABA_CLOUD_ECS_METADATA (the role name) is not set",
        "ALIBABA_CLOUD_CREDENTIALS_URI is not set",
    ):
        assert needle in text
    assert sum(cloud.counts.values()) == 0


async def test_half_set_environment_keys_are_skipped_naming_the_missing_one(
    monkeypatch: pytest.MonkeyPatch, cloud: CloudStandIn
) -> None:
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "env-key")
    with pytest.raises(CredentialsError, match="ALIBABA_CLOUD_ACCESS_KEY_SECRET is not set"):
        await _chain(cloud).get_credentials()


async def test_environment_keys_carry_the_security_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "env-key")
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "env-secret")
    monkeypatch.setenv("ALIBABA_CLOUD_SECURITY_TOKEN", "env-token")
    credentials = await DefaultCredentialsChain().get_credentials()
    assert credentials == Credentials(
        "env-key", "env-secret", "env-token", provider_name="environment"
    )


async def test_the_environment_is_read_when_credentials_are_first_asked_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    chain = DefaultCredentialsChain()
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "late-key")
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "late-secret")
    assert (await chain.get_credentials()).access_key_id == "late-key"


async def test_a_failed_run_is_not_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    chain = DefaultCredentialsChain()
    with pytest.raises(CredentialsError):
        await chain.get_credentials()
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "key")
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "secret")
    assert (await chain.get_credentials()).access_key_id == "key"


async def test_the_chain_keeps_the_provider_it_found(
    monkeypatch: pytest.MonkeyPatch, cloud: CloudStandIn
) -> None:
    monkeypatch.setenv("ALIBABA_CLOUD_CREDENTIALS_URI", f"{CLOUD_URL}/credentials")
    chain = _chain(cloud)
    first = await chain.get_credentials()
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "key")  # too late: the URI was chosen
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "secret")
    assert await chain.get_credentials() == first
    assert cloud.counts["credentials_uri"] == 1


async def test_concurrent_first_asks_run_the_chain_once(
    monkeypatch: pytest.MonkeyPatch, home: Path, cloud: CloudStandIn
) -> None:
    keys = _ak("keys", DEMO_ACCESS_KEY_ID, DEMO_ACCESS_KEY_SECRET)
    _write_cli_config(home, [keys, _role_profile("main", source="keys")])
    chain = _chain(cloud)
    got: list[Credentials] = []

    async def ask() -> None:
        got.append(await chain.get_credentials())

    async with anyio.create_task_group() as group:
        for _ in range(20):
            group.start_soon(ask)
    assert cloud.counts["AssumeRole"] == 1
    assert len({c.access_key_id for c in got}) == 1


async def test_forced_refresh_goes_to_the_provider_found(
    monkeypatch: pytest.MonkeyPatch, cloud: CloudStandIn
) -> None:
    monkeypatch.setenv("ALIBABA_CLOUD_ECS_METADATA", DEMO_ECS_ROLE)
    chain = _chain(cloud)
    first = await chain.get_credentials()
    await chain.refresh(rejected=first)
    assert cloud.counts["imds_credentials"] == 2
    assert isinstance(chain.provider, EcsRamRoleProvider)


async def test_the_metadata_kill_switch_skips_a_named_role(
    monkeypatch: pytest.MonkeyPatch, cloud: CloudStandIn
) -> None:
    monkeypatch.setenv("ALIBABA_CLOUD_ECS_METADATA", DEMO_ECS_ROLE)
    monkeypatch.setenv("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
    monkeypatch.setenv("ALIBABA_CLOUD_CREDENTIALS_URI", f"{CLOUD_URL}/credentials")
    chain = _chain(cloud)
    await chain.get_credentials()
    assert chain.source is not None and chain.source.startswith("credentials URI:")
    assert (cloud.counts["imds_credentials"], cloud.counts["credentials_uri"]) == (0, 1)


async def test_the_metadata_kill_switch_says_so_when_nothing_else_applies(
    monkeypatch: pytest.MonkeyPatch, cloud: CloudStandIn
) -> None:
    monkeypatch.setenv("ALIBABA_CLOUD_ECS_METADATA", DEMO_ECS_ROLE)
    monkeypatch.setenv("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
    with pytest.raises(CredentialsError, match="disabled by ALIBABA_CLOUD_ECS_METADATA_DISABLED"):
        await _chain(cloud).get_credentials()


async def test_a_profile_asking_for_the_metadata_service_while_it_is_disabled_is_an_error(
    monkeypatch: pytest.MonkeyPatch, home: Path, cloud: CloudStandIn
) -> None:
    _write_cli_config(home, [{"name": "main", "mode": "EcsRamRole", "ram_role_name": "r"}])
    monkeypatch.setenv("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
    with pytest.raises(CredentialsError, match=r"EcsRamRole.*metadata service is disabled"):
        await _chain(cloud).get_credentials()
    assert sum(cloud.counts.values()) == 0


async def test_a_chain_is_a_credentials_provider() -> None:
    assert isinstance(DefaultCredentialsChain(), CredentialsProvider)
    assert isinstance(Credentials("id", "secret"), CredentialsProvider)


# --------------------------------------------------------------------------- config.json


def _role_profile(name: str, *, source: str | None = None) -> dict[str, Any]:
    if source is None:
        return {
            "name": name,
            "mode": "RamRoleArn",
            "access_key_id": DEMO_ACCESS_KEY_ID,
            "access_key_secret": DEMO_ACCESS_KEY_SECRET,
            "ram_role_arn": DEMO_ROLE_ARN,
            "ram_session_name": "cli-session",
            "expired_seconds": 1800,
        }
    return {
        "name": name,
        "mode": "ChainableRamRoleArn",
        "source_profile": source,
        "ram_role_arn": DEMO_ROLE_ARN,
        "ram_session_name": "chained",
        "expired_seconds": 0,
    }


async def test_cli_profile_ak(home: Path, cloud: CloudStandIn) -> None:
    _write_cli_config(home, [_ak()])
    credentials = await _chain(cloud).get_credentials()
    assert (credentials.access_key_id, credentials.access_key_secret) == ("cli-key", "cli-secret")
    assert credentials.security_token is None


async def test_cli_profile_sts_token(home: Path, cloud: CloudStandIn) -> None:
    _write_cli_config(
        home,
        [{**_ak(), "mode": "StsToken", "sts_token": "cli-token"}],
    )
    assert (await _chain(cloud).get_credentials()).security_token == "cli-token"


async def test_cli_profile_ram_role_arn_assumes_the_role_with_the_profiles_keys(
    home: Path, cloud: CloudStandIn
) -> None:
    _write_cli_config(home, [_role_profile("main")])
    chain = _chain(cloud)
    credentials = await chain.get_credentials()
    assert cloud.counts["AssumeRole"] == 1
    assert credentials.expiration is not None
    provider = chain.provider
    assert isinstance(provider, RamRoleArnProvider)
    assert (provider.role_session_name, provider.duration_seconds) == ("cli-session", 1800)


async def test_cli_profile_chainable_ram_role_arn_follows_source_profiles(
    home: Path, cloud: CloudStandIn
) -> None:
    _write_cli_config(
        home,
        [
            _role_profile("base"),
            _role_profile("middle", source="base"),
            _role_profile("main", source="middle"),
        ],
    )
    await _chain(cloud).get_credentials()
    assert cloud.counts["AssumeRole"] == 3  # base, then middle signed by base, then main


async def test_cli_profile_ecs_ram_role(home: Path, cloud: CloudStandIn) -> None:
    _write_cli_config(home, [{"name": "main", "mode": "EcsRamRole", "ram_role_name": ""}])
    await _chain(cloud).get_credentials()
    assert cloud.counts["imds_role"] == 1  # no name in the profile: asked for it
    assert cloud.counts["imds_credentials"] == 1


async def test_cli_profile_oidc(home: Path, tmp_path: Path, cloud: CloudStandIn) -> None:
    token = tmp_path / "token"
    token.write_text(DEMO_OIDC_TOKEN)
    _write_cli_config(
        home,
        [
            {
                "name": "main",
                "mode": "OIDC",
                "ram_role_arn": DEMO_ROLE_ARN,
                "oidc_provider_arn": DEMO_OIDC_PROVIDER_ARN,
                "oidc_token_file": str(token),
            }
        ],
    )
    chain = _chain(cloud)
    await chain.get_credentials()
    assert isinstance(chain.provider, OIDCRoleProvider)
    assert cloud.counts["AssumeRoleWithOIDC"] == 1


async def test_alibaba_cloud_profile_picks_the_cli_profile_over_current(
    home: Path, monkeypatch: pytest.MonkeyPatch, cloud: CloudStandIn
) -> None:
    _write_cli_config(home, [_ak("main", "main-key"), _ak("other", "other-key")])
    monkeypatch.setenv("ALIBABA_CLOUD_PROFILE", "other")
    assert (await _chain(cloud).get_credentials()).access_key_id == "other-key"


async def test_the_profile_argument_overrides_alibaba_cloud_profile(
    home: Path, monkeypatch: pytest.MonkeyPatch, cloud: CloudStandIn
) -> None:
    _write_cli_config(home, [_ak("main", "main-key"), _ak("other", "other-key")])
    monkeypatch.setenv("ALIBABA_CLOUD_PROFILE", "other")
    chain = _chain(cloud, profile="main")
    assert (await chain.get_credentials()).access_key_id == "main-key"


@pytest.mark.parametrize("mode", ["CloudSSO", "OAuth", "External", None])
async def test_an_unsupported_cli_mode_is_an_error_naming_the_mode(
    mode: str | None, home: Path, cloud: CloudStandIn
) -> None:
    _write_cli_config(home, [{"name": "main", "mode": mode, "access_key_secret": "hidden-1"}])
    with pytest.raises(CredentialsError, match=rf"mode {mode!r} is not supported") as caught:
        await _chain(cloud).get_credentials()
    assert "AK, StsToken, RamRoleArn, EcsRamRole, ChainableRamRoleArn" in str(caught.value)
    assert "hidden-1" not in str(caught.value)


async def test_a_cli_profile_missing_a_field_is_an_error_naming_the_field(
    home: Path, cloud: CloudStandIn
) -> None:
    profile = _role_profile("main")
    del profile["ram_role_arn"]
    _write_cli_config(home, [profile])
    with pytest.raises(
        CredentialsError, match=r"profile 'main' \(RamRoleArn\).*ram_role_arn is missing"
    ):
        await _chain(cloud).get_credentials()


async def test_a_source_profile_loop_is_an_error_not_a_recursion(
    home: Path, cloud: CloudStandIn
) -> None:
    _write_cli_config(
        home, [_role_profile("main", source="other"), _role_profile("other", source="main")]
    )
    with pytest.raises(
        CredentialsError, match="source_profile makes a loop: main -> other -> main"
    ):
        await _chain(cloud).get_credentials()


async def test_a_missing_source_profile_is_an_error(home: Path, cloud: CloudStandIn) -> None:
    _write_cli_config(home, [_role_profile("main", source="gone")])
    with pytest.raises(CredentialsError, match="source_profile 'gone' does not exist"):
        await _chain(cloud).get_credentials()


async def test_a_config_json_that_is_not_json_is_an_error_quoting_nothing(
    home: Path, cloud: CloudStandIn
) -> None:
    path = home / ".aliyun" / "config.json"
    path.parent.mkdir()
    path.write_text('{"current": "main", "profiles": [{"access_key_secret": "hidden-2",}]}')
    with pytest.raises(CredentialsError, match=r"is not valid JSON \(line 1, column") as caught:
        await _chain(cloud).get_credentials()
    assert "hidden-2" not in str(caught.value)


async def test_a_cli_profile_that_is_not_there_falls_through_to_the_ini_file(
    home: Path, monkeypatch: pytest.MonkeyPatch, cloud: CloudStandIn
) -> None:
    _write_cli_config(home, [_ak("main")])
    _write_ini(home, "[ci]\ntype = access_key\naccess_key_id = ini-key\naccess_key_secret = s\n")
    monkeypatch.setenv("ALIBABA_CLOUD_PROFILE", "ci")
    chain = _chain(cloud)
    assert (await chain.get_credentials()).access_key_id == "ini-key"
    assert chain.source is not None and chain.source.startswith("credentials.ini:")


async def test_a_named_profile_found_nowhere_is_an_error_not_the_instance_role(
    home: Path, monkeypatch: pytest.MonkeyPatch, cloud: CloudStandIn
) -> None:
    _write_cli_config(home, [_ak("main")])
    monkeypatch.setenv("ALIBABA_CLOUD_ECS_METADATA", DEMO_ECS_ROLE)
    with pytest.raises(CredentialsError, match="profile 'typo' was asked for"):
        await _chain(cloud, profile="typo").get_credentials()
    assert cloud.counts["imds_credentials"] == 0


async def test_the_cli_file_can_be_disabled(
    home: Path, monkeypatch: pytest.MonkeyPatch, cloud: CloudStandIn
) -> None:
    _write_cli_config(home, [_ak()])
    monkeypatch.setenv("ALIBABA_CLOUD_CLI_PROFILE_DISABLED", "true")
    with pytest.raises(CredentialsError, match="disabled by ALIBABA_CLOUD_CLI_PROFILE_DISABLED"):
        await _chain(cloud).get_credentials()


# --------------------------------------------------------------------------- credentials.ini


async def test_ini_access_key_with_comments_and_a_percent_in_the_secret(
    home: Path, cloud: CloudStandIn
) -> None:
    _write_ini(
        home,
        "[default]                 # the default section\n"
        "enable = true\n"
        "type = access_key         # long-term keys\n"
        "access_key_id = ini-key\n"
        "access_key_secret = 50%off\n",
    )
    credentials = await _chain(cloud).get_credentials()
    assert (credentials.access_key_id, credentials.access_key_secret) == ("ini-key", "50%off")


async def test_ini_sts(home: Path, cloud: CloudStandIn) -> None:
    _write_ini(
        home,
        "[default]\ntype = sts\naccess_key_id = k\naccess_key_secret = s\nsecurity_token = t\n",
    )
    assert (await _chain(cloud).get_credentials()).security_token == "t"


async def test_ini_ram_role_arn(home: Path, cloud: CloudStandIn) -> None:
    _write_ini(
        home,
        f"[default]\ntype = ram_role_arn\naccess_key_id = {DEMO_ACCESS_KEY_ID}\n"
        f"access_key_secret = {DEMO_ACCESS_KEY_SECRET}\nrole_arn = {DEMO_ROLE_ARN}\n"
        "role_session_name = ini-session\nrole_session_expiration = 900\n",
    )
    credentials = await _chain(cloud).get_credentials()
    assert cloud.counts["AssumeRole"] == 1
    assert credentials.expiration is not None


async def test_ini_ecs_ram_role(home: Path, cloud: CloudStandIn) -> None:
    _write_ini(home, f"[default]\ntype = ecs_ram_role\nrole_name = {DEMO_ECS_ROLE}\n")
    await _chain(cloud).get_credentials()
    assert cloud.counts["imds_credentials"] == 1
    assert cloud.counts["imds_role"] == 0


async def test_ini_oidc_role_arn(home: Path, tmp_path: Path, cloud: CloudStandIn) -> None:
    token = tmp_path / "token"
    token.write_text(DEMO_OIDC_TOKEN)
    _write_ini(
        home,
        f"[default]\ntype = oidc_role_arn\nrole_arn = {DEMO_ROLE_ARN}\n"
        f"oidc_provider_arn = {DEMO_OIDC_PROVIDER_ARN}\noidc_token_file_path = {token}\n",
    )
    await _chain(cloud).get_credentials()
    assert cloud.counts["AssumeRoleWithOIDC"] == 1


async def test_ini_credentials_uri(home: Path, cloud: CloudStandIn) -> None:
    _write_ini(
        home, f"[default]\ntype = credentials_uri\ncredentials_uri = {CLOUD_URL}/credentials\n"
    )
    await _chain(cloud).get_credentials()
    assert cloud.counts["credentials_uri"] == 1


async def test_ini_section_named_by_alibaba_cloud_profile(
    home: Path, monkeypatch: pytest.MonkeyPatch, cloud: CloudStandIn
) -> None:
    _write_ini(
        home,
        "[default]\ntype = access_key\naccess_key_id = d\naccess_key_secret = s\n"
        "[client1]\ntype = access_key\naccess_key_id = c1\naccess_key_secret = s\n",
    )
    monkeypatch.setenv("ALIBABA_CLOUD_PROFILE", "client1")
    assert (await _chain(cloud).get_credentials()).access_key_id == "c1"


async def test_ini_file_named_by_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cloud: CloudStandIn
) -> None:
    path = tmp_path / "elsewhere.ini"
    path.write_text("[default]\ntype = access_key\naccess_key_id = e\naccess_key_secret = s\n")
    monkeypatch.setenv("ALIBABA_CLOUD_CREDENTIALS_FILE", str(path))
    assert (await _chain(cloud).get_credentials()).access_key_id == "e"


async def test_an_ini_file_named_by_the_environment_must_exist(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cloud: CloudStandIn
) -> None:
    monkeypatch.setenv("ALIBABA_CLOUD_CREDENTIALS_FILE", str(tmp_path / "missing.ini"))
    with pytest.raises(
        CredentialsError, match=r"ALIBABA_CLOUD_CREDENTIALS_FILE names .*missing.ini"
    ):
        await _chain(cloud).get_credentials()


async def test_a_disabled_ini_section_does_not_apply(home: Path, cloud: CloudStandIn) -> None:
    _write_ini(home, "[default]\nenable = false\ntype = access_key\naccess_key_id = d\n")
    with pytest.raises(CredentialsError, match=r"\[default\] .* says enable = false"):
        await _chain(cloud).get_credentials()


async def test_an_unsupported_ini_type_is_an_error_naming_the_type(
    home: Path, cloud: CloudStandIn
) -> None:
    _write_ini(home, "[default]\ntype = rsa_key_pair\npublic_key_id = p\nprivate_key_file = f\n")
    with pytest.raises(CredentialsError, match="type 'rsa_key_pair' is not supported"):
        await _chain(cloud).get_credentials()


async def test_a_broken_ini_file_is_an_error_quoting_nothing(
    home: Path, cloud: CloudStandIn
) -> None:
    _write_ini(home, "[default]\ntype = access_key\nhidden-3-on-a-line-of-its-own\n")
    with pytest.raises(CredentialsError, match=r"is not a valid INI file \(line 3\)") as caught:
        await _chain(cloud).get_credentials()
    assert "hidden-3" not in str(caught.value)
