"""Big spenders at risk: planted overdue, slowing and likely-gone customers are found."""

from __future__ import annotations

import pandas as pd
import pytest

from retain.analytics.big_spenders import big_spenders_at_risk
from retain.errors import DataError
from tests.analytics.builders import make_orders


def planted() -> tuple[pd.DataFrame, pd.DataFrame]:
    rows = []
    for k in range(18):  # small monthly buyers
        rows += [(k, f"2024-{m:02d}-10", 10.0) for m in range(1, 13)]
    rows += [(100, f"2024-{m:02d}-05", 200.0) for m in range(1, 13)]  # big and regular
    rows += [(101, f"2024-{m:02d}-05", 200.0) for m in range(1, 7)]  # big, stopped in June
    slowing = ["2024-01-05", "2024-02-05", "2024-03-05", "2024-04-05", "2024-12-20"]
    rows += [(102, day, 400.0) for day in slowing]  # big, last gap 259 days
    scores = pd.DataFrame(
        {"customer_id": [*range(18), 100, 101, 102], "p_alive": [0.9] * 18 + [0.95, 0.2, 0.7]}
    )
    return make_orders(rows), scores


def test_planted_customers_are_found_with_their_reasons_by_value_at_risk() -> None:
    orders, scores = planted()
    found = big_spenders_at_risk(orders, scores, observation_end="2024-12-31")
    assert list(found.customer_id) == [101, 102]
    assert list(found.reasons) == ["overdue, likely gone", "slowing"]
    assert found.days_since_last_order.iloc[0] == 209
    assert found.last_gap_days.iloc[1] == 259
    # 1,200 spent over 0.99 years, 80% likely gone.
    assert found.value_at_risk.iloc[0] == pytest.approx(1200 / (361 / 365.2425) * 0.8)


def test_small_spenders_are_never_listed() -> None:
    orders, scores = planted()
    scores.loc[scores.customer_id < 18, "p_alive"] = 0.01
    found = big_spenders_at_risk(orders, scores, observation_end="2024-12-31")
    # The small buyers look likely gone now, yet only the planted big spenders are listed.
    assert list(found.customer_id) == [101, 102]


def test_bad_share_and_missing_scores_are_named() -> None:
    orders, scores = planted()
    with pytest.raises(DataError, match=r"top_share must be in \(0, 1\], got 0$"):
        big_spenders_at_risk(orders, scores, observation_end="2024-12-31", top_share=0)
    with pytest.raises(DataError, match=r"^column 'p_alive': scores need customer_id and p_alive"):
        big_spenders_at_risk(orders, scores.drop(columns="p_alive"), observation_end="2024-12-31")


def test_gaps_match_the_gaps_between_order_days_counted_longhand() -> None:
    from retain.datasets import make_business

    shop = make_business(3_000, seed=8)
    orders = shop.orders[~shop.orders.status.isin(["refunded", "cancelled"])]
    scores = pd.DataFrame({"customer_id": shop.customers.customer_id, "p_alive": 0.1})
    found = big_spenders_at_risk(orders, scores, observation_end="2024-12-31", top_share=0.2)
    days = orders.assign(day=orders.ordered_at.dt.normalize()).groupby(["customer_id", "day"])
    gaps = (
        days.amount.sum().reset_index().sort_values(["customer_id", "day"])
        .assign(gap=lambda t: t.groupby("customer_id").day.diff().dt.days)
        .groupby("customer_id").gap
    )  # fmt: skip
    expected = pd.DataFrame({"usual": gaps.mean(), "last": gaps.last()})
    got = found.set_index("customer_id")
    assert len(got) > 100
    pd.testing.assert_series_equal(
        got.usual_gap_days, expected.usual.loc[got.index], check_names=False
    )
    pd.testing.assert_series_equal(
        got.last_gap_days.astype(float), expected["last"].loc[got.index], check_names=False
    )
