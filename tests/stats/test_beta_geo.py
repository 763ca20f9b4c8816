"""BG/NBD on CDNOW: the published fit, the holdout, and lifetimes' numbers as a second opinion."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import special

from retain.datasets import published
from retain.errors import ConvergenceError, DataError
from retain.stats.beta_geo import BetaGeoModel

# CDNOW customers at rows 0, 3, 17, 20 of the calibration summary; reference values at the
# published estimates from lifetimes 0.11.3 (an independent implementation of FHL eq. 10-11).
ROWS = [0, 3, 17, 20]
REFERENCE_P_ALIVE = [0.7266251937802589, 1.0, 1.0, 0.69464572151116]
REFERENCE_EXPECTED_39 = [
    1.2260102789380956, 0.19479836415454796, 0.19479836415454796, 1.6726459001294152,
]  # fmt: skip


def test_cdnow_fit_reproduces_published_estimates_and_log_likelihood(
    cdnow_calibration: pd.DataFrame,
) -> None:
    model = BetaGeoModel().fit(cdnow_calibration)
    for name, value in published.BETA_GEO.params.items():
        assert model.params_[name] == pytest.approx(value, abs=5e-5), name
    assert model.log_likelihood_ == pytest.approx(-9582.43, abs=5e-3)
    assert model.result_.converged
    assert model.standard_errors_.keys() == model.params_.keys()
    assert all(np.isfinite(v) and v > 0 for v in model.standard_errors_.values())


def test_cdnow_holdout_matches_lifetimes_and_falls_short_of_actual(
    cdnow_calibration: pd.DataFrame,
) -> None:
    model = BetaGeoModel.from_params(**published.BETA_GEO.params)
    expected = model.expected_purchases(cdnow_calibration, 39.0)
    # lifetimes 0.11.3: 1653.4345580413728; the customers actually made 1,882.
    assert expected.sum() == pytest.approx(1653.4345580413728, rel=1e-12)
    assert cdnow_calibration["frequency_holdout"].sum() == 1882


def test_cdnow_holdout_from_the_fitted_model(cdnow_calibration: pd.DataFrame) -> None:
    # End to end: raw transactions -> summary -> fit -> weeks 40-78. The fitted estimates
    # differ from the published ones in the fifth digit, so the sum moves by ~0.03.
    model = BetaGeoModel().fit(cdnow_calibration)
    expected = model.expected_purchases(cdnow_calibration, 39.0)
    assert expected.sum() == pytest.approx(1653.4087, abs=1e-3)


def test_predictions_match_lifetimes_on_cdnow_customers(cdnow_calibration: pd.DataFrame) -> None:
    model = BetaGeoModel.from_params(**published.BETA_GEO.params)
    rows = cdnow_calibration.iloc[ROWS]
    np.testing.assert_allclose(model.probability_alive(rows), REFERENCE_P_ALIVE, rtol=1e-12)
    np.testing.assert_allclose(
        model.expected_purchases(rows, 39.0), REFERENCE_EXPECTED_39, rtol=1e-12
    )


def test_customers_without_repeat_purchase_are_alive_for_sure() -> None:
    model = BetaGeoModel.from_params(**published.BETA_GEO.params)
    p_alive = model.probability_alive({"frequency": [0.0], "recency": [0.0], "T": [70.0]})
    assert p_alive[0] == 1.0


def test_a_panel_without_a_finite_maximum_is_explained(cdnow_calibration: pd.DataFrame) -> None:
    # 30 CDNOW customers (a panel of benchmarks/data.py on which lifetimes also fails): the
    # likelihood keeps rising as a and b grow together, i.e. everyone drops out alike.
    rows = np.random.default_rng(6).choice(len(cdnow_calibration), 30, replace=False)
    with pytest.raises(ConvergenceError, match=r"a -> infinity, b -> infinity"):
        BetaGeoModel().fit(cdnow_calibration.iloc[rows])


def test_new_customer_expectation_equals_equation_9() -> None:
    # FHL (2005) eq. 9 as printed, with the Gaussian hypergeometric function untransformed.
    r, alpha, a, b = published.BETA_GEO.params.values()
    t = np.array([1.0, 13.0, 39.0, 78.0, 520.0])
    z = t / (alpha + t)
    want = (
        (a + b - 1)
        / (a - 1)
        * (1 - (alpha / (alpha + t)) ** r * special.hyp2f1(r, b, a + b - 1, z))
    )
    model = BetaGeoModel.from_params(**published.BETA_GEO.params)
    np.testing.assert_allclose(model.expected_purchases_new_customer(t), want, rtol=1e-12)


def test_new_customer_probabilities_match_lifetimes() -> None:
    # lifetimes 0.11.3 probability_of_n_purchases_up_to_time(39, n) at the published estimates.
    want = [0.5742999197005054, 0.19919386048701554, 0.08532423127557012, 0.01793905185096277]
    model = BetaGeoModel.from_params(**published.BETA_GEO.params)
    got = model.probability_of_purchases_new_customer(np.array([0, 1, 2, 5]), 39.0)
    np.testing.assert_allclose(got, want, rtol=1e-12)


def simulate_with_holdout(
    n_customers: int, r: float, alpha: float, a: float, b: float, seed: int
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """BG/NBD customers seen to ``T`` (calibration) and then for ``t`` more (holdout).

    Drawn from the story itself, not from the posterior the model uses: the ``K``-th repeat
    purchase is the last (``K ~ Geometric(p)``), purchases are the first ``K`` arrivals of a
    Poisson process, and the holdout count is what the longer window adds.
    """
    rng = np.random.default_rng(seed)
    T = rng.uniform(20.0, 60.0, n_customers)
    horizon = rng.uniform(10.0, 40.0, n_customers)
    rate = rng.gamma(r, 1.0 / alpha, n_customers)
    last_purchase = rng.geometric(rng.beta(a, b, n_customers))
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
    # Given each history, the holdout count has the predicted distribution; so within any
    # group chosen by history the share with n holdout purchases estimates the group's mean
    # predicted probability (and likewise the mean count), whatever the group.
    params = {"r": 0.5, "alpha": 6.0, "a": 0.8, "b": 2.5}
    summary, horizon, future = simulate_with_holdout(300_000, **params, seed=21)
    model = BetaGeoModel.from_params(**params)
    x, silence = summary["frequency"], summary["T"] - summary["recency"]
    groups = {
        "no repeat": x == 0,
        "few, recent": (x >= 1) & (x <= 3) & (silence < 10),
        "few, silent": (x >= 1) & (x <= 3) & (silence >= 10),
        "many": x >= 4,
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
    # The groups differ: silence lowers the outlook, so the check has something to see.
    assert expected[groups["few, silent"]].mean() < 0.7 * expected[groups["few, recent"]].mean()


@pytest.mark.parametrize(
    ("column", "values", "example"),
    [
        ("frequency", {"frequency": [1.0, 2.0, -3.0]}, -3.0),
        ("frequency", {"frequency": [1.0, 2.0, 2.5]}, 2.5),
        ("recency", {"recency": [5.0, 10.0, 40.0]}, 40.0),
        ("T", {"T": [39.0, 39.0, np.nan]}, None),
    ],
)
def test_bad_rows_are_named_with_column_count_and_example(column, values, example) -> None:
    rows = {"frequency": [1.0, 2.0, 3.0], "recency": [5.0, 10.0, 20.0], "T": [39.0, 39.0, 39.0]}
    with pytest.raises(DataError) as caught:
        BetaGeoModel().fit(rows | {k: np.array(v) for k, v in values.items()})
    error = caught.value
    assert (error.column, error.bad_rows, error.example["row"]) == (column, 1, 2)
    if example is None:
        assert np.isnan(error.example[column])
    else:
        assert error.example[column] == example
    assert str(error).startswith(f"column {column!r}: ") and "(1 bad row(s), e.g." in str(error)
