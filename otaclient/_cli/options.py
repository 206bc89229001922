"""Connection options, accepted before the subcommand and after it, documented once.

``otaclient --help`` lists them (``global_options``); each subcommand accepts them too
(``connection_options``) but its help shows one line pointing to ``otaclient --help``.

``otaclient --demo audit`` and ``otaclient audit --demo`` mean the same; a value given after
the subcommand wins over one given before it. Environment variables are read once, at
resolution time (not by click), so an option on the command line always beats them.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypedDict, TypeVar

import attrs
import click

from .. import RateLimiter, RetryPolicy, TokenBucket, is_loopback_endpoint
from .activity import reporting
from .destination import check_output

__all__ = [
    "ENV_ENDPOINT",
    "ENV_REGION",
    "FORMATS",
    "HTML_COMMANDS",
    "Connection",
    "GlobalOption",
    "Pacing",
    "connection_options",
    "global_options",
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
    no_rate_limit: bool = False
    verbose: bool = False

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

    def pacing(self, endpoint: str | None) -> Pacing:
        """The client's ``qps``, ``limiter`` and ``retry`` for these options and ``endpoint``.

        The limit is off only with --no-rate-limit, or with --qps 0 where no account's
        quota is at stake (--demo, a loopback endpoint such as the simulator): elsewhere
        --qps 0 is a usage error naming --no-rate-limit. Throttling answers get many more
        attempts than other failures (``COMMAND_RETRY``), and the rate may fall to one
        request per second: an audit started far above the account's quota slows down
        until it fits, and completes.
        """
        if self.no_rate_limit and self.qps:
            raise click.UsageError("give --qps N or --no-rate-limit, not both")
        retry = COMMAND_RETRY
        if self.no_rate_limit or self.qps == 0:
            local = self.demo or (endpoint is not None and is_loopback_endpoint(endpoint))
            if not self.no_rate_limit and not local:
                raise click.UsageError(
                    f"--qps 0 would turn the client-side rate limit off against "
                    f"{endpoint or 'the service'}, whose quota every client of the account "
                    "shares; give a --qps above 0, or --no-rate-limit to do it on purpose"
                )
            return {"qps": None, "retry": retry}
        if self.qps is None:
            return {"retry": retry}  # the client's own bucket, at the service's quota
        # Throttling halves the rate; it climbs back by at most one request per second
        # each second, and may fall to one request per second: from a --qps far above
        # the quota, the rate comes down to it and stays near it (with the bucket's own
        # recovery, relative to the rate, it would settle at a fifth of --qps).
        bucket = TokenBucket(
            self.qps,
            min_fraction=min(1.0, 1.0 / self.qps),
            recovery_seconds=max(RECOVERY_SECONDS, self.qps),
        )
        return {"limiter": bucket, "retry": retry}


class Pacing(TypedDict, total=False):
    """Keyword arguments of ``OTAClient`` that set its pace and patience."""

    qps: float | None
    limiter: RateLimiter
    retry: RetryPolicy


THROTTLED_ATTEMPTS = 30
"""Attempts per call while the service keeps answering with throttling (others: 6)."""
RECOVERY_SECONDS = 10.0
"""After throttling, seconds to climb back to --qps, for a --qps of 10 or less."""
COMMAND_RETRY = RetryPolicy(max_throttled_attempts=THROTTLED_ATTEMPTS)
"""How every command's client retries (other failures: the library's 6 attempts).

No ``deadline``: the attempts bound each call already (each attempt by the client's
timeout, each wait by the backoff cap or a capped retry hint), and on asyncio the
deadline's cancel scope swallows the cancellation Ctrl-C sends, so the command would
go on retrying after Ctrl-C (tests/cli/test_cli_exit_codes.py pins that it stops).
"""


def _spec(*names: str, **settings: Any) -> tuple[tuple[str, ...], dict[str, Any]]:
    return names, settings


def _positive_or_zero(ctx: click.Context, param: click.Parameter, value: float | None) -> Any:
    if value is not None and value < 0:
        raise click.BadParameter("must be a number of requests per second, 0 or more")
    return value


_OPTIONS: tuple[tuple[tuple[str, ...], dict[str, Any]], ...] = (
    _spec(
        "--endpoint",
        metavar="URL",
        help=f"Base URL of the API, e.g. http://127.0.0.1:8686 [env: {ENV_ENDPOINT}].",
    ),
    _spec(
        "--region-id",
        metavar="REGION",
        help=f"Region instead of --endpoint, e.g. cn-shanghai [env: {ENV_REGION}].",
    ),
    _spec(
        "--qps",
        type=float,
        callback=_positive_or_zero,
        help="Client-side rate limit in requests per second (default 10, the service's "
        "quota). Throttling answers slow the client down below it. 0 (no limit) only for "
        "--demo and loopback endpoints.",
    ),
    _spec(
        "--no-rate-limit",
        is_flag=True,
        default=False,
        help="No client-side rate limit, against any endpoint: the service's throttling "
        "alone paces the calls.",
    ),
    _spec(
        "--format",
        "format_",
        type=click.Choice(FORMATS, case_sensitive=False),
        help="Output format (default table; html: otaclient audit only).",
    ),
    _spec(
        "--demo",
        is_flag=True,
        default=False,
        help="Use the built-in simulator in-process (its sample fleet): no endpoint or "
        "credentials needed.",
    ),
    _spec(
        "--access-key-id",
        metavar="ID",
        help="AccessKey ID [env: ALIBABA_CLOUD_ACCESS_KEY_ID].",
    ),
    _spec(
        "--access-key-secret-file",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="Read the AccessKey secret from this file instead of "
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET (secrets are never taken as arguments).",
    ),
    _spec(
        "--profile",
        metavar="NAME",
        help="Credentials profile of ~/.aliyun/config.json or ~/.alibabacloud/credentials.ini "
        "[env: ALIBABA_CLOUD_PROFILE].",
    ),
    _spec(
        "--iot-instance-id",
        metavar="ID",
        help="IotInstanceId sent with every call (instances that have one).",
    ),
    _spec(
        "--verbose",
        "-v",
        is_flag=True,
        default=False,
        help="One line per request on stderr: action, HTTP status, latency, request id, "
        "attempt; and each retry as it is decided. Never a secret.",
    ),
    _spec(
        "--allow-insecure-http",
        is_flag=True,
        default=False,
        help="Accept an http:// --endpoint that is not loopback (requests and the security "
        "token then cross the network in cleartext).",
    ),
)


class GlobalOption(click.Option):
    """A connection option after the subcommand: accepted there, documented once.

    ``otaclient --help`` documents them; a subcommand's help shows one line pointing
    there instead of repeating them all (the first of them carries that line).
    """

    def __init__(self, *args: Any, points_to_group: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.points_to_group = points_to_group

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        """One pointer to ``otaclient --help`` for all of them; nothing for the others."""
        if not self.points_to_group:
            return None
        return ("global options", "see otaclient --help (--endpoint, --qps, --format, ...)")


def _decorated(func: Callable[..., Any], *, in_group: bool) -> Any:
    decorated: Any = func
    for index, (names, settings) in reversed(list(enumerate(_OPTIONS))):
        if in_group:
            decorated = click.option(*names, **settings)(decorated)
        else:
            option = click.option(*names, cls=GlobalOption, points_to_group=index == 0, **settings)
            decorated = option(decorated)
    return decorated


def global_options(func: F) -> F:
    """The connection options of the ``otaclient`` group itself, documented in its help."""
    return _decorated(_merging(func), in_group=True)  # type: ignore[no-any-return]


def connection_options(func: F) -> F:
    """Add the connection options to a subcommand; it receives the merged ``conn``.

    They are accepted after the subcommand as before it, and documented once, in
    ``otaclient --help``.
    """
    return _decorated(_merging(func), in_group=False)  # type: ignore[no-any-return]


def _merging(func: Callable[..., Any]) -> Callable[..., Any]:
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
        no_rate_limit: bool,
        verbose: bool,
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
            no_rate_limit=no_rate_limit,
            verbose=verbose,
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
        if ctx.parent is None:
            return func(*args, conn=merged, **kwargs)
        # Before anything is sent: an output that cannot be written costs no request.
        check_output(kwargs.get("output"))
        with reporting(COMMAND_RETRY, verbose=merged.verbose):
            return func(*args, conn=merged, **kwargs)

    return wrapper
