"""Compact storage for the device tasks of one job.

A job's tasks are rows ``0..n-1``. Row ``r`` is the task of device ``devices[r]`` (device
indices within the product, ascending, so a device is found by bisection). The only
per-row state is one status byte; everything else (IDs, times, progress, error text) is
derived from the row number and a per-job seed, and only rows a mutation touched get
explicit values, in arrays allocated on first write. A 10**6-row job therefore costs about
1 MB until somebody cancels it.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Sequence

__all__ = [
    "FINISHED",
    "TASK_STATUSES",
    "UNFINISHED",
    "TaskTable",
    "status_code",
]

#: Every TaskStatus, in the order of their byte codes.
TASK_STATUSES: tuple[str, ...] = (
    "CONFIRM",
    "QUEUED",
    "NOTIFIED",
    "IN_PROGRESS",
    "SUCCEEDED",
    "FAILED",
    "CANCELED",
)
_CODES = {name: code for code, name in enumerate(TASK_STATUSES)}
CONFIRM, QUEUED, NOTIFIED, IN_PROGRESS, SUCCEEDED, FAILED, CANCELED = range(7)
#: Codes of the "unfinished" statuses (ListOTAUnfinishedTaskByDevice).
UNFINISHED = frozenset({CONFIRM, QUEUED, NOTIFIED, IN_PROGRESS})
FINISHED = frozenset({SUCCEEDED, FAILED, CANCELED})

#: Sentinel for "not overridden" in the progress array.
NO_PROGRESS = 255


def status_code(name: str) -> int:
    """Byte code of a TaskStatus name (``KeyError`` if unknown)."""
    return _CODES[name]


class TaskTable:
    """Status bytes plus sparse overrides for the tasks of one job."""

    __slots__ = (
        "_by_status",
        "_desc",
        "_modified",
        "_progress",
        "base_number",
        "devices",
        "revision",
        "src_codes",
        "status",
    )

    def __init__(self, devices: Sequence[int], status: bytearray, base_number: int) -> None:
        if len(devices) != len(status):
            raise ValueError("one status byte per device is required")
        #: Device indices (within the product), strictly ascending: a ``range`` or ``array``.
        self.devices = devices
        #: One TaskStatus code per row.
        self.status = status
        #: Global task number of row 0 (task IDs encode ``base_number + row``).
        self.base_number = base_number
        #: Optional per-row index into the job's source-version table.
        self.src_codes: array[int] | None = None
        self._modified: array[int] | None = None
        self._progress: bytearray | None = None
        self._desc: dict[int, str] | None = None
        self._by_status: dict[int, array[int]] = {}
        #: Status changes so far (:meth:`set_status`): part of the job's ``stamp``.
        self.revision = 0

    def __len__(self) -> int:
        return len(self.status)

    def row_of_device(self, device: int) -> int | None:
        """Row of ``device`` in this job, or ``None`` if the job has no task for it."""
        devices = self.devices
        if isinstance(devices, range):
            if device not in devices:
                return None
            return (device - devices.start) // devices.step
        row = bisect_left(devices, device)
        if row < len(devices) and devices[row] == device:
            return row
        return None

    def rows_with_status(self, code: int) -> array[int]:
        """Rows in status ``code``, ascending (cached until the next status change)."""
        rows = self._by_status.get(code)
        if rows is None:
            status = self.status
            rows = array("I")
            # bytes.find runs in C; for the common statuses a comprehension is just as fast.
            if status.count(code) * 8 < len(status):
                needle = bytes((code,))
                start = status.find(needle)
                while start != -1:
                    rows.append(start)
                    start = status.find(needle, start + 1)
            else:
                rows.extend(row for row, value in enumerate(status) if value == code)
            self._by_status[code] = rows
        return rows

    def counts(self) -> dict[str, int]:
        """Number of tasks per TaskStatus name (zero counts included)."""
        return {name: self.status.count(code) for code, name in enumerate(TASK_STATUSES)}

    def set_status(self, row: int, code: int, now_ms: int, desc: str | None) -> None:
        """Change one row's status and stamp its modification time and description."""
        old = self.status[row]
        self.revision += 1
        if old != code:
            self.status[row] = code
            self._by_status.pop(old, None)
            self._by_status.pop(code, None)
        if self._modified is None:
            self._modified = array("q", bytes(8 * len(self.status)))
        self._modified[row] = now_ms
        if self._desc is None:
            self._desc = {}
        if desc is None:
            self._desc.pop(row, None)
        else:
            self._desc[row] = desc
        if self._progress is not None or code in (QUEUED, CONFIRM):
            if self._progress is None:
                self._progress = bytearray([NO_PROGRESS]) * len(self.status)
            # A re-queued task starts over; other transitions keep the derived progress.
            self._progress[row] = 0 if code in (QUEUED, CONFIRM) else NO_PROGRESS

    def modified_override(self, row: int) -> int:
        """Explicit modification time of ``row`` (epoch ms), 0 if never mutated."""
        return 0 if self._modified is None else self._modified[row]

    def desc_override(self, row: int) -> tuple[bool, str | None]:
        """``(True, text)`` if a mutation set ``row``'s description, else ``(False, None)``."""
        if self._desc is None or self._modified is None or not self._modified[row]:
            return False, None
        return True, self._desc.get(row)

    def progress_override(self, row: int) -> int | None:
        """Explicit progress of ``row`` (0-100) or ``None``."""
        if self._progress is None:
            return None
        value = self._progress[row]
        return None if value == NO_PROGRESS else value
