"""Output paths are checked before the first request; a failed write is one line.

Refused before anything is sent (exit status 2, request count 0 on the simulator): a
missing folder, a directory, ``/dev/full`` (as ``-o`` or as stdout), a folder without write
permission. A write that fails later is one line and exit status 1. A file is replaced only
once the whole output is written, so a failed command leaves the previous one intact.
"""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import IO

import click
import pytest
from cli_helpers import NO_ENV, Served, assert_one_line_failure, run

from otaclient._cli import destination, listing
from otaclient._cli.failures import GuardedGroup
from otaclient.cli import cli

COMMANDS = [["audit", "--qps", "0"], ["firmware", "list"], ["tasks", "list", "--job-id", "J"]]


def _refused_before_sending(served: Served, *args: str) -> str:
    before = served.sim.stats.requests
    result = run(*args, env=served.env)
    line = assert_one_line_failure(result, exit_code=2)
    assert served.sim.stats.requests == before, "a request was sent"
    assert "nothing was sent" in line
    return line


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_missing_folder_is_refused_before_any_request(
    served: Served, tmp_path: Path, command: list[str]
) -> None:
    target = tmp_path / "missing" / "dir" / "x.json"
    line = _refused_before_sending(served, *command, "-o", str(target))
    assert "does not exist" in line and str(target.parent) in line


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_dev_full_is_refused_before_any_request(served: Served, command: list[str]) -> None:
    line = _refused_before_sending(served, *command, "-o", "/dev/full")
    assert "No space left on device" in line


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_directory_is_refused_before_any_request(
    served: Served, tmp_path: Path, command: list[str]
) -> None:
    before = served.sim.stats.requests
    result = run(*command, "-o", str(tmp_path), env=served.env)
    assert "directory" in assert_one_line_failure(result, exit_code=2)
    assert served.sim.stats.requests == before


def test_dev_null_is_accepted(served: Served) -> None:
    result = run("firmware", "list", "-o", "/dev/null", env=served.env)
    assert result.exit_code == 0, result.stderr


def _cli_env(served: Served) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in NO_ENV}
    env.update({key: value for key, value in served.env.items() if value is not None})
    env.pop("OTACLIENT_DEBUG", None)
    return env


def _console_script(
    served: Served, *args: str, stdout: int | None = subprocess.PIPE
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "otaclient.cli", *args],
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        timeout=60,
        env=_cli_env(served),
    )


def _one_error_line(stderr: str) -> str:
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error:"), stderr
    return lines[0]


def test_stdout_to_dev_full_is_refused_before_any_request(served_http: Served) -> None:
    before = served_http.sim.stats.requests
    with open("/dev/full", "w") as full:
        done = _console_script(served_http, "firmware", "list", stdout=full.fileno())
    assert done.returncode == 2
    line = _one_error_line(done.stderr)
    assert "stdout" in line and "No space left on device" in line
    assert served_http.sim.stats.requests == before


@pytest.fixture
def locked_folder(tmp_path: Path) -> Path:
    """A folder this process may not create files in."""
    if os.geteuid() == 0:
        return Path("/sys")  # root writes anywhere it has mode bits for; sysfs refuses even root
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(stat.S_IRUSR | stat.S_IXUSR)
    return locked


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_folder_without_write_permission_is_refused_before_any_request(
    served: Served, locked_folder: Path, command: list[str]
) -> None:
    line = _refused_before_sending(served, *command, "-o", str(locked_folder / "x.json"))
    assert "Permission denied" in line


def test_a_write_command_with_stdout_to_dev_full_creates_nothing(served_http: Served) -> None:
    job = next(iter(served_http.sim.fleet.jobs_by_id.values()))
    before = served_http.sim.stats.requests
    create = ("jobs", "create-static", "--firmware-id", job.firmware_id, "--yes")
    args = (*create, "--product-key", job.product_key, "--target-selection", "all")
    with open("/dev/full", "w") as full:
        done = _console_script(served_http, *args, stdout=full.fileno())
    assert done.returncode == 2
    assert "stdout" in _one_error_line(done.stderr)
    assert served_http.sim.stats.requests == before


def test_diff_with_stdout_to_dev_full_is_one_line_and_status_2(
    served_http: Served, tmp_path: Path
) -> None:
    report = tmp_path / "report.json"
    report.write_text('{"jobs": []}')
    with open("/dev/full", "w") as full:
        done = _console_script(served_http, "diff", str(report), str(report), stdout=full.fileno())
    assert done.returncode == 2
    assert "stdout" in _one_error_line(done.stderr)


def test_a_write_that_fails_late_is_one_line_and_status_1(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(destination, "_probe_device", lambda path: None)
    result = run("firmware", "list", "-o", "/dev/full", env=served.env)
    line = assert_one_line_failure(result, exit_code=1)
    assert "writing the output to /dev/full failed: No space left on device" in line


def test_a_write_that_fails_half_way_leaves_the_previous_file_intact(
    served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def half_written(records: object, fmt: str, out: IO[str], **options: object) -> int:
        out.write('[{"firmware_id": ')
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(listing, "write_records", half_written)
    target = tmp_path / "packages.json"
    target.write_text("yesterday's list\n")
    result = run("firmware", "list", "--format", "json", "-o", str(target), env=served.env)
    assert "No space left on device" in assert_one_line_failure(result, exit_code=1)
    assert target.read_text() == "yesterday's list\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["packages.json"]


def test_a_new_file_gets_the_usual_permissions_and_no_leftovers(
    served: Served, tmp_path: Path
) -> None:
    target = tmp_path / "packages.json"
    umask = os.umask(0o022)
    try:
        result = run("firmware", "list", "--format", "json", "-o", str(target), env=served.env)
    finally:
        os.umask(umask)
    assert result.exit_code == 0, result.stderr
    assert len(json.loads(target.read_text())) == len(served.sim.fleet.firmware)
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert sorted(path.name for path in tmp_path.iterdir()) == ["packages.json"]


class _FullDisk(io.RawIOBase):
    """A stdout that accepts nothing: every write fails as on a full disk."""

    def writable(self) -> bool:
        return True

    def write(self, data: object) -> int:
        raise OSError(28, "No space left on device")


@pytest.mark.parametrize("output_format", ["table", "json", "csv"])
def test_a_write_command_whose_output_fails_after_the_call_says_the_call_was_made(
    fresh: Served,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    output_format: str,
) -> None:
    # The probe passes (as for a stream that only fails once it is flushed): the batch is
    # created, and the one line must say so rather than call it an unexpected error.
    monkeypatch.setattr(destination, "_probe_stdout", lambda: None)
    for key, value in fresh.env.items():
        if value is None:
            monkeypatch.delenv(key, raising=False)
        else:
            monkeypatch.setenv(key, value)
    job = next(iter(fresh.sim.fleet.jobs_by_id.values()))
    jobs_before = len(fresh.sim.fleet.jobs_by_id)
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(io.BufferedWriter(_FullDisk())))
    args = ["jobs", "create-static", "--firmware-id", job.firmware_id, "--yes"]
    args += ["--product-key", job.product_key, "--target-selection", "all"]
    args += ["--format", output_format]
    with pytest.raises(SystemExit) as exited:
        cli.main(args, prog_name="otaclient")
    assert exited.value.code == 1
    assert len(fresh.sim.fleet.jobs_by_id) == jobs_before + 1
    line = _one_error_line(capsys.readouterr().err)
    assert "1 call made (CreateOTAStaticUpgradeJob)" in line
    assert "writing the output to stdout failed: No space left on device" in line
    assert "do not run the command again" in line


def test_output_left_in_the_buffer_that_fails_at_the_end_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    @click.group(cls=GuardedGroup)
    def group() -> None:
        pass

    @group.command()
    def speak() -> None:
        sys.stdout.write("buffered, not flushed\n")

    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(io.BufferedWriter(_FullDisk())))
    with pytest.raises(SystemExit) as exited:
        group.main(["speak"], prog_name="otaclient")
    assert exited.value.code == 1
    line = _one_error_line(capsys.readouterr().err)
    assert "the command finished, but writing its output to stdout failed" in line
    assert "No space left on device" in line


def test_simulate_with_stdout_to_dev_full_is_refused_before_it_listens() -> None:
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [sys.executable, "-m", "otaclient.cli", "simulate", "--port", "0"],
            stdout=full.fileno(),
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    assert done.returncode == 2
    line = _one_error_line(done.stderr)
    assert "stdout" in line and "No space left on device" in line
    assert "listen" not in line
