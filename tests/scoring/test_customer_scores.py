"""Customer scores on CDNOW: the model chosen on held-out days, and every score's meaning."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from retain.scoring import CANDIDATES, RISK_BANDS, ModelsRefused, score_customers


@pytest.fixture(scope="module")
def cdnow_scores(cdnow_transactions: pd.DataFrame):
    orders = cdnow_transactions.rename(columns={"date": "ordered_at"}).assign(
        order_id=range(len(cdnow_transactions))
    )
    return score_customers(orders, observation_end="1998-06-30")


def test_the_chosen_model_has_the_smallest_held_out_error(cdnow_scores) -> None:
    choice = cdnow_scores.model_choice
    assert set(choice.model) == set(CANDIDATES)
    assert cdnow_scores.model == choice.sort_values("mean_absolute_error").model.iloc[0]
    assert (choice.actual_purchases == choice.actual_purchases.iloc[0]).all()


def test_one_row_per_customer_with_every_score(cdnow_scores) -> None:
    table = cdnow_scores.customers
    assert len(table) == 2357 and table.customer_id.is_unique
    for column in (
        "p_alive", "expected_purchases_30d", "expected_purchases_90d",
        "expected_purchases_365d", "clv_12m", "churn_risk", "next_order_date", "value_decile",
    ):  # fmt: skip
        assert column in table
    assert table.p_alive.between(0, 1).all()
    assert (table.expected_purchases_30d <= table.expected_purchases_90d).all()
    assert (table.expected_purchases_90d <= table.expected_purchases_365d).all()
    assert (table.clv_12m >= 0).all()


def test_scores_are_the_refitted_models_predictions(cdnow_scores, cdnow_transactions) -> None:
    from retain.analytics import rfm_summary

    summary = rfm_summary(cdnow_transactions, observation_end="1998-06-30", time_unit="D")
    model = CANDIDATES[cdnow_scores.model]().fit(summary)
    np.testing.assert_allclose(
        cdnow_scores.customers.p_alive, model.probability_alive(summary), rtol=1e-9
    )
    assert cdnow_scores.params == pytest.approx(model.params_, rel=1e-9)
    from retain.stats import GammaGammaModel, customer_lifetime_value

    spend = GammaGammaModel.from_params(**cdnow_scores.spend_params)
    clv = customer_lifetime_value(
        model, spend, summary, horizon_months=12, time_unit="D", annual_discount_rate=0.10
    )
    np.testing.assert_allclose(cdnow_scores.customers.clv_12m, clv, rtol=1e-8)


def test_churn_risk_bands_follow_p_alive(cdnow_scores) -> None:
    table = cdnow_scores.customers
    low, high = RISK_BANDS
    # Every band is populated on CDNOW, so the checks below are over real customers.
    assert table.churn_risk.value_counts().reindex(["high", "medium", "low"]).min() > 100
    assert table.churn_risk.notna().all()
    assert (table[table.churn_risk == "high"].p_alive < low).all()
    assert table[table.churn_risk == "medium"].p_alive.between(low, high).all()
    assert (table[table.churn_risk == "low"].p_alive >= high).all()


def test_value_deciles_order_customers_by_clv(cdnow_scores) -> None:
    table = cdnow_scores.customers
    assert sorted(table.value_decile.unique()) == list(range(1, 11))
    by_decile = table.groupby("value_decile").clv_12m
    assert (by_decile.min().iloc[1:].to_numpy() >= by_decile.max().iloc[:-1].to_numpy()).all()
    assert table.value_decile.value_counts().between(235, 236).all()


def test_next_order_date_is_when_an_order_becomes_likelier_than_not(cdnow_scores) -> None:
    table = cdnow_scores.customers
    dated = table.dropna(subset=["next_order_date"])
    assert (dated.next_order_date > dt.date(1998, 6, 30)).all()
    # Heavy recent buyers get a date; customers unlikely ever to order again get none.
    top = table.sort_values("expected_purchases_365d").iloc[-20:]
    assert top.next_order_date.notna().all()
    assert table[table.expected_purchases_365d < 0.2].next_order_date.isna().all()


def test_too_short_a_window_refuses_the_models() -> None:
    orders = pd.DataFrame(
        {
            "customer_id": [1, 2],
            "order_id": [1, 2],
            "ordered_at": pd.to_datetime(["2024-01-01", "2024-01-05"]),
            "amount": [1.0, 2.0],
        }
    )
    with pytest.raises(ModelsRefused) as refused:
        score_customers(orders, observation_end="2024-01-10")
    assert str(refused.value) == (
        "the orders cover 9 days up to 2024-01-10; the purchase models need at least 30"
    )


def test_a_large_base_chooses_the_model_on_a_stable_hashed_sample(cdnow_transactions) -> None:
    orders = cdnow_transactions.rename(columns={"date": "ordered_at"}).assign(
        order_id=range(len(cdnow_transactions))
    )
    whole = score_customers(orders, observation_end="1998-06-30")
    sampled = score_customers(orders, observation_end="1998-06-30", choice_customers=600)
    again = score_customers(orders, observation_end="1998-06-30", choice_customers=600)
    everyone = whole.model_choice.actual_purchases.iloc[0]
    in_sample = sampled.model_choice.actual_purchases.iloc[0]
    # 2,357 customers in 4 buckets: about a quarter of the held-out purchases are compared.
    assert 0.1 * everyone < in_sample < 0.45 * everyone
    pd.testing.assert_frame_equal(sampled.model_choice, again.model_choice)
    assert len(sampled.customers) == len(whole.customers)  # everyone is still scored
