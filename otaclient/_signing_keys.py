"""The client's credentials provider, as the request loop uses it on every attempt.

``SigningKeys.current()`` asks the provider before each attempt is signed; the first time
it sees a ``Credentials`` value it checks it and registers its secret and token with the
client's ``Secrets`` (so no log record, error or repr shows them), before anything signed
with them exists. That first look is all that costs: an unchanged value is one identity
test. The last few values handed out stay masked (an old token may still be echoed in a
late error); older ones are forgotten, so a client that runs for months keeps a bounded
set of spellings to scan.

Whatever a provider raises reaches the caller as a ``CredentialsError`` naming the
provider (a ``CredentialsError`` of its own as it is).
"""

from __future__ import annotations

from collections import deque

from ._config import check_credentials
from ._credentials import Credentials, CredentialsProvider, DefaultCredentialsChain
from ._errors import CredentialsError, OTAError, ValidationError
from ._redact import Secrets

__all__ = ["SigningKeys", "budget_credentials", "chosen_provider", "provider_name"]

_KEPT = 8
"""Credentials values whose secrets stay masked after newer ones replaced them."""
_TOKEN_ROOM = 3072
"""Characters of the query kept for a security token not known yet (STS tokens: 1-2 KB)."""


def chosen_provider(
    credentials: object,
    access_key_id: object,
    access_key_secret: object,
    security_token: object,
) -> CredentialsProvider:
    """The provider ``OTAClient``'s credentials options describe (``ValidationError``: none).

    Explicit keys (each falling back to its environment variable, as always), or
    ``credentials=``, or else the default chain.
    """
    keys = {
        "access_key_id": access_key_id,
        "access_key_secret": access_key_secret,
        "security_token": security_token,
    }
    given = [name for name, value in keys.items() if value is not None]
    if credentials is not None:
        if given:
            raise ValidationError(
                f"give credentials= or {', '.join(given)}, not both: credentials= is "
                "where every key comes from"
            )
        if isinstance(credentials, Credentials):
            check_credentials(credentials)
            return credentials
        if not isinstance(credentials, CredentialsProvider):
            raise ValidationError(
                "credentials must be a Credentials or a CredentialsProvider (async "
                f"get_credentials() and refresh(rejected)), got {type(credentials).__name__}"
            )
        return credentials
    if given:
        static = Credentials.resolve(access_key_id, access_key_secret, security_token)  # type: ignore[arg-type]
        check_credentials(static)
        return static
    return DefaultCredentialsChain()


def budget_credentials(provider: CredentialsProvider) -> Credentials:
    """Static keys as they are; for a provider, room for the longest keys it may hand out."""
    if isinstance(provider, Credentials):
        return provider
    return Credentials("STS." + "k" * 60, "unused-secret", "t" * _TOKEN_ROOM)


def provider_name(provider: object) -> str:
    """How errors name ``provider``: its ``name``, its chain's source, else its class."""
    name = getattr(provider, "name", None) or getattr(provider, "source", None)
    return str(name) if name else type(provider).__name__


class SigningKeys:
    """A provider and the secrets of what it handed out (see the module docstring)."""

    __slots__ = ("_kept", "_last", "_provider", "_secrets")

    def __init__(self, provider: CredentialsProvider, secrets: Secrets) -> None:
        self._provider = provider
        self._secrets = secrets
        self._last: Credentials | None = None
        self._kept: deque[Credentials] = deque()

    @property
    def provider(self) -> CredentialsProvider:
        """The provider asked on every attempt."""
        return self._provider

    @property
    def name(self) -> str:
        """The provider's name, as errors give it."""
        return provider_name(self._provider)

    async def current(self) -> Credentials:
        """The credentials to sign the next attempt with."""
        try:
            credentials = await self._provider.get_credentials()
        except OTAError:
            raise
        except Exception as exc:
            raise self._failed("failed", exc) from exc
        if credentials is not self._last:
            self._adopt(credentials)
        return credentials

    async def renewed(self, rejected: Credentials) -> Credentials:
        """New credentials after the service refused ``rejected``'s token."""
        try:
            credentials = await self._provider.refresh(rejected=rejected)
        except OTAError:
            raise
        except Exception as exc:
            raise self._failed("failed to refresh", exc) from exc
        if credentials is not self._last:
            self._adopt(credentials)
        return credentials

    def _failed(self, what: str, exc: Exception) -> CredentialsError:
        name = self.name
        return CredentialsError(
            f"credentials provider {name} {what}: {type(exc).__name__}: {exc}", provider=name
        )

    def _adopt(self, credentials: object) -> None:
        if not isinstance(credentials, Credentials):
            name = self.name
            raise CredentialsError(
                f"credentials provider {name} handed out a {type(credentials).__name__}, "
                "not Credentials",
                provider=name,
            )
        # Registered before anything signed with them exists, so no text can show them.
        self._secrets.add(credentials.access_key_secret)
        self._secrets.add(credentials.security_token, travels=True)
        try:
            check_credentials(credentials)
        except ValidationError as exc:
            name = self.name
            raise CredentialsError(
                f"credentials provider {name} handed out unusable credentials: {exc}",
                provider=name,
            ) from None
        self._last = credentials
        self._kept.append(credentials)
        if len(self._kept) > _KEPT:
            self._forget(self._kept.popleft())

    def _forget(self, old: Credentials) -> None:
        live = {value for kept in self._kept for value in _values(kept)}
        for value in _values(old):
            if value not in live:
                self._secrets.discard(value)


def _values(credentials: Credentials) -> tuple[str | None, str | None]:
    return credentials.access_key_secret, credentials.security_token
