"""Secrets, security tokens and OIDC tokens never show in reprs, errors or logs."""

from __future__ import annotations

import logging
from pathlib import Path

import anyio
import pytest

from otaclient import (
    CachedProvider,
    Credentials,
    CredentialsError,
    DefaultCredentialsChain,
    OIDCRoleProvider,
    RamRoleArnProvider,
)
from otaclient.simulator import DEMO_OIDC_PROVIDER_ARN, DEMO_ROLE_ARN

from ._helpers import CLOUD_URL, make_cloud, virtual_wall_clock

pytestmark = [pytest.mark.anyio, pytest.mark.virtual_time]

SECRET = "S3CR3T-never-show-me"
TOKEN = "T0K3N-never-show-me"
OIDC = "OIDC-never-show-me"


def _hidden(text: str) -> None:
    for secret in (SECRET, TOKEN, OIDC):
        assert secret not in text


async def test_reprs_of_credentials_and_providers_hide_every_secret(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(OIDC)
    cloud = make_cloud(oidc_tokens={OIDC})
    credentials = Credentials("id", SECRET, TOKEN, provider_name="x")
    role = RamRoleArnProvider(role_arn=DEMO_ROLE_ARN, source=credentials, sts_endpoint=CLOUD_URL)
    oidc = OIDCRoleProvider(
        role_arn=DEMO_ROLE_ARN,
        oidc_provider_arn=DEMO_OIDC_PROVIDER_ARN,
        oidc_token_file=token_file,
        sts_endpoint=CLOUD_URL,
        transport=cloud.transport(),
        clock=virtual_wall_clock(),
    )
    fetched = await oidc.get_credentials()
    for thing in (credentials, role, oidc, fetched, DefaultCredentialsChain()):
        _hidden(repr(thing))
    assert fetched.access_key_secret not in repr(oidc)
    assert fetched.security_token not in repr(oidc)


async def test_an_sts_error_echoing_the_string_to_sign_hides_the_source_token() -> None:
    # SignatureDoesNotMatch quotes the server's string to sign, where the source token sits
    # percent-encoded twice.
    cloud = make_cloud()
    issued = cloud.issued.issue(lifetime=3600, now=virtual_wall_clock()(), issued_to="source")
    source = Credentials(issued.access_key_id, SECRET, issued.security_token)
    provider = RamRoleArnProvider(
        role_arn=DEMO_ROLE_ARN,
        source=source,
        sts_endpoint=CLOUD_URL,
        transport=cloud.transport(),
        clock=virtual_wall_clock(),
    )
    with pytest.raises(CredentialsError) as caught:
        await provider.get_credentials()
    assert caught.value.code == "SignatureDoesNotMatch"
    assert "SecurityToken%3D***" in str(caught.value)
    assert issued.security_token[:40] not in str(caught.value)
    _hidden(str(caught.value))


async def test_logs_of_failing_refreshes_hide_every_secret(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    caplog.set_level(logging.DEBUG)
    token_file = tmp_path / "token"
    token_file.write_text(OIDC)
    cloud = make_cloud(oidc_tokens={OIDC}, lifetime=900)
    oidc = OIDCRoleProvider(
        role_arn=DEMO_ROLE_ARN,
        oidc_provider_arn=DEMO_OIDC_PROVIDER_ARN,
        oidc_token_file=token_file,
        sts_endpoint=CLOUD_URL,
        transport=cloud.transport(),
        clock=virtual_wall_clock(),
    )
    first = await oidc.get_credentials()
    cloud.oidc_tokens = set()  # from now on STS refuses the token
    await anyio.sleep(700.0)
    assert await oidc.get_credentials() == first  # failed refresh, old keys kept
    with pytest.raises(CredentialsError):
        await oidc.refresh(rejected=first)
    assert any(record.levelno == logging.WARNING for record in caplog.records)
    text = caplog.text + " ".join(str(record.args) for record in caplog.records)
    _hidden(text)
    assert first.access_key_secret not in text
    assert first.security_token is not None and first.security_token not in text


async def test_a_failing_user_fetch_does_not_leak_through_its_exception_type() -> None:
    async def fetch() -> Credentials:
        raise KeyError("no such vault path")

    with pytest.raises(CredentialsError, match="KeyError") as caught:
        await CachedProvider(fetch, name="vault", clock=virtual_wall_clock()).get_credentials()
    assert isinstance(caught.value.__cause__, KeyError)
