"""Seeded fault decisions.

Every eligible request draws the same three numbers whatever happens, so for a given seed
the n-th eligible request always gets the same fault: runs are reproducible.
"""

from __future__ import annotations

import random
from typing import Literal

import attrs

from .config import FaultSpec

__all__ = ["Fault", "FaultInjector", "FaultKind"]

FaultKind = Literal["http_500", "http_503", "system_error", "drop", "truncate"]


@attrs.frozen
class Fault:
    """One injected fault.

    ``after``: the action runs first (state changes) and its answer is then spoiled.
    ``fraction``: where a drop or truncation cuts the body (0 <= fraction < 1).
    """

    kind: FaultKind
    after: bool
    fraction: float


class FaultInjector:
    """Decides, per accepted request, whether and how to misbehave."""

    def __init__(self, spec: FaultSpec, seed: int) -> None:
        self.spec = spec
        self._rng = random.Random(f"{spec.seed if spec.seed is not None else seed}:faults")
        self._table: list[tuple[float, FaultKind]] = []
        edge = 0.0
        for kind in ("http_500", "http_503", "system_error", "drop", "truncate"):
            edge += getattr(spec, kind)
            self._table.append((edge, kind))

    def decide(self, action: str) -> Fault | None:
        """The fault for this request, or ``None``."""
        spec = self.spec
        if not spec.enabled or (spec.actions is not None and action not in spec.actions):
            return None
        pick, coin, fraction = self._rng.random(), self._rng.random(), self._rng.random()
        for edge, kind in self._table:
            if pick < edge:
                if kind == "truncate":
                    after = True  # a truncated answer is an answer: the action ran
                else:
                    after = spec.phase == "after" or (spec.phase == "either" and coin < 0.5)
                return Fault(kind=kind, after=after, fraction=fraction)
        return None
