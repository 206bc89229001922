"""Access keys, from arguments or the environment, kept out of every repr."""

from __future__ import annotations

import os

import attrs

from ._constants import ENV_ACCESS_KEY_ID, ENV_ACCESS_KEY_SECRET, ENV_SECURITY_TOKEN
from ._errors import ValidationError

__all__ = ["Credentials"]


@attrs.frozen
class Credentials:
    """An AccessKey pair, optionally with an STS security token.

    The secret and the token never show in ``repr``:

    >>> Credentials("LTAI-example", "very-secret")
    Credentials(access_key_id='LTAI-example')
    """

    access_key_id: str
    access_key_secret: str = attrs.field(repr=False)
    security_token: str | None = attrs.field(default=None, repr=False)

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
