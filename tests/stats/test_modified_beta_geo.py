"""MBG/NBD on CDNOW: the published fit and lifetimes' numbers as a second opinion."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import special

from retain.datasets import published
from retain.stats.modified_beta_geo import ModifiedBetaGeoModel

# CDNOW calibration rows 0, 3, 17, 20; lifetimes 0.11.3 at the published estimates.
ROWS = [0, 3, 17, 20]
REFERENCE_P_ALIVE = [0.7062150554621961, 0.3897430016855185, 0.3897430016855185, 0.6710106141639668]
REFERENCE_EXPECTED_39 = [
    1.2630502633418976, 0.15402448514843256, 0.15402448514843256, 1.653866698949323,
]  # fmt: skip


def test_cdnow_fit_reproduces_published_estimates(cdnow_calibration: pd.DataFrame) -> None:
    model = ModifiedBetaGeoModel().fit(cdnow_calibration)
    for name, value in published.MODIFIED_BETA_GEO.params.items():
        assert model.params_[name] == pytest.approx(value, abs=5e-4), name
    # No log-likelihood is published; this is the maximum, a hair above BG/NBD's -9582.43.
    assert model.log_likelihood_ == pytest.approx(-9582.1357, abs=1e-3)
    assert model.result_.converged


def test_cdnow_holdout_matches_lifetimes(cdnow_calibration: pd.DataFrame) -> None:
    model = ModifiedBetaGeoModel.from_params(**published.MODIFIED_BETA_GEO.params)
    expected = model.expected_purchases(cdnow_calibration, 39.0)
    assert expected.sum() == pytest.approx(1577.1287999297674, rel=1e-12)


def test_cdnow_holdout_from_the_fitted_model(cdnow_calibration: pd.DataFrame) -> None:
    # Raw transactions -> summary -> fit -> weeks 40-78 (actual 1,882; BG/NBD gives 1,653).
    model = ModifiedBetaGeoModel().fit(cdnow_calibration)
    expected = model.expected_purchases(cdnow_calibration, 39.0)
    assert expected.sum() == pytest.approx(1576.7283, abs=1e-3)


def test_predictions_match_lifetimes_on_cdnow_customers(cdnow_calibration: pd.DataFrame) -> None:
    model = ModifiedBetaGeoModel.from_params(**published.MODIFIED_BETA_GEO.params)
    rows = cdnow_calibration.iloc[ROWS]
    np.testing.assert_allclose(model.probability_alive(rows), REFERENCE_P_ALIVE, rtol=1e-12)
    np.testing.assert_allclose(
        model.expected_purchases(rows, 39.0), REFERENCE_EXPECTED_39, rtol=1e-12
    )


def test_customers_without_repeat_purchase_may_be_gone() -> None:
    model = ModifiedBetaGeoModel.from_params(**published.MODIFIED_BETA_GEO.params)
    p_alive = model.probability_alive(
        {"frequency": [0.0, 0.0], "recency": [0.0, 0.0], "T": [1.0, 70.0]}
    )
    assert 0.0 < p_alive[1] < p_alive[0] < 1.0
    # Batislam et al. (2007) eq. 5 at x = 0: 1 / (1 + a/b ((alpha+T)/alpha)^r).
    r, alpha, a, b = published.MODIFIED_BETA_GEO.params.values()
    T = np.array([1.0, 70.0])
    np.testing.assert_allclose(p_alive, 1 / (1 + a / b * ((alpha + T) / alpha) ** r), rtol=1e-13)


def test_new_customer_expectation_equals_the_closed_form() -> None:
    # Batislam et al. (2007): E[X(t)] = b/(a-1) [1 - (alpha/(alpha+t))^r 2F1(r, b+1; a+b; z)].
    r, alpha, a, b = published.MODIFIED_BETA_GEO.params.values()
    t = np.array([1.0, 13.0, 39.0, 78.0, 520.0])
    z = t / (alpha + t)
    want = b / (a - 1) * (1 - (alpha / (alpha + t)) ** r * special.hyp2f1(r, b + 1, a + b, z))
    model = ModifiedBetaGeoModel.from_params(**published.MODIFIED_BETA_GEO.params)
    np.testing.assert_allclose(model.expected_purchases_new_customer(t), want, rtol=1e-12)


def test_new_customer_probabilities_match_lifetimes() -> None:
    # lifetimes 0.11.3 probability_of_n_purchases_up_to_time(39, n) at the published estimates.
    want = [0.582473189493289, 0.18278307728754045, 0.08689482567349052, 0.019387323553570382]
    model = ModifiedBetaGeoModel.from_params(**published.MODIFIED_BETA_GEO.params)
    got = model.probability_of_purchases_new_customer(np.array([0, 1, 2, 5]), 39.0)
    np.testing.assert_allclose(got, want, rtol=1e-12)


def simulate_with_holdout(
    n_customers: int, r: float, alpha: float, a: float, b: float, seed: int
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """MBG/NBD customers seen to ``T`` (calibration) and then for ``t`` more (holdout).

    From the story, not the model's posterior: the coin is tossed at the first purchase and
    after each repeat, so the number of repeat purchases before dropout is
    ``Geometric(p) - 1``; they are the first arrivals of a Poisson process.
    """
    rng = np.random.default_rng(seed)
    T = rng.uniform(20.0, 60.0, n_customers)
    horizon = rng.uniform(10.0, 40.0, n_customers)
    rate = rng.gamma(r, 1.0 / alpha, n_customers)
    last_purchase = rng.geometric(rng.beta(a, b, n_customers)) - 1
    in_calibration = rng.poisson(rate * T)
    in_holdout = rng.poisson(rate * horizon)
    x = np.minimum(in_calibration, last_purchase)
    future = np.minimum(in_calibration + in_holdout, last_purchase) - x
    recency = np.zeros(n_customers)
    some = x > 0
    recency[some] = T[some] * rng.beta(x[some], in_calibration[some] - x[some] + 1)
    summary = {"frequency": x.astype(float), "recency": recency, "T": T}
    return summary, horizon, future


def test_conditional_predictions_agree_with_simulated_holdout() -> None:
    # Within any group chosen by history, the share with n holdout purchases estimates the
    # group's mean predicted probability, and the mean count its mean expectation.
    params = {"r": 0.5, "alpha": 6.0, "a": 0.8, "b": 2.5}
    summary, horizon, future = simulate_with_holdout(300_000, **params, seed=22)
    model = ModifiedBetaGeoModel.from_params(**params)
    x, silence = summary["frequency"], summary["T"] - summary["recency"]
    groups = {
        "no repeat, young": (x == 0) & (summary["T"] < 40),
        "no repeat, old": (x == 0) & (summary["T"] >= 40),
        "few, silent": (x >= 1) & (x <= 3) & (silence >= 10),
        "recent or many": (x >= 1) & ((x > 3) | (silence < 10)),
    }
    expected = model.expected_purchases(summary, horizon)
    for n in (0, 1, 2):
        predicted = model.probability_of_purchases(summary, n, horizon)
        for name, rows in groups.items():
            p = predicted[rows]
            standard_error = np.sqrt(np.sum(p * (1 - p))) / p.size
            share = np.mean(future[rows] == n)
            assert abs(share - p.mean()) < 4.5 * standard_error, (name, n)
    for name, rows in groups.items():
        standard_error = future[rows].std() / np.sqrt(rows.sum())
        assert abs(future[rows].mean() - expected[rows].mean()) < 4.5 * standard_error, name
