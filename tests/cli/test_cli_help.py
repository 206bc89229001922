"""``--help`` of the group and of every subcommand; shell completion."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from cli_helpers import NO_ENV, run

GLOBAL = (
    "--endpoint",
    "--region-id",
    "--qps",
    "--no-rate-limit",
    "--format",
    "--demo",
    "--access-key-id",
    "--access-key-secret-file",
    "--iot-instance-id",
    "--verbose",
    "--allow-insecure-http",
)
"""Documented once, in ``otaclient --help``."""
ONLY_IN_THE_GROUP = ("--region-id", "--access-key-secret-file", "--allow-insecure-http")
POINTER = "global options"

SUBCOMMANDS = [
    (["audit"], ["--product-key", "--output", "--stuck-after", '"jobs"']),
    (["firmware", "list"], ["--product-key", "--dest-version"]),
    (["jobs", "list"], ["--firmware-id", "--device-name"]),
    (["jobs", "show"], ["JOB_ID"]),
    (["jobs", "create-static"], ["--target-selection", "--yes"]),
    (["tasks", "unfinished"], ["--product-key", "--device-name", "--iot-id"]),
    (["tasks", "list"], ["--job-id", "--status"]),
]


def test_group_help_lists_every_command_and_the_credentials() -> None:
    result = run("--help")
    assert result.exit_code == 0
    for command in ("audit", "firmware", "jobs", "tasks", "simulate"):
        assert command in result.stdout
    assert "ALIBABA_CLOUD_ACCESS_KEY_SECRET" in result.stdout


def test_group_help_documents_every_global_option() -> None:
    result = run("--help")
    for option in GLOBAL:
        assert option in result.stdout, option


@pytest.mark.parametrize(("command", "expected"), SUBCOMMANDS, ids=lambda c: " ".join(c))
def test_subcommand_help_shows_its_own_options(command: list[str], expected: list[str]) -> None:
    result = run(*command, "--help")
    assert result.exit_code == 0, result.stderr
    for text in expected:
        assert text in result.stdout, text


@pytest.mark.parametrize("command", [c for c, _ in SUBCOMMANDS], ids=" ".join)
def test_subcommand_help_points_to_the_global_options_in_one_line(command: list[str]) -> None:
    text = run(*command, "--help").stdout
    lines = [line for line in text.splitlines() if POINTER in line]
    assert len(lines) == 1 and "otaclient --help" in lines[0], text
    listed = [line.split()[0] for line in text.splitlines() if line.startswith("  -")]
    for option in ONLY_IN_THE_GROUP:
        assert option not in listed, option


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (["simulate"], ["--host", "--port", "--dialect", "--seed", "--access-key-secret", "--qps"]),
        (["firmware"], ["list"]),
        (["jobs"], ["list", "show", "create-static"]),
        (["tasks"], ["unfinished", "list"]),
    ],
    ids=lambda c: " ".join(c),
)
def test_group_and_simulator_help(command: list[str], expected: list[str]) -> None:
    result = run(*command, "--help")
    assert result.exit_code == 0, result.stderr
    for text in expected:
        assert text in result.stdout, text


def _completion(**variables: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key not in NO_ENV}
    env.update(variables)
    return subprocess.run(
        [sys.executable, "-m", "otaclient.cli"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


@pytest.mark.parametrize(
    ("shell", "marker"),
    [
        ("bash", "complete -o nosort -F _otaclient_completion otaclient"),
        ("zsh", "#compdef otaclient"),
        ("fish", "complete --no-files --command otaclient"),
    ],
)
def test_the_completion_script_is_produced(shell: str, marker: str) -> None:
    done = _completion(_OTACLIENT_COMPLETE=f"{shell}_source")
    assert done.returncode == 0, done.stderr
    assert marker in done.stdout


def test_completion_completes_subcommands_and_options() -> None:
    words = {
        "_OTACLIENT_COMPLETE": "bash_complete",
        "COMP_WORDS": "otaclient au",
        "COMP_CWORD": "1",
    }
    assert "plain,audit" in _completion(**words).stdout.splitlines()
    words.update(COMP_WORDS="otaclient audit --product", COMP_CWORD="2")
    assert "plain,--product-key" in _completion(**words).stdout.splitlines()
