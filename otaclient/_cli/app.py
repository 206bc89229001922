"""The ``otaclient`` command group."""

from __future__ import annotations

import click

from .audit_cmd import audit
from .diff_cmd import diff
from .failures import GuardedGroup
from .firmware_cmd import firmware
from .jobs_cmd import jobs
from .options import Connection, global_options
from .simulate_cmd import simulate
from .tasks_cmd import tasks

__all__ = ["cli"]


def _version() -> str:
    from .. import __version__

    return __version__


@click.group(
    cls=GuardedGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog="""\b
Credentials come from ALIBABA_CLOUD_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET and
(for STS) ALIBABA_CLOUD_SECURITY_TOKEN; they are never printed. The options above work
before or after the subcommand (after wins). Nothing found is not an error: status 0
and a "warning:" line on stderr naming what was searched. Retries show on stderr as
they happen; -v shows every request.

\b
Shell completion: eval "$(_OTACLIENT_COMPLETE=bash_source otaclient)" (zsh_source,
fish_source for those shells).

\b
Exit status:
  0    success
  1    failure, with one line on stderr (OTACLIENT_DEBUG=1: the traceback of an
       unexpected error too)
  2    bad usage or arguments, or an output that cannot be written (checked
       before any request: nothing was sent)
  130  interrupted (Ctrl-C)
  141  the reader closed the output early (| head), quietly

\b
Examples:
  otaclient audit --demo
  otaclient --region-id cn-shanghai audit --product-key a1B2c3 --format json -o audit.json
  otaclient simulate --port 8686
""",
)
@global_options
@click.version_option(_version(), prog_name="otaclient")
def cli(conn: Connection) -> None:
    """Command line for the Alibaba Cloud IoT Platform OTA API (2018-01-20).

    `otaclient audit` audits a fleet's firmware upgrades; the other commands each call one
    API action; `otaclient simulate` serves the built-in simulator. Add --demo to any
    command to run it against the in-process simulator instead of the service.
    """


cli.add_command(audit)
cli.add_command(diff)
cli.add_command(firmware)
cli.add_command(jobs)
cli.add_command(tasks)
cli.add_command(simulate)
