"""Sliding-window request quotas, per access key and optionally per (key, action).

The service's limit is "N queries per second per account". We model it as: at most N
*accepted* requests in any window ``(now - 1s, now]``. A refused request is not recorded,
so a client that backs off properly gets through as soon as the window slides.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping

__all__ = ["ACTION_QPS", "QuotaGate", "SlidingWindow"]

#: Documented QPS per action (reference section 1); undocumented actions get 10.
ACTION_QPS: Mapping[str, int] = {
    "QueryOTAFirmware": 20,
    "CreateOTAStaticUpgradeJob": 20,
    "CreateOTADynamicUpgradeJob": 20,
    "ConfirmOTATask": 20,
    "ReupgradeOTATask": 20,
    "CancelOTATaskByJob": 5,
}
DEFAULT_ACTION_QPS = 10


class SlidingWindow:
    """At most ``limit`` events in any ``period``-second window (a timestamp log)."""

    __slots__ = ("_events", "limit", "period")

    def __init__(self, limit: int, period: float = 1.0) -> None:
        self.limit = limit
        self.period = period
        self._events: deque[float] = deque()

    def _expire(self, now: float) -> None:
        horizon = now - self.period
        events = self._events
        while events and events[0] <= horizon:
            events.popleft()

    def has_room(self, now: float) -> bool:
        """Whether one more event at ``now`` would stay within the limit."""
        self._expire(now)
        return len(self._events) < self.limit

    def record(self, now: float) -> None:
        """Count one event at ``now`` (call only after :meth:`has_room` said yes)."""
        self._events.append(now)

    def __len__(self) -> int:
        return len(self._events)


class QuotaGate:
    """Account-wide and per-action windows, checked together, recorded together."""

    def __init__(self, qps: int | None, per_action: bool) -> None:
        self.qps = qps
        self.per_action = per_action
        self._accounts: dict[str, SlidingWindow] = {}
        self._actions: dict[tuple[str, str], SlidingWindow] = {}

    def admit(self, access_key_id: str, action: str, now: float) -> bool:
        """Record and return ``True`` if the request fits every window, else ``False``.

        Nothing is recorded for a refused request: excess traffic does not push the
        window forward.
        """
        windows: list[SlidingWindow] = []
        if self.qps is not None:
            account = self._accounts.get(access_key_id)
            if account is None:
                account = self._accounts[access_key_id] = SlidingWindow(self.qps)
            windows.append(account)
        if self.per_action:
            key = (access_key_id, action)
            window = self._actions.get(key)
            if window is None:
                limit = ACTION_QPS.get(action, DEFAULT_ACTION_QPS)
                window = self._actions[key] = SlidingWindow(limit)
            windows.append(window)
        if not all(window.has_room(now) for window in windows):
            return False
        for window in windows:
            window.record(now)
        return True
