"""Pages of a job's task list, kept while the job is unchanged.

Building one 100-task page of ``ListOTATaskByJob`` derives every field of every task (two
IDs, a device name, two times, progress, text): about 2.5 ms of the simulator's CPU, most
of what a request costs it. Clients that read the same job read the same pages (100
harvests of one job in ``benchmarks/many_accounts.py``; every re-read of page 1), so the
items of a page are kept and handed out again for as long as the job is unchanged, as a
:class:`~otaclient.simulator.render.KeptList`: encoded to JSON once, too.

"Unchanged" is the job's :attr:`~otaclient.simulator.model.Job.stamp`: it moves with
every assignment to one of the job's fields and every status change of one of its tasks,
which is everything a task item is built from besides the product's name and its device
names and the fleet's ID codecs, none of which ever changes after the fleet is built.
A page built under another stamp is built again.

The cache holds at most ``max_pages`` pages, dropping the least recently read first.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from .model import Job
from .render import KeptList

__all__ = ["PageCache"]


class PageCache:
    """The items of recently read pages, by job and by what selected them.

    >>> cache = PageCache(max_pages=2)
    >>> len(cache)
    0

    Items handed out are shared between requests: callers render them, never change them.
    ``hits`` and ``builds`` count what :meth:`items` did.
    """

    def __init__(self, max_pages: int = 256) -> None:
        if max_pages < 1:
            raise ValueError(f"max_pages must be at least 1, got {max_pages!r}")
        self.max_pages = max_pages
        self._pages: OrderedDict[Hashable, tuple[tuple[int, int], KeptList]] = OrderedDict()
        self.hits = 0
        self.builds = 0

    def items(
        self, job: Job, selection: Hashable, build: Callable[[], list[dict[str, Any]]]
    ) -> KeptList:
        """The items of the page of ``job`` that ``selection`` names (page, size, filter):
        kept ones while the job's stamp is the one they were built under, else ``build()``."""
        key = (job.number, selection)
        stamp = job.stamp
        pages = self._pages
        kept = pages.get(key)
        if kept is not None and kept[0] == stamp:
            pages.move_to_end(key)
            self.hits += 1
            return kept[1]
        items = KeptList(build())
        self.builds += 1
        pages[key] = (stamp, items)
        pages.move_to_end(key)
        if len(pages) > self.max_pages:
            pages.popitem(last=False)
        return items

    def __len__(self) -> int:
        return len(self._pages)
