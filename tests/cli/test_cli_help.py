"""``--help`` of the group and of every subcommand."""

from __future__ import annotations

import pytest
from cli_helpers import run

CONNECTION = ("--endpoint", "--region-id", "--qps", "--format", "--demo")


def test_group_help_lists_every_command_and_the_credentials() -> None:
    result = run("--help")
    assert result.exit_code == 0
    for command in ("audit", "firmware", "jobs", "tasks", "simulate"):
        assert command in result.stdout
    assert "ALIBABA_CLOUD_ACCESS_KEY_SECRET" in result.stdout


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (["audit"], [*CONNECTION, "--product-key", "--output", "--stuck-after", '"jobs"']),
        (["firmware", "list"], [*CONNECTION, "--product-key", "--dest-version"]),
        (["jobs", "list"], [*CONNECTION, "--firmware-id", "--device-name"]),
        (["jobs", "show"], [*CONNECTION, "JOB_ID"]),
        (["jobs", "create-static"], [*CONNECTION, "--target-selection", "--yes"]),
        (["tasks", "unfinished"], [*CONNECTION, "--product-key", "--device-name", "--iot-id"]),
        (["tasks", "list"], [*CONNECTION, "--job-id", "--status"]),
        (
            ["simulate"],
            ["--host", "--port", "--dialect", "--seed", "--access-key-secret", "--qps"],
        ),
        (["firmware"], ["list"]),
        (["jobs"], ["list", "show", "create-static"]),
        (["tasks"], ["unfinished", "list"]),
    ],
)
def test_subcommand_help(command: list[str], expected: list[str]) -> None:
    result = run(*command, "--help")
    assert result.exit_code == 0, result.stderr
    for text in expected:
        assert text in result.stdout, text
