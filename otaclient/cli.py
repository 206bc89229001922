"""The ``otaclient`` console script (``python -m otaclient.cli`` works too).

    otaclient audit [--endpoint URL | --region-id REGION] [--product-key PK ...] [--qps N]
                    [--format table|json|jsonl|csv] [--output FILE] [--demo]
    otaclient firmware list | jobs list | jobs show | jobs cancel
    otaclient jobs create-static | jobs create-dynamic | jobs create-verify
    otaclient tasks unfinished | tasks list | tasks reupgrade | tasks confirm
    otaclient simulate [--host H] [--port P] [--dialect aliyun|tuya] [--seed N] ...

Run ``otaclient --help`` or ``otaclient COMMAND --help`` for everything else.
"""

from __future__ import annotations

from collections.abc import Sequence

from ._cli.app import cli

__all__ = ["cli", "main"]


def main(argv: Sequence[str] | None = None) -> None:
    """Run the command line (exits the process with the command's status)."""
    cli.main(args=list(argv) if argv is not None else None, prog_name="otaclient")


if __name__ == "__main__":
    main()
