"""Request counters, for tests and for watching a client's behaviour."""

from __future__ import annotations

from collections import Counter
from typing import Any

import attrs

from .._export import to_plain

__all__ = ["Arrival", "SimulatorStats"]


@attrs.frozen
class Arrival:
    """One request that reached the quota check (``SimulatorConfig(record_arrivals=True)``)."""

    at: float
    """The simulator's ``clock`` when the quota judged it: the time its windows count."""
    action: str
    throttled: bool
    """Refused for flow control (``Throttling.User``) rather than accepted."""


@attrs.define
class SimulatorStats:
    """Counters kept by a :class:`~otaclient.simulator.Simulator`.

    * ``requests``: every HTTP request that reached the app;
    * ``accepted``: passed verification and quota (the action was dispatched or faulted);
    * ``throttled``: refused with ``Throttling.User`` (not counted against the quota);
    * ``rejected``: refused by other gateway checks (signature, nonce, timestamp, ...);
    * ``business_errors``: accepted requests answered ``Success=false``;
    * ``per_action`` / ``throttled_per_action``: by action name;
    * ``errors_by_code``: every error answer (gateway or business) by code;
    * ``faults``: injected faults by kind (``http_500``, ``http_503``, ``system_error``,
      ``drop``, ``truncate``);
    * ``arrivals``: with ``SimulatorConfig(record_arrivals=True)``, every request that
      reached the quota check, in order (:class:`Arrival`), to measure a client's rate
      from the server's side. Off by default: a long-running server would keep them all.
    """

    requests: int = 0
    accepted: int = 0
    throttled: int = 0
    rejected: int = 0
    business_errors: int = 0
    per_action: Counter[str] = attrs.field(factory=Counter)
    throttled_per_action: Counter[str] = attrs.field(factory=Counter)
    errors_by_code: Counter[str] = attrs.field(factory=Counter)
    faults: Counter[str] = attrs.field(factory=Counter)
    arrivals: list[Arrival] = attrs.field(factory=list, metadata={"plain": False})

    @property
    def faults_injected(self) -> int:
        """Total number of injected faults."""
        return sum(self.faults.values())

    def snapshot(self) -> dict[str, Any]:
        """The counters as plain data (``arrivals`` left out), safe to keep while the
        simulator goes on counting."""
        data: dict[str, Any] = to_plain(self)
        return data

    def reset(self) -> None:
        """Zero every counter."""
        self.requests = self.accepted = self.throttled = self.rejected = 0
        self.business_errors = 0
        self.per_action.clear()
        self.throttled_per_action.clear()
        self.errors_by_code.clear()
        self.faults.clear()
        self.arrivals.clear()
