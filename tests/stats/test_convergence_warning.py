"""The one warning the library emits: a fit whose observed information is not positive
definite finishes, with NaN standard errors and a :class:`ConvergenceWarning` that says so.

Each case is data in which a parameter is really not identified, so the warning is what a
user would see on such data, not a forced code path.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from retain.errors import ConvergenceError, ConvergenceWarning
from retain.stats import BetaGeoModel, GammaGammaModel, ShiftedBetaGeoModel
from retain.stats._base import BaseModel


def geometric_curve() -> dict[str, np.ndarray]:
    """Half of the subscribers leave every period: one churn rate, so alpha and beta only
    matter through alpha / (alpha + beta) and both run off together."""
    return {"period": np.arange(6), "survivors": 1000 * 0.5 ** np.arange(6)}


def nobody_repeats() -> dict[str, np.ndarray]:
    """Fifty customers, none with a repeat purchase: the dropout process is invisible."""
    return {"frequency": np.zeros(50), "recency": np.zeros(50), "T": np.full(50, 30.0)}


def two_spenders() -> dict[str, np.ndarray]:
    """Two customers' average spends: three spend parameters cannot be told apart."""
    return {"frequency": np.array([1.0, 2.0]), "monetary_value": np.array([10.0, 12.0])}


CASES: list[tuple[type[BaseModel], Callable[[], dict[str, Any]]]] = [
    (ShiftedBetaGeoModel, geometric_curve),
    (BetaGeoModel, nobody_repeats),
    (GammaGammaModel, two_spenders),
]


def _fit_unidentified(model: type[BaseModel], data: dict[str, Any]) -> BaseModel | None:
    """Fit ``model`` on data that cannot identify it. Where L-BFGS-B stops on the ridge depends
    on the machine's last bits (seen: the same data warn on one CPU and stop early on another),
    so any of three honest outcomes is accepted, never a precise-looking answer: a
    ConvergenceError naming the parameters that run off; a ConvergenceWarning (the warning's
    text and place checked) with NaN standard errors; or standard errors larger than the
    estimates themselves. Returns the fitted model, or ``None`` after the error."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fitted = model().fit(data)
        except ConvergenceError as error:
            assert "-> infinity" in str(error)
            return None
    messages = [str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)]
    errors = np.array(list(fitted.standard_errors_.values()))
    estimates = np.array(list(fitted.params_.values()))
    if messages:
        assert messages == [
            f"{model.__name__}: the observed information is not positive definite; standard "
            "errors are NaN (a parameter may be weakly identified)"
        ]
        # stacklevel points at the caller's fit(...) line, not at retain's internals.
        assert [w.filename for w in caught] == [__file__]
        assert np.isnan(errors).all() and np.isnan(fitted.result_.covariance).all()
        summary = fitted.result_.summary()
        assert all(np.isnan(row["lower_95"]) for row in summary.values()) and summary
    else:
        assert (errors > estimates).any(), (fitted.params_, fitted.standard_errors_)
    assert fitted.standard_errors_.keys() == fitted.params_.keys()
    return fitted


@pytest.mark.parametrize(("model", "data"), CASES, ids=lambda case: getattr(case, "__name__", ""))
def test_an_unidentified_parameter_is_never_reported_as_precise(
    model: type[BaseModel], data: Callable[[], dict[str, Any]]
) -> None:
    _fit_unidentified(model, data())


def test_the_geometric_curve_still_gives_its_churn_rate() -> None:
    """An unidentified fit is not useless: the identified part is estimated."""
    fitted = _fit_unidentified(ShiftedBetaGeoModel, geometric_curve())
    if fitted is not None:
        alpha, beta = fitted.params_["alpha"], fitted.params_["beta"]
        assert alpha / (alpha + beta) == pytest.approx(0.5, rel=1e-4)
        assert fitted.retention_rate(3) == pytest.approx(0.5, rel=1e-4)


def test_a_well_identified_fit_does_not_warn() -> None:
    """The counterpart: a curve with heterogeneity (filterwarnings = error would fail here)."""
    curve = {"period": np.arange(6), "survivors": np.array([1000.0, 631, 468, 382, 326, 289])}
    fitted = ShiftedBetaGeoModel().fit(curve)
    assert all(np.isfinite(error) and error > 0 for error in fitted.standard_errors_.values())
    assert len(fitted.standard_errors_) == 2
