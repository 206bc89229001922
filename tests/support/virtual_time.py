"""Virtual time for both backends, so time-dependent tests run instantly.

trio has ``MockClock(autojump_threshold=0)``; ``VirtualTimeEventLoop`` is its asyncio twin:
an event loop whose clock jumps to the next timer whenever every task is blocked. Both make
``anyio.sleep(5)`` return at once while ``anyio.current_time()`` moves by 5 seconds.

A test module opts in with ``pytest.mark.virtual_time`` (``tests/conftest.py`` then gives
``anyio_backend`` the value :func:`virtual_time_backend` makes).
"""

from __future__ import annotations

import asyncio
import selectors
from typing import Any

from trio.testing import MockClock

BACKENDS = ("asyncio", "trio")


class _JumpingSelector(selectors.DefaultSelector):
    """Never sleeps: when nothing is ready, it moves the loop's clock to the next timer."""

    loop: VirtualTimeEventLoop

    def select(self, timeout: float | None = None) -> list[tuple[Any, int]]:
        if timeout is None:  # no timer pending: only another thread can wake the loop
            return super().select(None)
        ready = super().select(0)
        if not ready and timeout > 0:
            self.loop.advance(timeout)
        return ready


class VirtualTimeEventLoop(asyncio.SelectorEventLoop):
    """An asyncio loop on a virtual clock (the asyncio twin of trio's autojumping MockClock).

    Only for tests without real I/O: a timer fires as soon as every task waits.
    """

    def __init__(self) -> None:
        self._virtual_now = 0.0
        selector = _JumpingSelector()
        selector.loop = self
        super().__init__(selector)

    def time(self) -> float:
        return self._virtual_now

    def advance(self, seconds: float) -> None:
        self._virtual_now += seconds


def virtual_time_backend(name: str) -> tuple[str, dict[str, Any]]:
    """``anyio_backend`` value running ``name`` on a virtual clock (fresh for each test)."""
    if name == "trio":
        return "trio", {"clock": MockClock(autojump_threshold=0)}
    return "asyncio", {"loop_factory": VirtualTimeEventLoop}
