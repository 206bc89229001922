"""An ``OTAClient``'s options, checked once and kept together (the way httpx's ``_config``
does): what the constructor accepts, how each is refused, and what it resolves to.

``ClientConfig.checked`` takes the constructor's keywords and refuses, with a
``ValidationError`` naming the option, anything the client could not use; the config it
returns holds the resolved values (the base URL, the limiter, the attempt bound and
httpx's phase limits). ``http_client`` builds the connection pool from it;
``check_credentials`` and ``query_budget`` check the keys and what room the endpoint and
the credentials leave for parameters.
"""

from __future__ import annotations

import ipaddress
import math
import re
from typing import Any, cast

import attrs
import httpx

from ._constants import (
    API_VERSION,
    DEFAULT_TIMEOUT,
    KEEPALIVE_EXPIRY,
    REGION_ENDPOINT,
    USER_AGENT,
)
from ._credentials import Credentials
from ._errors import ValidationError
from ._limiter import PerActionLimiter, RateLimiter, TokenBucket, Unlimited, lacking
from ._limits import check_text, shown
from ._operations import OPERATIONS
from ._retry import RetryPolicy
from ._signing import canonical_query
from ._transport import DefaultTransport, shared_tls_context

__all__ = [
    "URL_LIMIT",
    "ClientConfig",
    "check_credentials",
    "http_client",
    "is_loopback_endpoint",
    "query_budget",
]


@attrs.frozen
class ClientConfig:
    """Every option of one client, checked and resolved."""

    base_url: str
    response_format: str
    """``"json"`` or ``"xml"``."""
    iot_instance_id: str | None
    limiter: RateLimiter
    retry: RetryPolicy
    attempt_timeout: float
    """Seconds one attempt may take as a whole."""
    phases: httpx.Timeout
    """httpx's per-phase limits."""
    max_concurrency: int
    max_body_bytes: int
    pages_ahead: int
    transport: httpx.AsyncBaseTransport | None

    @classmethod
    def checked(
        cls,
        *,
        endpoint: object,
        region_id: object,
        qps: object,
        response_format: object,
        iot_instance_id: object,
        limiter: object,
        per_action_quotas: object,
        retry: object,
        timeout: object,
        max_concurrency: object,
        max_body_bytes: object,
        pages_ahead: object,
        transport: object,
        allow_insecure_http: object,
    ) -> ClientConfig:
        """The config of these options, or ``ValidationError`` for the first bad one."""
        fmt = _response_format(response_format)
        rate = _qps(qps)
        _flags(per_action_quotas=per_action_quotas, allow_insecure_http=allow_insecure_http)
        chosen = _limiter(limiter, per_action_quotas=bool(per_action_quotas), qps=rate)
        if retry is not None and not isinstance(retry, RetryPolicy):
            raise ValidationError(
                f"retry must be a RetryPolicy or None, got {type(retry).__name__}"
            )
        concurrency = _positive_int("max_concurrency", max_concurrency)
        ahead = _positive_int("pages_ahead", pages_ahead)
        body_bytes = _positive_int("max_body_bytes", max_body_bytes)
        if transport is not None and not isinstance(transport, httpx.AsyncBaseTransport):
            raise ValidationError(
                f"transport must be an httpx.AsyncBaseTransport (e.g. httpx.MockTransport), "
                f"got {type(transport).__name__}"
            )
        # An injected transport (the in-process simulator, a test double) decides itself
        # where bytes go; only the default network transport is held to https.
        base_url = _base_url(
            endpoint, region_id, cleartext_ok=bool(allow_insecure_http) or transport is not None
        )
        instance = _iot_instance_id(iot_instance_id)
        attempt_timeout, phases = _timeouts(timeout)
        return cls(
            base_url=base_url,
            response_format=fmt,
            iot_instance_id=instance,
            limiter=chosen,
            retry=retry or RetryPolicy(),
            attempt_timeout=attempt_timeout,
            phases=phases,
            max_concurrency=concurrency,
            max_body_bytes=body_bytes,
            pages_ahead=ahead,
            transport=transport,
        )


def http_client(config: ClientConfig) -> httpx.AsyncClient:
    """The connection pool of a client of ``config``: the injected transport, else
    ``DefaultTransport`` (aiohttp on asyncio, httpcore2 under trio) verifying
    certificates with the process's one shared TLS context; it keeps no cookies."""
    limits = httpx.Limits(
        max_connections=config.max_concurrency,
        max_keepalive_connections=config.max_concurrency,
        keepalive_expiry=KEEPALIVE_EXPIRY,
    )
    transport = config.transport or DefaultTransport(limits=limits, verify=shared_tls_context())
    return _CookielessClient(
        transport=transport,
        timeout=config.phases,
        # Only what the sender can inflate as it reads, with a cap (see _body._read).
        headers={"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate"},
        follow_redirects=False,
    )


class _CookielessClient(httpx.AsyncClient):
    """httpx's client without a cookie jar: the API authenticates each request by its
    signature, never by a cookie (the official SDKs keep none either), and httpx's jar
    costs 30-40 us per answer, building urllib objects to look for ``Set-Cookie``."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._no_cookies = _NoCookies()

    @property
    def cookies(self) -> httpx.Cookies:
        """Always empty: nothing a server sets is kept or sent back."""
        return self._no_cookies

    @cookies.setter
    def cookies(self, cookies: object) -> None:
        raise AttributeError("an OTAClient's HTTP client keeps no cookies")


class _NoCookies(httpx.Cookies):
    def extract_cookies(self, response: httpx.Response) -> None:
        pass  # a Set-Cookie is not kept: see _CookielessClient

    def set_cookie_header(self, request: httpx.Request) -> None:
        pass


def _response_format(value: object) -> str:
    if not (isinstance(value, str) and value.lower() in ("json", "xml")):
        raise ValidationError(f"response_format must be 'json' or 'xml', got {shown(value)}")
    return value.lower()


def _qps(value: object) -> float | None:
    if value is None:
        return None
    if not (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    ):
        raise ValidationError(
            f"qps must be a positive number of requests per second, or None for no "
            f"client-side limit; got {shown(value)}"
        )
    return float(value)


def _flags(**flags: object) -> None:
    for name, flag in flags.items():
        if not isinstance(flag, bool):
            raise ValidationError(f"{name} must be True or False, got {shown(flag)}")


def _limiter(limiter: object, *, per_action_quotas: bool, qps: float | None) -> RateLimiter:
    """The limiter given, else the one the options describe."""
    if limiter is None:
        if per_action_quotas:
            quotas = {name: op.quota for name, op in OPERATIONS.items()}
            return PerActionLimiter(quotas, overall=qps)
        return Unlimited() if qps is None else TokenBucket(qps)
    if per_action_quotas:
        raise ValidationError(
            "give limiter= or per_action_quotas=True, not both: the limiter would "
            "replace the per-action quotas"
        )
    missing = lacking(limiter)
    if missing:
        raise ValidationError(
            f"limiter must be a RateLimiter; a {type(limiter).__name__} lacks {', '.join(missing)}"
        )
    return cast(RateLimiter, limiter)


def _positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(f"{name} must be a positive integer, got {shown(value)}")
    return value


def _iot_instance_id(value: object) -> str | None:
    if value is not None and not (isinstance(value, str) and value and not check_text(value)):
        raise ValidationError(
            f"iot_instance_id must be a non-empty string of valid Unicode, got {shown(value)}"
        )
    return value


def _timeouts(timeout: object) -> tuple[float, httpx.Timeout]:
    # (whole-attempt bound, httpx's per-phase limits).
    if isinstance(timeout, httpx.Timeout):
        # Kept for compatibility: its phases go to httpx as given, and the attempt as a whole
        # gets the phases it runs through one after the other (an unset one: the default).
        phases = (timeout.connect, timeout.write, timeout.read)
        return sum(DEFAULT_TIMEOUT if p is None else p for p in phases), timeout
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, int | float)
        or not (math.isfinite(timeout) and timeout > 0)
    ):
        raise ValidationError(f"timeout must be a positive number of seconds, got {timeout!r}")
    seconds = float(timeout)
    # Connecting gets half the attempt: a connect that times out surely sent nothing, so
    # httpx's ConnectTimeout lets even a write be retried, where the whole-attempt bound
    # firing first would have left its outcome unknown.
    return seconds, httpx.Timeout(seconds, connect=seconds / 2)


def _base_url(endpoint: object, region_id: object, *, cleartext_ok: bool) -> str:
    if endpoint is not None and region_id is not None:
        raise ValidationError("give endpoint= or region_id=, not both")
    if endpoint is not None:
        return _checked_endpoint(endpoint, cleartext_ok)
    if region_id is not None:
        if not (
            isinstance(region_id, str) and len(region_id) <= 64 and _REGION.fullmatch(region_id)
        ):
            raise ValidationError(
                f"region_id must be a region such as 'cn-shanghai', got {region_id!r:.80}"
            )
        return REGION_ENDPOINT.format(region=region_id)
    raise ValidationError("give endpoint= (a base URL) or region_id= (e.g. 'cn-shanghai')")


_REGION = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*", re.ASCII)
_HOST = re.compile(r"[A-Za-z0-9._:-]+")  # a name, an IPv4 or an IPv6 address (no brackets)
_USERINFO = re.compile(r"^([^:/?#]*://)[^/?#]*@")


def _checked_endpoint(endpoint: object, cleartext_ok: bool) -> str:
    if not isinstance(endpoint, str):
        raise ValidationError(f"endpoint must be a URL string, got {type(endpoint).__name__}")
    # Never echo a password: every message shows the endpoint without its user:password@.
    shown = _USERINFO.sub(r"\1***@", endpoint)[:200]
    try:
        url = httpx.URL(endpoint)
    except (httpx.InvalidURL, ValueError):
        raise ValidationError(f"endpoint is not a valid URL: {shown!r}") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise ValidationError(f"endpoint must be an http(s) URL, got {shown!r}")
    if not _HOST.fullmatch(url.raw_host.decode("ascii", "replace")):
        raise ValidationError(f"endpoint has no valid host name: {shown!r}")
    if url.port is not None and not 0 < url.port < 65536:
        raise ValidationError(f"endpoint has no valid port (1-65535): {shown!r}")
    if url.userinfo:
        raise ValidationError(
            f"endpoint must not carry user:password@ ({shown!r}): the API authenticates "
            "by the signature, and a password in a URL ends up in logs; remove it"
        )
    if url.query or url.fragment or "?" in endpoint or "#" in endpoint:
        raise ValidationError(
            f"endpoint must be a base URL without a query or fragment, got {shown!r}"
        )
    if url.scheme == "http" and not cleartext_ok and not _is_loopback(url.host):
        raise ValidationError(
            f"endpoint {shown!r} is cleartext http:// to a host that is not loopback: the "
            "security token and every request would cross the network readable by anyone "
            "on the way. Use https://, or pass allow_insecure_http=True (command line: "
            "--allow-insecure-http) to accept that risk."
        )
    return endpoint.rstrip("/")


def is_loopback_endpoint(endpoint: str) -> bool:
    """Whether requests to this base URL stay on this machine (127.0.0.0/8, ::1, localhost).

    A name other than ``localhost`` is not loopback: it may resolve anywhere. What is
    loopback is, for example, a simulator, where no account's quota is at stake.

    >>> is_loopback_endpoint("http://127.0.0.1:8686")
    True
    >>> is_loopback_endpoint("https://iot.cn-shanghai.aliyuncs.com")
    False
    """
    try:
        host = httpx.URL(endpoint).host
    except (httpx.InvalidURL, TypeError, ValueError):
        return False
    return bool(host) and _is_loopback(host)


def _is_loopback(host: str) -> bool:
    name = host.rstrip(".").lower()
    if name == "localhost":
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False  # a name: it may resolve anywhere
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


URL_LIMIT = 65_536
"""The longest URL httpx builds (``httpx._urlparse.MAX_URL_LENGTH``); ours carry every
parameter in the query string, as the provider's SDKs do."""
_SIGNED_RESERVE = 512
"""Room kept for ``Action``, ``SignatureNonce``, ``Timestamp``, ``Signature`` and separators."""
_MIN_BUDGET = 4096


def check_credentials(credentials: Credentials) -> None:
    for name, value in (
        ("access_key_id", credentials.access_key_id),
        ("access_key_secret", credentials.access_key_secret),
        ("security_token", credentials.security_token),
    ):
        if value is None and name == "security_token":
            continue
        # Never echo the value: these messages may end up in logs.
        if not isinstance(value, str):
            raise ValidationError(f"{name} must be a string, got {type(value).__name__}")
        problem = check_text(value)
        if problem:
            raise ValidationError(f"{name} {problem}")


def query_budget(base_url: str, credentials: Credentials, fmt: str) -> int:
    common = {
        "Format": fmt.upper(),
        "Version": API_VERSION,
        "AccessKeyId": credentials.access_key_id,
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "SecurityToken": credentials.security_token or "",
    }
    budget = URL_LIMIT - len(base_url) - 2 - len(canonical_query(common)) - _SIGNED_RESERVE
    if budget < _MIN_BUDGET:
        raise ValidationError(
            f"the endpoint ({len(base_url):,} characters) and the credentials (security "
            f"token: {len(credentials.security_token or ''):,}) leave {max(budget, 0):,} of a "
            f"request's {URL_LIMIT:,} characters for parameters; at least {_MIN_BUDGET:,} "
            "are needed"
        )
    return budget
