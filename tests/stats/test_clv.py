"""Customer lifetime value: discounting, units, and the spend model's part."""

from __future__ import annotations

import numpy as np
import pytest

from retain.errors import DataError
from retain.stats.clv import (
    customer_lifetime_value,
    discounted_expected_purchases,
    monthly_discount_factors,
)
from retain.stats.gamma_gamma import GammaGammaModel
from retain.stats.pareto_nbd import ParetoNBDModel
from retain.time_units import DAYS_PER_UNIT

WEEKS_PER_MONTH = DAYS_PER_UNIT["M"] / DAYS_PER_UNIT["W"]


@pytest.fixture
def buying() -> ParetoNBDModel:
    return ParetoNBDModel.from_params(r=0.55, alpha=10.6, s=0.61, beta=11.7)


@pytest.fixture
def spend() -> GammaGammaModel:
    return GammaGammaModel.from_params(p=6.25, q=3.74, v=15.44)


@pytest.fixture
def customers() -> dict[str, np.ndarray]:
    return {
        "frequency": np.array([0.0, 1.0, 4.0, 12.0]),
        "recency": np.array([0.0, 10.0, 30.0, 38.0]),
        "T": np.array([39.0, 39.0, 39.0, 39.0]),
        "monetary_value": np.array([0.0, 20.0, 45.5, 120.0]),
    }


def test_monthly_factors_compound_to_the_annual_rate() -> None:
    factors = monthly_discount_factors(12, 0.10)
    assert len(factors) == 12
    assert factors[-1] == pytest.approx(1 / 1.10)
    assert factors[0] == pytest.approx(1.10 ** (-1 / 12))


def test_partial_last_month_is_valued_at_the_horizon() -> None:
    factors = monthly_discount_factors(2.5, 0.10)
    assert factors[-1] == pytest.approx(1.10 ** (-2.5 / 12))
    assert len(factors) == 3


def test_without_discounting_the_value_is_the_expected_purchases_over_the_horizon(
    buying, customers
) -> None:
    got = discounted_expected_purchases(
        buying, customers, horizon_months=12, time_unit="W", annual_discount_rate=0.0
    )
    want = buying.expected_purchases(customers, 12 * WEEKS_PER_MONTH)
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_discounting_values_each_month_at_its_end(buying, customers) -> None:
    got = discounted_expected_purchases(
        buying, customers, horizon_months=3, time_unit="W", annual_discount_rate=0.2
    )
    cumulative = [buying.expected_purchases(customers, m * WEEKS_PER_MONTH) for m in range(0, 4)]
    want = sum((cumulative[m] - cumulative[m - 1]) * 1.2 ** (-m / 12) for m in range(1, 4))
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert np.all(got < cumulative[3])


def test_value_does_not_depend_on_the_unit_the_history_is_measured_in(
    buying, spend, customers
) -> None:
    in_days = dict(customers, recency=customers["recency"] * 7, T=customers["T"] * 7)
    buying_in_days = ParetoNBDModel.from_params(r=0.55, alpha=10.6 * 7, s=0.61, beta=11.7 * 7)
    weekly = customer_lifetime_value(
        buying, spend, customers, horizon_months=12, time_unit="W", annual_discount_rate=0.1
    )
    daily = customer_lifetime_value(
        buying_in_days,
        spend,
        in_days,
        horizon_months=12,
        time_unit="D",
        annual_discount_rate=0.1,
    )
    np.testing.assert_allclose(daily, weekly, rtol=1e-9)


def test_value_is_margin_times_spend_times_discounted_purchases(buying, spend, customers) -> None:
    value = customer_lifetime_value(
        buying,
        spend,
        customers,
        horizon_months=12,
        time_unit="W",
        annual_discount_rate=0.1,
        margin=0.3,
    )
    purchases = discounted_expected_purchases(
        buying, customers, horizon_months=12, time_unit="W", annual_discount_rate=0.1
    )
    repeaters = {k: v[1:] for k, v in customers.items()}
    expected_spend = np.concatenate(
        [[spend.expected_spend_new_customer()], spend.expected_spend(repeaters)]
    )
    np.testing.assert_allclose(value, 0.3 * expected_spend * purchases, rtol=1e-12)


def test_customer_without_repeat_purchase_is_valued_at_the_population_mean_spend(
    buying, spend, customers
) -> None:
    value = customer_lifetime_value(
        buying, spend, customers, horizon_months=12, time_unit="W", annual_discount_rate=0.0
    )
    purchases = buying.expected_purchases(customers, 12 * WEEKS_PER_MONTH)
    assert value[0] == pytest.approx(purchases[0] * 6.25 * 15.44 / (3.74 - 1))


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"horizon_months": 0}, "horizon_months"),
        ({"horizon_months": float("nan")}, "horizon_months"),
        ({"annual_discount_rate": -1.0}, "annual_discount_rate"),
        ({"time_unit": "Q"}, "time_unit"),
        ({"margin": 0.0}, "margin"),
        ({"margin": 1.5}, "margin"),
    ],
)
def test_bad_options_are_named(buying, spend, customers, options, field) -> None:
    settings = {"horizon_months": 12, "time_unit": "W", "annual_discount_rate": 0.1} | options
    with pytest.raises(DataError, match=field):
        customer_lifetime_value(buying, spend, customers, **settings)


def test_missing_monetary_value_is_named(buying, spend, customers) -> None:
    without = {k: v for k, v in customers.items() if k != "monetary_value"}
    with pytest.raises(DataError, match="monetary_value"):
        customer_lifetime_value(
            buying, spend, without, horizon_months=12, time_unit="W", annual_discount_rate=0.1
        )
