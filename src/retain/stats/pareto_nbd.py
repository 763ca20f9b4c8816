"""The Pareto/NBD model of repeat buying (Schmittlein, Morrison & Colombo 1987).

While alive a customer buys as a Poisson process with rate ``lambda ~ Gamma(r, alpha)``; the
lifetime is exponential with rate ``mu ~ Gamma(s, beta)``, independent of ``lambda``. Nobody
sees the customer die: a summary ``(x, t_x, T)`` (repeat purchases, time of the last one, age)
is all there is.

Likelihood
----------
Fader & Hardie (2005, "A note on deriving the Pareto/NBD model and related expressions",
eq. 22) write the likelihood as

``L = Gamma(r+x) alpha^r beta^s / Gamma(r) * [ (alpha+T)^-(r+x) (beta+T)^-s
      + s/(r+s+x) * (A(t_x) - A(T)) ]``

with ``A`` a Gauss hypergeometric term. ``A(t) * s/(r+s+x)`` is
``s * G(t)``, ``G(t) = int_t^inf (alpha+u)^-(r+x) (beta+u)^-(s+1) du`` (death at ``u``
after the last purchase). Integrating ``d/du [(alpha+u)^-(r+x) (beta+u)^-s]`` from ``T`` to
infinity turns the first term into ``(r+x) H(T) + s G(T)`` with
``H(T) = int_T^inf (alpha+u)^-(r+x+1) (beta+u)^-s du``, so

``L = Gamma(r+x) alpha^r beta^s / Gamma(r) * [ s G(t_x) + (r+x) H(T) ]``,

a sum of two positive terms: no cancellation between ``A(t_x)`` and ``A(T)`` when ``t_x``
is close to ``T``, and a log-sum-exp in log space. Both integrals are evaluated by
:func:`retain.stats._special.log_pareto_tail_integral`: a ``2F1(1, b; c; z)`` with ``z`` in
``[0, 1)`` whichever of ``alpha`` and ``beta`` is larger, summed as a power series (small
``z``) or Gauss's continued fraction (larger ``z``), derivatives carried along, which gives
the analytic gradient. Rows are grouped by frequency so the coefficients are built once per
frequency, and a fit evaluates each distinct ``(x, t_x)`` and ``(x, T)`` once.

Predictions
-----------
Given a history, the customer is alive at ``T`` with probability ``P(alive)`` and, if alive,
the posterior of ``(lambda, mu)`` is ``Gamma(r+x, alpha+T) x Gamma(s, beta+T)``; by the
memorylessness of both processes the future from ``T`` is a new Pareto/NBD customer with
parameters ``(r+x, alpha+T, s, beta+T)``. Every conditional prediction below is that
mixture.
"""

from __future__ import annotations

import weakref
from typing import Any, ClassVar, NamedTuple

import numpy as np
from scipy.special import digamma, exprel, gammaln

from retain.stats._base import BaseModel
from retain.stats._special import LogTailIntegral, gauss_jacobi, log_pareto_tail_integral
from retain.stats._validation import (
    Columns,
    check_rfm_summary,
    count_of,
    horizon_of,
    read_columns,
    weights_of,
)

_SUMMARY_COLUMNS = ("frequency", "recency", "T")
# Customers scored together in predictions.
_PREDICTION_CHUNK = 1 << 16
# Quadrature nodes for P(X(t) = n): chosen from the distance of the integrand's nearest
# singularity (Bernstein ellipse), between these bounds.
_MIN_NODES, _MAX_NODES = 8, 1024
# Rows x nodes evaluated at once in the quadrature (2 MB per temporary array).
_QUADRATURE_CHUNK = 1 << 18


class ParetoNBDModel(BaseModel):
    """Pareto/NBD: Poisson purchases during an exponential lifetime, gamma heterogeneity.

    Parameters (``params_``) are ``r, alpha`` (purchase rate ``~ Gamma(r, alpha)``) and
    ``s, beta`` (dropout rate ``~ Gamma(s, beta)``), as in Schmittlein, Morrison & Colombo
    (1987) and Fader & Hardie (2005).

    ``fit(data)`` reads the columns ``frequency`` (repeat purchases ``x``), ``recency``
    (``t_x``, time of the last repeat purchase since the first) and ``T`` (time since the
    first purchase), with an optional ``weight`` (number of customers the row stands for).

    Examples
    --------
    >>> model = ParetoNBDModel().fit(summary)  # doctest: +SKIP
    >>> model.probability_alive(summary)  # doctest: +SKIP
    """

    param_names: ClassVar[tuple[str, ...]] = ("r", "alpha", "s", "beta")
    default_initial_params: ClassVar[tuple[float, ...]] = (1.0, 1.0, 1.0, 1.0)

    # ----------------------------------------------------------------- likelihood
    def _prepare(self, data: Any) -> tuple[Columns, np.ndarray, tuple[str, ...]]:
        columns = read_columns(data, _SUMMARY_COLUMNS, optional=("weight",))
        check_rfm_summary(columns)
        weights = weights_of(columns)
        # alpha and beta are times (in the data's unit): the start is set from the data's
        # own time scale (see _initial).
        total = weights.sum()
        mean_age = float(weights @ columns["T"]) / total
        mean_frequency = float(weights @ columns["frequency"]) / total
        self._time_scale = 0.3 * mean_age / max(mean_frequency, 1.0)
        return columns, weights, _SUMMARY_COLUMNS

    def _initial(self) -> np.ndarray:
        """Start values: ``initial_params`` if given, else ``r = s = 0.5`` and
        ``alpha = beta = 0.3 * mean(T) / max(mean(x), 1)`` for the data being fitted.

        The likelihood is scale-equivariant (ages times ``k`` give ``alpha, beta`` times
        ``k``), so a start on the data's time scale takes the same path in weeks or in days;
        dividing by the mean frequency keeps heavy buyers' first steps short, and
        ``alpha == beta`` starts the hypergeometric terms at ``z = 0``. Against the unit
        start this saved a fifth to two fifths of the time of a fit on CDNOW (in weeks and in
        days) and on simulated panels.
        """
        time_scale = getattr(self, "_time_scale", None)
        if self.initial_params is not None or time_scale is None:
            return super()._initial()
        return np.array([0.5, time_scale, 0.5, time_scale])

    def _log_likelihood(
        self, params: np.ndarray, columns: Columns
    ) -> tuple[np.ndarray, np.ndarray]:
        r, alpha, s, beta = (float(v) for v in params)
        x, t_x, T = columns["frequency"], columns["recency"], columns["T"]
        plan = self._plan_for(x, t_x, T)
        group, frequencies = plan.row_group, plan.frequencies
        # Fader & Hardie (2005) eq. 22 rewritten as s G(t_x) + (r+x) H(T) (module docstring).
        death_after_last, alive_or_later = _log_integrals(plan, r, alpha, s, beta, gradient=True)
        # Functions of r + x alone are computed once per distinct frequency.
        shape_per_group = r + frequencies
        log_rate_shape = np.log(shape_per_group)[group]
        left = np.log(s) + death_after_last.value
        right = log_rate_shape + alive_or_later.value
        log_mixture = np.logaddexp(left, right)
        share_left = np.exp(left - log_mixture)
        share_right = 1.0 - share_left
        value = log_mixture + (gammaln(shape_per_group) - gammaln(r))[group]
        value += r * np.log(alpha) + s * np.log(beta)
        gradient = np.empty((len(x), 4))
        gradient[:, 0] = (
            (digamma(shape_per_group) - digamma(r))[group]
            + np.log(alpha)
            + share_left * death_after_last.d_p
            + share_right * (np.exp(-log_rate_shape) + alive_or_later.d_p)
        )
        gradient[:, 1] = (
            r / alpha + share_left * death_after_last.d_alpha + share_right * alive_or_later.d_alpha
        )
        gradient[:, 2] = (
            np.log(beta)
            + share_left * (1.0 / s + death_after_last.d_q)
            + share_right * alive_or_later.d_q
        )
        gradient[:, 3] = (
            s / beta + share_left * death_after_last.d_beta + share_right * alive_or_later.d_beta
        )
        return value, gradient

    def _plan_for(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> _IntegralPlan:
        """The de-duplicated plan of these columns, kept while the same arrays come back.

        A fit evaluates the likelihood dozens of times on the same (compressed) arrays; the
        plan depends on the data only, so it is built once. Weak references: the cache
        neither keeps the arrays alive nor survives pickling (see ``__getstate__``).
        """
        arrays = (x, t_x, T)
        cached = getattr(self, "_plan_cache", None)
        if cached is not None and all(
            ref() is array for ref, array in zip(cached[0], arrays, strict=True)
        ):
            return cached[1]
        plan = _integral_plan(x, t_x, T, deduplicate=True)
        self._plan_cache = (tuple(weakref.ref(array) for array in arrays), plan)
        return plan

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.pop("_plan_cache", None)
        return state

    # ----------------------------------------------------------------- conditional predictions
    def _summary(self, data: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        columns = read_columns(data, _SUMMARY_COLUMNS)
        check_rfm_summary(columns)
        return columns["frequency"], columns["recency"], columns["T"]

    def _log_probability_alive(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        r, alpha, s, beta = self._fitted_params()
        result = np.empty(x.size)
        # Customers in chunks: the temporaries stay small however many rows there are.
        for start in range(0, x.size, _PREDICTION_CHUNK):
            rows = slice(start, start + _PREDICTION_CHUNK)
            rate_shape = r + x[rows]
            log_alive_through_T = -rate_shape * np.log(alpha + T[rows]) - s * np.log(beta + T[rows])
            plan = _integral_plan(x[rows], t_x[rows], T[rows], deduplicate=False)
            death_after_last, alive_or_later = _log_integrals(
                plan, r, alpha, s, beta, gradient=False
            )
            left = np.log(s) + death_after_last.value
            right = np.log(rate_shape) + alive_or_later.value
            result[rows] = np.minimum(log_alive_through_T - np.logaddexp(left, right), 0.0)
        return result

    def probability_alive(self, data: Any) -> np.ndarray:
        """Probability that each customer is still alive at ``T`` given their history.

        Schmittlein, Morrison & Colombo (1987); Fader & Hardie (2005), section 5:
        ``P(alive) = Gamma(r+x) alpha^r beta^s / (Gamma(r) (alpha+T)^(r+x) (beta+T)^s L)``,
        here ``(alpha+T)^-(r+x) (beta+T)^-s / [ s G(t_x) + (r+x) H(T) ]`` (see the module
        docstring), which is 1 when the last purchase was at ``T``.

        Parameters
        ----------
        data
            Table with ``frequency``, ``recency`` and ``T``.

        Returns
        -------
        numpy.ndarray
            One probability per row in ``[0, 1]`` (0 only by underflow, for customers silent
            for ages after heavy buying).
        """
        x, t_x, T = self._summary(data)
        return np.exp(self._log_probability_alive(x, t_x, T))

    def expected_purchases(self, data: Any, t: float | np.ndarray) -> np.ndarray:
        """Expected number of purchases in ``(T, T + t]`` given each customer's history.

        Fader & Hardie (2005), section 6:
        ``E[X(T, T+t) | x, t_x, T] = (r+x)(beta+T) / ((alpha+T)(s-1))
        * [1 - ((beta+T)/(beta+T+t))^(s-1)] * P(alive)``,
        evaluated as ``L * exprel(-(s-1) L)`` with ``L = log(1 + t/(beta+T))`` so that
        ``s = 1`` (where the bracket over ``s - 1`` tends to ``L``) needs no special case.

        Parameters
        ----------
        data
            Table with ``frequency``, ``recency`` and ``T``.
        t
            Length of the future period: a scalar or an array with one value per row.

        Returns
        -------
        numpy.ndarray
            One expectation per row.
        """
        x, t_x, T = self._summary(data)
        horizon = horizon_of(t, len(x))
        r, alpha, s, beta = self._fitted_params()
        log_p_alive = self._log_probability_alive(x, t_x, T)
        return np.exp(log_p_alive) * _expected_while_alive(horizon, r + x, alpha + T, s, beta + T)

    def probability_of_purchases(
        self, data: Any, n: int | np.ndarray, t: float | np.ndarray
    ) -> np.ndarray:
        """``P(X(T, T+t) = n | x, t_x, T)``: the chance of exactly ``n`` purchases next ``t``.

        Fader & Hardie, "Deriving the conditional PMF of the Pareto/NBD model"
        (brucehardie.com note 028): with probability ``1 - P(alive)`` the customer is
        already gone (``n = 0``); otherwise the future is a new Pareto/NBD customer with
        parameters ``(r+x, alpha+T, s, beta+T)`` (the posterior of the rates given alive at
        ``T``; both processes are memoryless), see
        :meth:`probability_of_purchases_new_customer`. Agrees with lifetimes'
        implementation of the note to 1e-14 on CDNOW customers.

        Parameters
        ----------
        data
            Table with ``frequency``, ``recency`` and ``T``.
        n
            Number of purchases: a whole number or one per row.
        t
            Length of the future period: a scalar or one per row.

        Returns
        -------
        numpy.ndarray
            One probability per row.
        """
        x, t_x, T = self._summary(data)
        count = count_of(n, len(x))
        horizon = horizon_of(t, len(x))
        r, alpha, s, beta = self._fitted_params()
        log_p_alive = self._log_probability_alive(x, t_x, T)
        if_alive = np.exp(
            log_p_alive + _log_probability_new(count, horizon, r + x, alpha + T, s, beta + T)
        )
        return if_alive + np.where(count == 0, -np.expm1(log_p_alive), 0.0)

    # ----------------------------------------------------------------- new customers
    def expected_purchases_new_customer(self, t: float | np.ndarray) -> np.ndarray:
        """Expected repeat purchases in ``(0, t]`` of a customer just acquired.

        Schmittlein, Morrison & Colombo (1987); Fader & Hardie (2005), section 4:
        ``E[X(t)] = r beta / (alpha (s-1)) * [1 - (beta/(beta+t))^(s-1)]`` (the limit
        ``r beta / alpha * log(1 + t/beta)`` at ``s = 1``).

        Parameters
        ----------
        t
            Scalar or array of horizons ``>= 0``.

        Returns
        -------
        numpy.ndarray
            Same shape as ``t``.
        """
        r, alpha, s, beta = self._fitted_params()
        horizon = horizon_of(t, None)
        return _expected_while_alive(horizon, r, alpha, s, beta)

    def probability_of_purchases_new_customer(
        self, n: int | np.ndarray, t: float | np.ndarray
    ) -> np.ndarray:
        """``P(X(t) = n)`` for a customer just acquired.

        Fader & Hardie (2006), "Deriving an expression for P(X(t) = x) under the Pareto/NBD
        model": alive at ``t`` and ``n`` Poisson purchases, or dead at ``tau < t`` after
        ``n`` purchases in ``(0, tau]``,

        ``P = NBD(n; t) (beta/(beta+t))^s + int_0^t NBD(n; tau) s beta^s (beta+tau)^-(s+1) dtau``.

        The note writes the integral as a difference of hypergeometric terms that cancel for
        large ``n``; here it is evaluated directly, after the substitution
        ``p = tau / (alpha + tau)``, as
        ``C_n alpha s / beta * int_0^P p^n (1-p)^(r+s-1) (1 + (alpha/beta - 1) p)^-(s+1) dp``
        (``P = t / (alpha + t)``, ``C_n = Gamma(r+n) / (Gamma(r) n!)``) by Gauss-Jacobi
        quadrature with the weight ``p^n`` built in and as many nodes as the nearest
        singularity of the rest (at ``p = 1`` or ``p = -beta/(alpha-beta)``) requires for
        double precision. It loses accuracy only for horizons thousands of times ``alpha``.

        Parameters
        ----------
        n
            Whole number(s) of purchases.
        t
            Horizon(s); broadcast against ``n``.

        Returns
        -------
        numpy.ndarray
            Broadcast shape of ``n`` and ``t``.
        """
        r, alpha, s, beta = self._fitted_params()
        count = np.asarray(n)
        horizon = horizon_of(t, None)
        count, horizon = np.broadcast_arrays(count, horizon)
        shape = count.shape
        count = count_of(count.ravel(), None)
        result = np.exp(_log_probability_new(count, horizon.ravel(), r, alpha, s, beta))
        return result.reshape(shape)


# --------------------------------------------------------------------- helpers
class _IntegralPlan(NamedTuple):
    """Where ``G(t_x)`` and ``H(T)`` of each row are evaluated (see :func:`_log_integrals`)."""

    row_group: np.ndarray  # per row: index of its frequency in ``frequencies``
    frequencies: np.ndarray  # the distinct frequencies
    group: np.ndarray  # per point: series group (frequency index; + n_groups for H)
    t: np.ndarray  # per point: lower limit of the integral
    inverse: np.ndarray | None  # per stacked row (G rows, then H rows): its point


def _integral_plan(
    x: np.ndarray, t_x: np.ndarray, T: np.ndarray, *, deduplicate: bool
) -> _IntegralPlan:
    """Stack the ``G`` and ``H`` evaluations of all rows, optionally once per distinct point.

    Many rows share ``(x, t_x)`` (every one-time buyer has ``t_x = 0``) or ``(x, T)`` (ages
    measured in days); de-duplicating costs a sort, worth it when the same rows are
    evaluated many times (a fit), not for a single prediction.
    """
    row_group, frequencies = _frequency_groups(x)
    group = np.concatenate([row_group, row_group + frequencies.size])
    t = np.concatenate([t_x, T])
    if not deduplicate:
        return _IntegralPlan(row_group, frequencies, group, t, None)
    order = np.lexsort((t, group))
    group, t = group[order], t[order]
    first = np.empty(group.size, dtype=bool)
    first[:1] = True
    first[1:] = (group[1:] != group[:-1]) | (t[1:] != t[:-1])
    inverse = np.empty(group.size, dtype=np.intp)
    inverse[order] = np.cumsum(first) - 1
    return _IntegralPlan(row_group, frequencies, group[first], t[first], inverse)


def _log_integrals(
    plan: _IntegralPlan, r: float, alpha: float, s: float, beta: float, *, gradient: bool
) -> tuple[LogTailIntegral, LogTailIntegral]:
    """``log G(t_x)`` and ``log H(T)`` of the module docstring, with their derivatives.

    ``G(t) = int_t^inf (alpha+u)^-(r+x) (beta+u)^-(s+1) du`` and
    ``H(t) = int_t^inf (alpha+u)^-(r+x+1) (beta+u)^-s du``. Both go through one call, points
    grouped by (integral, frequency) so that the series coefficients are built once per
    group and the per-point work is one polynomial evaluation.
    """
    frequencies = plan.frequencies
    n_groups = frequencies.size
    both = log_pareto_tail_integral(
        plan.t,
        np.concatenate([r + frequencies, r + frequencies + 1.0]),
        np.concatenate([np.full(n_groups, s + 1.0), np.full(n_groups, s)]),
        alpha,
        beta,
        gradient=gradient,
        group=plan.group,
    )
    if plan.inverse is not None:
        both = LogTailIntegral(*(None if v is None else v[plan.inverse] for v in both))
    n = plan.row_group.size
    first = LogTailIntegral(*(None if v is None else v[:n] for v in both))
    second = LogTailIntegral(*(None if v is None else v[n:] for v in both))
    return first, second


def _frequency_groups(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Integer code per row and the distinct frequencies it points to.

    Rows with the same frequency share the coefficients of the hypergeometric series (see
    :func:`retain.stats._special.log_hyp2f1_one`). Frequencies are whole numbers, usually
    small, so the code is the frequency itself; :func:`numpy.unique` only when they are
    sparse and large.
    """
    top = float(x.max(initial=0.0))
    if top <= 4 * x.size + 1024:
        codes = x.astype(np.intp)
        if np.array_equal(codes, x):
            return codes, np.arange(top + 1.0)
    frequencies, codes = np.unique(x, return_inverse=True)
    return codes.reshape(-1), frequencies


def _expected_while_alive(t: np.ndarray, r: Any, alpha: Any, s: float, beta: Any) -> np.ndarray:
    """``E[X(t)]`` of a customer alive at 0 with parameters ``(r, alpha, s, beta)``."""
    log_growth = np.log1p(t / beta)
    return r * beta / alpha * log_growth * exprel(-(s - 1.0) * log_growth)


def _log_probability_new(
    n: np.ndarray, t: np.ndarray, r: Any, alpha: Any, s: float, beta: Any
) -> np.ndarray:
    """``log P(X(t) = n)`` of a customer alive at 0; arrays broadcast row by row."""
    n, t, r, alpha, beta = (
        np.asarray(v, dtype=float) for v in np.broadcast_arrays(n, t, r, alpha, beta)
    )
    result = np.empty(n.shape)
    zero = t == 0
    result[zero] = np.where(n[zero] == 0, 0.0, -np.inf)
    rows = ~zero
    n, t, r, alpha, beta = n[rows], t[rows], r[rows], alpha[rows], beta[rows]
    log_coefficient = gammaln(r + n) - gammaln(r) - gammaln(n + 1.0)
    log_share = np.log(t) - np.log(alpha + t)  # log P, P = t / (alpha + t)
    # Alive at t: NBD(n; t) times the Pareto survival (beta / (beta + t))^s.
    alive = (
        log_coefficient
        + r * (np.log(alpha) - np.log(alpha + t))
        + n * log_share
        + s * (np.log(beta) - np.log(beta + t))
    )
    dead = (
        log_coefficient
        + np.log(alpha * s / beta)
        + (n + 1.0) * log_share
        - np.log1p(n)
        + _log_mean_jacobi(n, np.exp(log_share), r + s - 1.0, alpha / beta - 1.0, s + 1.0)
    )
    result[rows] = np.logaddexp(alive, dead)
    return result


def _log_mean_jacobi(
    n: np.ndarray, share: np.ndarray, power_tail: np.ndarray, slope: np.ndarray, power: float
) -> np.ndarray:
    """``log`` of the mean of ``g(p) = (1-p)^power_tail (1 + slope p)^-power`` under the density
    ``(n+1) p^n / P^(n+1)`` on ``[0, P]`` (``P = share``), by Gauss-Jacobi quadrature."""
    result = np.empty(n.shape)
    for value in np.unique(n):
        rows = np.flatnonzero(n == value)
        P, tail, k = share[rows], power_tail[rows], slope[rows]
        # Singularities of g in the quadrature variable x = 2 p / P - 1: p = 1 and
        # p = -1/k; the Bernstein ellipse through the nearer one sets the convergence rate.
        to_one = 2.0 / P - 1.0
        with np.errstate(divide="ignore"):
            to_pole = np.where(k != 0, np.abs(-2.0 / (k * P) - 1.0), np.inf)
        nearest = np.minimum(np.where(tail != 0, to_one, np.inf), to_pole)
        worst = float(np.min(nearest))
        if np.isfinite(worst):
            rho = worst + np.sqrt(max(worst * worst - 1.0, 0.0))
            nodes_needed = int(np.ceil(19.0 / np.log(rho))) + 2 if rho > 1.0 else _MAX_NODES
        else:
            nodes_needed = _MIN_NODES
        n_nodes = int(np.clip(nodes_needed, _MIN_NODES, _MAX_NODES))
        x, w = gauss_jacobi(n_nodes, float(value))
        with np.errstate(divide="ignore"):
            log_w = np.log(w)  # outermost weights may underflow to 0 for large n: -inf is fine
        step = max(1, _QUADRATURE_CHUNK // n_nodes)
        for start in range(0, len(rows), step):
            part = slice(start, start + step)
            p = 0.5 * P[part, None] * (1.0 + x[None, :])
            log_g = tail[part, None] * np.log1p(-p) - power * np.log1p(k[part, None] * p)
            terms = log_g + log_w[None, :]
            peak = terms.max(axis=1)
            result[rows[part]] = peak + np.log(np.exp(terms - peak[:, None]).sum(axis=1))
    return result
