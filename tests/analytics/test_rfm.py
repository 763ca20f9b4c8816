"""rfm_summary: the published CDNOW conventions, a plain-Python reference, and bad input."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from retain.analytics import rfm_summary
from retain.errors import DataError


def make_transactions(rows: list[tuple[int, str, float]]) -> pd.DataFrame:
    """Typed builder: (customer_id, 'YYYY-MM-DD', amount) per purchase."""
    return pd.DataFrame(
        {
            "customer_id": pd.Series([r[0] for r in rows], dtype="int64"),
            "date": pd.to_datetime([r[1] for r in rows]),
            "amount": pd.Series([r[2] for r in rows], dtype="float64"),
        }
    )


def reference_summary(tx: pd.DataFrame, cal_end: dt.date, end: dt.date, unit: float) -> dict:
    """The same rules written out longhand, one customer at a time."""
    by_day: dict[int, dict[dt.date, float]] = defaultdict(lambda: defaultdict(float))
    for cid, when, amount in tx.itertuples(index=False):
        if when.date() <= end:
            by_day[cid][when.date()] += amount
    out = {}
    for cid, days in by_day.items():
        first = min(days)
        if first > cal_end:
            continue
        repeats = [d for d in days if first < d <= cal_end]
        holdout = [d for d in days if d > cal_end]
        last = max(d for d in days if d <= cal_end)
        out[cid] = {
            "frequency": len(repeats),
            "recency": (last - first).days / unit,
            "T": (cal_end - first).days / unit,
            "monetary_value": np.mean([days[d] for d in repeats]) if repeats else 0.0,
            "frequency_holdout": len(holdout),
            "monetary_value_holdout": np.mean([days[d] for d in holdout]) if holdout else 0.0,
        }
    return out


def test_cdnow_summary_matches_the_published_counts(cdnow_calibration: pd.DataFrame) -> None:
    assert len(cdnow_calibration) == 2357
    assert int((cdnow_calibration.frequency > 0).sum()) == 946
    assert int(cdnow_calibration.frequency_holdout.sum()) == 1882
    np.testing.assert_allclose(cdnow_calibration.duration_holdout, 39.0)


def test_cdnow_customer_4_is_summarised_by_hand(cdnow_calibration: pd.DataFrame) -> None:
    # Purchases on 1997-01-01, 01-18, 08-02 (calibration) and 12-12 (holdout).
    row = cdnow_calibration.set_index("customer_id").loc[4]
    assert row.frequency == 2
    assert row.recency == pytest.approx(213 / 7)
    assert row["T"] == pytest.approx(272 / 7)
    assert row.monetary_value == pytest.approx((29.73 + 14.96) / 2)
    assert row.frequency_holdout == 1
    assert row.monetary_value_holdout == pytest.approx(26.48)


def test_random_log_matches_the_longhand_reference() -> None:
    rng = np.random.default_rng(7)
    n = 3000
    start = dt.date(2024, 1, 1)
    tx = make_transactions(
        [
            (
                int(rng.integers(0, 300)),
                (start + dt.timedelta(days=int(rng.integers(0, 400)))).isoformat(),
                float(np.round(rng.gamma(2.0, 20.0), 2)),
            )
            for _ in range(n)
        ]
    )
    cal_end, end = dt.date(2024, 9, 30), dt.date(2024, 12, 31)
    got = rfm_summary(tx, observation_end=end, calibration_end=cal_end).set_index("customer_id")
    want = reference_summary(tx, cal_end, end, 7.0)
    assert sorted(got.index) == sorted(want)
    for cid, expected in want.items():
        for column, value in expected.items():
            assert got.loc[cid, column] == pytest.approx(value), (cid, column)


def test_same_day_purchases_merge_into_one() -> None:
    tx = make_transactions(
        [(1, "2024-01-01", 10.0), (1, "2024-01-05", 5.0), (1, "2024-01-05", 7.0)]
    )
    row = rfm_summary(tx, observation_end="2024-01-31").iloc[0]
    assert row.frequency == 1
    assert row.monetary_value == pytest.approx(12.0)


def test_purchases_after_the_window_and_late_customers_are_outside_it() -> None:
    tx = make_transactions(
        [(1, "2024-01-01", 10.0), (1, "2024-03-01", 5.0), (2, "2024-02-15", 8.0)]
    )
    summary = rfm_summary(tx, observation_end="2024-02-01")
    assert summary.customer_id.tolist() == [1]
    assert summary.frequency.tolist() == [0]


@pytest.mark.parametrize(("unit", "days"), [("D", 1.0), ("W", 7.0), ("Y", 365.2425)])
def test_time_unit_scales_recency_and_age(unit: str, days: float) -> None:
    tx = make_transactions([(1, "2024-01-01", 10.0), (1, "2024-01-15", 5.0)])
    row = rfm_summary(tx, observation_end="2024-01-29", time_unit=unit).iloc[0]
    assert row.recency == pytest.approx(14 / days)
    assert row["T"] == pytest.approx(28 / days)


def test_polars_pyarrow_and_ibis_inputs_agree(cdnow_transactions: pd.DataFrame) -> None:
    kwargs = {"observation_end": "1998-06-30", "calibration_end": "1997-09-30"}
    expected = rfm_summary(cdnow_transactions, **kwargs)
    for table in (pl.from_pandas(cdnow_transactions), pa.Table.from_pandas(cdnow_transactions)):
        pd.testing.assert_frame_equal(rfm_summary(table, **kwargs), expected)
    lazy = rfm_summary(ibis.memtable(pa.Table.from_pandas(cdnow_transactions)), **kwargs)
    assert isinstance(lazy, ir.Table)
    pd.testing.assert_frame_equal(lazy.to_pyarrow().to_pandas(), expected)


def test_custom_column_names_are_used() -> None:
    tx = make_transactions([(1, "2024-01-01", 10.0), (1, "2024-01-08", 4.0)]).rename(
        columns={"customer_id": "shopper", "date": "ordered_at", "amount": "total"}
    )
    summary = rfm_summary(
        tx,
        customer_id="shopper",
        datetime="ordered_at",
        monetary="total",
        observation_end="2024-01-08",
    )
    assert summary.columns[0] == "shopper"
    assert summary.monetary_value.tolist() == [4.0]


def test_missing_column_is_named() -> None:
    tx = make_transactions([(1, "2024-01-01", 10.0)]).drop(columns="amount")
    with pytest.raises(DataError, match="'amount'"):
        rfm_summary(tx, observation_end="2024-01-31")


def test_negative_amount_names_count_and_example() -> None:
    tx = make_transactions(
        [(1, "2024-01-01", 10.0), (2, "2024-01-02", -3.0), (3, "2024-01-03", -1.0)]
    )
    with pytest.raises(DataError) as caught:
        rfm_summary(tx, observation_end="2024-01-31")
    assert caught.value.column == "amount"
    assert caught.value.bad_rows == 2
    assert caught.value.example["amount"] == -3.0


def test_missing_amount_and_missing_date_are_refused() -> None:
    tx = make_transactions([(1, "2024-01-01", 10.0), (2, "2024-01-02", 3.0)])
    tx.loc[1, "amount"] = np.nan
    with pytest.raises(DataError, match="1 bad row"):
        rfm_summary(tx, observation_end="2024-01-31")
    tx = make_transactions([(1, "2024-01-01", 10.0), (2, "2024-01-02", 3.0)])
    tx.loc[0, "date"] = pd.NaT
    with pytest.raises(DataError) as caught:
        rfm_summary(tx, observation_end="2024-01-31")
    assert caught.value.column == "date"


def test_text_that_is_not_a_date_or_an_amount_is_named() -> None:
    tx = pd.DataFrame(
        {
            "customer_id": [1, 2, 3],
            "date": ["2024-01-01", "01/02/2024", "soon"],
            "amount": ["10", "3.5", "7"],
        }
    )
    with pytest.raises(DataError) as caught:
        rfm_summary(tx, observation_end="2024-01-31")
    assert (caught.value.column, caught.value.bad_rows) == ("date", 2)
    assert caught.value.example["date"] == "01/02/2024"
    tx["date"] = "2024-01-05"
    tx.loc[2, "amount"] = "seven"
    with pytest.raises(DataError) as caught:
        rfm_summary(tx, observation_end="2024-01-31")
    assert (caught.value.column, caught.value.bad_rows) == ("amount", 1)


def test_calibration_after_observation_end_and_unknown_unit_are_refused() -> None:
    tx = make_transactions([(1, "2024-01-01", 10.0)])
    with pytest.raises(DataError, match="after observation_end"):
        rfm_summary(tx, observation_end="2024-01-31", calibration_end="2024-02-10")
    with pytest.raises(DataError, match="time_unit"):
        rfm_summary(tx, observation_end="2024-01-31", time_unit="fortnight")


def test_refunded_cancelled_and_pending_purchases_are_not_counted() -> None:
    tx = make_transactions(
        [(1, "2024-01-01", 10.0), (1, "2024-01-05", 50.0), (1, "2024-01-09", 70.0),
         (1, "2024-01-12", 90.0), (1, "2024-01-15", 20.0), (2, "2024-01-02", 5.0)]
    )  # fmt: skip
    tx["status"] = ["completed", "Refunded", " CANCELLED ", "pending", "on-hold", None]
    row = rfm_summary(tx, observation_end="2024-01-31", time_unit="D").iloc[0]
    # Counted: the completed first purchase and the on-hold repeat on the 15th.
    assert (row.frequency, row.recency, row.monetary_value) == (1, 14.0, 20.0)
    everything = rfm_summary(tx, observation_end="2024-01-31", time_unit="D", status=None)
    assert everything.frequency.iloc[0] == 4


def test_a_negative_row_is_refused_saying_how_to_net_it() -> None:
    tx = make_transactions([(1, "2024-01-01", 10.0), (1, "2024-01-02", -10.0)])
    tx["status"] = ["completed", "refunded"]  # a refund row is refused whatever its status
    with pytest.raises(DataError, match="net_refunds") as caught:
        rfm_summary(tx, observation_end="2024-01-31")
    assert caught.value.bad_rows == 1 and caught.value.example["amount"] == -10.0


def test_retain_rfm_says_how_many_orders_it_left_out_and_why(tmp_path, capsys) -> None:
    from retain.cli import main

    orders = tmp_path / "orders.csv"
    orders.write_text(
        "customer_id,ordered_at,amount,status\n"
        "1,2024-01-03,10,completed\n1,2024-01-17,30,Refunded\n2,2024-01-10,5, CANCELLED \n"
        "2,2024-01-11,5,refunded\n3,2024-02-10,8,completed\n3,2024-01-12,8,processing\n"
    )
    out = tmp_path / "summary.csv"
    assert main(["rfm", str(orders), "--observation-end", "2024-01-31", "--out", str(out)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert (
        printed[0] == "left out 4 orders of 6: 2 refunded, 1 after the observation end, 1 cancelled"
    )
    assert [line.split(",")[0] for line in out.read_text().splitlines()[1:]] == ["1", "3"]
