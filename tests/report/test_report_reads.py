"""The report reads like a manager's: words and currency, named axes, where the cohort chart is
cut, a "what to do" line per section and the customers behind it one click away."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from retain.datasets import make_business
from retain.report import analyze, render_report, write_outputs
from retain.report.downloads import win_back_segments

SECTIONS = ("cohorts", "lifecycle", "rfm", "clv", "channels", "big-spenders", "subscriptions")


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> tuple[object, dict[str, Path], str]:
    business = make_business(2_000, seed=11)  # orders in EUR, two years
    analysis = analyze(
        business.orders, customers=business.customers, subscriptions=business.subscriptions
    )
    paths = write_outputs(analysis, tmp_path_factory.mktemp("report"))
    return analysis, paths, paths["report"].read_text(encoding="utf-8")


def section(html: str, anchor: str) -> str:
    found = re.search(f'<section id="{anchor}">(.*?)</section>', html, re.S)
    assert found, anchor
    return found.group(1)


def test_column_names_are_words_and_money_has_its_symbol(written) -> None:
    _, _, html = written
    headers = re.findall(r"<th(?: [^>]*)?>(.*?)</th>", html)
    assert len(headers) >= 19
    assert [h for h in headers if "_" in h] == []
    assert "Share of customers" in headers and "Value at risk a year" in headers
    assert re.search(r"<td>€[\d,]+</td>", section(html, "rfm"))  # revenue per segment
    assert re.search(r"€[\d,]+ a year at risk", section(html, "big-spenders"))
    assert "Amounts in EUR." in html


def test_every_chart_names_its_axes(written) -> None:
    _, _, html = written
    charts = re.findall(r'<svg[^>]*class="chart".*?</svg>', html, re.S)
    assert len(charts) == 6
    for chart in charts:
        titles = re.findall(r'class="axis-title"[^>]*>([^<]+)</text>', chart)
        assert len(titles) == 2, chart[:200]
    clv = section(html, "clv")
    assert "Expected value over the next 12 months (€)" in clv  # the unit on the axis
    assert ">€0</text>" in clv


def test_the_cohort_chart_says_where_it_is_cut(written) -> None:
    _, _, html = written
    cut = re.search(r'<p class="muted cut">(.*?)</p>', section(html, "cohorts")).group(1)
    assert cut == (
        "Showing the cohorts from 2023-01 to 2024-12 and months 0 to 12 after the first order. "
        "Months 13 to 23 are not shown. Cohorts from 2024-01 on are too young to show 12 "
        "months: their rows end at the last month observed."
    )


def test_every_section_says_what_to_do(written) -> None:
    _, _, html = written
    for anchor in SECTIONS:
        todo = re.findall(
            r'<p class="todo"><strong>What to do:</strong> (.+?)</p>', section(html, anchor)
        )
        assert len(todo) == 1 and len(todo[0]) > 40, anchor


def test_each_actionable_section_links_the_list_of_its_customers(written) -> None:
    analysis, paths, html = written
    expected = {
        "lifecycle": "lifecycle-at-risk.csv",
        "rfm": "rfm-win-back.csv",
        "clv": "most-valuable-customers.csv",
        "big-spenders": "big-spenders-at-risk.csv",
    }
    for anchor, filename in expected.items():
        link = re.search(
            r'<a class="download" href="([^"]+)" download>Download the ([\d,]+) ',
            section(html, anchor),
        )
        assert link and link.group(1) == filename, anchor
        with (paths["report"].parent / filename).open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        assert len(rows) == int(link.group(2).replace(",", "")) > 0, anchor
        assert "Customer" in rows[0], anchor
    scores = analysis.scores.set_index("customer_id")
    with (paths["report"].parent / "rfm-win-back.csv").open(encoding="utf-8") as handle:
        win_back = list(csv.DictReader(handle))
    assert {row["RFM segment"] for row in win_back} <= set(win_back_segments())
    assert len(win_back) == int(scores.rfm_segment.isin(win_back_segments()).sum())
    with (paths["report"].parent / "big-spenders-at-risk.csv").open(encoding="utf-8") as handle:
        big = list(csv.DictReader(handle))
    assert [row["Customer"] for row in big] == [str(c) for c in analysis.big_spenders.customer_id]


def test_a_cohort_chart_cut_in_months_says_so_and_keeps_its_row_title(
    cdnow_transactions,
) -> None:
    orders = cdnow_transactions.rename(columns={"date": "ordered_at"}).assign(
        order_id=range(len(cdnow_transactions))
    )
    html = render_report(analyze(orders))
    cohorts = section(html, "cohorts")
    cut = re.search(r'<p class="muted cut">(.*?)</p>', cohorts).group(1)
    assert cut == (
        "Showing the cohorts from 1997-01 to 1997-03 and months 0 to 12 after the first order. "
        "Months 13 to 17 are not shown."
    )
    # Three rows are too short for a turned title: it sits on its own line, not turned.
    title = re.search(r'<text class="axis-title"[^>]*>Cohort \(month of first order\)', cohorts)
    assert title and "rotate" not in title.group(0)
