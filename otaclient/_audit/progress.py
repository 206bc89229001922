"""Watching an audit: a progress snapshot, the callback that receives it, and its tracker.

The audit reads three kinds of list (packages, each package's batches, each batch's device
tasks), each with a ``Harvest`` whose progress the tracker follows (``watch``). A list's page
count is known once its first page is in; ``pages_total`` is exact once
every list has been discovered and sized, and ``pages_estimated`` guesses it before that
(lists not yet sized count as the average sized task list). The request rate is measured over
the last few seconds from the client's own counters, and the ETA divides the pages left by
the page rate measured the same way (by the limiter's rate before there is a measurement).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from typing import Literal, Protocol

import anyio
import attrs

from .. import HarvestProgress, OTAClient
from .report import AuditStats

__all__ = ["AuditProgress", "ProgressCallback", "ProgressTracker"]

Phase = Literal["listing", "harvesting", "done"]
ListKind = Literal["firmware", "jobs", "tasks"]


@attrs.frozen
class AuditProgress:
    """Where an audit stands. Handed to the ``progress`` callback after every page.

    * ``phase``: ``"listing"`` while packages and batches are still being listed,
      ``"harvesting"`` once only device tasks are left, ``"done"`` at the end;
    * ``firmware``, ``jobs``: packages and batches found so far; ``jobs_done``: batches
      whose every task has been counted;
    * ``pages_done``: list pages read (all three kinds); ``pages_total``: the exact number
      of pages the audit reads, ``None`` until it is known; ``pages_estimated``: the best
      guess meanwhile (never below ``pages_done``);
    * ``items``: device tasks counted;
    * ``requests``, ``retries``, ``throttled``: the client's counters since the audit began;
    * ``qps``: requests per second over the last few seconds; ``qps_cap``: the limiter's
      configured rate and ``qps_in_force`` the rate it allows now (lower for a while after
      throttling); both ``None`` without a client-side limit;
    * ``elapsed``: seconds since the audit began; ``eta``: seconds left, ``None`` when
      there is nothing to base it on yet.
    """

    phase: Phase
    firmware: int
    jobs: int
    jobs_done: int
    pages_done: int
    pages_total: int | None
    pages_estimated: int
    items: int
    requests: int
    retries: int
    throttled: int
    qps: float
    qps_cap: float | None
    qps_in_force: float | None
    elapsed: float
    eta: float | None

    @property
    def fraction(self) -> float:
        """Share of the (estimated) pages done, 0..1."""
        if self.phase == "done":
            return 1.0
        total = self.pages_total or self.pages_estimated
        return min(1.0, self.pages_done / total) if total else 0.0


class ProgressCallback(Protocol):
    """Receives an :class:`AuditProgress` after every page. Must be quick and not block:
    it runs on the event loop, between pages."""

    def __call__(self, progress: AuditProgress, /) -> None: ...


class _Meter:
    """Rate of a growing counter over a sliding window of recent samples."""

    def __init__(self, window: float) -> None:
        self._window = window
        self._samples: deque[tuple[float, int]] = deque()

    def sample(self, now: float, value: int) -> float | None:
        samples = self._samples
        samples.append((now, value))
        while len(samples) > 2 and now - samples[1][0] >= self._window:
            samples.popleft()
        start, first = samples[0]
        span = now - start
        return (value - first) / span if span >= 1.0 else None


class ProgressTracker:
    """Counts what the audit does and reports :class:`AuditProgress` snapshots."""

    def __init__(
        self,
        client: OTAClient,
        callback: ProgressCallback | None,
        *,
        clock: Callable[[], float] = anyio.current_time,
        window: float = 5.0,
    ) -> None:
        self._client = client
        self._callback = callback
        self._clock = clock
        self._started = clock()
        self._base = client.stats
        self._requests = _Meter(window)
        self._pages = _Meter(window)
        self.firmware = 0
        self.jobs = 0
        self.jobs_done = 0
        self.pages_done = 0
        self.items = 0
        self._unsized: dict[ListKind, int] = {"firmware": 0, "jobs": 0, "tasks": 0}
        self._sized_pages = 0
        self._task_lists = 0
        self._task_list_pages = 0
        self._listing_open = 0
        self._done = False

    # ------------------------------------------------------------------ events

    def watch(self, kind: ListKind) -> Callable[[HarvestProgress], None]:
        """A list will be read; the returned callback follows its harvest's progress
        (``Harvest.on_progress``): pages read, and the page reads its harvest plans."""
        self._unsized[kind] += 1
        done = 0
        planned: int | None = None

        def follow(progress: HarvestProgress) -> None:
            nonlocal done, planned
            if progress.pages_planned != planned and progress.pages_planned is not None:
                self._planned(kind, progress.pages_planned - (planned or 0), first=planned is None)
                planned = progress.pages_planned
            while done < progress.pages_done:
                done += 1
                self.page_done()

        return follow

    def _planned(self, kind: ListKind, pages: int, *, first: bool) -> None:
        # A harvest's first plan sizes its list; re-reads and split parts add to it.
        self._sized_pages += pages
        if first:
            self._unsized[kind] -= 1
        if kind == "tasks":
            self._task_lists += first
            self._task_list_pages += pages

    def listing_opened(self) -> None:
        """One more package or batch listing is under way."""
        self._listing_open += 1

    def listing_closed(self) -> None:
        """A package or batch listing finished."""
        self._listing_open -= 1

    def page_done(self, items: int = 0) -> None:
        """A page was read; ``items`` device tasks were counted from it."""
        self.pages_done += 1
        self.items += items
        self.emit()

    def finish(self) -> None:
        """The audit is complete."""
        self._done = True
        self.emit()

    # ------------------------------------------------------------------ snapshots

    def audit_stats(self) -> AuditStats:
        """What the audit cost so far: the client's counters since it began, its pages."""
        now, base = self._client.stats, self._base
        return AuditStats(
            requests=now["attempts"] - base["attempts"],
            retries=now["retries"] - base["retries"],
            throttled=now["throttled"] - base["throttled"],
            pages=self.pages_done,
            elapsed_seconds=round(self.elapsed, 3),
        )

    @property
    def elapsed(self) -> float:
        """Seconds since the tracker was made."""
        return self._clock() - self._started

    def emit(self) -> None:
        """Send a snapshot to the callback, if there is one."""
        if self._callback is not None:
            self._callback(self.snapshot())

    def snapshot(self) -> AuditProgress:
        """Where the audit stands now."""
        now = self._clock()
        stats = self.audit_stats()
        qps = self._requests.sample(now, stats.requests)
        page_rate = self._pages.sample(now, self.pages_done)
        limiter = self._client.limiter
        cap = limiter.rate
        in_force = limiter.current_rate or cap
        listing = self._listing_open > 0
        unsized = sum(self._unsized.values())
        exact = not listing and unsized == 0
        per_list = self._task_list_pages / self._task_lists if self._task_lists else 1.0
        estimated = self._sized_pages + math.ceil(unsized * per_list)
        estimated = max(estimated, self.pages_done)
        phase: Phase = "done" if self._done else ("listing" if listing else "harvesting")
        eta: float | None = None
        if phase == "done":
            eta = 0.0
        elif not listing:
            rate = page_rate or in_force
            if rate:
                eta = max(0.0, estimated - self.pages_done) / rate
        return AuditProgress(
            phase=phase,
            firmware=self.firmware,
            jobs=self.jobs,
            jobs_done=self.jobs_done,
            pages_done=self.pages_done,
            pages_total=self._sized_pages if exact else None,
            pages_estimated=estimated,
            items=self.items,
            requests=stats.requests,
            retries=stats.retries,
            throttled=stats.throttled,
            qps=qps if qps is not None else 0.0,
            qps_cap=cap,
            qps_in_force=in_force,
            elapsed=now - self._started,
            eta=eta,
        )
