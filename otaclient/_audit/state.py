"""``AuditState``: what audits have read, kept in a SQLite file, so that reading is not redone.

Two uses, one file (``otaclient audit --state FILE``):

* **Resuming.** An audit records each batch as soon as it has been read. An audit that is
  interrupted leaves its run unfinished; the next audit with the same file and the same
  settings (scope, ``stuck_after``, ``max_devices_per_job``) resumes that run: same
  ``now``, and every batch the run had read is taken from the file instead of being read
  again, as long as its ``UtcModified`` has not moved.
* **Batches that cannot change.** A later audit (a new run) takes a batch from the file
  only when all of this holds: its status was final (``COMPLETED`` or ``CANCELED``) when
  its tasks were read, so they were read after it finished; none of its tasks was
  unfinished then (a task of a cancelled batch left ``IN_PROGRESS`` could still move);
  its ``UtcModified`` is still the one recorded (re-upgrading or cancelling its tasks
  changes it); and the settings are the same. Everything else is read again.

The package and batch listings are always read again: they are a few requests, and they
are what shows whether a batch moved. SQLite is used through the standard library's
``sqlite3``, every call in a worker thread (``anyio.to_thread``), one at a time.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import anyio
import attrs

from .. import JobStatus, OTAError, OTAJob
from .report import DeviceIssue, JobReport, TaskSummary

__all__ = ["AuditState", "StoredJob"]

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    settings TEXT NOT NULL,
    now TEXT NOT NULL,
    finished INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT PRIMARY KEY,
    run_id INTEGER NOT NULL,
    settings TEXT NOT NULL,
    job_status TEXT,
    utc_modified TEXT,
    report TEXT NOT NULL
);
"""
_FINAL = (JobStatus.COMPLETED, JobStatus.CANCELED, "COMPLETE")


@attrs.frozen
class StoredJob:
    """A batch's counts and devices as an audit recorded them."""

    tasks: TaskSummary
    failed_devices: tuple[DeviceIssue, ...]
    stuck_devices: tuple[DeviceIssue, ...]
    complete: bool
    moved: tuple[str, ...]


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _issue_data(issue: DeviceIssue) -> dict[str, Any]:
    data = attrs.asdict(issue)
    data["utc_modified"] = _time(issue.utc_modified)
    return data


def _issue(data: dict[str, Any]) -> DeviceIssue:
    modified = data.get("utc_modified")
    return DeviceIssue(**{**data, "utc_modified": modified and datetime.fromisoformat(modified)})


def _encode(report: JobReport) -> str:
    return json.dumps(
        {
            "counts": report.tasks.counts,
            "stuck": report.tasks.stuck,
            "failed_devices": [_issue_data(issue) for issue in report.failed_devices],
            "stuck_devices": [_issue_data(issue) for issue in report.stuck_devices],
            "complete": report.complete,
            "moved": list(report.moved),
        }
    )


def _decode(text: str) -> StoredJob:
    data = json.loads(text)
    return StoredJob(
        tasks=TaskSummary(data["counts"], data["stuck"]),
        failed_devices=tuple(_issue(item) for item in data["failed_devices"]),
        stuck_devices=tuple(_issue(item) for item in data["stuck_devices"]),
        complete=bool(data["complete"]),
        moved=tuple(data["moved"]),
    )


class AuditState:
    """An open state file; pass it to :func:`~otaclient.audit.audit_fleet` as ``state=``.

    >>> async with await AuditState.open("audit.sqlite") as state:     # doctest: +SKIP
    ...     report = await audit_fleet(client, state=state)

    What an audit trusts from the file is in this module's docstring and the README
    ("Resumable audits").
    """

    def __init__(self, path: Path, connection: sqlite3.Connection) -> None:
        self.path = path
        self._db = connection
        self._lock = anyio.Lock()
        self._run: int | None = None
        self._settings = ""
        self.reused = 0
        """Batches taken from the file by the current run."""

    @classmethod
    async def open(cls, path: str | Path) -> AuditState:
        """Open (or create) the state file at ``path``; an unusable file is an ``OTAError``."""
        where = Path(path)

        def connect() -> sqlite3.Connection:
            db = sqlite3.connect(where, check_same_thread=False)
            try:
                db.executescript(_SCHEMA)
            except sqlite3.DatabaseError:
                db.close()
                raise
            return db

        try:
            return cls(where, await anyio.to_thread.run_sync(connect))
        except sqlite3.Error as exc:
            raise OTAError(f"cannot use {where} as an audit state file: {exc}") from None

    async def aclose(self) -> None:
        """Close the file."""
        await self._call(self._db.close)

    async def __aenter__(self) -> AuditState:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _call(self, func: Callable[[], T]) -> T:
        async with self._lock:  # one connection: one statement at a time
            try:
                return await anyio.to_thread.run_sync(func)
            except sqlite3.Error as exc:
                raise OTAError(f"audit state file {self.path}: {exc}") from None

    # ------------------------------------------------------------------ one run

    async def begin(
        self,
        *,
        product_keys: tuple[str, ...] | None,
        stuck_after: timedelta,
        keep: int,
        now: datetime,
    ) -> datetime:
        """Start a run, or resume the last one if it was interrupted with the same
        settings; returns the run's ``now`` (the resumed run's own)."""
        self._settings = json.dumps(
            {"scope": product_keys, "stuck_after": stuck_after.total_seconds(), "keep": keep}
        )

        def begin() -> tuple[int, str]:
            row = self._db.execute(
                "SELECT id, now FROM runs WHERE finished = 0 AND settings = ? "
                "ORDER BY id DESC LIMIT 1",
                (self._settings,),
            ).fetchone()
            if row is not None:
                return int(row[0]), str(row[1])
            with self._db:
                cursor = self._db.execute(
                    "INSERT INTO runs (settings, now) VALUES (?, ?)",
                    (self._settings, now.isoformat()),
                )
            return int(cursor.lastrowid or 0), now.isoformat()

        self._run, started = await self._call(begin)
        self.reused = 0
        return datetime.fromisoformat(started)

    async def finish(self) -> None:
        """The run read everything: the next audit starts a new one."""
        run = self._run

        def finish() -> None:
            with self._db:
                self._db.execute("UPDATE runs SET finished = 1 WHERE id = ?", (run,))

        await self._call(finish)

    async def lookup(self, job: OTAJob) -> StoredJob | None:
        """``job``'s recorded counts, if the current run may trust them (module docstring)."""
        run, settings = self._run, self._settings

        def lookup() -> tuple[Any, ...] | None:
            row: tuple[Any, ...] | None = self._db.execute(
                "SELECT run_id, job_status, utc_modified, report FROM jobs "
                "WHERE job_id = ? AND settings = ?",
                (job.job_id, settings),
            ).fetchone()
            return row

        row = await self._call(lookup)
        if row is None:
            return None
        run_id, status, modified, report = row
        stored = _decode(report)
        if modified != _time(job.utc_modified):
            return None
        finished = status in _FINAL and str(job.job_status) in _FINAL
        if run_id != run and not (finished and stored.tasks.unfinished == 0):
            return None
        self.reused += 1
        return stored

    async def record(self, job: OTAJob, report: JobReport) -> None:
        """Keep ``report``, just read, for this run and later ones."""
        values = (
            report.job_id,
            self._run,
            self._settings,
            None if job.job_status is None else str(job.job_status),
            _time(job.utc_modified),
            _encode(report),
        )

        def record() -> None:
            with self._db:
                self._db.execute(
                    "INSERT OR REPLACE INTO jobs "
                    "(job_id, run_id, settings, job_status, utc_modified, report) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    values,
                )

        await self._call(record)
