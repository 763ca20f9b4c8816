"""The synthetic business: reproducible, well-formed, and its planted truths are findable."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from retain.analytics import big_spenders_at_risk, completed_orders, rfm_summary
from retain.analytics._tables import deliver
from retain.datasets import make_business
from retain.scoring import score_customers
from retain.stats import BetaGeoModel


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


def test_schema_and_dtypes(business) -> None:
    expected = {
        "customers": {
            "customer_id": "int64",
            "signed_up_at": "datetime64[ns]",
            "acquisition_channel": "str",
            "birthday": "datetime64[ns]",
            "segment": "str",
        },
        "orders": {
            "customer_id": "int64",
            "order_id": "int64",
            "ordered_at": "datetime64[ns]",
            "amount": "float64",
            "channel": "str",
            "currency": "str",
            "status": "str",
        },
        "subscriptions": {
            "customer_id": "int64",
            "started_at": "datetime64[ns]",
            "ended_at": "datetime64[ns]",
            "plan": "str",
            "mrr": "float64",
        },
        "complaints": {
            "customer_id": "int64",
            "complaint_id": "int64",
            "opened_at": "datetime64[ns]",
            "category": "str",
            "severity": "int64",
            "resolved_at": "datetime64[ns]",
        },
        "survey_answers": {
            "customer_id": "int64",
            "survey": "str",
            "answered_at": "datetime64[ns]",
            "score": "int64",
        },
    }
    for name, columns in expected.items():
        table = getattr(business, name)
        assert {c: str(t) for c, t in table.dtypes.items()} == columns, name
    customers = business.customers
    assert set(customers.acquisition_channel) == {
        "organic",
        "paid_search",
        "social",
        "referral",
        "affiliate",
    }
    assert set(customers.segment) == {"consumer", "business"}
    assert 0 < customers.birthday.isna().mean() < 0.3
    assert set(business.orders.channel) == {"web", "app", "store"}
    assert set(business.orders.currency) == {"EUR"}
    assert (business.orders.amount == business.orders.amount.round(2)).all()
    assert set(business.complaints.category) == {"delivery", "billing", "product", "service"}
    assert business.complaints.resolved_at.isna().any()
    truth = business.truth
    for series in (truth.purchase_rate, truth.dropout, truth.alive, truth.dropped_at):
        assert series.index.equals(pd.Index(customers.customer_id))
    assert (truth.dropped_at.isna() == truth.alive).all()


def test_refunds_and_cancellations_are_about_three_percent_each(business) -> None:
    shares = business.orders.status.value_counts(normalize=True)
    assert shares["completed"] > 0.9
    assert 0.02 < shares["refunded"] < 0.04
    assert 0.02 < shares["cancelled"] < 0.04


def test_subscriptions_change_plan_and_churn(business) -> None:
    subs = business.subscriptions
    per_customer = subs.groupby("customer_id").size()
    assert 0.25 < per_customer.size / len(business.customers) < 0.35
    assert (per_customer == 2).any() and subs.ended_at.notna().any() and subs.ended_at.isna().any()
    # A plan change: the first row ends the day the second starts, with another plan and price.
    changed = subs[subs.customer_id.isin(per_customer.index[per_customer == 2])]
    before, after = changed.groupby("customer_id").nth(0), changed.groupby("customer_id").nth(1)
    before, after = before.set_index("customer_id"), after.set_index("customer_id")
    assert (before.ended_at == after.started_at).all()
    assert (before.plan != after.plan).all() and (before.mrr != after.mrr).all()


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


def test_bg_nbd_fit_recovers_the_generating_mixture() -> None:
    """Fit BG/NBD to the completed orders of 20,000 customers.

    Purchase rates are one Gamma(r=0.9, alpha=60) per day; only completed orders (94 %) are
    counted, so the fitted mean rate r/alpha should be 0.94 * 0.9 / 60. Dropout is a mixture
    of five channel Betas, which one Beta(a, b) cannot reproduce, so only its mean a/(a+b)
    is compared, with the population mean of the drawn dropout probabilities.
    """
    business = make_business(20_000, seed=5)
    completed = business.orders[business.orders.status == "completed"]
    summary = rfm_summary(
        completed,
        customer_id="customer_id",
        datetime="ordered_at",
        monetary="amount",
        observation_end=business.end.date(),
        time_unit="D",
    )
    params = BetaGeoModel().fit(summary).params_
    r, alpha = business.truth.params["purchase_rate"].values()
    assert 0.75 * r < params["r"] < 1.2 * r
    assert 0.75 * alpha < params["alpha"] < 1.25 * alpha
    assert params["r"] / params["alpha"] == pytest.approx(0.94 * r / alpha, rel=0.08)
    mean_dropout = params["a"] / (params["a"] + params["b"])
    assert mean_dropout == pytest.approx(business.truth.dropout.mean(), abs=0.03)


def test_lapsing_big_spenders_are_top_decile_and_silent_at_the_end(business) -> None:
    planted = business.truth.lapsing_big_spenders
    assert len(planted) == len(business.customers) // 200
    mean_spend = business.truth.mean_spend
    assert (mean_spend.loc[planted] >= mean_spend.quantile(0.9)).all()
    completed = business.orders[business.orders.status == "completed"]
    observed = completed.groupby("customer_id").amount.mean()
    assert (observed.loc[planted] >= observed.quantile(0.9)).mean() >= 0.9
    last = completed.groupby("customer_id").ordered_at.max().loc[planted]
    assert (business.end - last).min() >= pd.Timedelta(days=180)
    assert (completed.groupby("customer_id").size().loc[planted] >= 4).all()
    assert not business.truth.alive.loc[planted].any()
