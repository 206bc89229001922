"""The audit page in a real browser: headless Chromium renders it, and the picture is a page.

The report comes from a real audit of the simulator's sample fleet. A rendering counts as
not blank when a good share of its pixels are not the background and the status colours of
the charts are there, exactly (Chromium runs with an sRGB colour profile).
"""

from __future__ import annotations

import re
from pathlib import Path

import anyio
import pytest
from PIL import Image
from support.audit_reports import HOSTILE, device, job, many_jobs, report

from otaclient import OTAClient
from otaclient.audit import audit_fleet, report_to_dict
from otaclient.report import read_report, render_html
from otaclient.simulator import (
    DEMO_ACCESS_KEY_ID,
    DEMO_ACCESS_KEY_SECRET,
    FleetSpec,
    Simulator,
    SimulatorConfig,
)

from ._browser import dom, print_to_pdf, screenshot

ANCHOR_MS = 1_732_006_800_000
BACKGROUND = (255, 255, 255)
CHART_FILLS = {
    "SUCCEEDED": (0x5C, 0xB8, 0x68),
    "FAILED": (0x8F, 0x16, 0x16),
    "CANCELED": (0x7D, 0x7D, 0x7D),
    "IN_PROGRESS": (0x2F, 0x62, 0xC4),
}


async def _audited() -> dict[str, object]:
    sim = Simulator(SimulatorConfig(qps=None, fleet=FleetSpec(anchor_ms=ANCHOR_MS)))
    async with OTAClient(
        endpoint="http://simulator.test",
        transport=sim.transport(),
        access_key_id=DEMO_ACCESS_KEY_ID,
        access_key_secret=DEMO_ACCESS_KEY_SECRET,
        qps=None,
    ) as client:
        return report_to_dict(await audit_fleet(client))


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = anyio.run(_audited)
    path = tmp_path_factory.mktemp("page") / "audit.html"
    path.write_text(render_html(read_report(data, source="audit")), encoding="utf-8")
    return path


def _colours(png: Path) -> dict[tuple[int, int, int], int]:
    with Image.open(png) as image:
        counted = image.convert("RGB").getcolors(maxcolors=1 << 24)
    assert counted is not None
    return {colour: count for count, colour in counted}


def _assert_a_rendered_page(png: Path, width: int, height: int) -> None:
    with Image.open(png) as image:
        assert image.size == (width, height)
    colours = _colours(png)
    pixels = width * height
    ink = pixels - colours.get(BACKGROUND, 0)
    assert ink / pixels > 0.15, f"only {ink / pixels:.1%} of the picture is not background"
    assert len(colours) > 50, f"only {len(colours)} distinct colours"
    for status, fill in CHART_FILLS.items():
        # Each status colour covers a visible area (bars and legend), not a stray pixel.
        assert colours.get(fill, 0) > 200, f"no {status} bar in the picture"


@pytest.mark.parametrize(("width", "height"), [(1280, 1800), (390, 2400)], ids=["desktop", "phone"])
def test_chromium_renders_the_page_with_its_charts(
    page: Path, tmp_path: Path, width: int, height: int
) -> None:
    png = screenshot(page, tmp_path / "page.png", width=width, height=height)
    _assert_a_rendered_page(png, width, height)


def test_on_a_phone_nothing_spills_past_the_screen(tmp_path: Path) -> None:
    # Wide tables scroll inside their own box; were they to spill, their cells and borders
    # would paint into the body's right padding. The whole page fits in the picture.
    failed = [device(f"a-rather-long-device-name-{n}", desc="x " * 40) for n in range(4)]
    jobs = [
        job(f"JOB{n}xxxxxxxxxxxxxxxxxxxxx02", counts={"FAILED": 4}, failed=failed) for n in range(3)
    ]
    path = tmp_path / "phone.html"
    path.write_text(render_html(read_report(report(*jobs), source="phone")), encoding="utf-8")
    png = screenshot(path, tmp_path / "phone.png", width=390, height=6000)
    with Image.open(png) as image:
        rgb = image.convert("RGB")
        assert rgb.getpixel((195, 5999)) == BACKGROUND, "the page is taller than the picture"
        edge = {rgb.getpixel((x, y)) for x in range(382, 390) for y in range(0, 6000, 2)}
    assert edge == {BACKGROUND}, edge


def test_a_thousand_jobs_still_render(tmp_path: Path) -> None:
    path = tmp_path / "huge.html"
    path.write_text(render_html(read_report(many_jobs(1000), source="huge")), encoding="utf-8")
    png = screenshot(path, tmp_path / "huge.png", width=1280, height=1800)
    colours = _colours(png)
    assert colours.get(CHART_FILLS["SUCCEEDED"], 0) > 200
    assert colours.get(CHART_FILLS["FAILED"], 0) > 200


def test_chromium_shows_hostile_names_as_text(tmp_path: Path) -> None:
    data = report(job(HOSTILE, counts={"FAILED": 1}, failed=[device(HOSTILE, desc=HOSTILE)]))
    path = tmp_path / "hostile.html"
    path.write_text(render_html(read_report(data, source="hostile")), encoding="utf-8")
    parsed = dom(path)
    assert "<script" not in parsed.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp;" in parsed


def test_the_page_prints_to_several_pages(page: Path, tmp_path: Path) -> None:
    pdf = print_to_pdf(page, tmp_path / "page.pdf").read_bytes()
    assert pdf.startswith(b"%PDF")
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    assert pages >= 3, pages
