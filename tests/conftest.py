"""Suite-wide policy: under ``CI=true`` a skipped test is a failed test.

A skip means something the suite needs was missing (redis-server, the official SDK), so a
green run would claim guarantees nobody checked. On a developer's machine a skip stays a
skip. Each skipped test is reported as failed with its reason; a skip that no test report
carries (a whole module skipped at collection) fails the session at the end.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from typing import Any

import pytest


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def _skip_reason(report: pytest.TestReport | pytest.CollectReport) -> str:
    longrepr = report.longrepr
    text = str(longrepr[2]) if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
    return text.removeprefix("Skipped: ")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[Any]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    # An xfail is reported as skipped too, with `wasxfail`: it ran, so it is not a skip.
    if _in_ci() and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = (
            f"skipped under CI=true, where every test must run: {_skip_reason(report)}"
        )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not _in_ci():
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter is not None else []
    if skipped:
        reasons = sorted({_skip_reason(report) for report in skipped})
        print(f"\nCI=true: {len(skipped)} skipped, which fails the run: {'; '.join(reasons)}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
