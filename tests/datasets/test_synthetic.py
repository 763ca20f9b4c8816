"""The synthetic business: reproducible, well-formed, and its planted truths are findable."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from retain.analytics import big_spenders_at_risk, completed_orders
from retain.analytics._tables import deliver
from retain.datasets import make_business
from retain.scoring import score_customers


@pytest.fixture(scope="module")
def business():
    return make_business(4_000, seed=3)


def test_same_seed_same_tables_other_seed_other_tables() -> None:
    one, again, other = (
        make_business(500, seed=1),
        make_business(500, seed=1),
        make_business(500, seed=2),
    )
    pd.testing.assert_frame_equal(one.orders, again.orders)
    pd.testing.assert_frame_equal(one.subscriptions, again.subscriptions)
    assert not one.orders.amount.equals(other.orders.amount)


def test_tables_are_well_formed(business) -> None:
    orders = business.orders
    assert orders.order_id.is_unique and (orders.amount > 0).all()
    assert set(orders.status) == {"completed", "refunded", "cancelled"}
    assert orders.ordered_at.between(business.start, business.end + pd.Timedelta(days=1)).all()
    assert set(orders.customer_id) == set(business.customers.customer_id)  # first order at signup
    first = orders.groupby("customer_id").ordered_at.min().dt.normalize()
    signed = business.customers.set_index("customer_id").signed_up_at
    assert (first == signed.loc[first.index]).all()
    subs = business.subscriptions
    assert (subs.mrr > 0).all()
    assert (subs.ended_at.isna() | (subs.ended_at >= subs.started_at)).all()
    assert business.complaints.severity.between(1, 3).all()
    nps = business.survey_answers[business.survey_answers.survey == "nps"]
    assert nps.score.between(0, 10).all()


def test_orders_scale_with_customers() -> None:
    small, large = make_business(1_000, seed=4), make_business(4_000, seed=4)
    assert 3.0 < len(large.orders) / len(small.orders) < 5.0


def test_the_loyal_channel_keeps_the_most_customers(business) -> None:
    alive = pd.Series(business.truth.alive).groupby(business.truth.channel).mean()
    assert alive.idxmax() == business.truth.loyal_channel == "referral"


def test_planted_lapsing_big_spenders_are_found_by_the_analytics(business) -> None:
    end = business.end.date()
    scores = score_customers(business.orders, observation_end=end)
    found = big_spenders_at_risk(business.orders, scores.customers, observation_end=end)
    planted = set(business.truth.lapsing_big_spenders)
    assert planted <= set(found.customer_id)
    # They rank near the top by value at risk.
    top = set(found.customer_id.iloc[: 3 * len(planted)])
    assert len(planted & top) >= 0.8 * len(planted)


def test_model_scores_track_the_truth(business) -> None:
    end = business.end.date()
    scores = score_customers(business.orders, observation_end=end).customers
    truth_alive = pd.Series(business.truth.alive, index=business.customers.customer_id)
    p_alive = scores.set_index("customer_id").p_alive
    alive_mean = p_alive[truth_alive[p_alive.index]].mean()
    gone_mean = p_alive[~truth_alive[p_alive.index]].mean()
    assert alive_mean > gone_mean + 0.2
    kept, lazy = completed_orders(business.orders)
    assert len(deliver(kept, lazy=lazy)) == int((business.orders.status == "completed").sum())
    assert np.isfinite(scores.clv_12m).all()
