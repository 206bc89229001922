"""The suite's own fixtures do what tests/conftest.py says: backends, virtual time, environment."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import anyio
import pytest
import sniffio

TESTS = Path(__file__).resolve().parent


def _backends_of(request: pytest.FixtureRequest, name: str) -> list[str]:
    """The backends the test called ``name`` in this module is collected under."""
    module = request.node.parent
    assert isinstance(module, pytest.Module)
    return [
        item.callspec.params["anyio_backend"]
        for item in module.collect()
        if isinstance(item, pytest.Function) and item.originalname == name
    ]


@pytest.mark.anyio
async def test_probe_default() -> None:
    assert sniffio.current_async_library() in ("asyncio", "trio")


@pytest.mark.anyio
@pytest.mark.backends("trio")
async def test_probe_trio_only() -> None:
    assert sniffio.current_async_library() == "trio"


def test_an_anyio_test_runs_under_asyncio_and_trio(request: pytest.FixtureRequest) -> None:
    assert _backends_of(request, "test_probe_default") == ["asyncio", "trio"]


def test_the_backends_marker_narrows_the_backends(request: pytest.FixtureRequest) -> None:
    assert _backends_of(request, "test_probe_trio_only") == ["trio"]


@pytest.mark.anyio
@pytest.mark.virtual_time
async def test_under_virtual_time_an_hour_of_sleep_passes_at_once() -> None:
    started, real = anyio.current_time(), time.monotonic()
    await anyio.sleep(3600)
    assert anyio.current_time() - started >= 3600
    assert time.monotonic() - real < 60


@pytest.mark.anyio
async def test_without_the_marker_the_clock_is_the_real_one(
    anyio_backend: str | tuple[str, dict[str, object]],
) -> None:
    assert isinstance(anyio_backend, str)  # no clock or loop factory of ours
    started, real = anyio.current_time(), time.monotonic()
    await anyio.sleep(0.01)
    assert anyio.current_time() - started == pytest.approx(time.monotonic() - real, abs=1.0)


def test_probe_environment() -> None:
    assert not [name for name in os.environ if name.startswith("ALIBABA_CLOUD_")]
    assert not any(Path(os.environ["HOME"]).iterdir())  # not the machine's ~/.aliyun


def test_no_test_sees_the_machine_s_credentials(tmp_path: Path) -> None:
    (tmp_path / ".aliyun").mkdir()
    (tmp_path / ".aliyun" / "config.json").write_text('{"current": "machine-profile"}')
    environ = {
        **os.environ,
        "HOME": str(tmp_path),
        "ALIBABA_CLOUD_ACCESS_KEY_ID": "machine-id",
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "machine-secret",
        "ALIBABA_CLOUD_PROFILE": "machine-profile",
    }
    probe = f"{Path(__file__).name}::test_probe_environment"
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", probe],
        cwd=TESTS,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "1 passed" in out.stdout
