"""Temporary credentials from STS: ``AssumeRole`` and ``AssumeRoleWithOIDC`` (RRSA).

Both are RPC calls of STS version ``2015-04-01``, sent as ``POST`` with every parameter in a
form body: an OIDC token or a source security token in a URL would end up in request logs.
``AssumeRole`` is signed with the source credentials by the v1 algorithm of
``otaclient._signing`` (the signature covers the body parameters); ``AssumeRoleWithOIDC``
is anonymous and proves itself with the OIDC token, read from its file on every refresh
(the kubelet rotates that file).
"""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Mapping
from typing import Any

import anyio
import httpx

from .._errors import CredentialsError, ValidationError
from .._signing import canonical_query, sign
from ._cache import CachedProvider, Clock, RefreshPolicy
from ._env import ENV_ROLE_SESSION_NAME, sts_endpoint
from ._http import Scrub, credentials_from, exchange, scrubber
from ._model import Credentials, CredentialsProvider, same_keys

__all__ = ["STS_VERSION", "OIDCRoleProvider", "RamRoleArnProvider"]

STS_VERSION = "2015-04-01"
DEFAULT_DURATION = 3600
MIN_DURATION = 900
DEFAULT_STS_TIMEOUT = 10.0
_SESSION_NAME = re.compile(r"[\w.@-]{2,64}", re.ASCII)


def _timestamp(clock: Clock) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(clock()))


def _check_duration(duration_seconds: int) -> int:
    if isinstance(duration_seconds, bool) or not isinstance(duration_seconds, int):
        raise ValidationError(f"duration_seconds must be an int, got {duration_seconds!r}")
    if duration_seconds < MIN_DURATION:
        raise ValidationError(
            f"duration_seconds must be at least {MIN_DURATION} (STS refuses shorter sessions), "
            f"got {duration_seconds}"
        )
    return duration_seconds


def _session_name(given: str | None, environ: Mapping[str, str], clock: Clock) -> str:
    name = given or environ.get(ENV_ROLE_SESSION_NAME) or f"otaclient-{int(clock())}"
    if not _SESSION_NAME.fullmatch(name):
        raise ValidationError(
            f"role_session_name must be 2 to 64 letters, digits or . @ - _, got {name!r}"
        )
    return name


class _StsProvider(CachedProvider):
    """What both STS actions share: the endpoint, the session and reading the answer."""

    action = ""

    def __init__(
        self,
        *,
        name: str,
        role_arn: str,
        role_session_name: str | None,
        duration_seconds: int,
        policy: str | None,
        sts_endpoint_url: str | None,
        sts_region: str | None,
        vpc: bool | None,
        configured_endpoint: str | None,
        environ: Mapping[str, str] | None,
        timeout: float,
        transport: httpx.AsyncBaseTransport | None,
        clock: Clock,
        refresh_policy: RefreshPolicy | None,
    ) -> None:
        super().__init__(
            self._fetch_credentials, name=name, clock=clock, refresh_policy=refresh_policy
        )
        env = os.environ if environ is None else environ
        if not role_arn:
            raise ValidationError("role_arn is required")
        self.role_arn = role_arn
        self.role_session_name = _session_name(role_session_name, env, clock)
        self.duration_seconds = _check_duration(duration_seconds)
        self.policy = policy
        self.endpoint = sts_endpoint(
            sts_endpoint_url, env, configured=configured_endpoint, region=sts_region, vpc=vpc
        )
        self._timeout = timeout
        self._transport = transport

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(role_arn={self.role_arn!r}, endpoint={self.endpoint!r}, "
            f"current={self.current!r})"
        )

    async def _fetch_credentials(self) -> Credentials:
        raise NotImplementedError

    def _session_params(self) -> dict[str, str]:
        params = {
            "Action": self.action,
            "Format": "JSON",
            "Version": STS_VERSION,
            "Timestamp": _timestamp(self._clock),
            "RoleArn": self.role_arn,
            "RoleSessionName": self.role_session_name,
            "DurationSeconds": str(self.duration_seconds),
        }
        if self.policy:
            params["Policy"] = self.policy
        return params

    async def _call(self, params: dict[str, str], scrub: Scrub) -> Credentials:
        what = f"STS {self.action} of {self.role_arn} at {self.endpoint}"
        reply = await exchange(
            "POST",
            self.endpoint + "/",
            what=what,
            provider=self.name,
            time_limit=self._timeout,
            transport=self._transport,
            form=params,
            scrub=scrub,
        )
        data = reply.json(what, self.name)
        found = data.get("Credentials")
        if reply.status == 200 and isinstance(found, dict):
            return credentials_from(found, what, self.name)
        raise _sts_error(what, self.name, reply.status, data, scrub)


def _sts_error(
    what: str, provider: str, status: int, data: Mapping[str, Any], scrub: Scrub
) -> CredentialsError:
    code = data.get("Code")
    code = str(code) if code else None
    message = scrub(str(data.get("Message") or ""))
    request_id = data.get("RequestId")
    request_id = str(request_id) if request_id else None
    text = f"{what} failed: {code or 'no error code'}"
    if message:
        text += f": {message}"
    text += f" (HTTP {status}, request id {request_id or 'unknown'})"
    return CredentialsError(
        text, provider=provider, code=code, message=message or None, request_id=request_id
    )


class RamRoleArnProvider(_StsProvider):
    """Assumes a RAM role with STS ``AssumeRole``, signed with ``source``'s credentials.

    ``source`` is any provider (static keys, or another role for role chaining). When STS
    says the source's own token expired, the source is refreshed once and the call retried.
    The endpoint is ``sts_endpoint`` if given, else ``OTACLIENT_STS_ENDPOINT``, else
    ``configured_endpoint`` (a profile's ``sts_endpoint``), else one derived from
    ``sts_region`` / ``ALIBABA_CLOUD_STS_REGION`` (``vpc``: the ``sts-vpc`` host), else
    ``sts.aliyuncs.com``. ``environ`` replaces ``os.environ`` for those defaults.
    """

    action = "AssumeRole"

    def __init__(
        self,
        *,
        role_arn: str,
        source: CredentialsProvider,
        role_session_name: str | None = None,
        duration_seconds: int = DEFAULT_DURATION,
        policy: str | None = None,
        external_id: str | None = None,
        sts_endpoint: str | None = None,
        sts_region: str | None = None,
        vpc: bool | None = None,
        configured_endpoint: str | None = None,
        environ: Mapping[str, str] | None = None,
        timeout: float = DEFAULT_STS_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock = time.time,
        refresh_policy: RefreshPolicy | None = None,
        name: str = "ram_role_arn",
    ) -> None:
        super().__init__(
            name=name,
            role_arn=role_arn,
            role_session_name=role_session_name,
            duration_seconds=duration_seconds,
            policy=policy,
            sts_endpoint_url=sts_endpoint,
            sts_region=sts_region,
            vpc=vpc,
            configured_endpoint=configured_endpoint,
            environ=environ,
            timeout=timeout,
            transport=transport,
            clock=clock,
            refresh_policy=refresh_policy,
        )
        if not isinstance(source, CredentialsProvider):
            raise ValidationError(f"source must be a credentials provider, got {source!r}")
        self.source = source
        self.external_id = external_id

    async def _fetch_credentials(self) -> Credentials:
        signer = await self.source.get_credentials()
        try:
            return await self._assume(signer)
        except CredentialsError as exc:
            if not (exc.code or "").startswith("InvalidSecurityToken."):
                raise
            renewed = await self.source.refresh(rejected=signer)
            if same_keys(renewed, signer):
                raise
            return await self._assume(renewed)

    async def _assume(self, signer: Credentials) -> Credentials:
        params = self._session_params()
        params.update(
            AccessKeyId=signer.access_key_id,
            SignatureMethod="HMAC-SHA1",
            SignatureVersion="1.0",
            SignatureNonce=uuid.uuid4().hex,
        )
        if self.external_id:
            params["ExternalId"] = self.external_id
        if signer.security_token:
            params["SecurityToken"] = signer.security_token
        params["Signature"] = sign("POST", canonical_query(params), signer.access_key_secret)
        scrub = scrubber([signer.access_key_secret, signer.security_token])
        return await self._call(params, scrub)


class OIDCRoleProvider(_StsProvider):
    """Assumes a RAM role with STS ``AssumeRoleWithOIDC`` (RRSA in ACK).

    The OIDC token is read from ``oidc_token_file`` (through a worker thread) on every
    refresh, since the kubelet replaces it before it expires. Endpoint rules as for
    :class:`RamRoleArnProvider`.
    """

    action = "AssumeRoleWithOIDC"

    def __init__(
        self,
        *,
        role_arn: str,
        oidc_provider_arn: str,
        oidc_token_file: str | os.PathLike[str],
        role_session_name: str | None = None,
        duration_seconds: int = DEFAULT_DURATION,
        policy: str | None = None,
        sts_endpoint: str | None = None,
        sts_region: str | None = None,
        vpc: bool | None = None,
        configured_endpoint: str | None = None,
        environ: Mapping[str, str] | None = None,
        timeout: float = DEFAULT_STS_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock = time.time,
        refresh_policy: RefreshPolicy | None = None,
        name: str = "oidc_role_arn",
    ) -> None:
        super().__init__(
            name=name,
            role_arn=role_arn,
            role_session_name=role_session_name,
            duration_seconds=duration_seconds,
            policy=policy,
            sts_endpoint_url=sts_endpoint,
            sts_region=sts_region,
            vpc=vpc,
            configured_endpoint=configured_endpoint,
            environ=environ,
            timeout=timeout,
            transport=transport,
            clock=clock,
            refresh_policy=refresh_policy,
        )
        if not oidc_provider_arn:
            raise ValidationError("oidc_provider_arn is required")
        if not oidc_token_file:
            raise ValidationError("oidc_token_file is required")
        self.oidc_provider_arn = oidc_provider_arn
        self.oidc_token_file = os.fspath(oidc_token_file)

    async def _fetch_credentials(self) -> Credentials:
        token = await self._read_token()
        params = self._session_params()
        params.update(OIDCProviderArn=self.oidc_provider_arn, OIDCToken=token)
        return await self._call(params, scrubber([token]))

    async def _read_token(self) -> str:
        path = self.oidc_token_file
        try:
            text = await anyio.Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise CredentialsError(
                f"{self.name}: cannot read the OIDC token file {path}: "
                f"{exc.strerror or type(exc).__name__}",
                provider=self.name,
            ) from None
        except UnicodeDecodeError:
            raise CredentialsError(
                f"{self.name}: the OIDC token file {path} is not UTF-8 text", provider=self.name
            ) from None
        token = text.strip()
        if not token:
            raise CredentialsError(
                f"{self.name}: the OIDC token file {path} is empty", provider=self.name
            )
        return token
