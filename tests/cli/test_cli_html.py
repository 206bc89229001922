"""``otaclient audit --format html``: the page to stdout or to --output, for audit only."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from cli_helpers import NO_ENV, Served, assert_one_line_failure, run


def test_without_output_the_page_goes_to_stdout(served: Served) -> None:
    result = run("audit", "--qps", "0", "--format", "html", env=served.env)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith('<!DOCTYPE html>\n<html lang="en">')
    assert result.stdout.rstrip().endswith("</html>")
    assert all(job_id in result.stdout for job_id in served.sim.fleet.job_ids())


def test_the_format_works_before_the_subcommand_too(served: Served) -> None:
    result = run("--format", "html", "audit", "--qps", "0", env=served.env)
    assert result.exit_code == 0, result.stderr
    assert "<svg" in result.stdout and "<script" not in result.stdout


def test_the_console_script_writes_the_page_to_output(served_http: Served, tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if key not in NO_ENV}
    env.update({key: value for key, value in served_http.env.items() if value is not None})
    target = tmp_path / "report.html"
    command = [sys.executable, "-m", "otaclient.cli", "audit", "--qps", "0", "--format", "html"]
    done = subprocess.run(
        [*command, "--output", str(target)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    page = target.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert all(job_id in page for job_id in served_http.sim.fleet.job_ids())
    assert f"report written to {target}" in done.stderr


def test_a_listing_refuses_the_html_format_before_any_request(served: Served) -> None:
    before = served.sim.stats.accepted
    line = assert_one_line_failure(
        run("firmware", "list", "--format", "html", env=served.env), exit_code=2
    )
    assert "--format html is for otaclient audit only" in line
    assert served.sim.stats.accepted == before
