"""One bounded HTTP exchange with a credentials endpoint, and reading what comes back.

Every exchange runs under ``anyio.fail_after`` (httpx's own timeouts are per read, so a
server trickling bytes would otherwise hold a refresh for ever), reads at most
``_MAX_BODY`` bytes, follows no redirect and turns every failure into ``CredentialsError``.
Messages never carry a response body or a secret: the secrets a provider knows (its source
keys, an OIDC token) are scrubbed from whatever text the server sent back.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import ssl
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import anyio
import anyio.to_thread
import attrs
import httpx

from .._constants import USER_AGENT
from .._errors import CredentialsError
from .._signing import percent_encode
from .._transport import shared_tls_context
from ._model import Credentials

__all__ = [
    "Reply",
    "Scrub",
    "credentials_from",
    "exchange",
    "parse_expiration",
    "scrubber",
]

Scrub = Callable[[str], str]

_MAX_BODY = 64 * 1024
"""Credentials answers are a few hundred bytes; anything far larger is not one."""


async def _verify_for(url: str) -> ssl.SSLContext | bool:
    if not url.startswith("https://"):
        # No TLS, and no redirect is followed: skip building a verified context (httpx
        # would build one per client otherwise).
        return False
    if shared_tls_context.cache_info().currsize == 0:
        # Loading the CA bundle takes tens of milliseconds: not on the event loop thread.
        return await anyio.to_thread.run_sync(shared_tls_context)
    return shared_tls_context()  # the clients' own: one CA bundle loaded per process


@attrs.frozen
class Reply:
    """A complete answer: status, headers and (bounded) body."""

    status: int
    headers: httpx.Headers
    body: bytes

    def json(self, what: str, provider: str) -> dict[str, Any]:
        """The body as a JSON object, or ``CredentialsError`` saying why it is not one."""
        try:
            data = json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            kind = self.headers.get("content-type", "no content type")
            raise CredentialsError(
                f"{what}: the answer (HTTP {self.status}, {kind}) is not JSON",
                provider=provider,
            ) from None
        if not isinstance(data, dict):
            raise CredentialsError(
                f"{what}: the answer (HTTP {self.status}) is not a JSON object",
                provider=provider,
            )
        return data


async def exchange(
    method: str,
    url: str,
    *,
    what: str,
    provider: str,
    time_limit: float,
    connect_timeout: float = 5.0,
    transport: httpx.AsyncBaseTransport | None,
    trust_env: bool = True,
    headers: Mapping[str, str] | None = None,
    form: Mapping[str, str] | None = None,
    scrub: Scrub | None = None,
) -> Reply:
    """Send one request and read the whole answer within ``time_limit`` seconds."""
    options: dict[str, Any] = {}
    if transport is None:
        options["verify"] = await _verify_for(url)
    sent = {"User-Agent": USER_AGENT, "Accept": "application/json", **(headers or {})}
    try:
        with anyio.fail_after(time_limit):
            async with (
                httpx.AsyncClient(
                    transport=transport,
                    timeout=httpx.Timeout(time_limit, connect=min(time_limit, connect_timeout)),
                    trust_env=trust_env,
                    follow_redirects=False,
                    **options,
                ) as http,
                http.stream(method, url, headers=sent, data=form) as response,
            ):
                body = await _read(response, what, provider)
                return Reply(response.status_code, response.headers, body)
    except TimeoutError:
        raise CredentialsError(
            f"{what}: no complete answer within {time_limit:g} s", provider=provider
        ) from None
    except httpx.HTTPError as exc:
        detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if scrub is not None:
            detail = scrub(detail)
        raise CredentialsError(f"{what}: {detail}", provider=provider) from None


async def _read(response: httpx.Response, what: str, provider: str) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > _MAX_BODY:
            raise CredentialsError(
                f"{what}: the answer is larger than {_MAX_BODY} bytes", provider=provider
            )
        chunks.append(chunk)
    return b"".join(chunks)


def scrubber(secrets: Iterable[str | None]) -> Scrub:
    """A function masking every spelling of ``secrets`` (raw, percent-encoded once or twice)."""
    forms = sorted(
        {
            form
            for secret in secrets
            if secret
            for form in (secret, percent_encode(secret), percent_encode(percent_encode(secret)))
        },
        key=len,
        reverse=True,
    )
    return functools.partial(_scrub, tuple(forms))


def _scrub(forms: tuple[str, ...], text: str) -> str:
    for form in forms:
        text = text.replace(form, "***")
    return text


def parse_expiration(value: Any, what: str, provider: str) -> dt.datetime:
    """An ``Expiration`` field (``YYYY-MM-DDThh:mm:ssZ``) as an aware UTC datetime."""
    if isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            pass
        else:
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=dt.UTC)  # the documented form ends in Z
            return moment.astimezone(dt.UTC)
    raise CredentialsError(f"{what}: Expiration {value!r} is not a time", provider=provider)


def credentials_from(
    data: Mapping[str, Any], what: str, provider: str, *, expiring: bool = True
) -> Credentials:
    """``Credentials`` from an object with ``AccessKeyId``, ``AccessKeySecret``,
    ``SecurityToken`` and ``Expiration`` (the STS, metadata and credentials-URI shape)."""
    fields = ("AccessKeyId", "AccessKeySecret", "SecurityToken") + (
        ("Expiration",) if expiring else ()
    )
    missing = [name for name in fields if not isinstance(data.get(name), str) or not data[name]]
    if missing:
        raise CredentialsError(f"{what}: the answer lacks {', '.join(missing)}", provider=provider)
    expiration = parse_expiration(data["Expiration"], what, provider) if expiring else None
    return Credentials(
        data["AccessKeyId"],
        data["AccessKeySecret"],
        data["SecurityToken"],
        expiration=expiration,
        provider_name=provider,
    )
