"""Watching an audit: a progress snapshot, the callback that receives it, and its tracker.

The audit's progress is its plan, in requests: every read it starts (a list's harvest,
a job's counts) says how many requests it will send once it knows (a list once its first
page is in, counts at once), and a read that stops early gives back what it did not send
(``Reading``). ``pages_total`` is exact once every list has been discovered and sized, and
``pages_estimated`` guesses it before that (a job not yet sized counts as the average job
sized so far). The request rate is measured over the last few seconds from the client's own
counters, and the ETA divides the requests left by the rate measured the same way (by the
limiter's rate before there is a measurement, so that it shows from the first answers on).
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

__all__ = ["AuditProgress", "ProgressCallback", "ProgressTracker", "Reading"]

Phase = Literal["listing", "harvesting", "done"]
ListKind = Literal["firmware", "jobs", "tasks", "detail"]


@attrs.frozen
class AuditProgress:
    """Where an audit stands. Handed to the ``progress`` callback after every page.

    * ``phase``: ``"listing"`` while packages and batches are still being listed,
      ``"harvesting"`` once only device tasks are left, ``"done"`` at the end;
    * ``firmware``, ``jobs``: packages and batches found so far; ``jobs_done``: batches
      whose every task has been counted;
    * ``pages_done``: list pages read, a count by status being a page of one item: the
      requests answered, retries aside; ``pages_total``: the exact number the audit's plan
      reads, ``None`` until it is known; ``pages_estimated``: the best guess meanwhile
      (never below ``pages_done``);
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


class Reading:
    """One read the audit plans (a list's harvest, a job's counts): the requests it
    planned and those answered. ``close`` settles it: what it did not read, it never will."""

    def __init__(self, tracker: ProgressTracker, kind: ListKind) -> None:
        self._tracker = tracker
        self.kind = kind
        self.planned = 0
        self.done = 0
        self.sized = False

    def plan(self, requests: int) -> None:
        """``requests`` more requests will be sent."""
        self.planned += requests
        self._tracker.planned += requests
        if not self.sized:
            self.sized = True
            self._tracker.sized(self.kind)

    def answered(self) -> None:
        """One of them was answered."""
        self.done += 1
        self._tracker.page_done()

    def on_request(self, requests: int) -> None:
        """``count_tasks``'s ``on_request``: ``n`` planned, or (``0``) one answered."""
        if requests:
            self.plan(requests)
        else:
            self.answered()

    def follow(self, progress: HarvestProgress) -> None:
        """``Harvest.on_progress``: its page reads planned and answered."""
        if progress.pages_planned is not None and progress.pages_planned > self.planned:
            self.plan(progress.pages_planned - self.planned)
        while self.done < progress.pages_done:
            self.answered()

    def close(self) -> None:
        """The read is over: requests it planned and did not send are no longer planned."""
        if not self.sized:
            self.sized = True
            self._tracker.sized(self.kind)
        left = self.planned - self.done
        if left > 0:
            self.planned = self.done
            self._tracker.planned -= left


class ProgressTracker:
    """Counts what the audit does and reports :class:`AuditProgress` snapshots.

    The plan is in requests: every read the audit starts says how many it will send
    (a list once its first page says how long it is, a job's counts one per status),
    and a job not yet sized counts as the average of the jobs sized so far.
    """

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
        self.planned = 0
        self._unsized: dict[ListKind, int] = {"firmware": 0, "jobs": 0, "tasks": 0, "detail": 0}
        self._jobs_sized = 0
        self._job_requests = 0
        self._listing_open = 0
        self._done = False

    # ------------------------------------------------------------------ events

    def reading(self, kind: ListKind) -> Reading:
        """A read of ``kind`` is about to start (not sized until its plan is known)."""
        self._unsized[kind] += 1
        return Reading(self, kind)

    def watch(self, kind: ListKind) -> Callable[[HarvestProgress], None]:
        """A list will be read; the returned callback follows its harvest's progress
        (``Harvest.on_progress``): pages read, and the page reads its harvest plans."""
        return self.reading(kind).follow

    def sized(self, kind: ListKind) -> None:
        """A read of ``kind`` knows its plan."""
        self._unsized[kind] -= 1

    def job_cost(self, requests: int) -> None:
        """A job was read whole for ``requests`` requests (what unsized jobs are estimated at)."""
        self._jobs_sized += 1
        self._job_requests += requests

    def listing_opened(self) -> None:
        """One more package or batch listing is under way."""
        self._listing_open += 1

    def listing_closed(self) -> None:
        """A package or batch listing finished."""
        self._listing_open -= 1

    def page_done(self, items: int = 0) -> None:
        """A request was answered; ``items`` device tasks were counted from it."""
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
        per_job = self._job_requests / self._jobs_sized if self._jobs_sized else 1.0
        estimated = self.planned + math.ceil(self._unsized["tasks"] * per_job)
        estimated += unsized - self._unsized["tasks"]
        estimated = max(estimated, self.pages_done)
        phase: Phase = "done" if self._done else ("listing" if listing else "harvesting")
        eta: float | None = None
        if phase == "done":
            eta = 0.0
        else:
            # From the first answers on: the plan left over the measured rate, or over the
            # limiter's rate before a rate has been measured.
            rate = page_rate or in_force
            if rate:
                eta = max(0.0, estimated - self.pages_done) / rate
        return AuditProgress(
            phase=phase,
            firmware=self.firmware,
            jobs=self.jobs,
            jobs_done=self.jobs_done,
            pages_done=self.pages_done,
            pages_total=self.planned if exact else None,
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
