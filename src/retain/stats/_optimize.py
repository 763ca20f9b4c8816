"""Maximum-likelihood plumbing shared by every model.

Parameters are positive, so the optimiser works on their logarithms (unconstrained) and the
chain rule turns each model's analytic gradient into one for the log-parameters. The
objective is the weighted mean negative log-likelihood, which keeps its scale independent of
the number of customers. The covariance is the inverse of the observed information, the
negative Hessian of the total log-likelihood at the optimum, taken by central differences of
the analytic gradient (exact up to O(h^2), and cheap: 2k gradient evaluations).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import optimize
from threadpoolctl import ThreadpoolController

from retain.errors import ConvergenceError

_BLAS: ThreadpoolController | None = None


def single_threaded_blas() -> Any:
    """A context in which BLAS libraries use one thread (threadpoolctl, inspected once)."""
    global _BLAS
    if _BLAS is None:
        _BLAS = ThreadpoolController()
    return _BLAS.limit(limits=1, user_api="blas")


# (value, gradient) of the *total* log-likelihood at natural parameters.
LogLikelihood = Callable[[np.ndarray], tuple[float, np.ndarray]]


@dataclass(frozen=True)
class Optimum:
    params: np.ndarray
    log_likelihood: float
    gradient: np.ndarray
    converged: bool
    iterations: int
    evaluations: int
    message: str


def maximise(
    log_likelihood: LogLikelihood,
    initial: np.ndarray,
    *,
    total_weight: float,
    max_iterations: int = 1000,
    tolerance: float = 1e-10,
    model: str = "model",
    param_names: tuple[str, ...] = (),
) -> Optimum:
    """Maximise ``log_likelihood`` over positive parameters from ``initial``.

    Raises
    ------
    ConvergenceError
        When the optimiser stops far from a stationary point or the likelihood is not finite.
    """
    scale = 1.0 / total_weight

    def objective(log_params: np.ndarray) -> tuple[float, np.ndarray]:
        params = np.exp(log_params)
        value, gradient = log_likelihood(params)
        if not np.isfinite(value):
            # Let the line search back off instead of failing outright.
            return np.inf, np.zeros_like(log_params)
        return -value * scale, -gradient * params * scale

    x0 = np.log(np.asarray(initial, dtype=float))
    first = objective(x0)
    if not np.isfinite(first[0]):
        raise ConvergenceError(
            f"{model}: the log-likelihood is not finite at the starting values "
            f"{np.round(np.exp(x0), 6).tolist()}; pass initial_params closer to the data's scale",
            initial=np.exp(x0).tolist(),
        )
    result = optimize.minimize(
        objective,
        x0,
        jac=True,
        method="L-BFGS-B",
        bounds=[(-30.0, 30.0)] * len(x0),
        options={"maxiter": max_iterations, "ftol": tolerance * 1e-4, "gtol": tolerance},
    )
    params = np.exp(result.x)
    value, gradient = log_likelihood(params)
    log_gradient_norm = float(np.max(np.abs(gradient * params * scale)))
    at_bound = bool(np.any(np.abs(result.x) >= 29.9))
    names = param_names or tuple(f"param {i}" for i in range(len(params)))
    drifting = [
        f"{name} -> {'0' if u < 0 else 'infinity'}"
        for name, u in zip(names, result.x, strict=True)
        if abs(u) > np.log(1e5)
    ]
    # A stop far out on a ridge (a parameter past 1e6) is no maximum, however flat the
    # ridge, whether the line search gave up or declared success: where it stops (and so
    # the gradient there, and whether it calls that converged) depends on the machine's last
    # bits. Parameters past 1e5 are named as running off with it.
    ridge = bool(np.any(np.abs(result.x) > np.log(1e6)))
    if not np.isfinite(value) or at_bound or log_gradient_norm > 1e-4 or ridge:
        boundary = (
            f" The likelihood keeps rising as {', '.join(drifting)}: the data carry too little "
            "information to separate the parameters (few customers or little variety); "
            "fit more customers or a simpler model."
            if drifting
            else ""
        )
        raise ConvergenceError(
            f"{model}: the optimiser stopped without a maximum ({result.message}; largest scaled "
            f"gradient {log_gradient_norm:.2e}, parameters {np.round(params, 6).tolist()})."
            f"{boundary} "
            "Otherwise try other initial_params, check that the data hold repeat buyers, or raise "
            "max_iterations.",
            params=params.tolist(),
            gradient_norm=log_gradient_norm,
        )
    return Optimum(
        params=params,
        log_likelihood=float(value),
        gradient=gradient,
        converged=bool(result.success) or log_gradient_norm < 1e-6,
        iterations=int(result.nit),
        evaluations=int(result.nfev),
        message=str(result.message),
    )


def newton_polish(
    log_likelihood: LogLikelihood,
    start: np.ndarray,
    *,
    total_weight: float,
    max_steps: int = 25,
    tolerance: float = 1e-8,
) -> Optimum | None:
    """Finish a maximisation from a start close to the optimum with Newton steps.

    From a subsample's optimum, a full data set's maximum is a few Newton steps away: the
    Hessian (forward differences of the analytic gradient, ``k`` evaluations) is taken once
    and reused while the steps shrink fast enough (a chord method), and retaken otherwise.
    L-BFGS from the same start spends a dozen evaluations relearning the curvature. Returns
    ``None`` when the steps do not improve the likelihood, so the caller can fall back.
    """
    scale = 1.0 / total_weight

    def gradient_at(log_params: np.ndarray) -> tuple[float, np.ndarray]:
        params = np.exp(log_params)
        value, gradient = log_likelihood(params)
        return value * scale, gradient * params * scale

    def hessian_at(log_params: np.ndarray, gradient: np.ndarray) -> np.ndarray:
        k = len(log_params)
        hessian = np.empty((k, k))
        for i in range(k):
            moved = log_params.copy()
            moved[i] += 1e-6
            hessian[:, i] = (gradient_at(moved)[1] - gradient) / 1e-6
        return 0.5 * (hessian + hessian.T)

    u = np.log(np.asarray(start, dtype=float))
    value, gradient = gradient_at(u)
    evaluations = 1
    hessian = None
    previous_norm = np.inf
    for step_number in range(1, max_steps + 1):
        norm = float(np.max(np.abs(gradient)))
        if not np.isfinite(value):
            return None
        if norm < tolerance:
            return Optimum(
                params=np.exp(u),
                log_likelihood=value * total_weight,
                gradient=gradient / np.exp(u) * total_weight,
                converged=True,
                iterations=step_number - 1,
                evaluations=evaluations,
                message="Newton steps from a subsample's optimum",
            )
        if hessian is None or norm > 0.25 * previous_norm:
            hessian = hessian_at(u, gradient)
            evaluations += len(u)
        previous_norm = norm
        try:
            step = -np.linalg.solve(hessian, gradient)
        except np.linalg.LinAlgError:
            return None
        if gradient @ step <= 0:  # not an ascent direction: the Hessian is not negative definite
            return None
        new_value, new_gradient = gradient_at(u + step)
        evaluations += 1
        if not (np.isfinite(new_value) and new_value >= value - 1e-12 * abs(value)):
            return None
        u, value, gradient = u + step, new_value, new_gradient
    return None


def observed_information(
    log_likelihood: LogLikelihood, params: np.ndarray, gradient: np.ndarray | None = None
) -> np.ndarray:
    """Negative Hessian of the total log-likelihood by differences of its analytic gradient.

    Central differences (``2k`` evaluations, error ``O(h^2)``) unless the gradient at
    ``params`` is given: then forward differences (``k`` evaluations, relative error about
    ``1e-5``, ample for standard errors), which large fits use.
    """
    k = len(params)
    hessian = np.empty((k, k))
    for i in range(k):
        step = 1e-5 * max(abs(params[i]), 1e-3)
        up = params.copy()
        up[i] += step
        if gradient is not None:
            hessian[:, i] = (log_likelihood(up)[1] - gradient) / step
            continue
        down = params.copy()
        down[i] -= step
        hessian[:, i] = (log_likelihood(up)[1] - log_likelihood(down)[1]) / (2 * step)
    hessian = 0.5 * (hessian + hessian.T)
    return -hessian
