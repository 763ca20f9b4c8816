"""Gamma-Gamma: the published CDNOW fit, the likelihood by integration, recovery, bad input."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, special

from retain.datasets import published
from retain.errors import DataError, NotFittedError
from retain.stats.gamma_gamma import GammaGammaModel
from retain.stats.simulate import simulate_gamma_gamma

PARAMS = {"p": 6.25, "q": 3.74, "v": 15.44}


def rows() -> dict[str, np.ndarray]:
    return {
        "frequency": np.array([1.0, 2.0, 5.0, 40.0, 1.0]),
        "monetary_value": np.array([12.0, 35.5, 20.0, 18.25, 400.0]),
    }


def density_of_mean_by_integration(x: float, m: float) -> float:
    """``int Gamma(m; p x, nu x) Gamma(nu; q, v) d nu``: the model before any algebra."""
    p, q, v = PARAMS.values()

    def integrand(nu: float) -> float:
        return np.exp(
            (p * x) * np.log(nu * x) + (p * x - 1) * np.log(m) - nu * x * m - special.gammaln(p * x)
            + q * np.log(v) + (q - 1) * np.log(nu) - v * nu - special.gammaln(q)
        )  # fmt: skip

    return integrate.quad(integrand, 0, np.inf, limit=200, epsrel=1e-11)[0]


def test_cdnow_fit_reproduces_published_estimates_and_log_likelihood(
    cdnow_calibration: pd.DataFrame,
) -> None:
    repeaters = cdnow_calibration[cdnow_calibration.frequency > 0]
    assert len(repeaters) == 946
    model = GammaGammaModel().fit(repeaters)
    for name, value in published.GAMMA_GAMMA.params.items():
        assert model.params_[name] == pytest.approx(value, abs=5e-3), name
    assert model.log_likelihood_ == pytest.approx(-4055.9, abs=0.05)
    assert model.result_.converged


def test_log_likelihood_equals_the_integral_over_nu() -> None:
    data = rows()
    value, _ = GammaGammaModel()._log_likelihood(np.array(list(PARAMS.values())), data)
    for i, (x, m) in enumerate(zip(data["frequency"], data["monetary_value"], strict=True)):
        assert value[i] == pytest.approx(np.log(density_of_mean_by_integration(x, m)), rel=1e-8)


def test_gradient_matches_finite_differences(assert_gradient_matches: Callable[..., None]) -> None:
    assert_gradient_matches(GammaGammaModel(), PARAMS, rows())


def test_fit_recovers_simulated_parameters() -> None:
    truth = {"p": 4.0, "q": 3.0, "v": 20.0}
    frequency = np.random.default_rng(1).integers(1, 15, 50_000)
    model = GammaGammaModel().fit(simulate_gamma_gamma(frequency, **truth, seed=2))
    for name, value in truth.items():
        assert abs(model.params_[name] - value) < 3.5 * model.standard_errors_[name], name


def test_expected_spend_is_the_posterior_mean() -> None:
    model = GammaGammaModel.from_params(**PARAMS)
    p, q, v = PARAMS.values()
    data = rows()
    got = model.expected_spend(data)
    for i, (x, m) in enumerate(zip(data["frequency"], data["monetary_value"], strict=True)):
        # E[Z | history] = p E[1/nu | history], nu | history ~ Gamma(q + p x, v + x m).
        assert got[i] == pytest.approx(p * (v + x * m) / (q + p * x - 1), rel=1e-12)
    # More purchases pull the prediction towards the customer's own mean.
    few, many = model.expected_spend({"frequency": [1.0, 50.0], "monetary_value": [200.0, 200.0]})
    assert abs(many - 200.0) < abs(few - 200.0)


def test_expected_spend_agrees_with_simulation() -> None:
    model = GammaGammaModel.from_params(**PARAMS)
    drawn = simulate_gamma_gamma(np.full(400_000, 3.0), **PARAMS, seed=4)
    # Customers whose mean of three purchases is near 30: their next purchase's mean value.
    rng = np.random.default_rng(5)
    p, q, v = PARAMS.values()
    nu = rng.gamma(q, 1 / v, 400_000)
    mean_of_three = rng.gamma(3 * p, 1 / (3 * nu))
    near = np.abs(mean_of_three - 30.0) < 0.5
    next_value = rng.gamma(p, 1 / nu[near])
    predicted = model.expected_spend({"frequency": [3.0], "monetary_value": [30.0]})[0]
    standard_error = next_value.std() / np.sqrt(near.sum())
    assert abs(next_value.mean() - predicted) < 4 * standard_error
    assert drawn["monetary_value"].mean() == pytest.approx(p * v / (q - 1), rel=0.02)


def test_customer_without_repeat_purchase_gets_the_population_mean() -> None:
    model = GammaGammaModel.from_params(**PARAMS)
    got = model.expected_spend({"frequency": [0.0], "monetary_value": [0.0]})
    assert got[0] == pytest.approx(6.25 * 15.44 / 2.74)
    assert model.expected_spend_new_customer() == pytest.approx(got[0])


def test_weights_give_the_same_fit_as_repeated_rows() -> None:
    data = simulate_gamma_gamma(np.arange(1.0, 301.0) % 7 + 1, **PARAMS, seed=6)
    weight = np.arange(300.0) % 4 + 1
    repeated = {name: np.repeat(values, weight.astype(int)) for name, values in data.items()}
    grouped = GammaGammaModel().fit(data | {"weight": weight})
    plain = GammaGammaModel().fit(repeated)
    assert grouped.params_ == pytest.approx(plain.params_, rel=1e-6)


def test_one_time_buyers_are_refused_with_a_hint() -> None:
    data = {"frequency": np.array([0.0, 2.0, 0.0]), "monetary_value": np.array([0.0, 5.0, 0.0])}
    with pytest.raises(DataError, match="repeat buyers") as caught:
        GammaGammaModel().fit(data)
    assert (caught.value.column, caught.value.bad_rows) == ("frequency", 2)


@pytest.mark.parametrize("bad", [0.0, -3.0, np.nan, np.inf])
def test_non_positive_or_missing_spend_is_refused(bad: float) -> None:
    data = {"frequency": np.array([1.0, 2.0]), "monetary_value": np.array([10.0, bad])}
    with pytest.raises(DataError) as caught:
        GammaGammaModel().fit(data)
    assert (caught.value.column, caught.value.bad_rows) == ("monetary_value", 1)


def test_missing_column_and_empty_table_are_refused() -> None:
    with pytest.raises(DataError, match=r"^column 'monetary_value': missing required column"):
        GammaGammaModel().fit({"frequency": [1.0]})
    with pytest.raises(DataError, match="the table is empty: at least one row is needed"):
        GammaGammaModel().fit({"frequency": [], "monetary_value": []})


def test_prediction_before_fit_raises_not_fitted() -> None:
    with pytest.raises(NotFittedError, match="GammaGammaModel is not fitted yet"):
        GammaGammaModel().expected_spend(rows())


def test_log_likelihood_is_that_of_the_means_not_the_sums(cdnow_calibration: pd.DataFrame) -> None:
    repeaters = cdnow_calibration[cdnow_calibration.frequency > 0]
    model = GammaGammaModel.from_params(**PARAMS)
    columns = {name: repeaters[name].to_numpy(float) for name in ("frequency", "monetary_value")}
    of_means = model._log_likelihood(np.array(list(PARAMS.values())), columns)[0].sum()
    # The sum s = x m is Gamma(p x, nu) given nu; its density is the mean's divided by x.
    p, q, v = PARAMS.values()
    x, s = columns["frequency"], columns["frequency"] * columns["monetary_value"]
    of_sums = np.sum(
        special.gammaln(p * x + q) - special.gammaln(p * x) - special.gammaln(q)
        + q * np.log(v) + (p * x - 1) * np.log(s) - (p * x + q) * np.log(v + s)
    )  # fmt: skip
    assert of_means - of_sums == pytest.approx(np.log(x).sum(), rel=1e-9)
    assert of_means == pytest.approx(published.GAMMA_GAMMA.log_likelihood, abs=0.5)


def test_population_mean_is_infinite_when_q_is_at_most_one() -> None:
    heavy_tailed = GammaGammaModel.from_params(p=2.0, q=0.9, v=10.0)
    assert heavy_tailed.expected_spend_new_customer() == np.inf
    # A customer's own purchases make the posterior mean finite again once p x + q > 1.
    got = heavy_tailed.expected_spend({"frequency": [0.0, 1.0], "monetary_value": [0.0, 30.0]})
    assert got[0] == np.inf
    assert got[1] == pytest.approx(2.0 * (10.0 + 30.0) / (2.0 + 0.9 - 1.0))


def test_refusal_of_one_time_buyers_names_an_example_row() -> None:
    data = {"frequency": np.array([3.0, 0.0, 2.0]), "monetary_value": np.array([9.0, 0.0, 5.0])}
    with pytest.raises(DataError, match=r"summary\[summary.frequency > 0\]") as caught:
        GammaGammaModel().fit(data)
    assert caught.value.example == {"row": 1, "frequency": 0.0}


def test_weights_give_the_same_log_likelihood_as_repeated_rows() -> None:
    # (A small sample can have its maximum at p -> infinity; this one has a finite one.)
    data = simulate_gamma_gamma(np.arange(1.0, 301.0) % 7 + 1, **PARAMS, seed=6)
    weight = np.arange(300.0) % 3 + 1
    repeated = {name: np.repeat(values, weight.astype(int)) for name, values in data.items()}
    grouped = GammaGammaModel().fit(data | {"weight": weight})
    plain = GammaGammaModel().fit(repeated)
    assert grouped.log_likelihood_ == pytest.approx(plain.log_likelihood_, rel=1e-10)
    assert grouped.result_.n_observations == plain.result_.n_observations == weight.sum()


def test_fractional_frequency_is_refused() -> None:
    with pytest.raises(DataError, match="whole number") as caught:
        GammaGammaModel().fit({"frequency": [1.0, 2.5], "monetary_value": [10.0, 12.0]})
    assert caught.value.column == "frequency"
