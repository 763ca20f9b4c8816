"""The estimator base, checked on a model with a closed-form answer (exponential waiting times)."""

from __future__ import annotations

import numpy as np
import pytest

from retain.errors import ConvergenceError, DataError, NotFittedError
from retain.stats._base import BaseModel
from retain.stats._validation import read_columns, weights_of


class ExponentialModel(BaseModel):
    """Waiting times x ~ Exponential(rate): the MLE is n / sum(x), its SE rate / sqrt(n)."""

    param_names = ("rate",)
    default_initial_params = (1.0,)

    def _prepare(self, data):
        columns = read_columns(data, ["wait"], optional=("weight",))
        return columns, weights_of(columns), ("wait",)

    def _log_likelihood(self, params, columns):
        (rate,) = params
        wait = columns["wait"]
        return np.log(rate) - rate * wait, (1.0 / rate - wait)[:, None]


def make_waits(n: int = 5000, rate: float = 0.25, seed: int = 3) -> dict[str, np.ndarray]:
    return {"wait": np.random.default_rng(seed).exponential(1.0 / rate, n)}


def test_fit_finds_the_closed_form_estimate_and_standard_error() -> None:
    waits = make_waits()
    model = ExponentialModel().fit(waits)
    expected = len(waits["wait"]) / waits["wait"].sum()
    assert model.params_["rate"] == pytest.approx(expected, rel=1e-7)
    assert model.standard_errors_["rate"] == pytest.approx(expected / np.sqrt(5000), rel=1e-4)
    assert model.log_likelihood_ == pytest.approx(5000 * (np.log(expected) - 1), rel=1e-10)
    assert model.aic_ == pytest.approx(2 - 2 * model.log_likelihood_)
    assert model.bic_ == pytest.approx(np.log(5000) - 2 * model.log_likelihood_)
    assert model.result_.converged


def test_weights_give_the_same_fit_as_repeated_rows() -> None:
    repeated = ExponentialModel().fit({"wait": np.array([1.0, 1.0, 1.0, 4.0])})
    weighted = ExponentialModel().fit({"wait": np.array([1.0, 4.0]), "weight": [3.0, 1.0]})
    assert weighted.params_["rate"] == pytest.approx(repeated.params_["rate"], rel=1e-8)
    assert weighted.log_likelihood_ == pytest.approx(repeated.log_likelihood_, rel=1e-10)
    assert weighted.result_.n_observations == 4.0
    assert weighted.result_.n_distinct_rows == 2


def test_identical_rows_are_compressed_before_fitting() -> None:
    model = ExponentialModel().fit({"wait": np.repeat([1.0, 2.0, 3.0], 1000)})
    assert model.result_.n_distinct_rows == 3
    assert model.result_.n_observations == 3000


def test_using_a_model_before_fit_raises_not_fitted() -> None:
    model = ExponentialModel()
    with pytest.raises(NotFittedError, match=r"this ExponentialModel is not fitted yet: call fit"):
        _ = model.params_
    with pytest.raises(NotFittedError, match=r"this ExponentialModel has no fit result"):
        _ = model.log_likelihood_
    assert "not fitted" in repr(model)


def test_from_params_sets_known_values_but_no_fit_result() -> None:
    model = ExponentialModel.from_params(rate=2.0)
    assert model.params_ == {"rate": 2.0}
    with pytest.raises(NotFittedError, match=r"this ExponentialModel has no fit result"):
        _ = model.result_
    with pytest.raises(
        DataError, match=r"takes parameters \['rate'\]; missing \[\], unknown \['shape'\]"
    ):
        ExponentialModel.from_params(rate=1.0, shape=2.0)
    with pytest.raises(DataError, match=r"must be finite and > 0, got \{'rate': -1.0\}"):
        ExponentialModel.from_params(rate=-1.0)


def test_a_likelihood_that_is_infinite_at_the_start_raises_convergence_error() -> None:
    class Broken(ExponentialModel):
        def _log_likelihood(self, params, columns):
            return np.full(len(columns["wait"]), -np.inf), np.zeros((len(columns["wait"]), 1))

    with pytest.raises(ConvergenceError, match="initial_params"):
        Broken().fit(make_waits(100))


def test_an_unbounded_likelihood_raises_convergence_error() -> None:
    class Unbounded(ExponentialModel):
        def _log_likelihood(self, params, columns):
            (rate,) = params
            return np.full(len(columns["wait"]), rate), np.ones((len(columns["wait"]), 1))

    with pytest.raises(ConvergenceError, match="without a maximum"):
        Unbounded().fit(make_waits(100))


def test_summary_reports_a_95_percent_interval() -> None:
    model = ExponentialModel().fit(make_waits())
    row = model.result_.summary()["rate"]
    assert row["lower_95"] < row["estimate"] < row["upper_95"]
    assert row["upper_95"] - row["estimate"] == pytest.approx(1.959964 * row["standard_error"])
