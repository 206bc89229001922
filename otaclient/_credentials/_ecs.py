"""The RAM role of an ECS instance, from the instance metadata service.

IMDSv2 first: ``PUT /latest/api/token`` with ``X-aliyun-ecs-metadata-token-ttl-seconds``,
then ``GET /latest/meta-data/ram/security-credentials/<role>`` with
``X-aliyun-ecs-metadata-token``. If any step with the token fails (the token itself, or a
read with it), the read is made without one (IMDSv1), as the official SDKs do, unless
``imdsv1_disabled`` / ``ALIBABA_CLOUD_IMDSV1_DISABLED=true``. Without a role name the role
is looked up first (``GET .../security-credentials/``). Metadata calls never go through a
proxy, and ``ALIBABA_CLOUD_ECS_METADATA_DISABLED=true`` forbids building the provider at all.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping

import httpx

from .._errors import CredentialsError, ValidationError
from ._cache import CachedProvider, Clock, RefreshPolicy
from ._env import (
    DEFAULT_METADATA_URL,
    ENV_ECS_METADATA_DISABLED,
    ENV_ECS_METADATA_URL,
    ENV_IMDSV1_DISABLED,
    base_url,
    flag,
)
from ._http import Reply, credentials_from, exchange
from ._model import Credentials

__all__ = ["EcsRamRoleProvider", "metadata_disabled_error"]

log = logging.getLogger("otaclient.credentials")

TOKEN_PATH = "/latest/api/token"
CREDENTIALS_PATH = "/latest/meta-data/ram/security-credentials/"
TOKEN_HEADER = "X-aliyun-ecs-metadata-token"
TOKEN_TTL_HEADER = "X-aliyun-ecs-metadata-token-ttl-seconds"
TOKEN_TTL = 21600
DEFAULT_METADATA_TIMEOUT = 5.0
_CONNECT_TIMEOUT = 1.0  # the metadata service is one hop away; off ECS it never answers


def metadata_disabled_error(what: str) -> CredentialsError:
    """The error for a metadata lookup that ``ALIBABA_CLOUD_ECS_METADATA_DISABLED`` forbids."""
    return CredentialsError(
        f"{what}: the ECS metadata service is disabled by {ENV_ECS_METADATA_DISABLED}=true",
        provider="ecs_ram_role",
    )


class EcsRamRoleProvider(CachedProvider):
    """Credentials of the instance's RAM role, from the ECS metadata service.

    ``role_name`` defaults to asking the service which role is attached (one more request
    per refresh). ``metadata_url`` defaults to ``OTACLIENT_ECS_METADATA_URL``, else
    ``http://100.100.100.200``.
    """

    def __init__(
        self,
        *,
        role_name: str | None = None,
        metadata_url: str | None = None,
        imdsv1_disabled: bool | None = None,
        environ: Mapping[str, str] | None = None,
        timeout: float = DEFAULT_METADATA_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock = time.time,
        refresh_policy: RefreshPolicy | None = None,
        name: str = "ecs_ram_role",
    ) -> None:
        super().__init__(
            self._fetch_credentials, name=name, clock=clock, refresh_policy=refresh_policy
        )
        env = os.environ if environ is None else environ
        if flag(env, ENV_ECS_METADATA_DISABLED):
            raise metadata_disabled_error(name)
        if role_name is not None and (not role_name or "/" in role_name):
            raise ValidationError(f"role_name must be a RAM role name, got {role_name!r}")
        self.role_name = role_name
        self.metadata_url = base_url(
            metadata_url or env.get(ENV_ECS_METADATA_URL) or DEFAULT_METADATA_URL,
            "the ECS metadata URL",
        )
        self.imdsv1_disabled = (
            flag(env, ENV_IMDSV1_DISABLED) if imdsv1_disabled is None else imdsv1_disabled
        )
        self._timeout = timeout
        self._transport = transport

    def __repr__(self) -> str:
        return (
            f"EcsRamRoleProvider(role_name={self.role_name!r}, "
            f"metadata_url={self.metadata_url!r}, current={self.current!r})"
        )

    async def _fetch_credentials(self) -> Credentials:
        token = await self._token()
        role = self.role_name
        if role is None:
            role = await self._attached_role(token)
        what = f"ECS metadata credentials of role {role!r} at {self.metadata_url}"
        reply = await self._read(CREDENTIALS_PATH + role, token, what)
        data = reply.json(what, self.name)
        if data.get("Code") != "Success":
            raise CredentialsError(
                f"{what}: the service answered Code {data.get('Code')!r}", provider=self.name
            )
        return credentials_from(data, what, self.name)

    async def _token(self) -> str | None:
        what = f"ECS metadata token (IMDSv2) at {self.metadata_url}"
        try:
            reply = await self._send("PUT", TOKEN_PATH, {TOKEN_TTL_HEADER: str(TOKEN_TTL)}, what)
            token = reply.body.decode("utf-8", "replace").strip()
            if not token:
                raise CredentialsError(f"{what}: the answer is empty", provider=self.name)
        except CredentialsError as exc:
            if self.imdsv1_disabled:
                raise CredentialsError(
                    f"{exc} (IMDSv1 is disabled by {ENV_IMDSV1_DISABLED}=true)",
                    provider=self.name,
                ) from None
            log.debug("%s; reading without a token (IMDSv1)", exc)
            return None
        return token

    async def _attached_role(self, token: str | None) -> str:
        what = f"ECS metadata role name at {self.metadata_url}"
        reply = await self._read(CREDENTIALS_PATH, token, what)
        lines = reply.body.decode("utf-8", "replace").split()
        if not lines:
            raise CredentialsError(
                f"{what}: no RAM role is attached to this instance", provider=self.name
            )
        return lines[0]

    async def _read(self, path: str, token: str | None, what: str) -> Reply:
        if token is None:
            return await self._send("GET", path, {}, what)
        try:
            return await self._send("GET", path, {TOKEN_HEADER: token}, what)
        except CredentialsError as with_token:
            if self.imdsv1_disabled:
                raise
            try:
                return await self._send("GET", path, {}, what)
            except CredentialsError as without:
                raise CredentialsError(
                    f"{with_token} (with an IMDSv2 token); {without} (without one, IMDSv1)",
                    provider=self.name,
                ) from None

    async def _send(self, method: str, path: str, headers: dict[str, str], what: str) -> Reply:
        reply = await exchange(
            method,
            self.metadata_url + path,
            what=what,
            provider=self.name,
            time_limit=self._timeout,
            connect_timeout=_CONNECT_TIMEOUT,
            transport=self._transport,
            trust_env=False,
            headers=headers,
        )
        if reply.status != 200:
            raise CredentialsError(f"{what}: HTTP {reply.status}", provider=self.name)
        return reply
