"""A fan-out whose tasks never raise: the first failure is kept and everything is cancelled.

anyio task groups raise an ``ExceptionGroup`` even for one failure. The audit wants to raise
the failure itself (an ``APIError`` a caller can catch as such), so every task it starts runs
under :meth:`Crew.start_soon`'s guard: the first exception is recorded, the crew's scope is
cancelled, and the caller re-raises it with :meth:`Crew.raise_failure` once the group is done.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVarTuple

from anyio.abc import TaskGroup

__all__ = ["Crew"]

Ts = TypeVarTuple("Ts")


class Crew:
    """Guards every task started through it; ``task_group`` owns the scope to cancel."""

    def __init__(self, task_group: TaskGroup) -> None:
        self.task_group = task_group
        self.failure: Exception | None = None

    def start_soon(self, func: Callable[[*Ts], Awaitable[object]], *args: *Ts) -> None:
        """Start ``func(*args)`` in the crew's task group, guarded."""
        self.task_group.start_soon(self._guarded, func, *args)

    async def _guarded(self, func: Callable[[*Ts], Awaitable[object]], *args: *Ts) -> None:
        try:
            await func(*args)
        except Exception as exc:
            if self.failure is None:
                self.failure = exc
            self.task_group.cancel_scope.cancel()

    def raise_failure(self) -> None:
        """Raise the first failure, if there was one."""
        if self.failure is not None:
            failure, self.failure = self.failure, None
            raise failure
