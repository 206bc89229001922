"""Audit reports as documents: compare two, or render one as a self-contained HTML page.

Both work on the report ``otaclient audit --format json`` writes (the dict
:func:`otaclient.audit.report_to_dict` returns), read back and checked once:

>>> from pathlib import Path
>>> from otaclient.report import diff_reports, parse_report, render_html
>>> old = parse_report(Path("monday.json").read_bytes(), source="monday.json")  # doctest: +SKIP
>>> new = parse_report(Path("tuesday.json").read_bytes(), source="tuesday.json")  # doctest: +SKIP
>>> [job["job_id"] for job in diff_reports(old, new)["jobs"]]  # doctest: +SKIP
>>> Path("tuesday.html").write_text(render_html(new), encoding="utf-8")  # doctest: +SKIP

A document that is not an audit report raises :class:`otaclient.ReportError`, whose
message names the document and the field. ``diff_reports`` returns what ``otaclient diff
--format json`` prints (its shape: :mod:`otaclient._report.diff`); ``render_html`` the page
``otaclient audit --format html`` writes.
"""

from __future__ import annotations

from ._errors import ReportError
from ._report.diff import JobDiff, NewlyFailed, ReportDiff, diff_reports
from ._report.document import Device, Job, Package, Report, parse_report, read_report
from ._report.html import render_page

__all__ = [
    "Device",
    "Job",
    "JobDiff",
    "NewlyFailed",
    "Package",
    "Report",
    "ReportDiff",
    "ReportError",
    "diff_reports",
    "parse_report",
    "read_report",
    "render_html",
]


def render_html(report: Report) -> str:
    """The report as one self-contained HTML page (inline CSS and SVG, no script)."""
    return render_page(report)
