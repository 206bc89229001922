"""The audit as one self-contained HTML page (``otaclient audit --format html``).

Nothing is fetched: the style sheet is inline (``page.css``), the charts are inline SVG
(``svg.py``), there is no script, image, font or link to anywhere but the page's own
sections. Every text from the report is escaped (``markup.py``).

Sections, in order: fleet totals (with the fleet's tasks by status); task status per
batch; success rate per package; how long stuck devices have been stuck; failed devices;
stuck devices; every batch in a table.

Large fleets stay readable: the per-batch chart shows the ``CHART_ROWS`` batches with the
most failed plus stuck devices (running ones first among equals) and says how many it left
out, the package chart the ``CHART_ROWS`` packages with the lowest success rate, and the
device tables the ``DEVICE_ROWS`` most recent failures and longest-stuck devices. The
table of batches at the end always lists every batch of the report.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime
from importlib import resources

from ..audit import FINISHED, SUCCESS_RATE_DEFINITION
from .document import Device, Job, Report
from .markup import Html, element, join, void
from .svg import BAR_ORDER, bar, colour, legend, stacked_bar

__all__ = ["CHART_ROWS", "DEVICE_ROWS", "render_page"]

CHART_ROWS = 50
"""Rows of the per-batch and per-package charts at most."""
DEVICE_ROWS = 500
"""Rows of each device table at most."""

#: Stuck-age histogram bins: (upper bound in seconds, label); the last is open-ended.
_AGE_BINS: tuple[tuple[float, str], ...] = (
    (3600, "under 1 hour"),
    (6 * 3600, "1-6 hours"),
    (86400, "6-24 hours"),
    (2 * 86400, "1-2 days"),
    (7 * 86400, "2-7 days"),
    (14 * 86400, "7-14 days"),
    (30 * 86400, "14-30 days"),
    (90 * 86400, "30-90 days"),
    (float("inf"), "90 days or more"),
)
_HISTOGRAM_FILL = "#2f62c4"
_UNKNOWN_AGE = "age unknown"


def render_page(report: Report, *, title: str = "Fleet audit") -> str:
    """The whole page, as text."""
    statuses = _statuses(report.jobs)
    body = join(
        [
            _header(report, title),
            _totals(report, statuses),
            _jobs_chart(report, statuses),
            _packages_chart(report),
            _stuck_ages(report),
            _failed_table(report),
            _stuck_table(report),
            _jobs_table(report),
            _footer(report),
        ]
    )
    head = join(
        [
            void("meta", charset="utf-8"),
            void("meta", name="viewport", content="width=device-width, initial-scale=1"),
            void("meta", name="color-scheme", content="light"),
            element("title", f"{title} - {report.generated_at_text or 'undated'}"),
            element("style", Html(_stylesheet())),
        ]
    )
    page = element("html", join([element("head", head), element("body", body)]), lang="en")
    return f"<!DOCTYPE html>\n{page}\n"


def _version() -> str:
    from .. import __version__

    return __version__


def _stylesheet() -> str:
    return resources.files(__package__).joinpath("page.css").read_text(encoding="utf-8")


# ------------------------------------------------------------------ helpers


def _statuses(jobs: Iterable[Job]) -> list[str]:
    """Every status present, in bar order, then unknown ones alphabetically."""
    seen = {status for job in jobs for status, count in job.task_counts.items() if count}
    return [s for s in BAR_ORDER if s in seen] + sorted(seen - set(BAR_ORDER))


def _parts(counts: dict[str, int] | Counter[str], statuses: Sequence[str]) -> list[tuple[str, int]]:
    return [(status, counts.get(status, 0)) for status in statuses]


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _rate(succeeded: int, finished: int) -> float | None:
    return succeeded / finished if finished else None


def _age(seconds: float) -> str:
    """A duration as the two largest units: ``3 d 4 h``, ``5 h 12 min``, ``40 s``."""
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min" if minutes else f"{secs} s"


def _when(moment: datetime | None, text: str | None) -> str:
    if moment is None:
        return text or "-"
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _package(report: Report, job: Job) -> str:
    package = report.package_of(job)
    return package.label if package else (job.firmware_id or "-")


def _section(anchor: str, heading: str, *content: str | None) -> Html:
    return element("section", element("h2", heading), *content, id=anchor)


def _scrolling(table: Html) -> Html:
    return element("div", table, class_="scroll")


def _table(
    headers: Sequence[tuple[str, str | None]], rows: Iterable[Sequence[tuple[str, str | None]]]
) -> Html:
    """A table; each header and cell is ``(content, css class or None)``."""
    head = element(
        "tr", join(element("th", text, class_=css, scope="col") for text, css in headers)
    )
    body = join(
        element("tr", join(element("td", text, class_=css) for text, css in row)) for row in rows
    )
    return _scrolling(element("table", element("thead", head), element("tbody", body)))


#: A job status drawn in the colour of the task status it resembles.
_JOB_STATUS_COLOURS = {
    "COMPLETED": "SUCCEEDED",
    "IN_PROGRESS": "IN_PROGRESS",
    "CANCELED": "CANCELED",
    "PLANNED": "QUEUED",
}


def _status_cell(status: str | None, *, of_job: bool = False) -> tuple[str, str | None]:
    if not status:
        return ("-", None)
    fill = colour(_JOB_STATUS_COLOURS.get(status, status) if of_job else status)
    return (element("span", status, class_="status", style=f"--swatch:{fill}"), None)


def _chart_row(label: str, bar_svg: str, value: str) -> Html:
    return element(
        "li",
        element("div", label, class_="label"),
        bar_svg,
        element("div", value, class_="value"),
    )


# ------------------------------------------------------------------ sections


def _header(report: Report, title: str) -> Html:
    scope = ", ".join(report.product_keys) if report.product_keys else "all products"
    stuck = (
        f"{report.stuck_after_seconds / 3600:g} h"
        if report.stuck_after_seconds is not None
        else "the audit's --stuck-after"
    )
    links = [
        ("totals", "Totals"),
        ("jobs-chart", "Batches"),
        ("packages", "Packages"),
        ("stuck-ages", "Stuck ages"),
        ("failed", "Failed devices"),
        ("stuck", "Stuck devices"),
        ("all-jobs", "All batches"),
    ]
    return element(
        "header",
        element("h1", title),
        element(
            "p",
            f"Scope: {scope}. Generated {_when(report.generated_at, report.generated_at_text)}. "
            f"A device is stuck when its task is NOTIFIED or IN_PROGRESS and was not modified "
            f"for {stuck}.",
            class_="muted",
        ),
        element(
            "nav", join((element("a", text, href=f"#{anchor}") for anchor, text in links), " ")
        ),
    )


def _totals(report: Report, statuses: list[str]) -> Html:
    counts: Counter[str] = Counter()
    for job in report.jobs:
        counts.update(job.task_counts)
    finished = sum(counts.get(status, 0) for status in FINISHED)
    total = sum(counts.values())
    products = {job.product_key for job in report.jobs if job.product_key}
    products |= {p.product_key for p in report.packages.values() if p.product_key}
    packages = set(report.packages) | {job.firmware_id for job in report.jobs if job.firmware_id}
    failed = sum(job.failed_count for job in report.jobs)
    stuck = sum(job.stuck_count for job in report.jobs)
    cards = [
        ("Products", f"{len(products):,}", False),
        ("Packages", f"{len(packages):,}", False),
        ("Batches", f"{len(report.jobs):,}", False),
        ("Batches running", f"{sum(job.running for job in report.jobs):,}", False),
        ("Device tasks", f"{total:,}", False),
        ("Succeeded", f"{counts.get('SUCCEEDED', 0):,}", False),
        ("Failed", f"{failed:,}", failed > 0),
        ("Stuck", f"{stuck:,}", stuck > 0),
        ("Success rate", _percent(_rate(counts.get("SUCCEEDED", 0), finished)), False),
        ("Completion", _percent(finished / total if total else None), False),
    ]
    dl = element(
        "dl",
        join(
            element("div", element("dt", name), element("dd", value), class_="bad" if bad else None)
            for name, value, bad in cards
        ),
        class_="cards",
    )
    parts = _parts(counts, statuses)
    fleet_bar = stacked_bar(parts, label=f"fleet: {total:,} device tasks by status")
    return _section(
        "totals",
        "Fleet totals",
        dl,
        legend(statuses, dict(counts))
        if statuses
        else element("p", "No device tasks.", class_="note"),
        fleet_bar if statuses else None,
    )


def _attention(job: Job) -> tuple[int, int, int, str]:
    return (-(job.failed_count + job.stuck_count), not job.running, -job.total, job.job_id)


def _jobs_chart(report: Report, statuses: list[str]) -> Html:
    if not report.jobs:
        return _section(
            "jobs-chart", "Task status per batch", element("p", "No batches.", class_="note")
        )
    shown = sorted(report.jobs, key=_attention)[:CHART_ROWS]
    rows = []
    for job in shown:
        label = join(
            [
                element("span", job.job_id, class_="id"),
                element("small", f"{_package(report, job)} · {job.job_status or 'status unknown'}"),
            ]
        )
        value = join(
            [
                element("strong", f"{job.total:,} tasks"),
                f" · {_percent(job.success_rate)} success · {job.failed_count:,} failed · "
                f"{job.stuck_count:,} stuck",
                "" if job.complete else " · partial",
            ]
        )
        bar_svg = stacked_bar(
            _parts(dict(job.task_counts), statuses), label=f"batch {job.job_id}: tasks by status"
        )
        rows.append(_chart_row(label, bar_svg, value))
    left_out = len(report.jobs) - len(shown)
    intro = "Each bar is one batch's device tasks, split by status (share of the batch). " + (
        f"Shown: the {len(shown)} batches with the most failed and stuck devices; "
        f"{left_out:,} more are in the table of all batches below."
        if left_out
        else "Batches with the most failed and stuck devices first."
    )
    return _section(
        "jobs-chart",
        "Task status per batch",
        element("p", intro, class_="note"),
        legend(statuses) if statuses else None,
        element("ol", join(rows), class_="chart"),
    )


def _packages_chart(report: Report) -> Html:
    by_package: dict[str, Counter[str]] = {}
    batches: Counter[str] = Counter()
    labels: dict[str, str] = {}
    for job in report.jobs:
        key = job.firmware_id or "-"
        by_package.setdefault(key, Counter()).update(job.task_counts)
        batches[key] += 1
        package = report.package_of(job)
        product = (
            f" · {package.product_name or package.product_key}"
            if package and (package.product_name or package.product_key)
            else ""
        )
        labels[key] = _package(report, job) + product
    if not by_package:
        return _section(
            "packages",
            "Success rate per package",
            element("p", "No packages with batches.", class_="note"),
        )

    def rank(key: str) -> tuple[bool, float, str]:
        counts = by_package[key]
        rate = _rate(counts.get("SUCCEEDED", 0), sum(counts.get(s, 0) for s in FINISHED))
        return (rate is None, rate if rate is not None else 0.0, labels[key])

    keys = sorted(by_package, key=rank)
    shown = keys[:CHART_ROWS]
    rows = []
    for key in shown:
        counts = by_package[key]
        finished = sum(counts.get(s, 0) for s in FINISHED)
        rate = _rate(counts.get("SUCCEEDED", 0), finished)
        value = join(
            [
                element("strong", _percent(rate)),
                f" of {finished:,} finished · {sum(counts.values()):,} tasks · "
                f"{batches[key]:,} {'batch' if batches[key] == 1 else 'batches'}",
            ]
        )
        bar_svg = stacked_bar(
            _parts(counts, FINISHED), label=f"{labels[key]}: finished tasks by outcome"
        )
        rows.append(_chart_row(labels[key], bar_svg, value))
    left_out = len(keys) - len(shown)
    intro = (
        f"Success rate = {SUCCESS_RATE_DEFINITION}. Each bar splits a package's finished tasks "
        "(every batch of it) by outcome; lowest success rate first"
        + (f"; {left_out:,} packages with higher rates left out." if left_out else ".")
    )
    return _section(
        "packages",
        "Success rate per package",
        element("p", intro, class_="note"),
        legend(FINISHED),
        element("ol", join(rows), class_="chart"),
    )


def _stuck_listed(report: Report) -> list[tuple[Job, Device]]:
    return [(job, device) for job in report.jobs for device in job.stuck_devices]


def _stuck_ages(report: Report) -> Html:
    listed = _stuck_listed(report)
    stuck = sum(job.stuck_count for job in report.jobs)
    if not listed:
        text = (
            "No stuck devices."
            if not stuck
            else f"{stuck:,} stuck devices, none listed in the report."
        )
        return _section(
            "stuck-ages",
            "How long stuck devices have been stuck",
            element("p", text, class_="note"),
        )
    bins: Counter[str] = Counter()
    for _, device in listed:
        if device.modified is None or report.generated_at is None:
            bins[_UNKNOWN_AGE] += 1
            continue
        age = (report.generated_at - device.modified).total_seconds()
        bins[next(label for bound, label in _AGE_BINS if age < bound)] += 1
    floor = report.stuck_after_seconds or 0.0
    # Bins wholly below --stuck-after can hold nothing: leave them out.
    labels = [label for n, (bound, label) in enumerate(_AGE_BINS) if bound > floor or bins[label]]
    if bins[_UNKNOWN_AGE]:
        labels.append(_UNKNOWN_AGE)
    most = max(bins.values())
    rows = [
        _chart_row(
            label,
            bar(bins[label], most, fill=_HISTOGRAM_FILL, label=f"{label}: {bins[label]:,} devices"),
            element("strong", f"{bins[label]:,}"),
        )
        for label in labels
    ]
    coverage = (
        f"all {stuck:,} stuck devices"
        if len(listed) >= stuck
        else f"the {len(listed):,} listed of {stuck:,} stuck devices (the report keeps the "
        "longest-stuck devices of each batch, up to its --max-devices)"
    )
    return _section(
        "stuck-ages",
        "How long stuck devices have been stuck",
        element(
            "p",
            f"Time from each stuck task's last change (utc_modified) to the report, "
            f"for {coverage}.",
            class_="note",
        ),
        element("ol", join(rows), class_="chart"),
    )


def _device_rows(
    report: Report, pairs: Sequence[tuple[Job, Device]], *, progress: bool
) -> list[list[tuple[str, str | None]]]:
    rows = []
    for job, device in pairs:
        since = _when(device.modified, device.modified_text)
        if device.modified is not None and report.generated_at is not None:
            since += f" ({_age((report.generated_at - device.modified).total_seconds())} before)"
        row: list[tuple[str, str | None]] = [
            (device.name, "id"),
            (job.job_id, "id"),
            (_package(report, job), None),
            _status_cell(device.task_status),
            (since, None),
        ]
        if progress:
            row.append((f"{device.progress}%" if device.progress else "-", "num"))
        row.append((device.reason or "-", "reason"))
        rows.append(row)
    return rows


def _device_section(
    anchor: str,
    heading: str,
    report: Report,
    pairs: list[tuple[Job, Device]],
    count: int,
    *,
    progress: bool,
    order: str,
) -> Html:
    if not pairs:
        text = (
            f"No {heading.lower()}."
            if not count
            else f"{count:,} in all, none listed in the report."
        )
        return _section(anchor, heading, element("p", text, class_="note"))
    shown = pairs[:DEVICE_ROWS]
    notes = [f"{count:,} in all; {order}."]
    if len(pairs) < count:
        notes.append(f"The report lists {len(pairs):,} (up to its --max-devices per batch).")
    if len(shown) < len(pairs):
        notes.append(f"Shown: the first {len(shown):,}; the JSON report has the rest.")
    headers: list[tuple[str, str | None]] = [
        ("Device", None),
        ("Batch", None),
        ("Package", None),
        ("Status", None),
        ("Since", None),
    ]
    if progress:
        headers.append(("Progress", "num"))
    headers.append(("Reason (task_desc)", None))
    return _section(
        anchor,
        heading,
        element("p", " ".join(notes), class_="note"),
        _table(headers, _device_rows(report, shown, progress=progress)),
    )


def _failed_table(report: Report) -> Html:
    pairs = [(job, device) for job in report.jobs for device in job.failed_devices]
    pairs.sort(
        key=lambda pair: (
            pair[1].modified is None,
            -(pair[1].modified.timestamp() if pair[1].modified else 0),
        )
    )
    count = sum(job.failed_count for job in report.jobs)
    return _device_section(
        "failed", "Failed devices", report, pairs, count, progress=False, order="most recent first"
    )


def _stuck_table(report: Report) -> Html:
    pairs = _stuck_listed(report)
    pairs.sort(
        key=lambda pair: (
            pair[1].modified is None,
            pair[1].modified.timestamp() if pair[1].modified else 0,
        )
    )
    count = sum(job.stuck_count for job in report.jobs)
    return _device_section(
        "stuck", "Stuck devices", report, pairs, count, progress=True, order="longest stuck first"
    )


def _jobs_table(report: Report) -> Html:
    if not report.jobs:
        return _section("all-jobs", "All batches", element("p", "No batches.", class_="note"))
    headers: list[tuple[str, str | None]] = [
        ("Batch", None),
        ("Package", None),
        ("Product", None),
        ("Status", None),
        ("Tasks", "num"),
        ("Succeeded", "num"),
        ("Failed", "num"),
        ("Canceled", "num"),
        ("Unfinished", "num"),
        ("Stuck", "num"),
        ("Success", "num"),
    ]
    rows = []
    for job in report.jobs:
        counts = job.task_counts
        rows.append(
            [
                (job.job_id + ("" if job.complete else " (partial)"), "id"),
                (_package(report, job), None),
                (job.product_key or "-", "id"),
                _status_cell(job.job_status, of_job=True),
                (f"{job.total:,}", "num"),
                (f"{counts.get('SUCCEEDED', 0):,}", "num"),
                (f"{job.failed_count:,}", "num"),
                (f"{counts.get('CANCELED', 0):,}", "num"),
                (f"{job.total - job.finished:,}", "num"),
                (f"{job.stuck_count:,}", "num"),
                (_percent(job.success_rate), "num"),
            ]
        )
    return _section(
        "all-jobs",
        "All batches",
        element(
            "p",
            f"Every batch of the report ({len(report.jobs):,}), in the report's order.",
            class_="note",
        ),
        _table(headers, rows),
    )


def _footer(report: Report) -> Html:
    return element(
        "footer",
        element(
            "p",
            f"Success rate = {SUCCESS_RATE_DEFINITION} (of the tasks that finished). "
            "Unfinished = CONFIRM, QUEUED, NOTIFIED or IN_PROGRESS. "
            f"Made by otaclient {_version()} from an audit report "
            "(otaclient audit --format json has every field).",
        ),
    )
