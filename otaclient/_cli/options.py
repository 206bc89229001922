"""Connection options, accepted before the subcommand and after it.

``otaclient --demo audit`` and ``otaclient audit --demo`` mean the same; a value given after
the subcommand wins over one given before it. Environment variables are read once, at
resolution time (not by click), so an option on the command line always beats them.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import attrs
import click

__all__ = [
    "ENV_ENDPOINT",
    "ENV_REGION",
    "FORMATS",
    "HTML_COMMANDS",
    "Connection",
    "connection_options",
]

ENV_ENDPOINT = "OTACLIENT_ENDPOINT"
ENV_REGION = "ALIBABA_CLOUD_REGION_ID"
FORMATS = ("table", "json", "jsonl", "csv", "html")
#: ``--format html`` is a report page: only these commands write one.
HTML_COMMANDS = frozenset({"audit"})

F = TypeVar("F", bound=Callable[..., Any])


@attrs.frozen
class Connection:
    """Where to connect and how, as given on the command line (``None``: not given)."""

    endpoint: str | None = None
    region_id: str | None = None
    qps: float | None = None
    format: str | None = None
    demo: bool = False
    access_key_id: str | None = None
    access_key_secret_file: Path | None = None
    profile: str | None = None
    iot_instance_id: str | None = None
    allow_insecure_http: bool = False

    def over(self, base: Connection) -> Connection:
        """These values where given, else ``base``'s."""
        changes = {
            field.name: getattr(self, field.name)
            for field in attrs.fields(Connection)
            if getattr(self, field.name) is not None and getattr(self, field.name) is not False
        }
        return attrs.evolve(base, **changes)

    @property
    def output_format(self) -> str:
        """The chosen ``--format`` (default ``table``)."""
        return self.format or "table"

    def resolved_endpoint(self) -> tuple[str | None, str | None]:
        """``(endpoint, region_id)``: the options, else the environment."""
        if self.endpoint and self.region_id:
            raise click.UsageError("give --endpoint or --region-id, not both")
        if self.endpoint or self.region_id:
            return self.endpoint, self.region_id
        return os.environ.get(ENV_ENDPOINT) or None, os.environ.get(ENV_REGION) or None


def _positive_or_zero(ctx: click.Context, param: click.Parameter, value: float | None) -> Any:
    if value is not None and value < 0:
        raise click.BadParameter("must be a number of requests per second, 0 or more")
    return value


_OPTIONS = (
    click.option(
        "--endpoint",
        metavar="URL",
        help=f"Base URL of the API, e.g. http://127.0.0.1:8686 [env: {ENV_ENDPOINT}].",
    ),
    click.option(
        "--region-id",
        metavar="REGION",
        help=f"Region instead of --endpoint, e.g. cn-shanghai [env: {ENV_REGION}].",
    ),
    click.option(
        "--qps",
        type=float,
        callback=_positive_or_zero,
        help="Client-side rate limit in requests per second (default 10, the service's "
        "quota; 0 turns it off).",
    ),
    click.option(
        "--format",
        "format_",
        type=click.Choice(FORMATS, case_sensitive=False),
        help="Output format (default table; html: otaclient audit only).",
    ),
    click.option(
        "--demo",
        is_flag=True,
        default=False,
        help="Use the built-in simulator in-process (its sample fleet): no endpoint or "
        "credentials needed.",
    ),
    click.option(
        "--access-key-id",
        metavar="ID",
        help="AccessKey ID [env: ALIBABA_CLOUD_ACCESS_KEY_ID].",
    ),
    click.option(
        "--access-key-secret-file",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="Read the AccessKey secret from this file instead of "
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET (secrets are never taken as arguments).",
    ),
    click.option(
        "--profile",
        metavar="NAME",
        help="Credentials profile of ~/.aliyun/config.json or ~/.alibabacloud/credentials.ini "
        "[env: ALIBABA_CLOUD_PROFILE].",
    ),
    click.option(
        "--iot-instance-id",
        metavar="ID",
        help="IotInstanceId sent with every call (instances that have one).",
    ),
    click.option(
        "--allow-insecure-http",
        is_flag=True,
        default=False,
        help="Accept an http:// --endpoint that is not loopback (requests and the security "
        "token then cross the network in cleartext).",
    ),
)


def connection_options(func: F) -> F:
    """Add the connection options to a command; it receives the merged ``conn``."""

    @functools.wraps(func)
    def wrapper(
        *args: Any,
        endpoint: str | None,
        region_id: str | None,
        qps: float | None,
        format_: str | None,
        demo: bool,
        access_key_id: str | None,
        access_key_secret_file: Path | None,
        profile: str | None,
        iot_instance_id: str | None,
        allow_insecure_http: bool,
        **kwargs: Any,
    ) -> Any:
        own = Connection(
            endpoint=endpoint,
            region_id=region_id,
            qps=qps,
            format=format_.lower() if format_ else None,
            demo=demo,
            access_key_id=access_key_id,
            access_key_secret_file=access_key_secret_file,
            profile=profile,
            iot_instance_id=iot_instance_id,
            allow_insecure_http=allow_insecure_http,
        )
        ctx = click.get_current_context()
        base = ctx.find_object(Connection) if ctx.parent is not None else None
        merged = own.over(base) if base is not None else own
        if (
            merged.format == "html"
            and ctx.parent is not None
            and ctx.info_name not in HTML_COMMANDS
        ):
            raise click.UsageError("--format html is for otaclient audit only")
        ctx.obj = merged
        return func(*args, conn=merged, **kwargs)

    decorated: Any = wrapper
    for option in reversed(_OPTIONS):
        decorated = option(decorated)
    return decorated  # type: ignore[no-any-return]
