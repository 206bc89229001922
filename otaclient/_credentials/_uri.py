"""Credentials from a URL (``ALIBABA_CLOUD_CREDENTIALS_URI``).

``GET`` the URL; the answer is ``{"Code": "Success", "AccessKeyId", "AccessKeySecret",
"SecurityToken", "Expiration": "YYYY-MM-DDThh:mm:ssZ"}``, all required, as the official SDKs
require them. The URL's query string may carry a secret of its own, so messages show the
URL without it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping

import httpx

from .._errors import CredentialsError, ValidationError
from ._cache import CachedProvider, Clock, RefreshPolicy
from ._env import ENV_CREDENTIALS_URI, base_url
from ._http import credentials_from, exchange, scrubber
from ._model import Credentials

__all__ = ["CredentialsURIProvider"]

DEFAULT_URI_TIMEOUT = 10.0


class CredentialsURIProvider(CachedProvider):
    """Credentials served by a URL; ``uri`` defaults to ``ALIBABA_CLOUD_CREDENTIALS_URI``."""

    def __init__(
        self,
        uri: str | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        timeout: float = DEFAULT_URI_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock = time.time,
        refresh_policy: RefreshPolicy | None = None,
        name: str = "credentials_uri",
    ) -> None:
        super().__init__(
            self._fetch_credentials, name=name, clock=clock, refresh_policy=refresh_policy
        )
        env = os.environ if environ is None else environ
        given = uri or env.get(ENV_CREDENTIALS_URI)
        if not given:
            raise ValidationError(f"give uri= or set {ENV_CREDENTIALS_URI}")
        if "://" not in given:
            raise ValidationError(f"the credentials URI must be an http(s) URL, got {given!r}")
        base_url(given, "the credentials URI")  # refuses what is not http(s)
        self.uri = given
        url = httpx.URL(given)
        self.shown_uri = str(url.copy_with(query=None, fragment=None, username=None, password=None))
        self._scrub = scrubber([url.query.decode("ascii", "replace"), url.password])
        self._timeout = timeout
        self._transport = transport

    def __repr__(self) -> str:
        return f"CredentialsURIProvider(uri={self.shown_uri!r}, current={self.current!r})"

    async def _fetch_credentials(self) -> Credentials:
        what = f"credentials URI {self.shown_uri}"
        reply = await exchange(
            "GET",
            self.uri,
            what=what,
            provider=self.name,
            time_limit=self._timeout,
            transport=self._transport,
            scrub=self._scrub,
        )
        if reply.status != 200:
            raise CredentialsError(f"{what}: HTTP {reply.status}", provider=self.name)
        data = reply.json(what, self.name)
        if data.get("Code") != "Success":
            raise CredentialsError(
                f"{what}: the answer says Code {data.get('Code')!r}, not 'Success'",
                provider=self.name,
            )
        return credentials_from(data, what, self.name)
