"""Subscription churn and net revenue retention on a hand-made book of subscriptions."""

from __future__ import annotations

import pandas as pd
import pytest

from retain.analytics.churn import subscription_churn
from retain.errors import DataError


def make_subscriptions(rows: list[tuple[int, str, str | None, float]]) -> pd.DataFrame:
    """(customer_id, started_at, ended_at or None, mrr) per subscription row."""
    return pd.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "started_at": pd.to_datetime([r[1] for r in rows]),
            "ended_at": pd.to_datetime([r[2] for r in rows]),
            "mrr": [r[3] for r in rows],
        }
    )


BOOK = [
    (1, "2024-01-10", "2024-03-01", 10.0),  # upgrades on 1 March ...
    (1, "2024-03-01", None, 30.0),  # ... to 30
    (2, "2024-01-01", "2024-02-20", 10.0),  # churns in February
    (3, "2024-02-15", None, 20.0),  # new in February
    (4, "2024-01-20", "2024-04-10", 20.0),  # churns in April
]


def test_movements_per_month() -> None:
    got = subscription_churn(make_subscriptions(BOOK), observation_end="2024-04-30")
    assert [str(m) for m in got.month] == ["2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01"]
    assert list(got.mrr_start) == [10.0, 40.0, 70.0, 70.0]
    assert list(got.new_mrr) == [30.0, 20.0, 0.0, 0.0]
    assert list(got.expansion_mrr) == [0.0, 20.0, 0.0, 0.0]
    assert list(got.churned_mrr) == [0.0, 10.0, 0.0, 20.0]
    assert list(got.mrr_end) == [40.0, 70.0, 70.0, 50.0]
    assert list(got.customers_churned) == [0, 1, 0, 1]
    assert got.net_revenue_retention.tolist() == pytest.approx([1.0, 1.25, 1.0, 50 / 70])
    assert got.customer_churn.tolist() == pytest.approx([0.0, 1 / 3, 0.0, 1 / 3])


def test_a_downgrade_is_contraction_not_churn() -> None:
    book = [(1, "2024-01-01", "2024-02-10", 50.0), (1, "2024-02-10", None, 20.0)]
    got = subscription_churn(make_subscriptions(book), observation_end="2024-02-29")
    february = got[got.month.astype(str) == "2024-02-01"]
    assert february.contraction_mrr.item() == 30.0
    assert february.churned_mrr.item() == 0.0
    assert february.net_revenue_retention.item() == pytest.approx(0.4)


def test_months_that_have_not_ended_are_not_reported() -> None:
    got = subscription_churn(make_subscriptions(BOOK), observation_end="2024-04-15")
    assert str(got.month.iloc[-1]) == "2024-03-01"


@pytest.mark.parametrize(
    ("row", "column"),
    [
        ((5, "2024-03-01", "2024-02-01", 10.0), "ended_at"),
        ((5, "2024-03-01", None, -1.0), "mrr"),
        ((None, "2024-03-01", None, 1.0), "customer_id"),
    ],
)
def test_bad_subscriptions_are_named(row, column) -> None:
    with pytest.raises(DataError) as caught:
        subscription_churn(make_subscriptions([*BOOK, row]), observation_end="2024-04-30")
    assert caught.value.column == column
    assert caught.value.bad_rows == 1
