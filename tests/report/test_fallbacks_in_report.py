"""`retain analyze` on files the orders checks accept but the models cannot fully use: the full
CDNOW cohort with its zero-value orders, every order free, no repeat buyer, a short window.
Each runs to the end, says what it could not model and why, in the output and the report."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from retain.datasets import load_cdnow_transactions, make_business
from retain.report import analyze, render_report, write_outputs
from retain.scoring import MIN_REPEAT_BUYERS

RETAIN = str(Path(sys.executable).parent / "retain")


def orders_csv(transactions: pd.DataFrame, path: Path) -> Path:
    """CDNOW as a shop's orders export: text ids with leading zeros, ISO days."""
    pd.DataFrame(
        {
            "customer_id": transactions.customer_id.map("{:05d}".format),
            "order_id": np.arange(1, len(transactions) + 1),
            "ordered_at": transactions.date.dt.strftime("%Y-%m-%d"),
            "amount": transactions.amount,
        }
    ).to_csv(path, index=False)
    return path


def as_orders(transactions: pd.DataFrame) -> pd.DataFrame:
    return transactions.rename(columns={"date": "ordered_at"}).assign(
        order_id=np.arange(1, len(transactions) + 1)
    )[["customer_id", "order_id", "ordered_at", "amount"]]


def section(html: str, anchor: str) -> str:
    found = re.search(f'<section id="{anchor}">(.*?)</section>', html, re.S)
    assert found, anchor
    return found.group(1)


def run_analyze(orders: Path, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [RETAIN, "analyze", str(orders), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_full_cdnow_with_zero_value_orders_is_analysed_and_says_so(tmp_path: Path) -> None:
    full = load_cdnow_transactions(full=True)
    assert (full.amount == 0).sum() == 80
    done = run_analyze(orders_csv(full, tmp_path / "cdnow.csv"), tmp_path / "out")
    assert done.returncode == 0, done.stderr
    assert "note: Lifetime value of 1 customer: every repeat order was worth 0" in done.stderr
    assert "23,570 customers scored with" in done.stdout
    scores = pd.read_parquet(tmp_path / "out" / "scores.parquet")
    assert len(scores) == 23_570 and np.isfinite(scores.clv_12m).all()
    html = (tmp_path / "out" / "report.html").read_text()
    notes = re.search(r'<aside class="notes" id="notes">(.*?)</aside>', html, re.S)
    assert notes and "every repeat order was worth 0" in notes.group(1)
    assert "every repeat order was worth 0" in section(html, "clv")


def test_cdnow_with_every_order_free_is_valued_at_zero_with_the_reason(
    cdnow_transactions: pd.DataFrame,
) -> None:
    free = as_orders(cdnow_transactions).assign(amount=0.0)
    analysis = analyze(free)
    assert (analysis.scores.clv_12m == 0).all()
    assert analysis.scores.p_alive.between(0, 1).all()
    [note] = analysis.notes
    assert "needs at least 20 repeat buyers whose repeat orders are worth more than 0" in note
    html = render_report(analysis)
    assert "observed mean repeat order of 0.00" in section(html, "clv")


def test_one_customer_with_only_free_orders_is_analysed(
    cdnow_transactions: pd.DataFrame, tmp_path: Path
) -> None:
    orders = as_orders(cdnow_transactions)
    counts = orders.customer_id.value_counts()
    orders.loc[orders.customer_id == counts.index[0], "amount"] = 0.0
    analysis = analyze(orders)
    paths = write_outputs(analysis, tmp_path / "out")
    [note] = analysis.notes
    assert note.startswith("Lifetime value of 1 customer: every repeat order was worth 0")
    assert analysis.scores.set_index("customer_id").clv_12m[counts.index[0]] > 0
    assert paths["report"].read_text().count("every repeat order was worth 0") == 2


@pytest.fixture(scope="module")
def no_repeat_buyer(cdnow_transactions: pd.DataFrame):
    """Each CDNOW sample customer's first order only: nobody ordered twice."""
    first = cdnow_transactions.sort_values("date").groupby("customer_id").head(1)
    return analyze(as_orders(first))


def test_no_repeat_buyer_refuses_the_models_instead_of_calling_everyone_gone(
    no_repeat_buyer,
) -> None:
    scores = no_repeat_buyer.scores
    assert no_repeat_buyer.model.model is None
    assert len(scores) == 2357
    for column in ("p_alive", "expected_purchases_365d", "clv_12m"):
        assert scores[column].isna().all(), column  # unknown, never 0
    assert scores.churn_risk.isna().all() and scores.value_decile.isna().all()
    [note] = no_repeat_buyer.notes
    assert f"need at least {MIN_REPEAT_BUYERS} customers with a repeat order" in note
    assert "these orders have 0 among 2,357 customers" in note
    # What needs no model is still there.
    assert scores.rfm_segment.notna().all() and scores.lifecycle_stage.notna().all()
    cohorts = no_repeat_buyer.cohorts
    assert cohorts[cohorts.period_number == 0].cohort_size.sum() == 2357
    assert no_repeat_buyer.big_spenders.value_at_risk.isna().all()


def test_no_repeat_buyer_report_and_files_state_the_refusal(
    no_repeat_buyer, tmp_path: Path
) -> None:
    paths = write_outputs(no_repeat_buyer, tmp_path / "out")
    html = paths["report"].read_text()
    clv = section(html, "clv")
    assert "Not computed: the purchase models need at least 20 customers" in clv
    assert "<svg" not in clv
    assert "no model to put a value at risk on them" in section(html, "big-spenders")
    for anchor in ("cohorts", "lifecycle", "rfm"):
        assert "<svg" in section(html, anchor), anchor
    written = pd.read_csv(paths["csv"])
    assert written.p_alive.isna().all() and written.clv_12m.isna().all()
    assert "most-valuable-customers.csv" not in paths  # no values, no list of the top tenth


def test_a_short_window_is_analysed_without_models(
    cdnow_transactions: pd.DataFrame, tmp_path: Path
) -> None:
    short = cdnow_transactions[cdnow_transactions.date < "1997-01-10"]
    done = run_analyze(orders_csv(short, tmp_path / "short.csv"), tmp_path / "out")
    assert done.returncode == 0, done.stderr
    assert (
        "left empty, the models were refused: the orders cover 8 days up to 1997-01-09; "
        "the purchase models need at least 30"
    ) in done.stderr
    assert "scored with no model (see the note)" in done.stdout


def test_channels_without_a_model_are_ranked_by_who_still_buys() -> None:
    business = make_business(1_500, seed=2)
    counted = business.orders[business.orders.status == "completed"]
    first = counted.sort_values("ordered_at").groupby("customer_id").head(1)
    analysis = analyze(first, customers=business.customers)
    assert analysis.model.model is None
    reading = re.search(
        r'<p class="reading">(.*?) keeps the most customers a year on: (\d+)%',
        section(render_report(analysis), "channels"),
    )
    assert reading, "the channels' reading"
    channels = analysis.channels.set_index("channel")
    assert channels.retention_12m[reading.group(1)] == channels.retention_12m.max()
    assert "no purchase model, so no expected value per channel" in section(
        render_report(analysis), "channels"
    )
