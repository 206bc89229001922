"""Shared fixtures of the unit tests: the async backends and a clean environment.

``anyio_backend`` runs every ``@pytest.mark.anyio`` test under asyncio and under trio.
Modules whose tests measure time (the limiter, the harvest) override it with
``virtual_time_backend``: trio with ``MockClock(autojump_threshold=0)``, and asyncio with
an event loop whose clock jumps to the next timer whenever every task is blocked. Both make
``anyio.sleep(5)`` return at once while ``anyio.current_time()`` moves by 5 seconds.
"""

from __future__ import annotations

import pytest

from ._virtual_time import BACKENDS


@pytest.fixture(params=BACKENDS)
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(autouse=True)
def _no_credentials_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests see only the credentials they set themselves."""
    for name in (
        "ALIBABA_CLOUD_ACCESS_KEY_ID",
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
        "ALIBABA_CLOUD_SECURITY_TOKEN",
    ):
        monkeypatch.delenv(name, raising=False)
