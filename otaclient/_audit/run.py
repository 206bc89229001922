"""``audit_fleet``: every package, every batch of each, every device task of each batch.

Everything is read concurrently in one task group: the package listings, each package's
batch listing (started as soon as the package is seen), and each batch's device tasks
(started as soon as the batch is seen). The client's limiter paces every request, so the
fan-out only needs two bounds of its own: pages in flight (``max_pages_in_flight``, which
also bounds the pages held in memory) and batches being harvested at once. Tasks are folded
into per-batch counters as pages arrive and then dropped (see ``tally``).

ListOTATaskByJob serves at most 100,000 tasks per listing (``CurrentPage * PageSize``); a
batch larger than that is read status by status (the documented statuses), and if one
status alone is still larger, its report says ``complete=False`` rather than failing the
whole audit.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import attrs

from .._client import OTAClient
from .._errors import ValidationError
from .._models import Firmware, OTAJob, Page, TaskStatus
from .crew import Crew
from .pages import Fetch, OnPage, first_page, read_pages
from .progress import ListKind, ProgressCallback, ProgressTracker
from .report import AuditStats, FirmwareReport, FleetReport, TaskSummary
from .tally import JobTally

__all__ = ["DEFAULT_STUCK_AFTER", "audit_fleet"]

DEFAULT_STUCK_AFTER = timedelta(hours=24)
TASK_PAGE_SIZE = 100
MAX_TASK_OFFSET = 100_000
MAX_TASK_PAGE = MAX_TASK_OFFSET // TASK_PAGE_SIZE
MAX_JOBS_IN_FLIGHT = 64


async def audit_fleet(
    client: OTAClient,
    *,
    product_keys: Iterable[str] | None = None,
    stuck_after: timedelta = DEFAULT_STUCK_AFTER,
    now: datetime | None = None,
    progress: ProgressCallback | None = None,
    max_devices_per_job: int = 50,
    max_pages_in_flight: int = 16,
) -> FleetReport:
    """Audit the OTA state of a fleet: every package, batch and device task in scope.

    ``product_keys`` limits the audit to those products (``None`` or empty: every product
    of the account). A task is *stuck* when it is ``NOTIFIED`` or ``IN_PROGRESS`` and was
    last modified more than ``stuck_after`` before ``now`` (default: the current time; pass
    an aware ``datetime`` to audit "as of" another moment). ``progress`` is called with an
    :class:`~otaclient.audit.AuditProgress` after every page. Each batch keeps at most
    ``max_devices_per_job`` failed and as many stuck devices (the counts are always exact).

    The first request that still fails after the client's retries stops the audit and is
    raised as is (``APIError``, ``ThrottlingError``, ``TransportError``, ...).

    >>> async with OTAClient(region_id="cn-shanghai") as client:      # doctest: +SKIP
    ...     report = await audit_fleet(client, product_keys=["a1B2c3"])
    >>> report.totals.tasks.success_rate                              # doctest: +SKIP
    0.93
    """
    if not isinstance(stuck_after, timedelta) or stuck_after < timedelta(0):
        raise ValidationError(f"stuck_after must be a non-negative timedelta, got {stuck_after!r}")
    if now is None:
        now = datetime.now(UTC)
    elif now.tzinfo is None or now.utcoffset() is None:
        raise ValidationError("now must be a timezone-aware datetime")
    for name, value, low in (
        ("max_devices_per_job", max_devices_per_job, 0),
        ("max_pages_in_flight", max_pages_in_flight, 1),
    ):
        if not isinstance(value, int) or value < low:
            raise ValidationError(f"{name} must be an integer >= {low}, got {value!r}")
    scope = _scope(product_keys)
    tracker = ProgressTracker(client, progress)
    audit = _Audit(
        client,
        tracker,
        now=now,
        stuck_after=stuck_after,
        keep=max_devices_per_job,
        pages_in_flight=max_pages_in_flight,
    )
    await audit.run(scope)
    tracker.finish()
    stats = tracker.stats()
    return FleetReport.build(
        generated_at=now,
        stuck_after=stuck_after,
        product_keys=scope,
        firmware=audit.firmware_reports(),
        stats=AuditStats(
            requests=stats["attempts"],
            retries=stats["retries"],
            throttled=stats["throttled"],
            pages=tracker.pages_done,
            elapsed_seconds=round(tracker.elapsed, 3),
        ),
    )


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
        pages_in_flight: int,
    ) -> None:
        self.client = client
        self.tracker = tracker
        self.now = now
        self.stuck_after = stuck_after
        self.keep = keep
        self.page_slots = anyio.Semaphore(pages_in_flight)
        self.job_slots = anyio.Semaphore(MAX_JOBS_IN_FLIGHT)
        self.firmware: dict[str, _Found] = {}
        self.jobs: dict[str, list[_Found]] = {}
        self.job_ids: set[str] = set()
        self.crew: Crew

    async def run(self, scope: tuple[str, ...] | None) -> None:
        async with anyio.create_task_group() as task_group:
            self.crew = Crew(task_group)
            for index, product_key in enumerate(scope or (None,)):
                self.tracker.listing_opened()
                self.crew.start_soon(self._list_firmware, index, product_key)
        self.crew.raise_failure()

    # ------------------------------------------------------------------ the three lists

    async def _list_firmware(self, index: int, product_key: str | None) -> None:
        async def fetch(number: int) -> Page[Any]:
            return await self.client.list_ota_firmware(current_page=number, product_key=product_key)

        async def on_page(page: Page[Any]) -> None:
            for position, firmware in enumerate(page.items):
                firmware_id = firmware.firmware_id
                if not firmware_id or firmware_id in self.firmware:
                    continue
                if product_key and firmware.product_key not in (None, product_key):
                    continue  # a service that ignored the ProductKey filter
                self.firmware[firmware_id] = _Found((index, page.current_page, position), firmware)
                self.jobs[firmware_id] = []
                self.tracker.firmware += 1
                self.tracker.listing_opened()
                self.crew.start_soon(self._list_jobs, firmware)
            self.tracker.page_done()

        try:
            await self._read_list("firmware", fetch, on_page)
        finally:
            self.tracker.listing_closed()

    async def _list_jobs(self, firmware: Firmware) -> None:
        firmware_id = str(firmware.firmware_id)

        async def fetch(number: int) -> Page[Any]:
            return await self.client.list_ota_job_by_firmware(
                firmware_id=firmware_id, current_page=number
            )

        async def on_page(page: Page[Any]) -> None:
            found = self.jobs[firmware_id]
            for position, job in enumerate(page.items):
                if not job.job_id or job.job_id in self.job_ids:
                    continue
                self.job_ids.add(job.job_id)
                job = _with_defaults(job, firmware)
                tally = JobTally(job, now=self.now, stuck_after=self.stuck_after, keep=self.keep)
                found.append(_Found((page.current_page, position), tally))
                self.tracker.jobs += 1
                self.tracker.list_started("tasks")
                await self.job_slots.acquire()
                self.crew.start_soon(self._harvest_tasks, tally)
            self.tracker.page_done()

        try:
            await self._read_list("jobs", fetch, on_page)
        finally:
            self.tracker.listing_closed()

    async def _harvest_tasks(self, tally: JobTally) -> None:
        try:
            first = await first_page(self._task_fetch(tally, None), self.page_slots)
            if first.page_count <= MAX_TASK_PAGE:
                self.tracker.list_sized("tasks", max(1, first.page_count))
                tally.complete = await self._read_tasks(tally, None, first)
            else:
                # Too deep for one listing: read each status on its own.
                self.tracker.list_sized("tasks", 1)
                self.tracker.page_done()
                for status in TaskStatus:
                    self.tracker.list_started("tasks")
                    fetch = self._task_fetch(tally, status)
                    part = await first_page(fetch, self.page_slots)
                    self.tracker.list_sized("tasks", max(1, min(part.page_count, MAX_TASK_PAGE)))
                    if not await self._read_tasks(tally, status, part):
                        tally.complete = False
            self.tracker.jobs_done += 1
        finally:
            self.job_slots.release()

    # ------------------------------------------------------------------ helpers

    def _task_fetch(self, tally: JobTally, status: TaskStatus | None) -> Fetch:
        job_id = str(tally.job.job_id)

        async def fetch(number: int) -> Page[Any]:
            return await self.client.list_ota_task_by_job(
                job_id=job_id, task_status=status, current_page=number, page_size=TASK_PAGE_SIZE
            )

        return fetch

    async def _read_tasks(
        self, tally: JobTally, status: TaskStatus | None, first: Page[Any]
    ) -> bool:
        async def on_page(page: Page[Any]) -> None:
            tally.add_page(page.items)
            self.tracker.page_done(len(page.items))

        return await read_pages(
            self._task_fetch(tally, status),
            on_page,
            first=first,
            slots=self.page_slots,
            crew=self.crew,
            max_page=MAX_TASK_PAGE,
            on_grow=lambda extra: self.tracker.list_resized("tasks", extra),
        )

    async def _read_list(self, kind: ListKind, fetch: Fetch, on_page: OnPage) -> None:
        self.tracker.list_started(kind)
        first = await first_page(fetch, self.page_slots)
        self.tracker.list_sized(kind, max(1, first.page_count))
        await read_pages(
            fetch,
            on_page,
            first=first,
            slots=self.page_slots,
            crew=self.crew,
            on_grow=lambda extra: self.tracker.list_resized(kind, extra),
        )

    # ------------------------------------------------------------------ the result

    def firmware_reports(self) -> tuple[FirmwareReport, ...]:
        reports = []
        for firmware_id, found in sorted(self.firmware.items(), key=lambda kv: kv[1].order):
            firmware: Firmware = found.item
            jobs = tuple(
                entry.item.report()
                for entry in sorted(self.jobs[firmware_id], key=lambda entry: entry.order)
            )
            reports.append(
                FirmwareReport(
                    firmware_id=firmware_id,
                    firmware_name=firmware.firmware_name,
                    product_key=firmware.product_key,
                    product_name=firmware.product_name,
                    module_name=firmware.module_name,
                    src_version=firmware.src_version,
                    dest_version=firmware.dest_version,
                    status=firmware.status,
                    type=firmware.type,
                    utc_create=firmware.utc_create,
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
