"""Access keys, and the interface of anything that hands them out.

A ``Credentials`` value is an AccessKey pair with an optional STS token, expiration and the
name of the provider that produced it; the secret and the token never show in ``repr``.
A ``CredentialsProvider`` is anything with the two async methods the request loop calls:
``get_credentials()`` before signing every attempt, and ``refresh(rejected)`` after the
service refused a token. A ``Credentials`` value is itself a provider whose keys never change.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Protocol, runtime_checkable

import attrs

from .._constants import ENV_ACCESS_KEY_ID, ENV_ACCESS_KEY_SECRET, ENV_SECURITY_TOKEN
from .._errors import ValidationError

__all__ = ["Credentials", "CredentialsProvider", "same_keys"]


def _aware_utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    if not isinstance(value, dt.datetime) or value.tzinfo is None:
        raise ValidationError(f"expiration must be a timezone-aware datetime, got {value!r}")
    return value.astimezone(dt.UTC)


@attrs.frozen(repr=False)
class Credentials:
    """An AccessKey pair, optionally with an STS security token and its expiration.

    The secret and the token never show in ``repr``:

    >>> Credentials("LTAI-example", "very-secret")
    Credentials(access_key_id='LTAI-example')

    ``expiration`` (an aware UTC ``datetime``) is set for temporary credentials;
    ``provider_name`` says where they came from (``"environment"``, ``"ecs_ram_role"``, ...).
    A ``Credentials`` value is also a :class:`CredentialsProvider` that always answers with
    itself, so static keys go wherever a provider is expected.
    """

    access_key_id: str
    access_key_secret: str = attrs.field(repr=False)
    security_token: str | None = attrs.field(default=None, repr=False)
    expiration: dt.datetime | None = attrs.field(default=None, kw_only=True, converter=_aware_utc)
    provider_name: str | None = attrs.field(default=None, kw_only=True)

    def __repr__(self) -> str:
        parts = [f"access_key_id={self.access_key_id!r}"]
        if self.expiration is not None:
            parts.append(f"expiration={self.expiration.isoformat()!r}")
        if self.provider_name is not None:
            parts.append(f"provider_name={self.provider_name!r}")
        return f"Credentials({', '.join(parts)})"

    @classmethod
    def resolve(
        cls,
        access_key_id: str | None = None,
        access_key_secret: str | None = None,
        security_token: str | None = None,
    ) -> Credentials:
        """Take each value from its argument, else from its environment variable."""
        key_id = access_key_id or os.environ.get(ENV_ACCESS_KEY_ID)
        secret = access_key_secret or os.environ.get(ENV_ACCESS_KEY_SECRET)
        token = security_token or os.environ.get(ENV_SECURITY_TOKEN) or None
        missing = [
            env
            for value, env in ((key_id, ENV_ACCESS_KEY_ID), (secret, ENV_ACCESS_KEY_SECRET))
            if not value
        ]
        if missing:
            raise ValidationError(
                "no credentials: pass access_key_id and access_key_secret, or set "
                + " and ".join(missing)
            )
        assert key_id and secret
        return cls(key_id, secret, token)

    async def get_credentials(self) -> Credentials:
        """Static keys are their own provider: always these."""
        return self

    async def refresh(self, rejected: Credentials | None = None) -> Credentials:
        """Static keys cannot be refreshed: always these (the caller should not retry)."""
        return self


@runtime_checkable
class CredentialsProvider(Protocol):
    """Anything that hands out the current credentials.

    The client calls ``get_credentials()`` before signing every attempt, so it must be cheap
    when nothing is due (no lock, nothing that yields to the event loop). After the service
    refuses the token (``InvalidSecurityToken.Expired``, ``.Malformed``,
    ``.MismatchWithAccessKey``) it calls ``refresh(rejected=<the credentials it signed
    with>)`` once and retries once, only if the answer differs from the rejected ones.
    ``refresh`` must fetch anew unless the provider already moved past ``rejected``, and
    concurrent calls must share one fetch. Failures are raised as ``CredentialsError``.
    """

    async def get_credentials(self) -> Credentials:
        """The credentials to sign the next request with."""
        ...

    async def refresh(self, rejected: Credentials | None = None) -> Credentials:
        """Fetch new credentials now (unless the provider already moved past ``rejected``)."""
        ...


def same_keys(a: Credentials, b: Credentials) -> bool:
    """Whether two credentials sign identically (same key pair and token)."""
    return (
        a.access_key_id == b.access_key_id
        and a.security_token == b.security_token
        and a.access_key_secret == b.access_key_secret
    )
