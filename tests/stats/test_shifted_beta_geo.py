"""sBG: the published fits to both segments, their holdout years, and the predictions' sums."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from retain.datasets import load_sbg_retention, published
from retain.errors import DataError, NotFittedError
from retain.stats.shifted_beta_geo import ShiftedBetaGeoModel
from retain.stats.simulate import simulate_shifted_beta_geo

PARAMS = {"alpha": 0.7, "beta": 1.2}


@pytest.fixture(scope="module")
def retention() -> pd.DataFrame:
    return load_sbg_retention()


def curve(retention: pd.DataFrame, segment: str, years: int = 8) -> dict[str, np.ndarray]:
    """Years 0..years-1 of a segment, as counts of its 1,000 customers."""
    return {
        "period": retention.year.to_numpy()[:years],
        "survivors": np.round(retention[segment].to_numpy()[:years] * 10),
    }


@pytest.mark.parametrize(
    ("segment", "reference"),
    [
        ("high_end", published.SHIFTED_BETA_GEO_HIGH_END),
        ("regular", published.SHIFTED_BETA_GEO_REGULAR),
    ],
)
def test_fit_to_years_0_to_7_reproduces_the_published_estimates(
    retention, segment, reference
) -> None:
    model = ShiftedBetaGeoModel().fit(curve(retention, segment))
    for name, value in reference.params.items():
        assert model.params_[name] == pytest.approx(value, abs=5e-4), name
    assert model.result_.converged


@pytest.mark.parametrize(("segment", "within"), [("high_end", 1.7), ("regular", 0.4)])
def test_holdout_years_8_to_12_are_projected_within_two_points(retention, segment, within) -> None:
    model = ShiftedBetaGeoModel().fit(curve(retention, segment))
    projected = model.survival(np.arange(8, 13)) * 100
    actual = retention[segment].to_numpy()[8:13]
    # Fader & Hardie (2007), figure 4: the sBG tracks the holdout years closely; in points of
    # retention the largest miss is 1.6 (high end, year 12, under) and 0.3 (regular).
    assert np.max(np.abs(projected - actual)) < within


def test_curve_and_per_customer_lifetimes_give_the_same_fit(retention) -> None:
    data = curve(retention, "regular")
    lost = -np.diff(data["survivors"])
    durations = np.concatenate(
        [np.repeat(np.arange(1.0, 8.0), lost.astype(int)), np.full(int(data["survivors"][-1]), 7.0)]
    )
    churned = np.concatenate([np.ones(int(lost.sum())), np.zeros(int(data["survivors"][-1]))])
    per_customer = ShiftedBetaGeoModel().fit({"duration": durations, "churned": churned})
    from_curve = ShiftedBetaGeoModel().fit(data)
    assert per_customer.params_ == pytest.approx(from_curve.params_, rel=1e-6)
    assert per_customer.log_likelihood_ == pytest.approx(from_curve.log_likelihood_, rel=1e-10)


def test_gradient_matches_finite_differences(assert_gradient_matches: Callable[..., None]) -> None:
    columns = {
        "duration": np.array([1.0, 2.0, 7.0, 0.0, 7.0]),
        "churned": np.array([1.0, 1, 1, 0, 0]),
    }
    assert_gradient_matches(ShiftedBetaGeoModel(), PARAMS, columns)


def test_fit_recovers_simulated_parameters() -> None:
    truth = {"alpha": 1.5, "beta": 4.0}
    model = ShiftedBetaGeoModel().fit(
        simulate_shifted_beta_geo(50_000, **truth, periods=12, seed=3)
    )
    for name, value in truth.items():
        assert abs(model.params_[name] - value) < 3.5 * model.standard_errors_[name], name


def test_survival_agrees_with_simulation() -> None:
    drawn = simulate_shifted_beta_geo(200_000, **PARAMS, periods=10, seed=8)
    model = ShiftedBetaGeoModel.from_params(**PARAMS)
    for t in (1, 3, 9):
        share = float(np.mean(drawn["duration"] > t) + np.mean((drawn["churned"] == 0) & (t >= 10)))
        predicted = float(model.survival(t))
        assert abs(share - predicted) < 4 * np.sqrt(predicted * (1 - predicted) / 200_000)


def test_retention_rate_churn_probability_and_survival_agree() -> None:
    model = ShiftedBetaGeoModel.from_params(**PARAMS)
    t = np.arange(1, 30)
    survival = model.survival(np.arange(0, 30))
    np.testing.assert_allclose(model.retention_rate(t), survival[1:] / survival[:-1], rtol=1e-12)
    np.testing.assert_allclose(model.probability_churn_at(t), -np.diff(survival), rtol=1e-10)
    assert np.all(np.diff(model.retention_rate(t)) > 0)  # the quick leavers leave first
    assert model.survival(0) == 1.0


def test_residual_lifetime_is_the_discounted_sum_of_future_renewals() -> None:
    model = ShiftedBetaGeoModel.from_params(**PARAMS)
    survival = model.survival(np.arange(0, 5000))
    for renewals in (0, 3, 10):
        # Having renewed n-1 = renewals times (alive at period n-1 = renewals), the chance of
        # renewing k more times is S(renewals + k) / S(renewals), worth (1+d)^-(k-1).
        k = np.arange(1, 5000 - renewals)
        want = np.sum(survival[renewals + k] / survival[renewals] / 1.1 ** (k - 1))
        got = model.discounted_expected_residual_lifetime(renewals, 0.1)
        assert got == pytest.approx(want, rel=1e-9)


def test_expected_lifetime_is_finite_only_for_alpha_above_one() -> None:
    assert ShiftedBetaGeoModel.from_params(alpha=0.7, beta=1.2).expected_lifetime() == np.inf
    finite = ShiftedBetaGeoModel.from_params(alpha=3.0, beta=2.0)
    survival = finite.survival(np.arange(0, 200_000))
    assert finite.expected_lifetime() == pytest.approx(survival.sum(), rel=1e-3)


@pytest.mark.parametrize(
    ("data", "column", "rule", "bad_rows", "example"),
    [
        ({"period": [0, 1, 2], "survivors": [100.0, 120.0, 50.0]}, "survivors",
         "must not increase", 1, {"row": 1, "survivors": 120.0}),
        ({"period": [0, 1, 2], "survivors": [100.0, -1.0, -2.0]}, "survivors", "must be >= 0",
         2, {"row": 1, "survivors": -1.0}),
        ({"period": [0, 2, 3], "survivors": [100.0, 80.0, 50.0]}, "period",
         "must run 0, 1, 2, ... in order", 2, {"row": 1, "period": 2.0}),
        ({"duration": [1.0, 0.0], "churned": [1.0, 1.0]}, "duration",
         "must be >= 1 for a churned subscriber", 1, {"row": 1, "duration": 0.0}),
        ({"duration": [1.0, 2.5], "churned": [1.0, 0.0]}, "duration", "must be a whole number",
         1, {"row": 1, "duration": 2.5}),
        ({"duration": [1.0, 2.0], "churned": [1.0, 2.0]}, "churned", "must be 0/1 or a boolean",
         1, {"row": 1, "churned": 2.0}),
        ({"duration": [1.0]}, "churned", "missing required column", None, None),
    ],
)  # fmt: skip
def test_bad_input_raises_data_error_naming_the_column(
    data, column, rule, bad_rows, example
) -> None:
    with pytest.raises(DataError) as caught:
        ShiftedBetaGeoModel().fit({k: np.asarray(v) for k, v in data.items()})
    assert caught.value.column == column
    assert str(caught.value).startswith(f"column {column!r}: {rule}")
    assert (caught.value.bad_rows, caught.value.example) == (bad_rows, example)


def test_bad_prediction_arguments_are_refused() -> None:
    model = ShiftedBetaGeoModel.from_params(**PARAMS)
    with pytest.raises(DataError, match=r"^column 't': must be >= 1") as caught:
        model.retention_rate(0)
    assert (caught.value.bad_rows, caught.value.example) == (1, {"row": 0, "t": 0.0})
    with pytest.raises(DataError, match=r"^column 't': must be a whole number") as caught:
        model.survival(1.5)
    assert (caught.value.bad_rows, caught.value.example) == (1, {"row": 0, "t": 1.5})
    with pytest.raises(DataError, match=r"discount_rate must be > 0, got 0.0") as caught:
        model.discounted_expected_residual_lifetime(1, 0.0)
    assert caught.value.column == "discount_rate"


def test_predictions_before_fit_raise_not_fitted() -> None:
    with pytest.raises(NotFittedError, match="ShiftedBetaGeoModel is not fitted yet"):
        ShiftedBetaGeoModel().survival(3)


def test_shares_give_the_estimates_of_counts_with_standard_errors_of_a_smaller_cohort(
    retention,
) -> None:
    counts = ShiftedBetaGeoModel().fit(curve(retention, "regular"))
    percent = ShiftedBetaGeoModel().fit(
        {"period": retention.year.to_numpy()[:8], "survivors": retention.regular.to_numpy()[:8]}
    )
    assert percent.params_ == pytest.approx(counts.params_, rel=1e-6)
    # The percentages describe a cohort of 100 rather than 1,000: errors sqrt(10) times wider.
    for name in counts.param_names:
        ratio = percent.standard_errors_[name] / counts.standard_errors_[name]
        assert ratio == pytest.approx(np.sqrt(10), rel=1e-3), name


def test_weights_give_the_same_fit_as_repeated_rows() -> None:
    data = simulate_shifted_beta_geo(300, **PARAMS, periods=6, seed=11)
    weight = np.arange(300.0) % 3 + 1
    repeated = {name: np.repeat(values, weight.astype(int)) for name, values in data.items()}
    grouped = ShiftedBetaGeoModel().fit(data | {"weight": weight})
    plain = ShiftedBetaGeoModel().fit(repeated)
    assert grouped.params_ == pytest.approx(plain.params_, rel=1e-6)
    assert grouped.log_likelihood_ == pytest.approx(plain.log_likelihood_, rel=1e-10)


def test_boolean_churned_column_from_pandas_is_read() -> None:
    as_numbers = pd.DataFrame(simulate_shifted_beta_geo(500, **PARAMS, periods=5, seed=12))
    table = as_numbers.assign(
        duration=as_numbers.duration.astype(int), churned=as_numbers.churned == 1.0
    )
    assert table.churned.dtype == bool
    assert ShiftedBetaGeoModel().fit(table).params_ == pytest.approx(
        ShiftedBetaGeoModel().fit(as_numbers).params_, rel=1e-9
    )


def test_rising_survivors_name_the_period_where_the_curve_rises() -> None:
    with pytest.raises(DataError, match="must not increase") as caught:
        ShiftedBetaGeoModel().fit({"period": np.arange(4), "survivors": [100.0, 80, 85, 50]})
    assert (caught.value.column, caught.value.bad_rows) == ("survivors", 1)
    assert caught.value.example == {"row": 2, "survivors": 85.0}


@pytest.mark.parametrize(
    ("data", "column", "message"),
    [
        ({"period": [0, 1, 2], "survivors": [0.0, 0.0, 0.0]}, "survivors", "period 0"),
        ({"period": [0, 1, 2], "survivors": [100.0, 100.0, 100.0]}, "survivors", "no subscriber"),
        ({"duration": [3.0, 5.0], "churned": [0.0, 0.0]}, "churned", "no subscriber"),
        ({"period": [0, 1], "survivors": [10.0, 5.0], "weight": [1.0, 1.0]}, "weight", "weight"),
        ({"period": [0], "survivors": [10.0]}, "period", "periods 0 and 1"),
    ],
)
def test_curves_without_churn_or_with_a_weight_are_refused(data, column, message) -> None:
    with pytest.raises(DataError, match=message) as caught:
        ShiftedBetaGeoModel().fit({k: np.asarray(v) for k, v in data.items()})
    assert caught.value.column == column


def test_a_table_in_both_formats_or_in_neither_is_refused() -> None:
    both = {"period": [0, 1], "survivors": [10.0, 5.0], "duration": [1.0], "churned": [1.0]}
    with pytest.raises(DataError, match="not both"):
        ShiftedBetaGeoModel().fit(both)
    with pytest.raises(DataError, match=r"survival curve .* or one row per subscriber"):
        ShiftedBetaGeoModel().fit({"year": [0, 1], "share": [1.0, 0.5]})
