"""`retain analyze`: the scores table and a report that stands on its own."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from retain.datasets import make_business
from retain.report import SCORE_COLUMNS, analyze, render_report


@pytest.fixture(scope="module")
def business():
    return make_business(2_500, seed=7)


@pytest.fixture(scope="module")
def analysis(business):
    stages = []
    result = analyze(
        business.orders,
        customers=business.customers,
        subscriptions=business.subscriptions,
        progress=lambda number, stage: stages.append((number, stage)),
    )
    return result, stages


def test_scores_have_one_row_per_customer_with_a_counted_order(business, analysis) -> None:
    result, _ = analysis
    counted = business.orders[business.orders.status == "completed"].customer_id.nunique()
    assert len(result.scores) == counted
    assert list(result.scores.columns) == list(SCORE_COLUMNS)
    assert result.scores.customer_id.is_unique
    assert result.scores.rfm_segment.notna().all() and result.scores.lifecycle_stage.notna().all()


def test_progress_reports_every_stage_in_order(analysis) -> None:
    _, stages = analysis
    assert [number for number, _ in stages] == [1, 2, 3, 4, 5, 6]


def test_report_has_every_section_with_a_reading_and_a_chart(analysis) -> None:
    result, _ = analysis
    html = render_report(result)
    for anchor in ("cohorts", "lifecycle", "rfm", "clv", "channels", "big-spenders"):
        section = re.search(f'<section id="{anchor}">(.*?)</section>', html, re.S)
        assert section, anchor
        assert '<p class="reading">' in section.group(1)
    assert html.count("<svg") >= 5
    assert html.count('class="cell"') > 50


def test_report_needs_nothing_from_the_network(analysis) -> None:
    html = render_report(analysis[0])
    assert "<script" not in html
    assert not re.search(r'(src|href)="(https?:)?//', html)
    links = set(re.findall(r"https?://[^\"' )]+", html))
    assert links <= {"http://www.w3.org/2000/svg"}


def test_command_writes_scores_and_report(business, tmp_path: Path) -> None:
    business.orders.to_parquet(tmp_path / "orders.parquet")
    business.customers.to_csv(tmp_path / "customers.csv", index=False)
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "retain"),
            "analyze",
            str(tmp_path / "orders.parquet"),
            "--customers",
            str(tmp_path / "customers.csv"),
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "[6/6]" in done.stderr
    scores = pd.read_parquet(tmp_path / "out" / "scores.parquet")
    assert list(scores.columns) == list(SCORE_COLUMNS)
    assert len(pd.read_csv(tmp_path / "out" / "scores.csv")) == len(scores)
    assert (tmp_path / "out" / "report.html").read_text().startswith("<!doctype html>")
