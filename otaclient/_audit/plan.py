"""Reading one job's device tasks by what it costs: whole when small, by status when large.

The first page of the job's task list (100 tasks) tells its size. Reading the rest of a
list of ``P`` pages whole costs ``P - 1`` more pages, fetched concurrently; the reading is
trusted when every page said the same ``Total`` and they hold that many distinct task ids
(a job's tasks are only ever added, never deleted, so that is every task once), and
otherwise the job is read by status. Reading it by status costs, at the least, one count
for each of the four statuses whose members need no look (``CONFIRM``, ``QUEUED``,
``SUCCEEDED``, ``CANCELED``: :func:`~otaclient.audit.count_tasks`), the first page or
pages of ``FAILED`` (as many as ``keep`` failed devices need; their ``Total`` is the
count), and a harvest of each stuck candidate status (``NOTIFIED``, ``IN_PROGRESS``: every
member is looked at, their harvests' ``Total`` are the counts). Whichever costs less is
done, so a job of up to 8 pages is read whole, and a job of 10,000 tasks, 85 % of them
``SUCCEEDED``, costs about a dozen requests rather than 101.

The counts read by status must add up to the first page's ``Total``; when they do not,
``count_tasks`` reads every status again and says which ones moved (``JobReport.moved``)
and, if they never add up, the job's report is ``complete=False``.

Which failed devices a large job lists: the API documents no order for the list, so they
are the newest (by ``UtcModified``) among the first ``keep`` failed tasks the service
lists, not of all of them; the failed count is exact either way.
"""

from __future__ import annotations

import math

import anyio

from .. import ListTooDeepError, OTAClient, OTATask, Page, TaskStatus
from .counting import count_tasks
from .crew import Crew
from .progress import ListKind, ProgressTracker, Reading
from .tally import JobTally

__all__ = ["PAGE_SIZE", "failed_pages", "read_job", "whole_costs_less"]

PAGE_SIZE = 100
"""ListOTATaskByJob's largest page: the first page read of every job."""
_COUNTED = (TaskStatus.CONFIRM, TaskStatus.QUEUED, TaskStatus.SUCCEEDED, TaskStatus.CANCELED)
_HARVESTED = (TaskStatus.NOTIFIED, TaskStatus.IN_PROGRESS)


def failed_pages(keep: int) -> tuple[int, int]:
    """``(page_size, pages)`` of ``FAILED`` to read for ``keep`` failed devices
    (a single one-item page, the count, when none are to be kept).

    >>> failed_pages(50), failed_pages(250), failed_pages(0)
    ((50, 1), (100, 3), (1, 1))
    """
    if keep <= 0:
        return 1, 1
    size = min(PAGE_SIZE, keep)
    return size, math.ceil(keep / size)


def whole_costs_less(total: int, keep: int) -> bool:
    """Whether reading the rest of a job of ``total`` tasks, whose first page is in,
    costs no more requests than the cheapest reading by status could.

    >>> whole_costs_less(200, 50), whole_costs_less(800, 50), whole_costs_less(801, 50)
    (True, True, False)
    """
    rest = math.ceil(total / PAGE_SIZE) - 1
    cheapest = len(_COUNTED) + failed_pages(keep)[1] + len(_HARVESTED)
    return rest <= cheapest


def _every_task_once(total: int, pages: list[Page[OTATask]]) -> bool:
    """Whether ``pages`` hold every task of the job, each once: every page said the same
    ``Total``, and they hold that many different task ids. A job's tasks are never deleted
    (tasks are only added, to a dynamic job), so ``Total`` distinct ids are all of them,
    wherever status changes moved them in the service's order meanwhile."""
    ids = {task.task_id for page in pages for task in page.items}
    held = sum(len(page.items) for page in pages)
    return all(page.total == total for page in pages) and len(ids) == held == total


async def read_job(client: OTAClient, tracker: ProgressTracker, tally: JobTally, keep: int) -> None:
    """Fold every task of ``tally.job`` into ``tally``, by the cheaper plan."""
    job = _JobRead(client, tracker, tally, keep)
    try:
        await job.read()
    finally:
        tracker.job_cost(sum(reading.planned for reading in job.readings))


class _JobRead:
    """The reads of one job, each followed by its own ``Reading``."""

    def __init__(
        self, client: OTAClient, tracker: ProgressTracker, tally: JobTally, keep: int
    ) -> None:
        self.client = client
        self.tracker = tracker
        self.tally = tally
        self.keep = keep
        self.job_id = str(tally.job.job_id)
        self.readings: list[Reading] = []
        self.known: dict[str, int] = {}
        self._later: list[Page[OTATask]] = []

    def reading(self, kind: ListKind) -> Reading:
        reading = self.tracker.reading(kind)
        self.readings.append(reading)
        return reading

    async def read(self) -> None:
        first = await self._page(1)
        if whole_costs_less(first.total, self.keep):
            pages = await self._rest(first)
            if _every_task_once(first.total, pages):
                for page in pages:
                    for task in page.items:
                        self.tally.add(task)
                return
        await self._by_status(total=max(page.total for page in (first, *self._later)))

    async def _page(self, number: int) -> Page[OTATask]:
        reading = self.reading("tasks" if number == 1 else "detail")
        reading.plan(1)
        try:
            return await self.client.list_ota_task_by_job(
                job_id=self.job_id, page_size=PAGE_SIZE, current_page=number
            )
        finally:
            reading.answered()
            reading.close()

    async def _rest(self, first: Page[OTATask]) -> list[Page[OTATask]]:
        """Pages 2 to the last, concurrently, after ``first``; all of them in page order."""
        last = math.ceil(first.total / PAGE_SIZE)
        found: dict[int, Page[OTATask]] = {1: first}

        async def fetch(number: int) -> None:
            found[number] = await self._page(number)

        async with anyio.create_task_group() as group:
            crew = Crew(group)
            for number in range(2, last + 1):
                crew.start_soon(fetch, number)
        crew.raise_failure()
        self._later = [found[number] for number in range(2, last + 1)]
        return [found[number] for number in sorted(found)]

    async def _by_status(self, *, total: int) -> None:
        async with anyio.create_task_group() as group:
            crew = Crew(group)
            for status in _HARVESTED:
                crew.start_soon(self._harvest_status, status)
            crew.start_soon(self._read_failed)
        crew.raise_failure()
        known = self.known
        reading = self.reading("detail")
        try:
            counts = await count_tasks(
                self.client,
                self.job_id,
                statuses=[status for status in TaskStatus if status not in known],
                known=known,
                total=total,
                on_request=reading.on_request,
            )
        finally:
            reading.close()
        self.tally.set_counts(counts.counts, complete=counts.complete, moved=counts.moved)

    async def _harvest_status(self, status: TaskStatus) -> None:
        reading = self.reading("detail")
        harvest = self.client.iter_ota_task_by_job(job_id=self.job_id, task_status=status)
        members = 0
        try:
            async with harvest.on_progress(reading.follow):
                async for task in harvest:
                    if task.task_status == status:  # a list split by status holds others
                        members += 1
                        self.tally.examine(task)
        except ListTooDeepError:
            members = -1
        finally:
            reading.close()
        if members == harvest.progress.total:
            self.known[status] = members
        else:  # counted by count_tasks instead; not every member was looked at
            self.tally.complete = False

    async def _read_failed(self) -> None:
        size, pages = failed_pages(self.keep)
        reading = self.reading("detail")
        reading.plan(1)
        seen: set[str | None] = set()
        total = 0
        try:
            for number in range(1, pages + 1):
                page = await self.client.list_ota_task_by_job(
                    job_id=self.job_id,
                    task_status=TaskStatus.FAILED,
                    page_size=size,
                    current_page=number,
                )
                reading.answered()
                total = page.total
                for task in page.items:
                    if self.keep and task.task_id not in seen:
                        seen.add(task.task_id)
                        self.tally.examine(task)
                if number * size >= total:
                    break
                reading.plan(1)
        finally:
            reading.close()
        self.known[TaskStatus.FAILED] = total
