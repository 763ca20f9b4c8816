"""Cohort retention against a longhand pandas reference and a hand-made example."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from retain.analytics.cohorts import cohort_retention
from retain.errors import DataError
from tests.analytics.builders import make_orders, random_orders


def longhand_monthly(orders: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    """The same table the way an analyst would write it in pandas, row by row of the definition."""
    kept = orders[~orders.status.str.strip().str.lower().isin(["refunded", "cancelled"])].copy()
    kept["index"] = kept.ordered_at.dt.year * 12 + kept.ordered_at.dt.month - 1
    first = kept.sort_values(["ordered_at", "order_id"]).groupby("customer_id").first()
    kept["cohort_index"] = kept.customer_id.map(kept.groupby("customer_id")["index"].min())
    if by:
        kept[by] = kept.customer_id.map(first[by])
    keys = ([by] if by else []) + ["cohort_index"]
    last = kept["index"].max()
    rows = []
    for group, members in kept.groupby(keys):
        group = group if isinstance(group, tuple) else (group,)
        cohort_index = group[-1]
        size = members.customer_id.nunique()
        first_revenue = members[members["index"] == cohort_index].amount.sum()
        for n in range(0, last - cohort_index + 1):
            inside = members[members["index"] == cohort_index + n]
            rows.append(
                {
                    **({by: group[0]} if by else {}),
                    "cohort_index": cohort_index,
                    "period_number": n,
                    "cohort_size": size,
                    "active_customers": inside.customer_id.nunique(),
                    "revenue": inside.amount.sum(),
                    "revenue_retention": inside.amount.sum() / first_revenue,
                }
            )
    return pd.DataFrame(rows)


@pytest.mark.parametrize("by", [None, "channel"])
def test_monthly_cohorts_match_the_longhand_reference(by) -> None:
    orders = random_orders(3_000, 400, seed=1)
    got = cohort_retention(orders, by=by)
    want = longhand_monthly(orders, by)
    assert len(got) == len(want)
    np.testing.assert_array_equal(got.period_number, want.period_number)
    np.testing.assert_array_equal(got.cohort_size, want.cohort_size)
    np.testing.assert_array_equal(got.active_customers, want.active_customers)
    np.testing.assert_allclose(got.revenue, want.revenue, rtol=1e-12)
    np.testing.assert_allclose(got.revenue_retention, want.revenue_retention, rtol=1e-12)
    np.testing.assert_allclose(got.retention, got.active_customers / got.cohort_size)
    if by:
        assert list(got[by]) == list(want[by])


def test_hand_made_cohorts_with_a_silent_month() -> None:
    orders = make_orders(
        [(1, "2024-01-03", 10.0), (1, "2024-02-10", 20.0), (1, "2024-04-01", 30.0),
         (2, "2024-01-20", 5.0), (3, "2024-02-14", 7.0)],
    )  # fmt: skip
    got = cohort_retention(orders)
    january = got[got.cohort == pd.Timestamp("2024-01-01").date()]
    assert list(january.period_number) == [0, 1, 2, 3]
    assert list(january.active_customers) == [2, 1, 0, 1]
    assert list(january.retention) == [1.0, 0.5, 0.0, 0.5]
    assert list(january.revenue_retention) == [1.0, 20 / 15, 0.0, 2.0]
    february = got[got.cohort == pd.Timestamp("2024-02-01").date()]
    assert list(february.period_number) == [0, 1, 2]


def test_weekly_cohorts_start_on_monday() -> None:
    orders = make_orders([(1, "2024-01-07", 10.0), (1, "2024-01-08", 5.0), (2, "2024-01-08", 1.0)])
    got = cohort_retention(orders, period="week")
    assert [str(c) for c in got.cohort.unique()] == ["2024-01-01", "2024-01-08"]
    first = got[got.cohort.astype(str) == "2024-01-01"]
    assert list(first.active_customers) == [1, 1]


def test_unknown_period_and_missing_by_column_are_named() -> None:
    orders = make_orders([(1, "2024-01-07", 10.0)])
    with pytest.raises(
        DataError, match=r"period must be one of \['month', 'week'\], got 'quarter'"
    ):
        cohort_retention(orders, period="quarter")
    with pytest.raises(DataError, match="no column 'region' to split cohorts by") as caught:
        cohort_retention(orders, by="region")
    assert caught.value.column == "region"
