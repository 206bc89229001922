"""Counting a job's device tasks by status: one one-item page per status, exact or said not to be.

``ListOTATaskByJob`` filtered by ``TaskStatus`` with ``PageSize=1`` answers "how many tasks
of this job are in this status" in one request (its ``Total``). A *round* reads the
statuses asked for concurrently; their counts, plus the counts already ``known`` for the
other statuses, must add up to the job's ``Total``. When they do not (a task changed status
between two reads and was counted twice or not at all, the job grew, a status was left out
as unchanging and did change), every status and the job's ``Total`` are read again, and a
status whose count differs from the reading before is reported as ``moved``. After
``max_rounds`` rounds that still do not add up, the counts are returned with
``complete=False``: never silently off.

What a round cannot see: two moves between its reads that cancel out in the sum (one task
counted twice while another was missed). The counts are then each exact as of the moment
they were read, within the round's few requests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

import anyio
import attrs

from .. import OTAClient, TaskStatus, ValidationError
from .crew import Crew

__all__ = ["DEFAULT_COUNT_ROUNDS", "TaskCounts", "count_tasks", "statuses_that_can_change"]

DEFAULT_COUNT_ROUNDS = 3

# Where a task can go from each status (a re-upgrade puts FAILED and CANCELED back in
# QUEUED or CONFIRM: an operator's act, which the sum check catches).
_NEXT: dict[str, tuple[str, ...]] = {
    TaskStatus.CONFIRM: (TaskStatus.QUEUED, TaskStatus.CANCELED),
    TaskStatus.QUEUED: (
        TaskStatus.NOTIFIED,
        TaskStatus.IN_PROGRESS,
        TaskStatus.FAILED,
        TaskStatus.CANCELED,
    ),
    TaskStatus.NOTIFIED: (
        TaskStatus.IN_PROGRESS,
        TaskStatus.SUCCEEDED,
        TaskStatus.FAILED,
        TaskStatus.CANCELED,
    ),
    TaskStatus.IN_PROGRESS: (TaskStatus.SUCCEEDED, TaskStatus.FAILED, TaskStatus.CANCELED),
}

AnswerCallback = Callable[[int], None]
"""``on_request(n)``: ``n`` more count requests are planned (``n > 0``) or one was answered
(``n == 0``)."""


def _every_status(counts: Mapping[str, int]) -> dict[str, int]:
    full = {str(status): 0 for status in TaskStatus}
    full.update({str(status): int(count) for status, count in counts.items()})
    return full


@attrs.frozen
class TaskCounts:
    """A job's device tasks by status, as :func:`count_tasks` read them.

    * ``counts``: status -> tasks, for every ``TaskStatus``;
    * ``total``: the job's ``Total`` (every task, whatever its status);
    * ``complete``: the counts add up to ``total``; ``False`` when they still did not after
      every round (they are then each as last read);
    * ``moved``: statuses whose count changed between two rounds (empty when the first
      round added up);
    * ``requests``: the requests the counting cost (retries not included).

    >>> c = TaskCounts({"SUCCEEDED": 8, "FAILED": 2}, total=10, complete=True)
    >>> c.unfinished, c.finished, c.success_rate
    (0, 10, 0.8)
    """

    counts: dict[str, int] = attrs.field(converter=_every_status)
    total: int
    complete: bool
    moved: tuple[str, ...] = ()
    requests: int = 0

    @property
    def finished(self) -> int:
        """Tasks ``SUCCEEDED``, ``FAILED`` or ``CANCELED``."""
        return sum(
            self.counts[s] for s in (TaskStatus.SUCCEEDED, TaskStatus.FAILED, TaskStatus.CANCELED)
        )

    @property
    def unfinished(self) -> int:
        """Tasks ``CONFIRM``, ``QUEUED``, ``NOTIFIED`` or ``IN_PROGRESS``."""
        return sum(self.counts[s] for s in _NEXT)

    @property
    def success_rate(self) -> float | None:
        """``SUCCEEDED / finished``; ``None`` while nothing has finished."""
        finished = self.finished
        return self.counts[TaskStatus.SUCCEEDED] / finished if finished else None

    @property
    def failure_rate(self) -> float | None:
        """``FAILED / finished``; ``None`` while nothing has finished."""
        finished = self.finished
        return self.counts[TaskStatus.FAILED] / finished if finished else None


def statuses_that_can_change(counts: TaskCounts) -> tuple[str, ...]:
    """The statuses whose count can differ at the next reading: an unfinished status that
    holds tasks (they can leave it), and every status they can reach from it.

    >>> c = TaskCounts({"IN_PROGRESS": 3, "SUCCEEDED": 7}, total=10, complete=True)
    >>> statuses_that_can_change(c)
    ('IN_PROGRESS', 'SUCCEEDED', 'FAILED', 'CANCELED')
    """
    changing: set[str] = set()
    reach = [status for status in _NEXT if counts.counts[status]]
    while reach:  # a task can cross several statuses between two readings
        status = reach.pop()
        if status not in changing:
            changing.add(status)
            reach.extend(_NEXT.get(status, ()))
    return tuple(str(status) for status in TaskStatus if status in changing)


async def count_tasks(
    client: OTAClient,
    job_id: str,
    *,
    statuses: Iterable[TaskStatus | str] | None = None,
    known: Mapping[str, int] | None = None,
    total: int | None = None,
    max_rounds: int = DEFAULT_COUNT_ROUNDS,
    on_request: AnswerCallback | None = None,
) -> TaskCounts:
    """Count ``job_id``'s device tasks by status: one ``ListOTATaskByJob`` request with
    ``TaskStatus`` and ``PageSize=1`` per status, concurrently (paced by the client).

    ``statuses``: the statuses to read (default: every ``TaskStatus``); the others are
    taken from ``known`` (status -> count, e.g. from a harvest of that status or the
    last poll; absent ones are 0). ``total``: the job's task count when already known
    (else it is read too, one request). When the counts do not add up to the total, every
    status and the total are read again, up to ``max_rounds`` rounds in all; the result
    says which statuses ``moved`` and whether the counts are ``complete``.

    >>> counts = await count_tasks(client, "job-1")                     # doctest: +SKIP
    >>> counts.counts["FAILED"], counts.total, counts.complete           # doctest: +SKIP
    (12, 1000, True)
    """
    if not isinstance(max_rounds, int) or max_rounds < 1:
        raise ValidationError(f"max_rounds must be an integer >= 1, got {max_rounds!r}")
    if not job_id:
        raise ValidationError("count_tasks needs a job_id")
    every = tuple(str(status) for status in TaskStatus)
    wanted = every if statuses is None else tuple(_status(s) for s in statuses)
    counts = {status: int(count) for status, count in (known or {}).items()}
    counter = _Counter(client, job_id, on_request)
    moved: set[str] = set()
    for number in range(1, max_rounds + 1):
        read_total = total is None or number > 1
        found, new_total = await counter.round(wanted, read_total)
        if number > 1:
            moved.update(s for s, n in found.items() if counts.get(s, 0) != n)
        counts.update(found)
        if new_total is not None:
            total = new_total
        assert total is not None
        if sum(counts.values()) == total:
            return TaskCounts(counts, total, True, _in_order(moved), counter.requests)
        wanted = every  # a status left out as unchanging may be the one that changed
    assert total is not None
    return TaskCounts(counts, total, False, _in_order(moved), counter.requests)


def _status(value: TaskStatus | str) -> str:
    try:
        return str(TaskStatus(str(value).upper()))
    except ValueError:
        known = ", ".join(TaskStatus)
        raise ValidationError(f"{value!r} is not a task status (one of {known})") from None


def _in_order(statuses: set[str]) -> tuple[str, ...]:
    return tuple(str(s) for s in TaskStatus if s in statuses)


class _Counter:
    """Reads one round of counts for one job, concurrently."""

    def __init__(self, client: OTAClient, job_id: str, on_request: AnswerCallback | None) -> None:
        self._client = client
        self._job_id = job_id
        self._tell = on_request or (lambda n: None)
        self.requests = 0

    async def round(
        self, statuses: tuple[str, ...], read_total: bool
    ) -> tuple[dict[str, int], int | None]:
        found: dict[str, int] = {}
        whole: list[int] = []
        self._tell(len(statuses) + read_total)
        async with anyio.create_task_group() as group:
            crew = Crew(group)
            for status in statuses:
                crew.start_soon(self._one, status, found)
            if read_total:
                crew.start_soon(self._whole, whole)
        crew.raise_failure()
        return found, (whole[0] if whole else None)

    async def _one(self, status: str, found: dict[str, int]) -> None:
        found[status] = await self._total(status)

    async def _whole(self, whole: list[int]) -> None:
        whole.append(await self._total(None))

    async def _total(self, status: str | None) -> int:
        self.requests += 1
        page = await self._client.list_ota_task_by_job(
            job_id=self._job_id, task_status=status, page_size=1
        )
        self._tell(0)
        return page.total
