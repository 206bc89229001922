"""Request verification, in the order the POP gateway applies it.

1. required common parameters present (``Missing<Name>``, 400); the tuya-hosted dialect
   does not require ``Version``/``SignatureVersion`` because its documented examples omit
   them (and ``Format``, which is optional everywhere);
2. ``AccessKeyId`` known (``InvalidAccessKeyId.NotFound``, 404), then ``SecurityToken``
   consistent with the key: a configured STS key must send one of its tokens, a static key
   none; a temporary key issued by the cloud stand-ins (:class:`IssuedKeys`) must send its
   own token (``InvalidSecurityToken.MismatchWithAccessKey`` for another key's,
   ``.Malformed`` for one never issued) before its expiry (``InvalidSecurityToken.Expired``),
   all HTTP 400;
3. ``Version`` = ``2018-01-20`` if present (``InvalidVersion``, 400);
4. ``SignatureMethod`` = ``HMAC-SHA1``, ``SignatureVersion`` = ``1.0`` if present;
5. ``Timestamp`` well formed and within +/- 15 minutes (``InvalidTimeStamp.*``, 400);
6. signature over every parameter but ``Signature``, for the HTTP method actually used
   (``SignatureDoesNotMatch``, 400, with the server's string to sign in the message);
7. ``SignatureNonce`` not seen for this key within the window (``SignatureNonceUsed``, 400).

The action name is resolved by the app afterwards (``InvalidAction.NotFound``, 404).
"""

from __future__ import annotations

import hmac
import random
import string
import threading
import time
from collections import deque

import attrs

from .._signing import canonical_query, sign, string_to_sign
from ._time import parse_request_timestamp
from .config import SimulatorConfig
from .errors import GatewayError

__all__ = [
    "API_VERSION",
    "Gateway",
    "IssuedKey",
    "IssuedKeys",
    "NonceStore",
    "Verified",
    "check_signature",
    "check_timestamp",
]

API_VERSION = "2018-01-20"


@attrs.frozen
class Verified:
    """A request that passed verification."""

    access_key_id: str
    action: str


class NonceStore:
    """Nonces seen per access key, forgotten ``ttl`` seconds after first use."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._seen: set[tuple[str, str]] = set()
        self._expiry: deque[tuple[float, tuple[str, str]]] = deque()

    def claim(self, access_key_id: str, nonce: str, now: float) -> None:
        """Record a nonce, or refuse it if it was already used (and is still remembered)."""
        expiry = self._expiry
        while expiry and expiry[0][0] <= now:
            self._seen.discard(expiry.popleft()[1])
        key = (access_key_id, nonce)
        if key in self._seen:
            raise GatewayError(
                400, "SignatureNonceUsed", "Specified signature nonce was used already."
            )
        self._seen.add(key)
        expiry.append((now + self.ttl, key))

    def __len__(self) -> int:
        return len(self._seen)


@attrs.frozen
class IssuedKey:
    """One set of temporary credentials handed out by a cloud stand-in."""

    access_key_id: str
    access_key_secret: str = attrs.field(repr=False)
    security_token: str = attrs.field(repr=False)
    expiration: float
    """Epoch seconds, on the issuing stand-in's wall clock."""
    issued_to: str
    """The role (ARN or ECS role name) they belong to."""

    @property
    def expiration_text(self) -> str:
        """``YYYY-MM-DDThh:mm:ssZ``, the form STS and the metadata service use."""
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.expiration))


_ALPHANUMERIC = string.ascii_letters + string.digits


class IssuedKeys:
    """Temporary keys the cloud stand-ins issued; the gateway accepts each until it expires.

    Thread-safe: the STS stand-in issues keys while the gateway, under the simulator's own
    lock, checks them. Expired keys are remembered so that they are refused as expired.
    """

    def __init__(self, seed: int | str = 0) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(f"{seed}:issued-keys")
        self._by_id: dict[str, IssuedKey] = {}
        self._by_token: dict[str, IssuedKey] = {}

    def issue(self, *, lifetime: float, now: float, issued_to: str) -> IssuedKey:
        """New temporary keys for ``issued_to``, valid for ``lifetime`` seconds from ``now``."""
        with self._lock:
            draw = self._rng.choices
            key = IssuedKey(
                access_key_id="STS.NT" + "".join(draw(_ALPHANUMERIC, k=22)),
                access_key_secret="".join(draw(_ALPHANUMERIC, k=44)),
                security_token="CAIS" + "".join(draw(_ALPHANUMERIC + "+/", k=300)),
                expiration=now + lifetime,
                issued_to=issued_to,
            )
            self._by_id[key.access_key_id] = key
            self._by_token[key.security_token] = key
            return key

    def get(self, access_key_id: str) -> IssuedKey | None:
        """The issued key with this id, if any (expired ones included)."""
        with self._lock:
            return self._by_id.get(access_key_id)

    def secret_of(self, access_key_id: str, token: str | None, wall: float) -> str:
        """The secret of an issued key, for a request that carries its unexpired token."""
        key = self.get(access_key_id)
        if key is None:
            raise GatewayError(
                404, "InvalidAccessKeyId.NotFound", "Specified access key is not found."
            )
        self.check(key, token, wall)
        return key.access_key_secret

    def check(self, key: IssuedKey, token: str | None, wall: float) -> None:
        """Refuse a request signed with ``key`` unless it carries ``key``'s unexpired token."""
        if not token:
            raise GatewayError.missing("SecurityToken")
        if token != key.security_token:
            with self._lock:
                owner = self._by_token.get(token)
            if owner is None:
                raise GatewayError(
                    400, "InvalidSecurityToken.Malformed", "Specified SecurityToken is malformed."
                )
            raise GatewayError(
                400,
                "InvalidSecurityToken.MismatchWithAccessKey",
                "Specified SecurityToken mismatch with the AccessKey.",
            )
        if wall >= key.expiration:
            raise GatewayError(
                400, "InvalidSecurityToken.Expired", "Specified SecurityToken is expired."
            )

    def __len__(self) -> int:
        with self._lock:
            return len(self._by_id)


class Gateway:
    """Verifies requests against a :class:`SimulatorConfig` (and the keys in ``issued``)."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.issued = IssuedKeys(config.seed)
        # A nonce must stay remembered as long as its Timestamp is acceptable: both sides
        # of the window.
        self.nonces = NonceStore(2 * config.timestamp_window)
        required = ["Action"]
        if config.dialect == "aliyun":
            required.append("Version")
        required += ["AccessKeyId", "SignatureMethod"]
        if config.dialect == "aliyun":
            required.append("SignatureVersion")
        required += ["SignatureNonce", "Timestamp", "Signature"]
        self._required = tuple(required)

    def verify(self, method: str, params: dict[str, str], *, wall: float, mono: float) -> Verified:
        """Return the verified identity or raise :class:`GatewayError`."""
        for name in self._required:
            if not params.get(name):
                raise GatewayError.missing(name)
        key_id = params["AccessKeyId"]
        secret = self.config.access_keys.get(key_id)
        if secret is not None:
            self._check_token(key_id, params.get("SecurityToken"))
        else:
            secret = self.issued.secret_of(key_id, params.get("SecurityToken"), wall)
        _check_versions(params)
        check_timestamp(params["Timestamp"], wall, self.config.timestamp_window)
        check_signature(method, params, secret)
        self.nonces.claim(key_id, params["SignatureNonce"], mono)
        return Verified(access_key_id=key_id, action=params["Action"])

    def _check_token(self, key_id: str, token: str | None) -> None:
        tokens = self.config.security_tokens.get(key_id)
        if tokens is None:
            if token:
                raise GatewayError(
                    400,
                    "InvalidSecurityToken.MismatchWithAccessKey",
                    "Specified SecurityToken mismatch with the AccessKey.",
                )
            return
        if not token:
            raise GatewayError.missing("SecurityToken")
        if token not in tokens:
            raise GatewayError(
                400, "InvalidSecurityToken.Expired", "Specified SecurityToken is expired."
            )


def _check_versions(params: dict[str, str]) -> None:
    """API version, signature method and signature version (the optional ones if sent)."""
    version = params.get("Version")
    if version is not None and version != API_VERSION:
        raise GatewayError(400, "InvalidVersion", "Specified parameter Version is not valid.")
    if params["SignatureMethod"] != "HMAC-SHA1":
        raise GatewayError(
            400, "InvalidSignatureMethod", "Specified signature method is not supported."
        )
    signature_version = params.get("SignatureVersion")
    if signature_version is not None and signature_version != "1.0":
        raise GatewayError(
            400, "InvalidSignatureVersion", "Specified signature version is not supported."
        )


def check_timestamp(
    text: str, wall: float, window: float, *, what: str = "time stamp or date value"
) -> None:
    """``Timestamp`` well formed and within ``window`` seconds of ``wall``.

    ``what`` names it in the messages (STS says only "time stamp").
    """
    stamp = parse_request_timestamp(text)
    if stamp is None:
        raise GatewayError(
            400, "InvalidTimeStamp.Format", f"Specified {what} is not well formatted."
        )
    if abs(stamp - wall) > window:
        raise GatewayError(400, "InvalidTimeStamp.Expired", f"Specified {what} is expired.")


def check_signature(method: str, params: dict[str, str], secret: str) -> None:
    """The v1 signature over every parameter but ``Signature``, for ``method``."""
    signed = {name: value for name, value in params.items() if name != "Signature"}
    canonical = canonical_query(signed)
    expected = sign(method, canonical, secret)
    if not hmac.compare_digest(expected.encode(), params["Signature"].encode()):
        raise GatewayError(
            400,
            "SignatureDoesNotMatch",
            "Specified signature is not matched with our calculation. server string to "
            f"sign is:{string_to_sign(method, canonical)}",
        )
