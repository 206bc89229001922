"""The two profile files: the aliyun CLI's ``config.json`` and the SDKs' ``credentials.ini``.

A file that does not exist, or that has no profile of the wanted name, does not apply (the
chain moves on). A profile that exists but cannot be used (an unknown mode, a missing
field, a ``source_profile`` loop) is an error: silently falling through to other
credentials would hide the misconfiguration. Messages name the file, the profile and the
field, never a value.
"""

from __future__ import annotations

import configparser
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import anyio
import attrs
import httpx

from .._errors import CredentialsError, ValidationError
from ._cache import Clock, RefreshPolicy
from ._ecs import EcsRamRoleProvider
from ._env import ENV_PROFILE
from ._model import Credentials, CredentialsProvider
from ._sts import DEFAULT_DURATION, MIN_DURATION, OIDCRoleProvider, RamRoleArnProvider
from ._uri import CredentialsURIProvider

__all__ = [
    "CLI_MODES",
    "INI_TYPES",
    "BuildOptions",
    "NotApplicable",
    "cli_profile_provider",
    "ini_profile_provider",
    "read_text",
]

CLI_MODES = ("AK", "StsToken", "RamRoleArn", "EcsRamRole", "ChainableRamRoleArn", "OIDC")
INI_TYPES = (
    "access_key",
    "sts",
    "ram_role_arn",
    "ecs_ram_role",
    "oidc_role_arn",
    "credentials_uri",
)
_MAX_CHAIN = 8
"""source_profile hops allowed: more is surely a mistake (and must not become a RecursionError)."""


class NotApplicable(Exception):
    """This step of the chain has nothing to offer; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@attrs.frozen
class BuildOptions:
    """What every provider built from a file gets from the chain."""

    environ: Mapping[str, str]
    transport: httpx.AsyncBaseTransport | None = None
    clock: Clock | None = None
    refresh_policy: RefreshPolicy | None = None
    sts_endpoint: str | None = None
    metadata_url: str | None = None

    def common(self) -> dict[str, Any]:
        """Keyword arguments shared by every refreshing provider."""
        options: dict[str, Any] = {
            "environ": self.environ,
            "transport": self.transport,
            "refresh_policy": self.refresh_policy,
        }
        if self.clock is not None:
            options["clock"] = self.clock
        return options


async def read_text(path: Path, what: str) -> str | None:
    """The file's text (through a worker thread), ``None`` if it does not exist."""
    try:
        return await anyio.Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise CredentialsError(
            f"{what}: cannot read {path}: {exc.strerror or type(exc).__name__}"
        ) from None
    except UnicodeDecodeError:
        raise CredentialsError(f"{what}: {path} is not UTF-8 text") from None


class _Fields:
    """Typed reads of one profile's fields, with errors that name the field (not its value)."""

    def __init__(self, data: Mapping[str, Any], label: str) -> None:
        self.data = data
        self.label = label

    def error(self, problem: str) -> CredentialsError:
        return CredentialsError(f"{self.label}: {problem}", provider=self.label)

    def text(self, *keys: str, required: bool = True) -> str | None:
        for key in keys:
            value = self.data.get(key)
            if value is None or value == "":
                continue
            if not isinstance(value, str):
                raise self.error(f"{key} must be a string")
            return value
        if required:
            raise self.error(f"{' or '.join(keys)} is missing")
        return None

    def required(self, *keys: str) -> str:
        value = self.text(*keys)
        assert value is not None
        return value

    def duration(self, key: str) -> int:
        value = self.data.get(key)
        if value is None or value in ("", 0, "0"):
            return DEFAULT_DURATION  # the CLI writes 0 for "not set"
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(f"{key} must be a number of seconds")
        if value < MIN_DURATION:
            raise self.error(f"{key} must be at least {MIN_DURATION} seconds, got {value}")
        return value

    def boolean(self, key: str) -> bool | None:
        value = self.data.get(key)
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise self.error(f"{key} must be true or false")


def _build(fields: _Fields, make: Callable[[], CredentialsProvider]) -> CredentialsProvider:
    try:
        return make()
    except ValidationError as exc:
        raise fields.error(str(exc)) from None
    except CredentialsError as exc:  # e.g. the metadata service is disabled
        raise fields.error(str(exc)) from None


_CLI_ROLE_FIELDS = ("ram_role_arn", "ram_session_name", "expired_seconds")
"""The aliyun CLI's names for a role's ARN, session name and lifetime."""
_INI_ROLE_FIELDS = ("role_arn", "role_session_name", "role_session_expiration")
"""credentials.ini's names for the same three."""


def _ram_role(
    fields: _Fields,
    source: CredentialsProvider,
    options: BuildOptions,
    provider_name: str,
    names: tuple[str, str, str],
) -> CredentialsProvider:
    # The two file formats spell three of a role's fields differently; the rest is shared.
    arn, session, lifetime = names
    return _build(
        fields,
        lambda: RamRoleArnProvider(
            role_arn=fields.required(arn),
            source=source,
            role_session_name=fields.text(session, required=False),
            duration_seconds=fields.duration(lifetime),
            policy=fields.text("policy", required=False),
            external_id=fields.text("external_id", required=False),
            sts_endpoint=options.sts_endpoint,
            configured_endpoint=fields.text("sts_endpoint", required=False),
            sts_region=fields.text("sts_region", required=False),
            vpc=fields.boolean("enable_vpc"),
            name=provider_name,
            **options.common(),
        ),
    )


# ---------------------------------------------------------------- ~/.aliyun/config.json


def cli_profile_provider(
    text: str, path: Path, profile: str | None, options: BuildOptions
) -> tuple[CredentialsProvider, str]:
    """The provider for ``profile`` (``None``: the file's ``current``) of an aliyun CLI
    ``config.json``, and the profile's name.

    Raises :class:`NotApplicable` when the file has no such profile, ``CredentialsError``
    when the file or the profile is unusable.
    """
    try:
        config = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CredentialsError(
            f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno})"
        ) from None
    if not isinstance(config, dict) or not isinstance(config.get("profiles", []), list):
        raise CredentialsError(f"{path} is not an aliyun CLI configuration (no profiles list)")
    if profile is None:
        current = config.get("current")
        if not isinstance(current, str) or not current:
            raise NotApplicable(f"{ENV_PROFILE} is not set and {path} names no current profile")
        profile = current
    return _cli_profile(config, profile, path, options, ()), profile


def _cli_profile(
    config: dict[str, Any],
    name: str,
    path: Path,
    options: BuildOptions,
    chain: tuple[str, ...],
) -> CredentialsProvider:
    profiles = [p for p in config.get("profiles", []) if isinstance(p, dict)]
    profile = next((p for p in profiles if p.get("name") == name), None)
    if profile is None:
        if not chain:
            raise NotApplicable(f"{path} has no profile {name!r}")
        raise CredentialsError(
            f"profile {chain[-1]!r} in {path}: its source_profile {name!r} does not exist"
        )
    mode = profile.get("mode")
    label = f"aliyun CLI profile {name!r} ({mode}) in {path}"
    fields = _Fields(profile, label)
    provider_name = f"cli_profile {name!r} ({mode})"
    common = options.common()
    if mode == "AK":
        return Credentials(
            fields.required("access_key_id"),
            fields.required("access_key_secret"),
            provider_name=provider_name,
        )
    if mode == "StsToken":
        return Credentials(
            fields.required("access_key_id"),
            fields.required("access_key_secret"),
            fields.required("sts_token"),
            provider_name=provider_name,
        )
    if mode in ("RamRoleArn", "ChainableRamRoleArn"):
        if mode == "RamRoleArn":
            source: CredentialsProvider = Credentials(
                fields.required("access_key_id"),
                fields.required("access_key_secret"),
                fields.text("sts_token", required=False),
                provider_name=f"cli_profile {name!r} (keys)",
            )
        else:
            parent = fields.required("source_profile")
            seen = (*chain, name)
            if parent in seen:
                loop = " -> ".join((*seen, parent))
                raise fields.error(f"source_profile makes a loop: {loop}")
            if len(seen) > _MAX_CHAIN:
                raise fields.error(f"more than {_MAX_CHAIN} source_profile hops")
            source = _cli_profile(config, parent, path, options, seen)
        return _ram_role(fields, source, options, provider_name, _CLI_ROLE_FIELDS)
    if mode == "EcsRamRole":
        return _build(
            fields,
            lambda: EcsRamRoleProvider(
                role_name=fields.text("ram_role_name", required=False),
                metadata_url=options.metadata_url,
                name=provider_name,
                **common,
            ),
        )
    if mode == "OIDC":
        return _build(
            fields,
            lambda: OIDCRoleProvider(
                role_arn=fields.required("ram_role_arn"),
                oidc_provider_arn=fields.required("oidc_provider_arn"),
                oidc_token_file=fields.required("oidc_token_file"),
                role_session_name=fields.text(
                    "role_session_name", "ram_session_name", required=False
                ),
                duration_seconds=fields.duration("expired_seconds"),
                policy=fields.text("policy", required=False),
                sts_endpoint=options.sts_endpoint,
                configured_endpoint=fields.text("sts_endpoint", required=False),
                sts_region=fields.text("sts_region", required=False),
                vpc=fields.boolean("enable_vpc"),
                name=provider_name,
                **common,
            ),
        )
    raise fields.error(
        f"mode {mode!r} is not supported (otaclient supports {', '.join(CLI_MODES)})"
    )


# ---------------------------------------------------------------- credentials.ini


def ini_profile_provider(
    text: str, path: Path, section: str, options: BuildOptions
) -> CredentialsProvider:
    """The provider for ``[section]`` of a ``credentials.ini``.

    Raises :class:`NotApplicable` when there is no such section or it says ``enable =
    false``, ``CredentialsError`` when the file or the section is unusable.
    """
    # No interpolation: a "%" in a secret must stay a "%". Comments may follow a value
    # after whitespace, as in the official SDKs' examples.
    parser = configparser.ConfigParser(interpolation=None, inline_comment_prefixes=("#", ";"))
    try:
        parser.read_string(text, source=str(path))
    except configparser.Error as exc:
        # Never quote the offending line: it may hold a secret.
        line = getattr(exc, "lineno", None)
        if line is None and isinstance(exc, configparser.ParsingError) and exc.errors:
            line = exc.errors[0][0]
        where = f" (line {line})" if line else ""
        raise CredentialsError(f"{path} is not a valid INI file{where}") from None
    if not parser.has_section(section):
        raise NotApplicable(f"{path} has no section [{section}]")
    values = dict(parser.items(section))
    kind = values.get("type")
    label = f"section [{section}] ({kind}) of {path}"
    fields = _Fields(values, label)
    if fields.boolean("enable") is False:
        raise NotApplicable(f"section [{section}] of {path} says enable = false")
    provider_name = f"credentials.ini [{section}] ({kind})"
    common = options.common()
    if kind == "access_key":
        return Credentials(
            fields.required("access_key_id"),
            fields.required("access_key_secret"),
            provider_name=provider_name,
        )
    if kind == "sts":
        return Credentials(
            fields.required("access_key_id"),
            fields.required("access_key_secret"),
            fields.required("security_token"),
            provider_name=provider_name,
        )
    if kind == "ram_role_arn":
        source = Credentials(
            fields.required("access_key_id"),
            fields.required("access_key_secret"),
            fields.text("security_token", required=False),
            provider_name=f"credentials.ini [{section}] (keys)",
        )
        return _ram_role(fields, source, options, provider_name, _INI_ROLE_FIELDS)
    if kind == "ecs_ram_role":
        return _build(
            fields,
            lambda: EcsRamRoleProvider(
                role_name=fields.text("role_name", required=False),
                metadata_url=options.metadata_url,
                imdsv1_disabled=fields.boolean("disable_imds_v1"),
                name=provider_name,
                **common,
            ),
        )
    if kind == "oidc_role_arn":
        return _build(
            fields,
            lambda: OIDCRoleProvider(
                role_arn=fields.required("role_arn"),
                oidc_provider_arn=fields.required("oidc_provider_arn"),
                oidc_token_file=fields.required("oidc_token_file_path"),
                role_session_name=fields.text("role_session_name", required=False),
                duration_seconds=fields.duration("role_session_expiration"),
                policy=fields.text("policy", required=False),
                sts_endpoint=options.sts_endpoint,
                configured_endpoint=fields.text("sts_endpoint", required=False),
                sts_region=fields.text("sts_region", required=False),
                vpc=fields.boolean("enable_vpc"),
                name=provider_name,
                **common,
            ),
        )
    if kind == "credentials_uri":
        return _build(
            fields,
            lambda: CredentialsURIProvider(
                fields.required("credentials_uri"), name=provider_name, **common
            ),
        )
    raise fields.error(
        f"type {kind!r} is not supported (otaclient supports {', '.join(INI_TYPES)})"
    )
