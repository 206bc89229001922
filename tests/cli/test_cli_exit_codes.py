"""Exit statuses of the real console script, in subprocesses: 130 after Ctrl-C, 1 and one
line for an unexpected error (the traceback only with OTACLIENT_DEBUG=1), 141 and silence
when the reader closes stdout early, 0 and one line when ``simulate`` gets SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator

import click
import pytest
from cli_helpers import NO_ENV, run, simulate_until_sigterm
from click.testing import CliRunner

from otaclient._cli.failures import EXIT_BROKEN_PIPE, EXIT_INTERRUPTED, GuardedGroup

CLI = [sys.executable, "-m", "otaclient.cli"]

# Runs the console script with the client's constructor replaced by one that fails.
_BROKEN_CLIENT = """
import sys
import otaclient._cli.connect as connect

def broken(*args, **kwargs):
    raise RuntimeError("boom in the client")

connect.OTAClient = broken
from otaclient.cli import main
main(sys.argv[1:])
"""

# The same, with a failure after the event loop has finished (while writing the output).
_BROKEN_OUTPUT = """
import sys
import otaclient._cli.listing as listing

def broken(*args, **kwargs):
    raise LookupError("boom in the output")

listing.write_records = broken
from otaclient.cli import main
main(sys.argv[1:])
"""


def _env(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in NO_ENV}
    env.pop("OTACLIENT_DEBUG", None)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def _credentials() -> dict[str, str]:
    return {"ALIBABA_CLOUD_ACCESS_KEY_ID": "id", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "secret"}


def _one_error_line(stderr: str) -> str:
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("Error:")]
    assert len(errors) == 1, stderr
    return errors[0]


@pytest.fixture
def silent_server() -> Iterator[socket.socket]:
    """A loopback server that accepts connections and never answers."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.settimeout(60)
        yield server


def test_ctrl_c_during_a_request_exits_130_with_one_line(silent_server: socket.socket) -> None:
    port = silent_server.getsockname()[1]
    command = [*CLI, "firmware", "list", "--endpoint", f"http://127.0.0.1:{port}"]
    with subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(**_credentials()),
    ) as process:
        try:
            connection, _ = silent_server.accept()  # the request is in flight now
            with connection:
                process.send_signal(signal.SIGINT)
                stdout, stderr = process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode == EXIT_INTERRUPTED == 130
    assert _one_error_line(stderr) == "Error: interrupted"
    assert stdout == ""


def test_an_unexpected_error_exits_1_with_one_line_naming_it() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _BROKEN_CLIENT, "firmware", "list", "--endpoint", "http://h.test"],
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(**_credentials()),
    )
    assert done.returncode == 1
    line = _one_error_line(done.stderr)
    assert "RuntimeError: boom in the client" in line
    assert "OTACLIENT_DEBUG=1" in line


def test_an_unexpected_error_after_the_calls_exits_1_with_one_line() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _BROKEN_OUTPUT, "firmware", "list", "--demo"],
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(),
    )
    assert done.returncode == 1
    assert "LookupError: boom in the output" in _one_error_line(done.stderr)


@pytest.mark.parametrize("script", [_BROKEN_CLIENT, _BROKEN_OUTPUT], ids=["in-loop", "after"])
def test_the_debug_switch_shows_the_traceback(script: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", script, "firmware", "list", "--demo"],
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(OTACLIENT_DEBUG="1"),
    )
    assert done.returncode == 1
    assert "Traceback (most recent call last)" in done.stderr
    assert "boom in the" in done.stderr


@pytest.mark.parametrize(
    "command",
    [
        ["firmware", "list", "--format", "table"],
        ["firmware", "list", "--format", "json"],
        ["firmware", "list", "--format", "csv"],
        ["audit", "--format", "table"],
    ],
    ids=" ".join,
)
def test_a_closed_stdout_exits_141_without_a_word(command: list[str]) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first byte: EPIPE on every write
    try:
        done = subprocess.run(
            [*CLI, *command, "--demo"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            env=_env(),
        )
    finally:
        os.close(write_end)
    assert done.returncode == EXIT_BROKEN_PIPE == 141
    assert "Error" not in done.stderr
    assert "Traceback" not in done.stderr
    assert "Exception ignored" not in done.stderr


def test_a_pipe_into_head_ends_quietly() -> None:
    # Whether head closes the pipe before the last write depends on timing: 0 or 141.
    shell = 'set -o pipefail; "$@" audit --demo | head -1 >/dev/null; echo status=$?'
    done = subprocess.run(
        ["bash", "-c", shell, "bash", *CLI],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(),
    )
    assert done.stdout.strip() in ("status=0", f"status={EXIT_BROKEN_PIPE}")
    assert "Traceback" not in done.stderr
    assert "Exception ignored" not in done.stderr
    assert "Error" not in done.stderr


def test_simulate_stops_on_sigterm_with_one_line_and_status_0() -> None:
    status, stderr = simulate_until_sigterm("simulate", "--port", "0", "--qps", "0", env=_env())
    assert status == 0
    assert stderr.strip() == "simulator stopped (SIGTERM)"


def test_simulate_stops_on_ctrl_c_with_one_line() -> None:
    command = [*CLI, "simulate", "--port", "0", "--qps", "0"]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env()
    ) as process:
        try:
            assert process.stdout is not None
            assert process.stdout.readline().startswith("otaclient simulator listening on")
            process.send_signal(signal.SIGINT)
            _, stderr = process.communicate(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode == 0
    assert stderr.strip() == "simulator stopped (interrupted)"


# ---------------------------------------------------------------- the group, in-process


def _group_raising(exc: BaseException) -> click.Group:
    @click.group(cls=GuardedGroup)
    def group() -> None:
        pass

    @group.command()
    def fail() -> None:
        raise exc

    return group


def test_ctrl_c_at_a_prompt_exits_130() -> None:
    @click.group(cls=GuardedGroup)
    def group() -> None:
        pass

    @group.command()
    def ask() -> None:
        def interrupted_prompt(*args: object, **kwargs: object) -> str:
            raise KeyboardInterrupt

        click.termui.visible_prompt_func = interrupted_prompt
        click.confirm("Go on?")

    saved = click.termui.visible_prompt_func
    try:
        result = CliRunner().invoke(group, ["ask"])
    finally:
        click.termui.visible_prompt_func = saved
    assert result.exit_code == EXIT_INTERRUPTED
    assert "Error: interrupted" in result.stderr


def test_end_of_input_at_a_prompt_stays_clicks_abort() -> None:
    @click.group(cls=GuardedGroup)
    def group() -> None:
        pass

    @group.command()
    def ask() -> None:
        click.confirm("Go on?")

    result = CliRunner().invoke(group, ["ask"], input="")
    assert result.exit_code == 1
    assert "Aborted!" in result.stderr


@pytest.mark.parametrize(
    ("exc", "status"),
    [(KeyboardInterrupt(), 130), (ValueError("bad"), 1), (BrokenPipeError(), 141)],
    ids=["interrupt", "unexpected", "broken-pipe"],
)
def test_the_group_maps_what_a_subcommand_raises(
    exc: BaseException, status: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OTACLIENT_DEBUG", raising=False)
    result = CliRunner().invoke(_group_raising(exc), ["fail"])
    assert result.exit_code == status
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.stderr


def test_the_help_documents_the_exit_statuses_and_the_debug_switch() -> None:
    text = " ".join(run("--help").stdout.split())
    for expected in ("130 interrupted", "141", "OTACLIENT_DEBUG=1", "2 bad usage"):
        assert expected in text, expected
