"""The report opened in headless Chromium: charts drawn, nothing fetched, a screenshot kept."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from retain.datasets import make_business
from retain.report import analyze, write_outputs

CHROMIUM = Path("/usr/bin/chromium")  # Debian's package, installed by .ci/run
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="module")
def report_file(tmp_path_factory) -> Path:
    business = make_business(2_000, seed=11)
    analysis = analyze(
        business.orders, customers=business.customers, subscriptions=business.subscriptions
    )
    return write_outputs(analysis, tmp_path_factory.mktemp("report"))["report"]


def test_report_renders_its_charts_offline_in_chromium(report_file: Path) -> None:
    assert CHROMIUM.exists(), "Chromium is missing: .ci/run installs Debian's chromium package"
    requests: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("request", lambda request: requests.append(request.url))
            page.goto(report_file.as_uri())
            charts = page.locator("svg.chart")
            sizes = [charts.nth(i).bounding_box() for i in range(charts.count())]
            marks = page.locator("svg.chart rect").count()
            headings = page.locator("h2").all_inner_texts()
            todos = page.locator("section p.todo").count()
            # Each axis title's text, and whether it is drawn wholly inside its chart.
            axis_titles = page.locator("svg.chart text.axis-title").evaluate_all(
                """titles => titles.map(t => {
                    const own = t.getBoundingClientRect();
                    const chart = t.ownerSVGElement.getBoundingClientRect();
                    const inside = own.width > 0 && own.left >= chart.left - 1
                        && own.right <= chart.right + 1 && own.top >= chart.top - 1
                        && own.bottom <= chart.bottom + 1;
                    return [t.textContent, inside];
                })"""
            )
            downloads = page.locator("a.download").evaluate_all("links => links.map(a => a.href)")
            widths = {}  # the page never scrolls sideways, on a laptop or a narrow window
            for width in (1280, 800):
                page.set_viewport_size({"width": width, "height": 900})
                widths[width] = page.evaluate("document.documentElement.scrollWidth")
            page.set_viewport_size({"width": 1280, "height": 900})
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
        finally:
            browser.close()
    assert requests == [report_file.as_uri()]  # the page itself, nothing else
    assert len(sizes) >= 6
    assert all(box is not None and box["width"] > 100 and box["height"] > 50 for box in sizes)
    assert marks > 100
    assert headings[:6] == [
        "Cohort retention",
        "Lifecycle",
        "RFM segments",
        "Customer lifetime value",
        "Acquisition channels",
        "Big spenders at risk",
    ]
    assert (ARTIFACTS / "report.png").stat().st_size > 10_000
    assert todos == len(headings) == 7
    assert len(axis_titles) == 2 * len(sizes)
    assert ["Months since the first order", True] in axis_titles
    assert [title for title, inside in axis_titles if not inside] == []
    assert widths == {1280: 1280, 800: 800}
    assert len(downloads) == 4
    for link in downloads:  # each list sits beside the report
        assert (report_file.parent / link.rsplit("/", 1)[1]).is_file(), link
