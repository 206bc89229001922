"""Developer sessions: ``nox -s tests``, ``lint``, ``typecheck``, ``bench``, ``mutation``."""

from __future__ import annotations

import shutil

import nox

nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.default_venv_backend = "venv"

PY = "3.11"


@nox.session(python=PY)
def tests(session: nox.Session) -> None:
    """Run the test suite (asyncio and trio)."""
    session.install("-e", ".[test,redis]")
    session.run("pytest", *session.posargs)
    session.run("pytest", "-q", "-p", "no:cacheprovider", "--doctest-modules", "otaclient")


@nox.session(python=PY)
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    session.install("ruff>=0.5")
    paths = ("otaclient", "tests", "benchmarks", "noxfile.py", "tools")
    session.run("ruff", "check", *paths)
    session.run("ruff", "format", "--check", *paths)


@nox.session(python=PY)
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the package and its tools; the generated files are current."""
    session.install("-e", ".[dev]")
    session.run("mypy", "--strict", "otaclient", "tools")
    session.run("python", "tools/generate.py", "--check")


@nox.session(python=PY)
def bench(session: nox.Session) -> None:
    """The full benchmarks; results in benchmarks/results.json (see benchmarks/RESULTS.md)."""
    session.install("-e", ".[test,bench]")
    session.run("python", "-m", "benchmarks", *session.posargs)


@nox.session(python=PY)
def mutation(session: nox.Session) -> None:
    """Mutation testing of the core modules with the unit tests ([tool.mutmut]).

    Starts afresh (mutants/ is rebuilt) and ends with the survivors report that
    tests/MUTATION.md is made from. ``nox -s mutation -- --max-children 1`` on a busy box.
    """
    session.install("-e", ".[test,redis,mutation]")
    shutil.rmtree("mutants", ignore_errors=True)
    args = session.posargs or ["--max-children", "2"]
    # mutmut's progress line redraws itself thousands of times: keep it out of the log.
    session.run("mutmut", "run", *args, silent=not session.interactive)
    session.run("python", "tests/mutation_survivors.py")
