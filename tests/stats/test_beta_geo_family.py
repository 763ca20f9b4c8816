"""BG/NBD and MBG/NBD alike: likelihood, gradient, predictions against independent forms."""

from __future__ import annotations

import pickle
from collections.abc import Callable

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from scipy import integrate, special

from retain.errors import DataError, NotFittedError
from retain.stats._beta_geo_family import BetaGeoFamily
from retain.stats._optimize import maximise
from retain.stats.beta_geo import BetaGeoModel
from retain.stats.modified_beta_geo import ModifiedBetaGeoModel
from retain.stats.simulate import simulate_beta_geo, simulate_modified_beta_geo

MODELS = [BetaGeoModel, ModifiedBetaGeoModel]
PARAMS = {"r": 0.25, "alpha": 4.4, "a": 0.79, "b": 2.4}
# How many dropout coin tosses a history of x repeat purchases holds, per model.
EXTRA_TOSSES = {BetaGeoModel: 0, ModifiedBetaGeoModel: 1}


def ordinary_rows() -> dict[str, np.ndarray]:
    return {
        "frequency": np.array([0.0, 0.0, 1.0, 2.0, 5.0, 7.0, 1.0]),
        "recency": np.array([0.0, 0.0, 5.0, 30.0, 39.0, 12.5, 0.5]),
        "T": np.array([39.0, 10.0, 39.0, 39.0, 39.0, 20.0, 1.0]),
    }


def heavy_rows() -> dict[str, np.ndarray]:
    return {
        "frequency": np.array([400.0, 400.0, 150.0, 0.0]),
        "recency": np.array([1.0, 499.9, 250.0, 0.0]),
        "T": np.array([500.0, 500.0, 500.0, 500.0]),
    }


def longhand_log_likelihood(model: type[BetaGeoFamily], rows: dict[str, np.ndarray]) -> np.ndarray:
    """FHL (2005) eq. 6 / Batislam et al. (2007) eq. 3 written out with Beta and Gamma functions."""
    r, alpha, a, b = PARAMS.values()
    k = EXTRA_TOSSES[model]
    x, t_x, T = rows["frequency"], rows["recency"], rows["T"]
    common = special.gamma(r + x) * alpha**r / special.gamma(r)
    alive = special.beta(a, b + x + k) / special.beta(a, b) / (alpha + T) ** (r + x)
    gone = np.where(
        x + k > 0,
        special.beta(a + 1, np.maximum(b + x + k - 1, 1e-9)) / special.beta(a, b)
        / (alpha + t_x) ** (r + x),
        0.0,
    )  # fmt: skip
    return np.log(common * (alive + gone))


def expected_by_integration(t: float, r: float, alpha: float, a: float, b: float) -> float:
    """``E[X(t)]`` of a customer alive at 0: ``E_p[(1 - (alpha/(alpha+p t))^r) / p]``."""

    def integrand(p: float) -> float:
        density = np.exp((a - 1) * np.log(p) + (b - 1) * np.log1p(-p) - special.betaln(a, b))
        return -np.expm1(-r * np.log1p(p * t / alpha)) / p * density

    return integrate.quad(integrand, 0, 1, limit=200, epsabs=1e-13, epsrel=1e-11)[0]


@pytest.mark.parametrize("model", MODELS)
def test_log_likelihood_equals_the_longhand_formula(model) -> None:
    rows = ordinary_rows()
    theta = np.array(list(PARAMS.values()))
    value, _ = model()._log_likelihood(theta, rows)
    np.testing.assert_allclose(value, longhand_log_likelihood(model, rows), rtol=1e-12)


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("rows", [ordinary_rows(), heavy_rows()], ids=["ordinary", "heavy"])
def test_gradient_matches_finite_differences(
    model, rows, assert_gradient_matches: Callable[..., None]
) -> None:
    assert_gradient_matches(model(), PARAMS, rows)


@pytest.mark.parametrize("model", MODELS)
def test_heavy_buyers_give_finite_likelihood_and_predictions(model) -> None:
    rows = heavy_rows()
    value, gradient = model()._log_likelihood(np.array(list(PARAMS.values())), rows)
    assert np.all(np.isfinite(value)) and np.all(np.isfinite(gradient))
    fitted = model.from_params(**PARAMS)
    p_alive = fitted.probability_alive(rows)
    assert np.all((p_alive >= 0) & (p_alive <= 1))
    assert p_alive[1] > 0.99 and p_alive[0] < 1e-100
    expected = fitted.expected_purchases(rows, 10.0)
    assert np.all(np.isfinite(expected))
    # Alive and buying ~0.8 a week: about 8 purchases in the next ten weeks, a little fewer
    # because of the chance of dropping out after each.
    assert 6 < expected[1] < 8.1


@pytest.mark.parametrize("model", MODELS)
def test_conditional_expectation_equals_the_posterior_integral(model) -> None:
    fitted = model.from_params(**PARAMS)
    rows = ordinary_rows()
    got = fitted.expected_purchases(rows, 26.0)
    r, alpha, a, b = PARAMS.values()
    k = EXTRA_TOSSES[model]
    p_alive = fitted.probability_alive(rows)
    for i in range(len(got)):
        x, T = rows["frequency"][i], rows["T"][i]
        want = p_alive[i] * expected_by_integration(26.0, r + x, alpha + T, a, b + x + k)
        assert got[i] == pytest.approx(want, rel=1e-9)


@pytest.mark.parametrize("model", MODELS)
def test_new_customer_expectation_equals_the_integral(model) -> None:
    fitted = model.from_params(**PARAMS)
    r, alpha, a, b = PARAMS.values()
    horizons = np.array([0.5, 5.0, 39.0, 300.0])
    if model is BetaGeoModel:
        want = [expected_by_integration(t, r, alpha, a, b) for t in horizons]
    else:  # alive after the first toss with probability b/(a+b), then p ~ Beta(a, b+1)
        want = [b / (a + b) * expected_by_integration(t, r, alpha, a, b + 1) for t in horizons]
    np.testing.assert_allclose(fitted.expected_purchases_new_customer(horizons), want, rtol=1e-9)
    assert fitted.expected_purchases_new_customer(0.0) == 0.0


@pytest.mark.parametrize("model", MODELS)
def test_new_customer_expectation_agrees_with_simulation(model) -> None:
    simulate = simulate_beta_geo if model is BetaGeoModel else simulate_modified_beta_geo
    drawn = simulate(400_000, **PARAMS, T=39.0, seed=3)
    predicted = float(model.from_params(**PARAMS).expected_purchases_new_customer(39.0))
    standard_error = drawn["frequency"].std() / np.sqrt(len(drawn["frequency"]))
    assert abs(drawn["frequency"].mean() - predicted) < 4 * standard_error


@pytest.mark.parametrize("model", MODELS)
def test_purchase_probabilities_sum_to_one_and_average_to_the_expectation(model) -> None:
    fitted = model.from_params(**PARAMS)
    rows = ordinary_rows()
    counts = np.arange(0, 250)
    table = np.array([fitted.probability_of_purchases(rows, n, 39.0) for n in counts])
    np.testing.assert_allclose(table.sum(axis=0), 1.0, rtol=1e-10)
    np.testing.assert_allclose(counts @ table, fitted.expected_purchases(rows, 39.0), rtol=1e-8)
    new = fitted.probability_of_purchases_new_customer(counts, 39.0)
    assert new.sum() == pytest.approx(1.0, rel=1e-10)
    assert counts @ new == pytest.approx(float(fitted.expected_purchases_new_customer(39.0)))


@pytest.mark.parametrize("model", MODELS)
def test_new_customer_purchase_probabilities_agree_with_simulation(model) -> None:
    simulate = simulate_beta_geo if model is BetaGeoModel else simulate_modified_beta_geo
    drawn = simulate(200_000, **PARAMS, T=39.0, seed=5)["frequency"]
    fitted = model.from_params(**PARAMS)
    for n in (0, 1, 3):
        share = float(np.mean(drawn == n))
        predicted = float(fitted.probability_of_purchases_new_customer(n, 39.0))
        assert abs(share - predicted) < 4 * np.sqrt(predicted * (1 - predicted) / len(drawn))


@pytest.mark.parametrize("model", MODELS)
def test_probability_of_purchases_over_no_time_is_certain_zero(model) -> None:
    fitted = model.from_params(**PARAMS)
    rows = ordinary_rows()
    np.testing.assert_array_equal(fitted.probability_of_purchases(rows, 0, 0.0), 1.0)
    np.testing.assert_array_equal(fitted.probability_of_purchases(rows, 2, 0.0), 0.0)


@pytest.mark.parametrize("model", MODELS)
def test_probability_alive_falls_with_silence_and_rises_with_recency(model) -> None:
    fitted = model.from_params(**PARAMS)
    longer_silence = fitted.probability_alive(
        {"frequency": [3.0, 3.0], "recency": [10.0, 10.0], "T": [20.0, 40.0]}
    )
    assert longer_silence[0] > longer_silence[1]
    later_purchase = fitted.probability_alive(
        {"frequency": [3.0, 3.0], "recency": [10.0, 30.0], "T": [40.0, 40.0]}
    )
    assert later_purchase[1] > later_purchase[0]


@pytest.mark.parametrize("model", MODELS)
def test_fit_recovers_simulated_parameters(model) -> None:
    simulate = simulate_beta_geo if model is BetaGeoModel else simulate_modified_beta_geo
    truth = {"r": 0.6, "alpha": 5.0, "a": 0.9, "b": 3.0}
    drawn = simulate(60_000, **truth, T=np.linspace(30, 80, 60_000), seed=11)
    fitted = model().fit(drawn)
    for name, value in truth.items():
        assert abs(fitted.params_[name] - value) < 3.5 * fitted.standard_errors_[name], name


@pytest.mark.parametrize("model", MODELS)
def test_fit_is_equivariant_to_the_time_unit(model, cdnow_calibration: pd.DataFrame) -> None:
    weeks = model().fit(cdnow_calibration)
    days = model().fit(
        {
            "frequency": cdnow_calibration.frequency.to_numpy(),
            "recency": cdnow_calibration.recency.to_numpy() * 7,
            "T": cdnow_calibration["T"].to_numpy() * 7,
        }
    )
    assert days.params_["alpha"] == pytest.approx(7 * weeks.params_["alpha"], rel=1e-5)
    for name in ("r", "a", "b"):
        assert days.params_[name] == pytest.approx(weeks.params_[name], rel=1e-5)


@pytest.mark.parametrize("model", MODELS)
def test_every_table_kind_gives_the_same_fit(model, cdnow_calibration: pd.DataFrame) -> None:
    frame = cdnow_calibration[["frequency", "recency", "T"]]
    reference = model().fit(frame).params_
    for table in (
        pl.from_pandas(frame),
        pa.Table.from_pandas(frame),
        {name: frame[name].to_numpy() for name in frame},
    ):
        assert model().fit(table).params_ == pytest.approx(reference, rel=1e-12)


@pytest.mark.parametrize("model", MODELS)
def test_weights_give_the_same_fit_as_repeated_rows(model) -> None:
    rows = ordinary_rows()
    weight = np.array([30.0, 12.0, 9.0, 4.0, 2.0, 3.0, 5.0])
    repeated = {name: np.repeat(values, weight.astype(int)) for name, values in rows.items()}
    grouped = model().fit(rows | {"weight": weight})
    plain = model().fit(repeated)
    assert grouped.params_ == pytest.approx(plain.params_, rel=1e-6)
    assert grouped.log_likelihood_ == pytest.approx(plain.log_likelihood_, rel=1e-10)


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize(
    ("change", "column"),
    [
        ({"frequency": [1.0, -1.0, 2.0]}, "frequency"),
        ({"frequency": [1.0, 1.5, 2.0]}, "frequency"),
        ({"recency": [5.0, 50.0, 20.0]}, "recency"),
        ({"T": [39.0, np.nan, 39.0]}, "T"),
    ],
)
def test_bad_input_raises_data_error_naming_the_column(model, change, column) -> None:
    rows = {"frequency": [1.0, 2.0, 2.0], "recency": [5.0, 10.0, 20.0], "T": [39.0, 39.0, 39.0]}
    with pytest.raises(DataError) as caught:
        model().fit(rows | {k: np.array(v) for k, v in change.items()})
    assert caught.value.column == column
    assert caught.value.bad_rows == 1


@pytest.mark.parametrize("model", MODELS)
def test_missing_column_and_empty_table_raise_data_error(model) -> None:
    with pytest.raises(DataError, match=r"^column 'recency': missing required column") as caught:
        model().fit({"frequency": [1.0], "T": [3.0]})
    assert caught.value.column == "recency"
    with pytest.raises(DataError, match="the table is empty: at least one row is needed"):
        model().fit({"frequency": [], "recency": [], "T": []})


@pytest.mark.parametrize("model", MODELS)
def test_predictions_before_fit_raise_not_fitted(model) -> None:
    not_fitted = f"this {model.__name__} is not fitted yet: call fit"
    with pytest.raises(NotFittedError, match=not_fitted):
        model().probability_alive(ordinary_rows())
    with pytest.raises(NotFittedError, match=not_fitted):
        model().expected_purchases_new_customer(1.0)
    with pytest.raises(NotFittedError, match=not_fitted):
        _ = model().params_


@pytest.mark.parametrize("model", MODELS)
def test_bad_prediction_arguments_raise_data_error(model) -> None:
    fitted = model.from_params(**PARAMS)
    with pytest.raises(DataError, match=r"^column 't': must be >= 0") as caught:
        fitted.expected_purchases(ordinary_rows(), -1.0)
    assert caught.value.example["t"] == -1.0
    with pytest.raises(DataError, match=r"^column 'n': must be a whole number") as caught:
        fitted.probability_of_purchases(ordinary_rows(), 1.5, 10.0)
    assert caught.value.example["n"] == 1.5
    with pytest.raises(DataError, match=r"^column 't': must be >= 0") as caught:
        fitted.probability_of_purchases(ordinary_rows(), 1, -10.0)
    assert caught.value.example["t"] == -10.0


@pytest.mark.parametrize("model", MODELS)
def test_fitted_model_survives_pickling(model, cdnow_calibration: pd.DataFrame) -> None:
    fitted = model().fit(cdnow_calibration)
    restored = pickle.loads(pickle.dumps(fitted))
    assert restored.params_ == fitted.params_
    np.testing.assert_array_equal(
        restored.probability_alive(cdnow_calibration), fitted.probability_alive(cdnow_calibration)
    )


@pytest.mark.parametrize("model", MODELS)
def test_fast_weighted_sum_equals_the_per_row_likelihood(model) -> None:
    drawn = simulate_beta_geo(3_000, **PARAMS, T=np.linspace(1, 60, 3_000), seed=4)
    weights = np.random.default_rng(2).uniform(0.5, 3.0, 3_000)
    theta = np.array([0.3, 5.0, 0.7, 2.0])
    fast_value, fast_gradient = model()._weighted_log_likelihood(theta, drawn, weights)
    values, gradients = model()._log_likelihood(theta, drawn)
    assert fast_value == pytest.approx(weights @ values, rel=1e-12)
    np.testing.assert_allclose(fast_gradient, weights @ gradients, rtol=1e-10)


@pytest.mark.parametrize("model", MODELS)
def test_large_fit_from_a_subsample_start_reaches_the_same_optimum(model) -> None:
    simulate = simulate_beta_geo if model is BetaGeoModel else simulate_modified_beta_geo
    drawn = simulate(250_000, **PARAMS, T=np.linspace(1, 78, 250_000), seed=6)
    warm = model().fit(drawn)  # above the warm-start threshold: subsample, then Newton
    assert warm.result_.message.startswith("Newton")
    cold = model()
    cold_columns, cold_weights, _ = cold._prepare(drawn)
    optimum = maximise(
        lambda p: cold.total_log_likelihood(p, cold_columns, cold_weights),
        np.array(list(PARAMS.values())),
        total_weight=len(cold_weights),
    )
    assert warm.log_likelihood_ == pytest.approx(optimum.log_likelihood, rel=1e-9)
    np.testing.assert_allclose(list(warm.params_.values()), optimum.params, rtol=1e-4)
