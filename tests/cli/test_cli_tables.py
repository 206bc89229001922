"""Tables fit the width they are read at: 80, 100 and 120 columns (``$COLUMNS`` when piped,
the terminal's under a pseudo-terminal), or no wrapping at all when piped without
``$COLUMNS``. Ids and statuses are never split or cut; cut text ends in "…"; what is left
out for width is named in the caption."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import struct
import subprocess
import sys
import termios
from typing import Any

import pytest
from cli_helpers import NO_ENV, Served, run
from rich.console import Console

from otaclient._cli.tables import Column, fitted_table

WIDTHS = (80, 100, 120)


def _records(served: Served, *command: str) -> list[dict[str, Any]]:
    result = run(*command, "--format", "json", env=served.env)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def _table(served: Served, width: int | None, *command: str) -> list[str]:
    env = {**served.env, "COLUMNS": str(width) if width else None}
    result = run(*command, env=env)
    assert result.exit_code == 0, result.stderr
    return result.stdout.splitlines()


def _assert_rows_whole(
    lines: list[str], records: list[dict[str, Any]], id_: str, status: str
) -> None:
    for item in records:
        row = [line for line in lines if item[id_] in line]
        assert len(row) == 1, f"{item[id_]} split or missing"
        assert f" {item[status]} " in row[0], f"{item[status]} split or missing: {row[0]}"


def _job(served: Served) -> Any:
    # The batch with the most tasks in one status: a table several screens long.
    return max(served.sim.fleet.jobs_by_id.values(), key=lambda job: len(job.tasks.status))


@pytest.mark.parametrize("width", WIDTHS)
def test_tasks_list_fits_with_ids_and_statuses_whole(served: Served, width: int) -> None:
    command = ("tasks", "list", "--job-id", _job(served).job_id)
    lines = _table(served, width, *command)
    assert max(len(line) for line in lines) <= width
    _assert_rows_whole(lines, _records(served, *command), "task_id", "task_status")


@pytest.mark.parametrize("width", WIDTHS)
def test_jobs_list_fits_with_ids_and_statuses_whole(served: Served, width: int) -> None:
    command = ("jobs", "list", "--firmware-id", _job(served).firmware_id)
    lines = _table(served, width, *command)
    assert max(len(line) for line in lines) <= width
    _assert_rows_whole(lines, _records(served, *command), "job_id", "job_status")


@pytest.mark.parametrize("width", WIDTHS)
def test_the_audit_tables_fit_with_ids_and_statuses_whole(served: Served, width: int) -> None:
    lines = _table(served, width, "audit", "--qps", "0")
    assert max(len(line) for line in lines) <= width
    report = json.loads(run("audit", "--qps", "0", "--format", "json", env=served.env).stdout)
    jobs = [line for line in lines if any(job["job_id"] in line for job in report["jobs"])]
    for job in report["jobs"]:
        assert any(job["job_id"] in line and f" {job['job_status']} " in line for line in jobs)


def test_at_80_columns_what_is_left_out_is_named(served: Served) -> None:
    lines = _table(served, 80, "tasks", "list", "--job-id", _job(served).job_id)
    text = " ".join(" ".join(lines).split())
    assert "Not shown, for width:" in text and "utc_modified" in text


def test_piped_without_columns_every_row_is_one_line_with_every_column(served: Served) -> None:
    command = ("tasks", "list", "--job-id", _job(served).job_id)
    lines = _table(served, None, *command)
    records = _records(served, *command)
    _assert_rows_whole(lines, records, "task_id", "task_status")
    header = next(line for line in lines if "task_id" in line)
    assert "utc_modified" in header and "…" not in " ".join(lines)
    assert "Not shown" not in " ".join(lines)


def _under_a_terminal(columns: int, *command: str) -> list[str]:
    env = {key: value for key, value in os.environ.items() if key not in NO_ENV}
    env.pop("COLUMNS", None)
    env.pop("LINES", None)
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    try:
        with subprocess.Popen(
            [sys.executable, "-m", "otaclient.cli", *command],
            stdin=follower,
            stdout=follower,
            stderr=subprocess.DEVNULL,
            env={**env, "TERM": "dumb"},
        ) as process:
            os.close(follower)
            follower = -1
            chunks = []
            while True:
                try:
                    chunk = os.read(leader, 65536)
                except OSError:  # EIO: the command ended and closed the terminal
                    break
                if not chunk:
                    break
                chunks.append(chunk)
            assert process.wait(timeout=60) == 0
    finally:
        os.close(leader)
        if follower >= 0:
            os.close(follower)
    return b"".join(chunks).decode().replace("\r\n", "\n").splitlines()


@pytest.mark.parametrize("columns", [80, 100])
def test_under_a_real_terminal_the_table_fits_its_width(columns: int) -> None:
    lines = _under_a_terminal(columns, "firmware", "list", "--demo")
    rows = [line for line in lines if line.startswith("│")]
    assert rows and max(len(line) for line in lines) <= columns
    ids = [line.split("│")[1].strip() for line in rows]
    assert all(len(found) == len(ids[0]) and "…" not in found for found in ids), ids


# ---------------------------------------------------------------- the fitting, alone


def _render(table: Any, width: int) -> list[str]:
    console = Console(width=width, record=True, file=open(os.devnull, "w"))  # noqa: SIM115
    console.print(table)
    return console.export_text().splitlines()


def test_a_whole_column_is_never_cut_even_when_nothing_fits() -> None:
    columns = [Column("Id", whole=True), Column("Status", whole=True)]
    lines = _render(fitted_table(columns, [["x" * 40, "IN_PROGRESS"]], 30), 200)
    assert any("x" * 40 in line for line in lines)


def test_text_is_cut_with_an_ellipsis_before_any_column_is_left_out() -> None:
    columns = [Column("Id", whole=True), Column("Detail"), Column("Status", whole=True)]
    rows = [["j-1", "a description far longer than the room for it", "FAILED"]]
    lines = _render(fitted_table(columns, rows, 40), 40)
    assert any("…" in line and "FAILED" in line for line in lines)
    assert max(len(line) for line in lines) <= 40


def test_the_lowest_keep_is_left_out_first_and_the_first_column_never() -> None:
    columns = [
        Column("First", whole=True, keep=0),
        Column("Low", whole=True, keep=1),
        Column("High", whole=True, keep=9),
    ]
    rows = [["a" * 12, "b" * 12, "c" * 12]]
    text = "\n".join(_render(fitted_table(columns, rows, 34), 34))
    assert "a" * 12 in text and "c" * 12 in text and "b" * 12 not in text
    assert "Not shown, for width: Low" in " ".join(text.split())
