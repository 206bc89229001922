"""Request verification, in the order the POP gateway applies it.

1. required common parameters present (``Missing<Name>``, 400); the tuya-hosted dialect
   does not require ``Version``/``SignatureVersion`` because its documented examples omit
   them (and ``Format``, which is optional everywhere);
2. ``AccessKeyId`` known (``InvalidAccessKeyId.NotFound``, 404), then ``SecurityToken``
   consistent with the key;
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
from collections import deque

import attrs

from .._signing import canonical_query, sign, string_to_sign
from ._time import parse_request_timestamp
from .config import SimulatorConfig
from .errors import GatewayError

__all__ = ["API_VERSION", "Gateway", "NonceStore", "Verified"]

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

    def use(self, access_key_id: str, nonce: str, now: float) -> bool:
        """Record a nonce; ``False`` if it was already used (and is still remembered)."""
        expiry = self._expiry
        while expiry and expiry[0][0] <= now:
            self._seen.discard(expiry.popleft()[1])
        key = (access_key_id, nonce)
        if key in self._seen:
            return False
        self._seen.add(key)
        expiry.append((now + self.ttl, key))
        return True

    def __len__(self) -> int:
        return len(self._seen)


class Gateway:
    """Verifies requests against a :class:`SimulatorConfig`."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
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
        config = self.config
        key_id = params["AccessKeyId"]
        secret = config.access_keys.get(key_id)
        if secret is None:
            raise GatewayError(
                404, "InvalidAccessKeyId.NotFound", "Specified access key is not found."
            )
        self._check_token(key_id, params.get("SecurityToken"))
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
        stamp = parse_request_timestamp(params["Timestamp"])
        if stamp is None:
            raise GatewayError(
                400,
                "InvalidTimeStamp.Format",
                "Specified time stamp or date value is not well formatted.",
            )
        if abs(stamp - wall) > config.timestamp_window:
            raise GatewayError(
                400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired."
            )
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
        if not self.nonces.use(key_id, params["SignatureNonce"], mono):
            raise GatewayError(
                400, "SignatureNonceUsed", "Specified signature nonce was used already."
            )
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
