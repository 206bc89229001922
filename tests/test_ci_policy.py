"""CI cannot go green by accident: the README's commands, .ci/run, and the skip policy."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
CI_RUN = ROOT / ".ci" / "run"
CONFTEST = Path(__file__).with_name("conftest.py")


def _setup_commands() -> list[str]:
    section = README.read_text().split("## Two commands", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)
    return [block.strip() for block in blocks]


def _ci_lines() -> list[str]:
    return [line.strip() for line in CI_RUN.read_text().splitlines()]


def test_the_readme_has_exactly_two_one_line_setup_commands() -> None:
    commands = _setup_commands()
    assert len(commands) == 2, commands
    assert all("\n" not in command for command in commands)
    assert commands[0].endswith("otaclient audit --demo")
    assert commands[1].endswith("pytest -q")


def test_ci_runs_the_readmes_test_command_verbatim_and_stops_if_it_fails() -> None:
    test_command = _setup_commands()[1]
    # In a subshell, whose status is the `&&` list's: `set -e` then stops at its failure.
    assert f"({test_command})" in _ci_lines()


def test_ci_stops_at_the_first_failing_line() -> None:
    lines = _ci_lines()
    assert "set -euo pipefail" in lines
    chained = [
        line
        for line in lines
        if "&&" in line and not line.startswith("#") and not line.startswith("(")
    ]
    assert chained == [], "an `a && b` line does not stop `set -e` when `a` fails"


def test_ci_installs_redis_and_chromium_and_requires_redis_under_ci() -> None:
    text = CI_RUN.read_text()
    assert "redis-server" in text and "chromium" in text
    assert 'if [ "${CI:-}" = true ]; then' in text


def test_ci_runs_the_doctests_linters_type_check_generation_check_and_benchmarks() -> None:
    lines = _ci_lines()
    for command in (
        ".venv/bin/pytest -q -p no:cacheprovider --doctest-modules otaclient",
        ".venv/bin/ruff check otaclient tests benchmarks noxfile.py tools",
        ".venv/bin/ruff format --check otaclient tests benchmarks noxfile.py tools",
        ".venv/bin/mypy --strict otaclient tools",
        ".venv/bin/python tools/generate.py --check",
        ".venv/bin/python -m benchmarks --smoke",
    ):
        assert command in lines, command


def test_every_test_has_a_deadline() -> None:
    options = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]
    ini = options["ini_options"]
    assert 0 < int(ini["timeout"]) <= 300
    assert ini["timeout_method"] == "thread"


def test_the_mutation_session_mutates_modules_that_exist() -> None:
    # A renamed module left in the list is silently not mutated: its guarantees go unchecked.
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]
    missing = [path for path in config["only_mutate"] if not (ROOT / path).is_file()]
    assert config["only_mutate"] and missing == []


def test_the_survivors_report_names_functions_that_exist() -> None:
    # A function renamed or moved leaves its survivors untagged, or tagged wrongly.
    sys.path.insert(0, str(ROOT / "tests"))
    try:
        from mutation_survivors import _BEFORE_THE_FORK
    finally:
        sys.path.remove(str(ROOT / "tests"))
    missing = []
    for name in _BEFORE_THE_FORK:
        module, function = name.rsplit(".x_", 1)
        source = (ROOT / Path(*module.split("."))).with_suffix(".py").read_text()
        if not re.search(rf"^def {re.escape(function)}\(", source, re.MULTILINE):
            missing.append(name)
    assert missing == []


# ------------------------------------------------------------------ the skip policy

_TESTS = """
import pytest

def test_runs():
    pass

def test_skips():
    pytest.skip("needs a unicorn")

@pytest.mark.xfail(reason="known", strict=True)
def test_expected_to_fail():
    assert False
"""


def _pytest_with_policy(
    tmp_path: Path, tests: str, ci: str | None
) -> subprocess.CompletedProcess[str]:
    (tmp_path / "conftest.py").write_text(CONFTEST.read_text())
    shutil.copytree(CONFTEST.with_name("support"), tmp_path / "support")  # the conftest imports it
    (tmp_path / "test_sample.py").write_text(tests)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_a_skip_fails_the_run_under_ci(tmp_path: Path) -> None:
    done = _pytest_with_policy(tmp_path, _TESTS, ci="true")
    assert done.returncode == 1, done.stdout
    assert "skipped under CI=true, where every test must run: needs a unicorn" in done.stdout
    assert "1 failed, 1 passed, 1 xfailed" in done.stdout


def test_a_module_skipped_at_collection_fails_the_run_under_ci(tmp_path: Path) -> None:
    tests = 'import pytest\npytest.skip("no backend", allow_module_level=True)\n'
    done = _pytest_with_policy(tmp_path, tests, ci="true")
    assert done.returncode == 1, done.stdout
    assert "no backend" in done.stdout


@pytest.mark.parametrize("ci", [None, "false"])
def test_a_skip_is_a_skip_outside_ci(tmp_path: Path, ci: str | None) -> None:
    done = _pytest_with_policy(tmp_path, _TESTS, ci=ci)
    assert done.returncode == 0, done.stdout
    assert "1 passed, 1 skipped, 1 xfailed" in done.stdout
