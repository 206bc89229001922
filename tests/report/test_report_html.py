"""The audit page: self-contained, every text escaped, every job listed, edge cases render."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import pytest
from support.audit_reports import HOSTILE, device, firmware, job, many_jobs, report

from otaclient._report.html import CHART_ROWS
from otaclient.report import read_report, render_html


def _page(data: dict[str, Any]) -> str:
    return render_html(read_report(data, source="test"))


class _Parsed(HTMLParser):
    """Start tags, attribute values and text of a page, as a browser's parser sees them."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attribute_values: list[str] = []
        self.texts: list[str] = []
        self.feed(page)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attribute_values.extend(value for _, value in attrs if value is not None)

    def handle_data(self, data: str) -> None:
        self.texts.append(data)

    @property
    def text(self) -> str:
        return "".join(self.texts)


def _fleet() -> dict[str, Any]:
    failed = [device("dev-a", modified="2026-03-10T06:00:00Z"), device("dev-b")]
    stuck = [
        device("stuck-3d", status="IN_PROGRESS", modified="2026-03-07T12:00:00Z"),
        device("stuck-10d", status="NOTIFIED", modified="2026-02-28T12:00:00Z"),
        device("stuck-10d-too", status="IN_PROGRESS", modified="2026-02-28T10:00:00Z"),
    ]
    return report(
        job(
            "JOB1xxxxxxxxxxxxxxxxxxxx02",
            counts={"SUCCEEDED": 40, "FAILED": 2, "IN_PROGRESS": 3, "QUEUED": 5},
            failed=failed,
            stuck=stuck,
        ),
        job(
            "JOB2xxxxxxxxxxxxxxxxxxxx02", counts={"SUCCEEDED": 9, "CANCELED": 1}, firmware_id="FW2"
        ),
        packages=[firmware(), firmware("FW2", name="fw-beta", version="3.1.0")],
    )


def test_the_page_fetches_nothing_and_runs_nothing() -> None:
    page = _page(_fleet())
    lowered = page.lower()
    assert "<script" not in lowered
    assert "@import" not in lowered
    assert "url(" not in lowered
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:|//)""", lowered)
    assert not re.search(r"<(img|link|iframe|object|embed|video|audio|source)\b", lowered)
    # The only links are to the page's own sections.
    links = re.findall(r"""href\s*=\s*["']([^"']*)""", lowered)
    assert links and all(link.startswith("#") for link in links)


def test_text_from_the_report_renders_as_text_never_as_markup() -> None:
    hostile = job(
        HOSTILE,
        counts={"FAILED": 1, "IN_PROGRESS": 1},
        failed=[device(HOSTILE, desc=HOSTILE)],
        stuck=[device(HOSTILE + "2", status="IN_PROGRESS", desc=None)],
    )
    data = report(hostile, packages=[firmware(name=HOSTILE, version='"&<>')])
    page = _page(data)
    parsed = _Parsed(page)
    assert "script" not in parsed.tags
    assert "<script" not in page
    assert HOSTILE in parsed.text  # the device, the job, the reason: shown as written
    assert parsed.text.count(HOSTILE) >= 4
    assert any(HOSTILE in value for value in parsed.attribute_values)  # aria-labels too
    assert '"&<> ' not in page and "&quot;&amp;&lt;&gt;" in page


def test_every_job_is_listed_and_the_chart_says_how_many_it_left_out() -> None:
    data = many_jobs(1000)
    page = _page(data)
    text = _Parsed(page).text
    assert all(item["job_id"] in text for item in data["jobs"])
    assert page.count('class="chart"') == 2  # per batch, per package (no stuck devices)
    assert (
        f"Shown: the {CHART_ROWS} batches with the most failed and stuck devices; 950 more" in text
    )
    assert len(page) < 3_000_000


def test_the_chart_shows_the_jobs_that_need_attention_first() -> None:
    data = many_jobs(200)
    page = _page(data)
    chart = page.split('id="jobs-chart"', 1)[1].split("</section>", 1)[0]
    shown = re.findall(r"JOB\d{5}x+02", chart)
    failing = {item["job_id"] for item in data["jobs"] if item["failed_count"]}
    assert len(set(shown)) == CHART_ROWS
    assert set(shown) <= failing


def test_an_empty_fleet_renders_with_zero_totals() -> None:
    text = _Parsed(_page(report(packages=[]))).text
    assert "No batches." in text
    assert "No stuck devices." in text and "No failed devices." in text
    assert "Device tasks0" in text.replace("\n", "")


def test_a_job_without_tasks_renders_an_empty_bar() -> None:
    page = _page(report(job("EMPTYxxxxxxxxxxxxxxxxxxx02", counts={})))
    assert "EMPTYxxxxxxxxxxxxxxxxxxx02" in _Parsed(page).text
    assert "0 tasks" in _Parsed(page).text
    assert 'fill="#ffffff"' in page


def test_stuck_ages_are_binned_from_the_report_time() -> None:
    section = _page(_fleet()).split('id="stuck-ages"', 1)[1].split("</section>", 1)[0]
    rows = dict(re.findall(r'<div class="label">([^<]+)</div>.*?<strong>(\d+)</strong>', section))
    assert rows["2-7 days"] == "1"
    assert rows["7-14 days"] == "2"
    assert "under 1 hour" not in rows  # below --stuck-after 24 h: cannot hold anything


def test_packages_are_named_by_name_and_version_lowest_success_first() -> None:
    section = _page(_fleet()).split('id="packages"', 1)[1].split("</section>", 1)[0]
    text = _Parsed(section).text
    # fw-beta: 9 of 10 finished succeeded (90.0%); fw-main: 40 of 42 (95.2%).
    assert text.index("fw-beta (3.1.0)") < text.index("fw-main (2.0.0)")
    assert "FW1" not in text


def test_the_failed_and_stuck_tables_give_device_job_package_status_since_and_reason() -> None:
    text = _Parsed(_page(_fleet())).text
    for name in ("Device", "Batch", "Package", "Status", "Since", "Reason (task_desc)"):
        assert name in text
    assert "dev-a" in text and "download failed" in text
    assert "2026-03-10 06:00 UTC (6 h before)" in text


def test_the_page_has_a_phone_viewport_and_a_print_stylesheet() -> None:
    page = _page(_fleet())
    assert '<meta name="viewport" content="width=device-width, initial-scale=1"/>' in page
    assert "@media print" in page
    assert "overflow-x: auto" in page


@pytest.mark.parametrize("status", ["VERIFYING", "UNKNOWN"])
def test_a_status_the_library_does_not_know_still_has_a_colour_and_a_legend(status: str) -> None:
    page = _page(report(job("J1xxxxxxxxxxxxxxxxxxxxxxx2", counts={status: 3})))
    assert f"{status} 3" in _Parsed(page).text
