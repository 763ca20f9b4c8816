"""The estimator base: fit by maximum likelihood, keep the result, guard use before fit."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

import numpy as np

from retain.errors import ConvergenceWarning, DataError, NotFittedError
from retain.stats._optimize import (
    maximise,
    newton_polish,
    observed_information,
    single_threaded_blas,
)
from retain.stats._validation import Columns, compress

# Above this many distinct rows a fit starts from the optimum of a random subsample of them.
_WARM_START_ROWS = 200_000
_SAMPLE_ROWS = 20_000


@dataclass(frozen=True)
class FitResult:
    """What a maximum-likelihood fit learned, and how well it went.

    ``covariance`` is the inverse observed information in the order of ``params``;
    standard errors are the square roots of its diagonal (NaN where it is not positive
    definite, with a :class:`ConvergenceWarning`).
    """

    params: dict[str, float]
    standard_errors: dict[str, float]
    covariance: np.ndarray = field(repr=False)
    log_likelihood: float
    n_observations: float
    n_distinct_rows: int
    aic: float
    bic: float
    converged: bool
    iterations: int
    message: str

    def summary(self) -> dict[str, dict[str, float]]:
        """Estimate, standard error and 95% interval per parameter."""
        return {
            name: {
                "estimate": value,
                "standard_error": self.standard_errors[name],
                "lower_95": value - 1.959964 * self.standard_errors[name],
                "upper_95": value + 1.959964 * self.standard_errors[name],
            }
            for name, value in self.params.items()
        }


class BaseModel:
    """Shared machinery: subclasses say which columns they read and what their likelihood is.

    A subclass sets ``param_names``, ``default_initial_params`` and implements
    ``_prepare(data) -> (columns, weights, keys)`` and
    ``_log_likelihood(params, columns) -> (per_row_value, per_row_gradient)``
    where the gradient is with respect to the natural parameters, shape ``(n_rows, k)``.
    """

    param_names: ClassVar[tuple[str, ...]] = ()
    default_initial_params: ClassVar[tuple[float, ...]] = ()

    def __init__(
        self,
        *,
        initial_params: dict[str, float] | None = None,
        max_iterations: int = 1000,
        tolerance: float = 1e-10,
    ) -> None:
        self.initial_params = initial_params
        self.max_iterations = max_iterations
        self.tolerance = tolerance
        self._params: np.ndarray | None = None
        self._result: FitResult | None = None

    # ----------------------------------------------------------------- subclass contract
    def _prepare(self, data: Any) -> tuple[Columns, np.ndarray, tuple[str, ...]]:
        raise NotImplementedError

    def _log_likelihood(
        self, params: np.ndarray, columns: Columns
    ) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    # ----------------------------------------------------------------- fitting
    @classmethod
    def from_params(cls, **params: float) -> Self:
        """A model with known parameters (for prediction or simulation), not fitted to data."""
        missing = set(cls.param_names) - set(params)
        extra = set(params) - set(cls.param_names)
        if missing or extra:
            raise DataError(
                f"{cls.__name__} takes parameters {list(cls.param_names)}; "
                f"missing {sorted(missing)}, unknown {sorted(extra)}"
            )
        model = cls()
        values = np.array([float(params[name]) for name in cls.param_names])
        if not np.all(np.isfinite(values) & (values > 0)):
            raise DataError(f"{cls.__name__} parameters must be finite and > 0, got {params}")
        model._params = values
        return model

    def _initial(self) -> np.ndarray:
        if self.initial_params is None:
            return np.array(self.default_initial_params, dtype=float)
        return np.array([float(self.initial_params[name]) for name in self.param_names])

    def total_log_likelihood(
        self, params: np.ndarray, columns: Columns, weights: np.ndarray
    ) -> tuple[float, np.ndarray]:
        """Weighted total log-likelihood and its gradient at natural ``params``."""
        with np.errstate(all="ignore"):
            total, gradient = self._weighted_log_likelihood(params, columns, weights)
        if not np.isfinite(total):
            return -np.inf, np.zeros(len(params))
        return total, gradient

    def _weighted_log_likelihood(
        self, params: np.ndarray, columns: Columns, weights: np.ndarray
    ) -> tuple[float, np.ndarray]:
        """``weights @ per-row values`` and gradients; a model may sum more cleverly."""
        values, gradients = self._log_likelihood(params, columns)
        return float(weights @ values), weights @ gradients

    def fit(self, data: Any) -> Self:
        """Estimate the parameters by maximum likelihood; returns ``self``."""
        # The work is elementwise numpy; an idle pool of BLAS threads only competes with it
        # (a busy 2-core machine slowed a CDNOW fit from 3 ms to 110 ms), so use one.
        with single_threaded_blas():
            return self._fit(data)

    def _fit(self, data: Any) -> Self:
        columns, weights, keys = self._prepare(data)
        if "weight" in columns:
            columns = {k: v for k, v in columns.items() if k != "weight"}
        columns, weights = compress(columns, keys, weights)

        def log_likelihood(params: np.ndarray) -> tuple[float, np.ndarray]:
            return self.total_log_likelihood(params, columns, weights)

        n_observations = float(weights.sum())
        optimum = None
        large = len(weights) > _WARM_START_ROWS
        if large:
            # Many distinct rows: find the optimum of a subsample first, then finish with
            # Newton steps on the whole (see newton_polish).
            sample = np.random.default_rng(0).choice(len(weights), _SAMPLE_ROWS, replace=False)
            sample_columns = {name: values[sample] for name, values in columns.items()}
            sample_weights = weights[sample]
            start = maximise(
                lambda params: self.total_log_likelihood(params, sample_columns, sample_weights),
                self._initial(),
                total_weight=float(sample_weights.sum()),
                max_iterations=self.max_iterations,
                tolerance=1e-7,  # a start for Newton's steps, not the answer
                model=type(self).__name__,
                param_names=self.param_names,
            )
            optimum = newton_polish(log_likelihood, start.params, total_weight=n_observations)
        if optimum is None:
            optimum = maximise(
                log_likelihood,
                self._initial(),
                total_weight=n_observations,
                max_iterations=self.max_iterations,
                tolerance=self.tolerance,
                model=type(self).__name__,
                param_names=self.param_names,
            )
        information = observed_information(
            log_likelihood, optimum.params, optimum.gradient if large else None
        )
        try:
            covariance = np.linalg.inv(information)
            variances = np.diag(covariance)
            if np.any(variances <= 0) or not np.all(np.isfinite(variances)):
                raise np.linalg.LinAlgError
            standard_errors = np.sqrt(variances)
        except np.linalg.LinAlgError:
            covariance = np.full_like(information, np.nan)
            standard_errors = np.full(len(optimum.params), np.nan)
            warnings.warn(
                f"{type(self).__name__}: the observed information is not positive definite; "
                "standard errors are NaN (a parameter may be weakly identified)",
                ConvergenceWarning,
                stacklevel=3,  # the caller of fit (fit -> _fit -> here)
            )
        k = len(optimum.params)
        self._params = optimum.params
        self._result = FitResult(
            params=dict(zip(self.param_names, optimum.params.tolist(), strict=True)),
            standard_errors=dict(zip(self.param_names, standard_errors.tolist(), strict=True)),
            covariance=covariance,
            log_likelihood=optimum.log_likelihood,
            n_observations=n_observations,
            n_distinct_rows=len(weights),
            aic=2 * k - 2 * optimum.log_likelihood,
            bic=k * np.log(n_observations) - 2 * optimum.log_likelihood,
            converged=optimum.converged,
            iterations=optimum.iterations,
            message=optimum.message,
        )
        return self

    # ----------------------------------------------------------------- learned values
    def _fitted_params(self) -> np.ndarray:
        if self._params is None:
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet: call fit(data) first "
                "(or build it with from_params)"
            )
        return self._params

    @property
    def params_(self) -> dict[str, float]:
        return dict(zip(self.param_names, self._fitted_params().tolist(), strict=True))

    @property
    def result_(self) -> FitResult:
        if self._result is None:
            raise NotFittedError(
                f"this {type(self).__name__} has no fit result: call fit(data) first"
            )
        return self._result

    @property
    def log_likelihood_(self) -> float:
        return self.result_.log_likelihood

    @property
    def standard_errors_(self) -> dict[str, float]:
        return self.result_.standard_errors

    @property
    def covariance_(self) -> np.ndarray:
        return self.result_.covariance

    @property
    def aic_(self) -> float:
        return self.result_.aic

    @property
    def bic_(self) -> float:
        return self.result_.bic

    def __repr__(self) -> str:
        if self._params is None:
            return f"{type(self).__name__}(not fitted)"
        shown = ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
        return f"{type(self).__name__}({shown})"
