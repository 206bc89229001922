"""``audit_fleet``: every package, every batch of each, every device task of each batch.

Everything is read concurrently in one task group: the package listings, each package's
batch listing (started as soon as the package is seen), and each batch's device tasks
(started as soon as the batch is seen). Lists are read with the client's own harvest
(``iter_*``: pages fetched concurrently, exactly once, bounded memory), and the client's
limiter paces every request, so the audit only bounds how many batches it reads at once.
Each batch is read by the cheaper plan (``plan``): whole when small, counted by status
when large. Tasks are folded into per-batch counters as they arrive and then dropped
(``tally``).

ListOTATaskByJob serves at most 100,000 tasks per listing; the harvest splits a larger
batch by status, and if one status alone is still larger, that batch's report says
``complete=False`` (with the counts it could read) rather than failing the whole audit.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import anyio
import attrs

from .. import Firmware, Harvest, OTAClient, OTAJob, ValidationError
from .crew import Crew
from .plan import read_job
from .progress import ListKind, ProgressCallback, ProgressTracker
from .report import FirmwareReport, FleetReport, TaskSummary, from_fields
from .state import AuditState
from .tally import JobTally

__all__ = ["DEFAULT_STUCK_AFTER", "audit_fleet"]

DEFAULT_STUCK_AFTER = timedelta(hours=24)
# Each batch's harvest already fetches its pages concurrently; a few batches at once keep
# the limiter busy at any latency without holding many pages in memory.
MAX_JOBS_IN_FLIGHT = 8

T = TypeVar("T")


async def audit_fleet(
    client: OTAClient,
    *,
    product_keys: Iterable[str] | None = None,
    stuck_after: timedelta = DEFAULT_STUCK_AFTER,
    now: datetime | None = None,
    progress: ProgressCallback | None = None,
    max_devices_per_job: int = 50,
    max_jobs_in_flight: int = MAX_JOBS_IN_FLIGHT,
    stop: anyio.Event | None = None,
    state: AuditState | None = None,
) -> FleetReport:
    """Audit the OTA state of a fleet: every package, batch and device task in scope.

    ``product_keys`` limits the audit to those products (``None`` or empty: every product
    of the account). A task is *stuck* when it is ``NOTIFIED`` or ``IN_PROGRESS`` and was
    last modified more than ``stuck_after`` before ``now`` (default: the current time; pass
    an aware ``datetime`` to audit "as of" another moment). ``progress`` is called with an
    :class:`~otaclient.audit.AuditProgress` after every page. Each batch keeps at most
    ``max_devices_per_job`` failed and as many stuck devices (the counts are always exact).
    ``max_jobs_in_flight`` batches are read at once, each with its requests sent
    concurrently by the client.

    Each batch is read by the cheaper plan: whole when it is a few pages, else counted by
    status (:func:`~otaclient.audit.count_tasks`) with only its ``NOTIFIED`` and
    ``IN_PROGRESS`` tasks and its first failed ones read one by one; a batch whose counts
    moved while read says which (``JobReport.moved``), and one whose counts never added
    up to its total is ``complete=False``.

    ``stop``: when this event is set, the audit stops reading and returns at once what it
    has: the batches it had finished, in a report with ``complete=False`` (what the
    command line does on Ctrl-C). ``state``: an open :class:`~otaclient.audit.AuditState`;
    batches are recorded in it as they are read, an interrupted run is resumed (with its
    own ``now``), and batches that cannot have changed are taken from it instead of being
    read again (what is trusted, and why: ``AuditState``).

    The first request that still fails after the client's retries stops the audit and is
    raised as is (``APIError``, ``ThrottlingError``, ``TransportError``, ...).

    >>> async with OTAClient(region_id="cn-shanghai") as client:      # doctest: +SKIP
    ...     report = await audit_fleet(client, product_keys=["a1B2c3"])
    >>> report.totals.tasks.success_rate                              # doctest: +SKIP
    0.93
    """
    now = _as_of(now)
    _check_limits(stuck_after, max_devices_per_job, max_jobs_in_flight)
    scope = _scope(product_keys)
    if state is not None:
        now = await state.begin(
            product_keys=scope, stuck_after=stuck_after, keep=max_devices_per_job, now=now
        )
    tracker = ProgressTracker(client, progress)
    audit = _Audit(
        client,
        tracker,
        now=now,
        stuck_after=stuck_after,
        keep=max_devices_per_job,
        jobs_in_flight=max_jobs_in_flight,
        state=state,
    )
    await audit.run(scope, stop)
    if state is not None and not audit.stopped:
        await state.finish()
    tracker.finish()
    return FleetReport.build(
        generated_at=now,
        stuck_after=stuck_after,
        product_keys=scope,
        firmware=audit.firmware_reports(),
        stats=tracker.audit_stats(),
        complete=not audit.stopped,
    )


def _as_of(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValidationError("now must be a timezone-aware datetime")
    return now


def _check_limits(
    stuck_after: timedelta, max_devices_per_job: int, max_jobs_in_flight: int
) -> None:
    if not isinstance(stuck_after, timedelta) or stuck_after < timedelta(0):
        raise ValidationError(f"stuck_after must be a non-negative timedelta, got {stuck_after!r}")
    for name, value, low in (
        ("max_devices_per_job", max_devices_per_job, 0),
        ("max_jobs_in_flight", max_jobs_in_flight, 1),
    ):
        if not isinstance(value, int) or value < low:
            raise ValidationError(f"{name} must be an integer >= {low}, got {value!r}")


def _scope(product_keys: Iterable[str] | None) -> tuple[str, ...] | None:
    if product_keys is None:
        return None
    if isinstance(product_keys, str):
        product_keys = [product_keys]
    keys: list[str] = []
    for key in product_keys:
        if not isinstance(key, str) or not key.strip():
            raise ValidationError(f"product keys must be non-empty strings, got {key!r}")
        if key not in keys:
            keys.append(key)
    return tuple(keys) or None


@attrs.define
class _Found:
    """A package or batch, with where it was listed (to report in listing order)."""

    order: tuple[int, ...]
    item: Any


class _Audit:
    def __init__(
        self,
        client: OTAClient,
        tracker: ProgressTracker,
        *,
        now: datetime,
        stuck_after: timedelta,
        keep: int,
        jobs_in_flight: int,
        state: AuditState | None,
    ) -> None:
        self.client = client
        self.state = state
        self.stopped = False
        self.tracker = tracker
        self.now = now
        self.stuck_after = stuck_after
        self.keep = keep
        self.job_slots = anyio.Semaphore(jobs_in_flight)
        self.firmware: dict[str, _Found] = {}
        self.jobs: dict[str, list[_Found]] = {}
        self.job_ids: set[str] = set()
        self.crew: Crew

    async def run(self, scope: tuple[str, ...] | None, stop: anyio.Event | None) -> None:
        async with anyio.create_task_group() as outer:
            if stop is not None:
                outer.start_soon(self._stop_when, stop, outer.cancel_scope)
            async with anyio.create_task_group() as task_group:
                self.crew = Crew(task_group)
                for index, product_key in enumerate(scope or (None,)):
                    self.tracker.listing_opened()
                    self.crew.start_soon(self._list_firmware, index, product_key)
            outer.cancel_scope.cancel()  # everything was read: the stop watcher is done
        self.crew.raise_failure()

    async def _stop_when(self, stop: anyio.Event, scope: anyio.CancelScope) -> None:
        await stop.wait()
        self.stopped = True
        scope.cancel()

    # ------------------------------------------------------------------ the three lists

    async def _list_firmware(self, index: int, product_key: str | None) -> None:
        try:
            listing = self.client.iter_ota_firmware(product_key=product_key)
            async with self._watched("firmware", listing):
                position = 0
                async for firmware in listing:
                    firmware_id = firmware.firmware_id
                    if not firmware_id or firmware_id in self.firmware:
                        continue
                    if product_key and firmware.product_key not in (None, product_key):
                        continue  # a service that ignored the ProductKey filter
                    self.firmware[firmware_id] = _Found((index, position), firmware)
                    position += 1
                    self.jobs[firmware_id] = []
                    self.tracker.firmware += 1
                    self.tracker.listing_opened()
                    self.crew.start_soon(self._list_jobs, firmware)
        finally:
            self.tracker.listing_closed()

    async def _list_jobs(self, firmware: Firmware) -> None:
        firmware_id = str(firmware.firmware_id)
        found = self.jobs[firmware_id]
        try:
            listing = self.client.iter_ota_job_by_firmware(firmware_id=firmware_id)
            async with self._watched("jobs", listing):
                async for job in listing:
                    if not job.job_id or job.job_id in self.job_ids:
                        continue
                    self.job_ids.add(job.job_id)
                    job = _with_defaults(job, firmware)
                    tally = JobTally(
                        job, now=self.now, stuck_after=self.stuck_after, keep=self.keep
                    )
                    found.append(_Found((len(found),), tally))
                    self.tracker.jobs += 1
                    if await self._restored(tally):
                        continue
                    await self.job_slots.acquire()
                    self.crew.start_soon(self._harvest_tasks, tally)
        finally:
            self.tracker.listing_closed()

    async def _restored(self, tally: JobTally) -> bool:
        """Whether the state file holds ``tally``'s job as it still is (then it is done)."""
        stored = None if self.state is None else await self.state.lookup(tally.job)
        if stored is None:
            return False
        tally.restore(
            stored.tasks,
            stored.failed_devices,
            stored.stuck_devices,
            complete=stored.complete,
            moved=stored.moved,
        )
        self._job_done(tally)
        return True

    async def _harvest_tasks(self, tally: JobTally) -> None:
        try:
            await read_job(self.client, self.tracker, tally, self.keep)
        finally:
            self.job_slots.release()
        tally.done = True
        if self.state is not None:
            # Shielded: a job read in full is recorded even when a stop arrives meanwhile.
            with anyio.CancelScope(shield=True):
                await self.state.record(tally.job, tally.report())
        self._job_done(tally)

    def _job_done(self, tally: JobTally) -> None:
        self.tracker.items += tally.total
        self.tracker.jobs_done += 1

    def _watched(self, kind: ListKind, listing: Harvest[T]) -> Harvest[T]:
        """``listing``, its pages counted for the progress display; closed at its block's end."""
        return listing.on_progress(self.tracker.watch(kind))

    # ------------------------------------------------------------------ the result

    def firmware_reports(self) -> tuple[FirmwareReport, ...]:
        reports = []
        for firmware_id, found in sorted(self.firmware.items(), key=lambda kv: kv[1].order):
            jobs = tuple(
                entry.item.report()
                for entry in sorted(self.jobs[firmware_id], key=lambda entry: entry.order)
                if entry.item.done  # a stopped audit reports the jobs it finished
            )
            reports.append(
                from_fields(
                    FirmwareReport,
                    found.item,
                    firmware_id=firmware_id,
                    jobs=jobs,
                    tasks=TaskSummary.combine(job.tasks for job in jobs),
                )
            )
        return tuple(reports)


def _with_defaults(job: OTAJob, firmware: Firmware) -> OTAJob:
    """Fill a batch's package and product from its package when the body left them out."""
    changes: dict[str, Any] = {}
    if not job.firmware_id:
        changes["firmware_id"] = firmware.firmware_id
    if not job.product_key and firmware.product_key:
        changes["product_key"] = firmware.product_key
    return attrs.evolve(job, **changes) if changes else job
