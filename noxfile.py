"""Developer sessions: ``nox -s tests``, ``nox -s lint``, ``nox -s typecheck``, ``nox -s bench``."""

from __future__ import annotations

import nox

nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.default_venv_backend = "venv"

PY = "3.11"


@nox.session(python=PY)
def tests(session: nox.Session) -> None:
    """Run the test suite (asyncio and trio)."""
    session.install("-e", ".[test,fast,redis]")
    session.run("pytest", *session.posargs)


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
    session.install("-e", ".[test,fast]")
    session.run("python", "-m", "benchmarks", *session.posargs)
