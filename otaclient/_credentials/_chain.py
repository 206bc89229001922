"""The default chain: where credentials come from when none are given.

In the order of the official SDKs (and of the contract):

1. ``ALIBABA_CLOUD_ACCESS_KEY_ID`` + ``ALIBABA_CLOUD_ACCESS_KEY_SECRET``
   (+ ``ALIBABA_CLOUD_SECURITY_TOKEN``);
2. the OIDC role (RRSA): ``ALIBABA_CLOUD_ROLE_ARN``, ``ALIBABA_CLOUD_OIDC_PROVIDER_ARN``,
   ``ALIBABA_CLOUD_OIDC_TOKEN_FILE``;
3. the aliyun CLI's ``~/.aliyun/config.json``: the profile ``ALIBABA_CLOUD_PROFILE``, else
   the file's ``current``;
4. ``~/.alibabacloud/credentials.ini`` (or ``ALIBABA_CLOUD_CREDENTIALS_FILE``): the section
   ``ALIBABA_CLOUD_PROFILE``, else ``default``;
5. the ECS instance's RAM role, when ``ALIBABA_CLOUD_ECS_METADATA`` names it and
   ``ALIBABA_CLOUD_ECS_METADATA_DISABLED`` is not ``true``;
6. ``ALIBABA_CLOUD_CREDENTIALS_URI``.

The environment and the files are read the first time credentials are asked for (not at
import, not at construction), and the first step that applies is kept for the chain's
lifetime: its provider refreshes what needs refreshing. A step applies when its source is
there (the variables set, the file and the profile present); a source that is there but
broken is an error rather than a reason to use other credentials. When nothing applies,
``CredentialsError`` lists every step and why it did not apply.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path

import anyio
import httpx

from .._constants import ENV_ACCESS_KEY_ID, ENV_ACCESS_KEY_SECRET, ENV_SECURITY_TOKEN
from .._errors import CredentialsError
from ._cache import Clock, RefreshPolicy
from ._ecs import EcsRamRoleProvider
from ._env import (
    ENV_CLI_PROFILE_DISABLED,
    ENV_CREDENTIALS_FILE,
    ENV_CREDENTIALS_URI,
    ENV_ECS_METADATA,
    ENV_ECS_METADATA_DISABLED,
    ENV_OIDC_PROVIDER_ARN,
    ENV_OIDC_TOKEN_FILE,
    ENV_PROFILE,
    ENV_ROLE_ARN,
    flag,
)
from ._files import (
    BuildOptions,
    NotApplicable,
    cli_profile_provider,
    ini_profile_provider,
    read_text,
)
from ._model import Credentials, CredentialsProvider
from ._sts import OIDCRoleProvider
from ._uri import CredentialsURIProvider

__all__ = ["STEPS", "DefaultCredentialsChain"]

STEPS = (
    "environment",
    "OIDC role (RRSA)",
    "aliyun CLI profile",
    "credentials.ini",
    "ECS RAM role",
    "credentials URI",
)


class DefaultCredentialsChain:
    """The official SDKs' default credentials chain, as an anyio-native provider.

    ``profile`` overrides ``ALIBABA_CLOUD_PROFILE`` (the command line's ``--profile``); a
    profile named either way must exist in one of the two files. ``environ`` and ``home``
    replace ``os.environ`` and the home directory. ``sts_endpoint``, ``metadata_url``,
    ``transport`` (an httpx transport, e.g. a simulator's), ``clock`` and ``refresh_policy`` go
    to every provider the chain builds.

    >>> chain = DefaultCredentialsChain()                          # doctest: +SKIP
    >>> credentials = await chain.get_credentials()                # doctest: +SKIP
    >>> chain.source                                               # doctest: +SKIP
    "aliyun CLI profile: 'prod' in /home/me/.aliyun/config.json"
    """

    def __init__(
        self,
        *,
        profile: str | None = None,
        environ: Mapping[str, str] | None = None,
        home: str | os.PathLike[str] | None = None,
        sts_endpoint: str | None = None,
        metadata_url: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock | None = None,
        refresh_policy: RefreshPolicy | None = None,
    ) -> None:
        self._profile = profile
        self._environ = environ
        self._home = home
        self._sts_endpoint = sts_endpoint
        self._metadata_url = metadata_url
        self._transport = transport
        self._clock = clock
        self._refresh_policy = refresh_policy
        self._provider: CredentialsProvider | None = None
        self._resolving: anyio.Event | None = None
        self._error: CredentialsError | None = None
        self.source: str | None = None
        """Which step applied and what it found, once the chain has run."""

    def __repr__(self) -> str:
        return f"DefaultCredentialsChain(source={self.source!r}, provider={self._provider!r})"

    @property
    def provider(self) -> CredentialsProvider | None:
        """The provider of the step that applied, once the chain has run."""
        return self._provider

    async def get_credentials(self) -> Credentials:
        """The current credentials of the first step that applies (found on first use)."""
        provider = self._provider
        if provider is None:
            provider = await self.resolve()
        return await provider.get_credentials()

    async def refresh(self, rejected: Credentials | None = None) -> Credentials:
        """Refresh through the provider of the step that applied."""
        provider = self._provider
        if provider is None:
            provider = await self.resolve()
        return await provider.refresh(rejected)

    async def resolve(self) -> CredentialsProvider:
        """Run the chain (once; concurrent callers share the run) and return its provider.

        A failed run is not remembered: the next call reads the environment and the files
        again.
        """
        while True:
            if self._provider is not None:
                return self._provider
            pending = self._resolving
            if pending is None:
                break
            await pending.wait()
            if self._provider is None and self._error is not None:
                raise self._error
        done = anyio.Event()
        self._resolving = done
        self._error = None
        try:
            self._provider, self.source = await self._run()
        except CredentialsError as exc:
            self._error = exc
            raise
        finally:
            self._resolving = None
            done.set()
        return self._provider

    # ------------------------------------------------------------------ the steps

    async def _run(self) -> _Found:
        env: Mapping[str, str] = os.environ if self._environ is None else self._environ
        home = Path(self._home) if self._home is not None else _home(env)
        options = BuildOptions(
            environ=env,
            transport=self._transport,
            clock=self._clock,
            refresh_policy=self._refresh_policy,
            sts_endpoint=self._sts_endpoint,
            metadata_url=self._metadata_url,
        )
        named = self._profile or env.get(ENV_PROFILE) or None
        tried: list[str] = []

        def skip(step: str, reason: str) -> None:
            tried.append(f"{step}: {reason}")

        def broken(step: str, exc: CredentialsError) -> CredentialsError:
            return CredentialsError(
                f"{step}: {exc}" + (f" (before it: {'; '.join(tried)})" if tried else ""),
                provider=exc.provider or step,
                tried=tuple(tried),
                code=exc.code,
                request_id=exc.request_id,
            )

        steps: tuple[tuple[str, Callable[[], Awaitable[_Found]]], ...] = (
            (STEPS[0], lambda: _environment(env)),
            (STEPS[1], lambda: _oidc(env, options)),
            (STEPS[2], lambda: _cli(env, home, named, options)),
            (STEPS[3], lambda: _ini(env, home, named, options)),
            (STEPS[4], lambda: _ecs(env, options)),
            (STEPS[5], lambda: _uri(env, options)),
        )
        for index, (step, attempt) in enumerate(steps):
            if index == 4 and self._profile_was_not_found(named, tried):
                raise CredentialsError(
                    f"profile {named!r} was asked for "
                    f"({'profile=' if self._profile else ENV_PROFILE}) but neither profile "
                    f"file has it; tried: {'; '.join(tried)}",
                    tried=tuple(tried),
                )
            try:
                found = await attempt()
            except NotApplicable as skipped:
                skip(step, skipped.reason)
                continue
            except CredentialsError as exc:
                raise broken(step, exc) from None
            provider, what = found
            return provider, f"{step}: {what}"
        raise CredentialsError(
            f"no credentials found; tried, in order: {'; '.join(tried)}", tried=tuple(tried)
        )

    @staticmethod
    def _profile_was_not_found(named: str | None, tried: list[str]) -> bool:
        # Steps 3 and 4 both skipped while a profile was named explicitly: a typo in
        # --profile must not quietly fall through to the instance role.
        return named is not None and len(tried) == 4


_Found = tuple[CredentialsProvider, str]
"""A step's provider, and what it found (for ``DefaultCredentialsChain.source``)."""


def _home(env: Mapping[str, str]) -> Path:
    value = env.get("HOME")
    return Path(value) if value else Path.home()


async def _environment(env: Mapping[str, str]) -> _Found:
    key_id = env.get(ENV_ACCESS_KEY_ID)
    secret = env.get(ENV_ACCESS_KEY_SECRET)
    if not key_id or not secret:
        unset = [
            n for n, v in ((ENV_ACCESS_KEY_ID, key_id), (ENV_ACCESS_KEY_SECRET, secret)) if not v
        ]
        raise NotApplicable(f"{' and '.join(unset)} {'is' if len(unset) == 1 else 'are'} not set")
    token = env.get(ENV_SECURITY_TOKEN) or None
    what = ENV_ACCESS_KEY_ID + (f" with {ENV_SECURITY_TOKEN}" if token else "")
    return Credentials(key_id, secret, token, provider_name="environment"), what


async def _oidc(env: Mapping[str, str], options: BuildOptions) -> _Found:
    names = (ENV_ROLE_ARN, ENV_OIDC_PROVIDER_ARN, ENV_OIDC_TOKEN_FILE)
    unset = [name for name in names if not env.get(name)]
    if unset:
        # ALIBABA_CLOUD_ROLE_ARN alone is also a default for role_arn elsewhere: only all
        # three together mean RRSA.
        raise NotApplicable(f"{', '.join(unset)} {'is' if len(unset) == 1 else 'are'} not set")
    try:
        provider = OIDCRoleProvider(
            role_arn=env[ENV_ROLE_ARN],
            oidc_provider_arn=env[ENV_OIDC_PROVIDER_ARN],
            oidc_token_file=env[ENV_OIDC_TOKEN_FILE],
            sts_endpoint=options.sts_endpoint,
            **options.common(),
        )
    except CredentialsError:
        raise
    except Exception as exc:  # ValidationError: a malformed variable
        raise CredentialsError(str(exc)) from None
    return provider, f"{env[ENV_ROLE_ARN]} with the token in {env[ENV_OIDC_TOKEN_FILE]}"


async def _cli(
    env: Mapping[str, str], home: Path, named: str | None, options: BuildOptions
) -> _Found:
    if flag(env, ENV_CLI_PROFILE_DISABLED):
        raise NotApplicable(f"disabled by {ENV_CLI_PROFILE_DISABLED}=true")
    path = home / ".aliyun" / "config.json"
    text = await read_text(path, "aliyun CLI configuration")
    if text is None:
        raise NotApplicable(f"{path} does not exist")
    provider, profile = cli_profile_provider(text, path, named, options)
    return provider, f"{profile!r} in {path}"


async def _ini(
    env: Mapping[str, str], home: Path, named: str | None, options: BuildOptions
) -> _Found:
    explicit = env.get(ENV_CREDENTIALS_FILE)
    path = Path(explicit) if explicit else home / ".alibabacloud" / "credentials.ini"
    text = await read_text(path, "credentials file")
    if text is None:
        if explicit:
            raise CredentialsError(f"{ENV_CREDENTIALS_FILE} names {path}, which does not exist")
        raise NotApplicable(f"{path} does not exist")
    section = named or "default"
    provider = ini_profile_provider(text, path, section, options)
    return provider, f"[{section}] in {path}"


async def _ecs(env: Mapping[str, str], options: BuildOptions) -> _Found:
    role = env.get(ENV_ECS_METADATA)
    if not role:
        raise NotApplicable(f"{ENV_ECS_METADATA} (the role name) is not set")
    if flag(env, ENV_ECS_METADATA_DISABLED):
        raise NotApplicable(f"disabled by {ENV_ECS_METADATA_DISABLED}=true")
    try:
        provider = EcsRamRoleProvider(
            role_name=role, metadata_url=options.metadata_url, **options.common()
        )
    except CredentialsError:
        raise
    except Exception as exc:  # ValidationError: a malformed variable
        raise CredentialsError(str(exc)) from None
    return provider, f"role {role!r} at {provider.metadata_url}"


async def _uri(env: Mapping[str, str], options: BuildOptions) -> _Found:
    uri = env.get(ENV_CREDENTIALS_URI)
    if not uri:
        raise NotApplicable(f"{ENV_CREDENTIALS_URI} is not set")
    try:
        provider = CredentialsURIProvider(uri, **options.common())
    except Exception as exc:  # ValidationError: a malformed variable
        raise CredentialsError(str(exc)) from None
    return provider, provider.shown_uri
