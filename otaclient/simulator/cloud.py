"""Stand-ins for the cloud side of credentials: STS, the ECS metadata service, a credentials URI.

One ASGI app, :class:`CloudStandIn`, answers all three, in-process (``.transport()``) or over
HTTP (``running_server(cloud)``), so a test points every provider at one base URL:

* ``/`` - STS (version ``2015-04-01``), GET or POST, parameters in the query or a form body:
  ``AssumeRole`` verified like the POP gateway (known AccessKey or an unexpired key this
  STS issued, v1 signature, timestamp window, nonce), ``AssumeRoleWithOIDC`` checking the
  OIDC provider ARN and the token (the content of the pod's token file);
* ``/latest/api/token`` (PUT, IMDSv2) and ``/latest/meta-data/ram/security-credentials/``
  (the attached role) and ``.../<role>`` (its credentials), with or without the token as
  ``imds`` says; the same keys are handed out until half their lifetime has passed;
* ``/credentials`` - the ``ALIBABA_CLOUD_CREDENTIALS_URI`` shape, rotated the same way.

Every key handed out goes into an :class:`IssuedKeys`; give the stand-in a simulator
(``CloudStandIn(simulator=sim)``) and the simulator's gateway accepts those keys until they
expire, then answers ``InvalidSecurityToken.Expired``. ``counts`` says what was served;
``failing`` (an HTTP status) and ``delay`` (seconds) make every answer fail or come late;
``oidc_tokens`` is the set of OIDC tokens currently accepted (rotate it in tests).
"""

from __future__ import annotations

import collections
import random
import re
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qsl

import anyio
import attrs
import httpx

from .config import DEMO_ACCESS_KEY_ID, DEMO_ACCESS_KEY_SECRET
from .errors import GatewayError
from .gateway import IssuedKey, IssuedKeys, NonceStore, check_signature, check_timestamp
from .render import render_json

if TYPE_CHECKING:
    from .app import Simulator

__all__ = [
    "DEMO_ECS_ROLE",
    "DEMO_OIDC_PROVIDER_ARN",
    "DEMO_OIDC_TOKEN",
    "DEMO_ROLE_ARN",
    "STS_VERSION",
    "CloudConfig",
    "CloudStandIn",
    "ImdsMode",
]

STS_VERSION = "2015-04-01"
#: A role ARN the stand-in accepts (any well-formed ARN is accepted unless ``roles`` is set).
DEMO_ROLE_ARN = "acs:ram::1234567890123456:role/ota-auditor"
#: The OIDC provider the STS stand-in trusts by default.
DEMO_OIDC_PROVIDER_ARN = "acs:ram::1234567890123456:oidc-provider/ack-rrsa-demo"
#: An OIDC token the STS stand-in accepts by default (what a pod's token file would hold).
DEMO_OIDC_TOKEN = "eyJhbGciOiJSUzI1NiJ9.demo-oidc-token.signature"
#: The RAM role attached to the simulated ECS instance.
DEMO_ECS_ROLE = "ota-ecs-role"

ImdsMode = Literal["optional", "required", "v1-only"]

_ROLE_ARN = re.compile(r"acs:ram::\d+:role/[\w.@+=,-]+", re.ASCII)
_MIN_DURATION, _MAX_DURATION = 900, 43200
_CREDENTIALS_PATH = "/latest/meta-data/ram/security-credentials/"
_TOKEN_HEADER = "x-aliyun-ecs-metadata-token"
_TOKEN_TTL_HEADER = "x-aliyun-ecs-metadata-token-ttl-seconds"
_MAX_BODY = 1 << 16

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def _default_keys() -> dict[str, str]:
    return {DEMO_ACCESS_KEY_ID: DEMO_ACCESS_KEY_SECRET}


def _optional_set(value: Any) -> frozenset[str] | None:
    if value is None:
        return None
    return frozenset([value] if isinstance(value, str) else value)


def _set(value: Any) -> frozenset[str]:
    return frozenset([value] if isinstance(value, str) else value)


@attrs.frozen
class CloudConfig:
    """What the cloud stand-ins accept and hand out.

    * ``access_keys``: long-term keys allowed to call ``AssumeRole`` (``{id: secret}``);
    * ``roles``: the role ARNs that exist (``None``: any well-formed ARN);
    * ``oidc_provider_arn`` / ``oidc_tokens``: what ``AssumeRoleWithOIDC`` trusts;
    * ``lifetime``: seconds every key handed out lives (``None``: STS grants the
      ``DurationSeconds`` asked for, the metadata service and the URI one hour);
    * ``ecs_role``: the role attached to the instance (``None``: none);
    * ``imds``: ``"optional"`` (IMDSv2 tokens offered, not required), ``"required"``
      (hardened mode: reads without a token get 403), ``"v1-only"`` (no token endpoint);
    * ``wall_clock``: epoch seconds, for timestamps and expirations (share it with the
      simulator's ``SimulatorConfig.wall_clock`` in tests).
    """

    access_keys: Mapping[str, str] = attrs.field(factory=_default_keys, converter=dict)
    roles: frozenset[str] | None = attrs.field(default=None, converter=_optional_set)
    oidc_provider_arn: str = DEMO_OIDC_PROVIDER_ARN
    oidc_tokens: frozenset[str] = attrs.field(
        factory=lambda: frozenset([DEMO_OIDC_TOKEN]), converter=_set
    )
    lifetime: float | None = None
    ecs_role: str | None = DEMO_ECS_ROLE
    imds: ImdsMode = "optional"
    seed: int = 0
    wall_clock: Callable[[], float] = time.time
    timestamp_window: float = 900.0

    def __attrs_post_init__(self) -> None:
        if self.imds not in ("optional", "required", "v1-only"):
            raise ValueError(f"imds must be 'optional', 'required' or 'v1-only', not {self.imds!r}")
        if self.lifetime is not None and self.lifetime <= 0:
            raise ValueError(f"lifetime must be positive, got {self.lifetime}")


@attrs.define
class _Answer:
    status: int
    body: bytes
    content_type: bytes = b"application/json;charset=utf-8"


class CloudStandIn:
    """STS, ECS metadata and a credentials URI on loopback, as one ASGI app.

    >>> cloud = CloudStandIn(CloudConfig(lifetime=900), simulator=sim)   # doctest: +SKIP
    >>> provider = RamRoleArnProvider(role_arn=DEMO_ROLE_ARN, source=keys,
    ...     sts_endpoint="http://cloud", transport=cloud.transport())   # doctest: +SKIP
    """

    def __init__(
        self, config: CloudConfig | None = None, *, simulator: Simulator | None = None
    ) -> None:
        self.config = config if config is not None else CloudConfig()
        cfg = self.config
        self.issued: IssuedKeys = (
            simulator.issued_keys if simulator is not None else IssuedKeys(cfg.seed)
        )
        self.oidc_tokens: set[str] = set(cfg.oidc_tokens)
        self.failing: int | None = None
        """When set, every answer is this HTTP status (an outage)."""
        self.delay = 0.0
        """Seconds every answer waits (``anyio.sleep``) before it is sent."""
        self.counts: collections.Counter[str] = collections.Counter()
        """What was served: ``AssumeRole``, ``AssumeRoleWithOIDC``, ``imds_token``,
        ``imds_role``, ``imds_credentials``, ``credentials_uri``, and ``refused``."""
        self.last_oidc_token: str | None = None
        self._lock = threading.Lock()
        self._nonces = NonceStore(2 * cfg.timestamp_window)
        self._rng = random.Random(f"{cfg.seed}:cloud")
        self._imds_tokens: dict[str, float] = {}
        self._rotating: dict[str, IssuedKey] = {}

    def transport(self) -> httpx.AsyncBaseTransport:
        """An httpx transport that calls this app in-process."""
        return httpx.ASGITransport(app=self)

    # ------------------------------------------------------------------ ASGI

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry point (``http`` and ``lifespan`` scopes)."""
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        body = await _read_body(receive)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        answer = self.process(
            scope["method"], scope["path"], scope.get("query_string", b""), headers, body
        )
        if self.delay > 0:
            await anyio.sleep(self.delay)
        await send(
            {
                "type": "http.response.start",
                "status": answer.status,
                "headers": [
                    (b"content-type", answer.content_type),
                    (b"content-length", str(len(answer.body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": answer.body, "more_body": False})

    def process(
        self,
        method: str,
        path: str,
        query_string: bytes,
        headers: Mapping[str, str],
        body: bytes | None,
    ) -> _Answer:
        """Decide the answer to one request (synchronous, under the stand-in's lock)."""
        with self._lock:
            if self.failing is not None:
                self.counts["refused"] += 1
                return _text(self.failing, "simulated outage")
            if path == "/":
                params = dict(parse_qsl(query_string.decode("latin-1"), keep_blank_values=True))
                if body is None:
                    return self._sts_error(GatewayError(413, "RequestEntityTooLarge", "Too large."))
                if method == "POST" and body:
                    params.update(
                        parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
                    )
                return self._sts(method, params)
            if path == "/latest/api/token":
                return self._imds_token(method, headers)
            if path.startswith(_CREDENTIALS_PATH):
                return self._imds_read(method, path.removeprefix(_CREDENTIALS_PATH), headers)
            if path == "/credentials" and method == "GET":
                self.counts["credentials_uri"] += 1
                key = self._rotated("credentials_uri", "uri")
                return _json(200, {"Code": "Success", **_credentials(key)})
            return _text(404, "Not Found")

    # ------------------------------------------------------------------ STS

    def _sts(self, method: str, params: dict[str, str]) -> _Answer:
        try:
            action = params.get("Action")
            if action not in ("AssumeRole", "AssumeRoleWithOIDC"):
                raise GatewayError(404, "InvalidAction.NotFound", "Specified api is not found.")
            if params.get("Version") != STS_VERSION:
                raise GatewayError(
                    400, "InvalidVersion", "Specified parameter Version is not valid."
                )
            if action == "AssumeRole":
                self._verify_signed(method, params)
            role = _required(params, "RoleArn")
            if not _ROLE_ARN.fullmatch(role):
                raise GatewayError(
                    400, "InvalidParameter.RoleArn", "The parameter RoleArn is wrongly formed."
                )
            session = _required(params, "RoleSessionName")
            duration = _duration(params.get("DurationSeconds"))
            if action == "AssumeRoleWithOIDC":
                self._verify_oidc(params)
            if self.config.roles is not None and role not in self.config.roles:
                raise GatewayError(404, "EntityNotExist.Role", f"The role not exists: {role}.")
        except GatewayError as error:
            self.counts["refused"] += 1
            return self._sts_error(error)
        self.counts[action] += 1
        lifetime = self.config.lifetime if self.config.lifetime is not None else duration
        key = self.issued.issue(lifetime=lifetime, now=self.config.wall_clock(), issued_to=role)
        return _json(
            200,
            {
                "RequestId": self._request_id(),
                "AssumedRoleUser": {
                    "Arn": f"{role.replace(':role/', ':assumed-role/')}/{session}",
                    "AssumedRoleId": f"3{self._rng.randrange(10**16):016d}:{session}",
                },
                "Credentials": _credentials(key),
            },
        )

    def _verify_signed(self, method: str, params: dict[str, str]) -> None:
        for name in (
            "AccessKeyId",
            "SignatureMethod",
            "SignatureVersion",
            "SignatureNonce",
            "Timestamp",
            "Signature",
        ):
            if not params.get(name):
                raise GatewayError.missing(name)
        key_id = params["AccessKeyId"]
        token = params.get("SecurityToken")
        wall = self.config.wall_clock()
        secret = self.config.access_keys.get(key_id)
        if secret is None:  # role chaining: signed with keys STS issued
            secret = self.issued.secret_of(key_id, token, wall)
        elif token:
            raise GatewayError(
                400,
                "InvalidSecurityToken.MismatchWithAccessKey",
                "Specified SecurityToken mismatch with the AccessKey.",
            )
        if params["SignatureMethod"] != "HMAC-SHA1" or params["SignatureVersion"] != "1.0":
            raise GatewayError(
                400, "InvalidSignatureMethod", "Specified signature method is not supported."
            )
        check_timestamp(params["Timestamp"], wall, self.config.timestamp_window, what="time stamp")
        check_signature(method, params, secret)
        self._nonces.claim(key_id, params["SignatureNonce"], wall)

    def _verify_oidc(self, params: dict[str, str]) -> None:
        provider = _required(params, "OIDCProviderArn")
        token = _required(params, "OIDCToken")
        self.last_oidc_token = token
        if provider != self.config.oidc_provider_arn:
            raise GatewayError(
                404, "EntityNotExist.OIDCProvider", f"The OIDC provider not exists: {provider}."
            )
        if token not in self.oidc_tokens:
            raise GatewayError(
                400, "AuthenticationFail.OIDCToken.Invalid", "The OIDC token is invalid or expired."
            )

    def _sts_error(self, error: GatewayError) -> _Answer:
        return _json(
            error.status,
            {
                "RequestId": self._request_id(),
                "HostId": "sts.aliyuncs.com",
                "Code": error.code,
                "Message": error.message,
                "Recommend": f"https://api.aliyun.com/troubleshoot?q={error.code}&product=Sts",
            },
        )

    # ------------------------------------------------------------------ ECS metadata

    def _imds_token(self, method: str, headers: Mapping[str, str]) -> _Answer:
        if self.config.imds == "v1-only":
            return _text(404, "Not Found")
        if method != "PUT":
            return _text(405, "Method Not Allowed")
        ttl_text = headers.get(_TOKEN_TTL_HEADER, "")
        if not ttl_text.isdigit() or not 1 <= int(ttl_text) <= 21600:
            return _text(400, "Bad Request")
        token = uuid.UUID(int=self._rng.getrandbits(128), version=4).hex
        self._imds_tokens[token] = self.config.wall_clock() + int(ttl_text)
        self.counts["imds_token"] += 1
        return _text(200, token)

    def _imds_read(self, method: str, role: str, headers: Mapping[str, str]) -> _Answer:
        if method != "GET":
            return _text(405, "Method Not Allowed")
        token = headers.get(_TOKEN_HEADER)
        if token is not None:
            if self.config.imds != "v1-only":
                expires = self._imds_tokens.get(token)
                if expires is None or expires <= self.config.wall_clock():
                    return _text(401, "Unauthorized")
        elif self.config.imds == "required":
            return _text(403, "Forbidden")
        attached = self.config.ecs_role
        if not role:
            self.counts["imds_role"] += 1
            return _text(200, attached or "")
        if role != attached:
            return _text(404, "Not Found")
        self.counts["imds_credentials"] += 1
        key = self._rotated("ecs", role)
        last_updated = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.config.wall_clock()))
        return _json(200, {**_credentials(key), "LastUpdated": last_updated, "Code": "Success"})

    def _rotated(self, slot: str, issued_to: str) -> IssuedKey:
        # The metadata service repeats the same keys until half their life is gone.
        now = self.config.wall_clock()
        lifetime = self.config.lifetime if self.config.lifetime is not None else 3600.0
        key = self._rotating.get(slot)
        if key is None or now >= key.expiration - lifetime / 2:
            key = self.issued.issue(lifetime=lifetime, now=now, issued_to=issued_to)
            self._rotating[slot] = key
        return key

    def _request_id(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4)).upper()


def _credentials(key: IssuedKey) -> dict[str, str]:
    return {
        "AccessKeyId": key.access_key_id,
        "AccessKeySecret": key.access_key_secret,
        "SecurityToken": key.security_token,
        "Expiration": key.expiration_text,
    }


def _required(params: Mapping[str, str], name: str) -> str:
    value = params.get(name)
    if not value:
        raise GatewayError.missing(name)
    return value


def _duration(text: str | None) -> int:
    if not text:
        return 3600
    if not text.isdigit() or not _MIN_DURATION <= int(text) <= _MAX_DURATION:
        raise GatewayError(
            400,
            "InvalidParameter.DurationSeconds",
            f"DurationSeconds must be within {_MIN_DURATION}..{_MAX_DURATION}.",
        )
    return int(text)


def _json(status: int, tree: dict[str, Any]) -> _Answer:
    return _Answer(status, render_json(tree))


def _text(status: int, text: str) -> _Answer:
    return _Answer(status, text.encode(), b"text/plain;charset=utf-8")


async def _read_body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > _MAX_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)
