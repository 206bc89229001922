"""What every test gets: both async backends, an environment without credentials, CI policy.

Backends. Every ``@pytest.mark.anyio`` test runs under asyncio and under trio: the one
``anyio_backend`` fixture is parametrised here, for the whole suite. A test (or a module,
through ``pytestmark``) changes that with markers instead of its own fixture:

* ``@pytest.mark.virtual_time``: both backends on a virtual clock (``support/virtual_time.py``:
  ``anyio.sleep(3600)`` returns at once, ``anyio.current_time()`` moves by an hour), for
  anything about time that does no real I/O;
* ``@pytest.mark.backends("asyncio")``: only the backends named (redis.asyncio and respx
  work on asyncio only; a long real-time test may run once).

Environment. No test sees credentials it did not set itself: every ``ALIBABA_CLOUD_*``
variable of the machine is removed and HOME is an empty directory of the test's own (the
credential chain reads both, ~/.aliyun/config.json and ~/.alibabacloud/credentials.ini;
so do the command line's subprocesses).

CI. Under ``CI=true`` a skipped test is a failed test. A skip means something the suite
needs was missing (redis-server, the official SDK), so a green run would claim guarantees
nobody checked. On a developer's machine a skip stays a skip. Each skipped test is reported
as failed with its reason; a skip that no test report carries (a whole module skipped at
collection) fails the session at the end.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from typing import Any

import pytest
from support.virtual_time import virtual_time_backend

BACKENDS = ("asyncio", "trio")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "anyio_backend" not in metafunc.fixturenames:
        return
    for marker in metafunc.definition.iter_markers("parametrize"):
        names = marker.args[0] if marker.args else marker.kwargs.get("argnames", "")
        if "anyio_backend" in (names.split(",") if isinstance(names, str) else names):
            raise pytest.UsageError(
                f"{metafunc.definition.nodeid}: choose backends with "
                '@pytest.mark.backends("asyncio", ...), not by parametrizing anyio_backend'
            )
    chosen = metafunc.definition.get_closest_marker("backends")
    metafunc.parametrize("anyio_backend", chosen.args if chosen else BACKENDS, indirect=True)


@pytest.fixture
def anyio_backend(request: pytest.FixtureRequest) -> str | tuple[str, dict[str, Any]]:
    """The backend a ``@pytest.mark.anyio`` test runs on, on a virtual clock if asked."""
    name: str = request.param
    if request.node.get_closest_marker("virtual_time") is not None:
        return virtual_time_backend(name)
    return name


@pytest.fixture(autouse=True)
def _no_credentials_in_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Tests see only the credentials they set themselves: no ALIBABA_CLOUD_* variable, and
    an empty HOME, since the default chain also reads ~/.aliyun and ~/.alibabacloud."""
    for name in list(os.environ):
        if name.upper().startswith(("ALIBABA_CLOUD_", "ALIBABACLOUD_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path_factory.mktemp("home")))


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
