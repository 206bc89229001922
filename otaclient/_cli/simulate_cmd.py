"""``otaclient simulate``: serve the simulator over HTTP until Ctrl-C or SIGTERM."""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

import click

from .destination import check_output
from .failures import CliFailure
from .options import ENV_ENDPOINT, Connection

__all__ = ["simulate"]


@click.command(
    "simulate",
    epilog="""\b
Then, in another shell, paste the export lines it prints and run:
  otaclient audit
""",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8686,
    show_default=True,
    help="Port to listen on (0: any free port).",
)
@click.option(
    "--dialect",
    type=click.Choice(["aliyun", "tuya"], case_sensitive=False),
    default="aliyun",
    show_default=True,
    help="Answer in the aliyun (PascalCase) or tuya-hosted (camelCase) dialect.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the generated fleet.")
@click.option(
    "--access-key-id", metavar="ID", help="Accept this AccessKey ID (with --access-key-secret)."
)
@click.option(
    "--access-key-secret",
    metavar="SECRET",
    help="Its secret. Default: the simulator's demo key pair.",
)
@click.option(
    "--qps",
    type=click.IntRange(min=0),
    default=10,
    show_default=True,
    help="Requests per second the simulator accepts per access key (0: no limit).",
)
@click.option(
    "--demo",
    is_flag=True,
    help="Accepted for symmetry with the other commands: simulate always serves the "
    "built-in sample fleet that --demo uses (the same one for the same --seed).",
)
@click.option(
    "--latency",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    metavar="SECONDS",
    help="Delay added to every answer.",
)
def simulate(
    host: str,
    port: int,
    dialect: str,
    seed: int,
    access_key_id: str | None,
    access_key_secret: str | None,
    qps: int,
    demo: bool,
    latency: float,
) -> None:
    """Serve the built-in simulator of the OTA API over HTTP until interrupted.

    On start it prints its endpoint and the credentials it accepts. These are the
    simulator's own keys (the demo pair unless --access-key-id/--access-key-secret are
    given), so printing the secret is deliberate here, unlike everywhere else. Ctrl-C
    (SIGINT) or SIGTERM stops it after a graceful shutdown, with one line on stderr and
    exit status 0.
    """
    from ..simulator import (
        DEMO_ACCESS_KEY_ID,
        DEMO_ACCESS_KEY_SECRET,
        Simulator,
        SimulatorConfig,
        run,
    )

    # The address and keys go to stdout once listening: a stdout that takes nothing must
    # not be reported as a socket that could not listen.
    check_output(None)
    before = click.get_current_context().find_object(Connection)
    if demo or (before is not None and before.demo):
        # `otaclient --demo simulate` asks for what simulate does anyway: say so, then serve.
        click.echo(
            "--demo: serving the built-in sample fleet (what simulate always does)", err=True
        )
    if bool(access_key_id) != bool(access_key_secret):
        raise click.UsageError("--access-key-id and --access-key-secret go together")
    key_id = access_key_id or DEMO_ACCESS_KEY_ID
    secret = access_key_secret or DEMO_ACCESS_KEY_SECRET
    config = SimulatorConfig(
        seed=seed,
        dialect=dialect.lower(),  # type: ignore[arg-type]
        access_keys={key_id: secret},  # type: ignore[arg-type]  # attrs converter=dict
        qps=qps or None,
        latency=latency,
    )
    app = Simulator(config)
    fleet = app.fleet

    def started(url: str) -> None:
        limit = f"{qps} requests/s per key" if qps else "no rate limit"
        click.echo(
            f"otaclient simulator listening on {url} ({config.dialect} dialect, "
            f"seed {seed}, {limit})"
        )
        click.echo(
            f"fleet: {len(fleet.products)} products, {len(fleet.firmware)} packages, "
            f"{len(fleet.jobs)} batches, {fleet.total_tasks:,} device tasks"
        )
        click.echo("credentials (the simulator's own keys, printed by design):")
        click.echo(f"  export ALIBABA_CLOUD_ACCESS_KEY_ID={key_id}")
        click.echo(f"  export ALIBABA_CLOUD_ACCESS_KEY_SECRET={secret}")
        click.echo(f"  export {ENV_ENDPOINT}={url}")
        click.echo("Press Ctrl-C to stop.")

    reason = "server exited"
    try:
        with _StopSignalsRaise():
            run(host, port, app, on_start=started)
    except BrokenPipeError:
        raise  # stdout closed (`simulate | head -1`): the group ends quietly
    except OSError as exc:
        raise CliFailure(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    except (_Stopped, KeyboardInterrupt) as stop:
        reason = "SIGTERM" if stop.args == (signal.SIGTERM,) else "interrupted"
    click.echo(f"simulator stopped ({reason})", err=True)


class _Stopped(Exception):
    """SIGINT or SIGTERM arrived (``args[0]`` is the signal)."""


class _StopSignalsRaise:
    """While active, SIGINT and SIGTERM raise ``_Stopped`` in the main thread.

    uvicorn catches both itself, shuts down gracefully, then raises the signal again under
    the handler that was there before it started. Without this one, SIGTERM's default
    action kills the process with status 143 and no word.
    """

    _SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __enter__(self) -> None:
        self._previous: dict[int, Any] = {}
        if threading.current_thread() is threading.main_thread():
            for signum in self._SIGNALS:
                self._previous[signum] = signal.signal(signum, self._raise)

    def __exit__(self, *exc_info: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    @staticmethod
    def _raise(signum: int, frame: FrameType | None) -> None:
        raise _Stopped(signum)
