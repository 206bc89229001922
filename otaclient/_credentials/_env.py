"""The environment variables of the credentials chain, and the official SDKs' defaults.

The ``ALIBABA_CLOUD_*`` names are the official SDKs' own; the two ``OTACLIENT_*`` ones are
otaclient's: they point the STS and metadata calls elsewhere (a simulator, a proxy, tests).
Values are read when a chain or provider is built, never at import.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from .._errors import ValidationError

__all__ = [
    "DEFAULT_METADATA_URL",
    "DEFAULT_STS_HOST",
    "ENV_CLI_PROFILE_DISABLED",
    "ENV_CREDENTIALS_FILE",
    "ENV_CREDENTIALS_URI",
    "ENV_ECS_METADATA",
    "ENV_ECS_METADATA_DISABLED",
    "ENV_ECS_METADATA_URL",
    "ENV_IMDSV1_DISABLED",
    "ENV_OIDC_PROVIDER_ARN",
    "ENV_OIDC_TOKEN_FILE",
    "ENV_PROFILE",
    "ENV_ROLE_ARN",
    "ENV_ROLE_SESSION_NAME",
    "ENV_STS_ENDPOINT",
    "ENV_STS_REGION",
    "ENV_VPC_ENDPOINT_ENABLED",
    "base_url",
    "flag",
    "sts_endpoint",
]

ENV_ROLE_ARN = "ALIBABA_CLOUD_ROLE_ARN"
ENV_OIDC_PROVIDER_ARN = "ALIBABA_CLOUD_OIDC_PROVIDER_ARN"
ENV_OIDC_TOKEN_FILE = "ALIBABA_CLOUD_OIDC_TOKEN_FILE"
ENV_ROLE_SESSION_NAME = "ALIBABA_CLOUD_ROLE_SESSION_NAME"
ENV_PROFILE = "ALIBABA_CLOUD_PROFILE"
ENV_CLI_PROFILE_DISABLED = "ALIBABA_CLOUD_CLI_PROFILE_DISABLED"
ENV_CREDENTIALS_FILE = "ALIBABA_CLOUD_CREDENTIALS_FILE"
ENV_ECS_METADATA = "ALIBABA_CLOUD_ECS_METADATA"
ENV_ECS_METADATA_DISABLED = "ALIBABA_CLOUD_ECS_METADATA_DISABLED"
ENV_IMDSV1_DISABLED = "ALIBABA_CLOUD_IMDSV1_DISABLED"
ENV_CREDENTIALS_URI = "ALIBABA_CLOUD_CREDENTIALS_URI"
ENV_STS_REGION = "ALIBABA_CLOUD_STS_REGION"
ENV_VPC_ENDPOINT_ENABLED = "ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED"
ENV_STS_ENDPOINT = "OTACLIENT_STS_ENDPOINT"
ENV_ECS_METADATA_URL = "OTACLIENT_ECS_METADATA_URL"

DEFAULT_STS_HOST = "sts.aliyuncs.com"
DEFAULT_METADATA_URL = "http://100.100.100.200"


def flag(environ: Mapping[str, str], name: str) -> bool:
    """An on/off switch the way the official SDKs read it: on only for ``true``."""
    return environ.get(name, "").strip().lower() == "true"


def base_url(text: str, what: str) -> str:
    """``text`` as an ``http(s)://host[:port][/path]`` URL without a trailing slash.

    A bare host name means HTTPS.
    """
    value = text.strip()
    if "://" not in value:
        value = "https://" + value
    try:
        url = httpx.URL(value)
    except (httpx.InvalidURL, ValueError):
        raise ValidationError(f"{what} is not a URL: {text!r}") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise ValidationError(f"{what} must be an http(s) URL, got {text!r}")
    return value.rstrip("/")


def sts_endpoint(
    explicit: str | None,
    environ: Mapping[str, str],
    *,
    configured: str | None = None,
    region: str | None = None,
    vpc: bool | None = None,
) -> str:
    """Where STS calls go, strongest first.

    ``explicit`` (a constructor argument), ``OTACLIENT_STS_ENDPOINT``, ``configured`` (a
    profile's ``sts_endpoint``), then the region (``region`` or ``ALIBABA_CLOUD_STS_REGION``:
    ``sts.<region>.aliyuncs.com``, ``sts-vpc.`` with ``vpc`` or
    ``ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED=true``), else ``sts.aliyuncs.com``.
    """
    for candidate in (explicit, environ.get(ENV_STS_ENDPOINT), configured):
        if candidate:
            return base_url(candidate, "the STS endpoint")
    region = region or environ.get(ENV_STS_REGION)
    if region:
        if not region.replace("-", "").isalnum():
            raise ValidationError(f"the STS region looks wrong: {region!r}")
        use_vpc = vpc if vpc is not None else flag(environ, ENV_VPC_ENDPOINT_ENABLED)
        return f"https://{'sts-vpc' if use_vpc else 'sts'}.{region}.aliyuncs.com"
    return f"https://{DEFAULT_STS_HOST}"
