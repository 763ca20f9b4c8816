"""The discrete-time BG/BB model of repeat buying (Fader, Hardie & Shang 2010, "Customer-base
analysis in a discrete-time noncontractual setting", Marketing Science 29(6)).

Some businesses see customers only at fixed opportunities: a yearly gala, a weekly
newsletter, a season. Before each of ``n`` opportunities an alive customer dies with
probability ``theta ~ Beta(gamma, delta)``; at each opportunity they are alive for, they buy
with probability ``p ~ Beta(alpha, beta)``. A history is ``x`` purchases, the last at
opportunity ``t_x``, out of ``n``. FHS (2010) eq. 5:

``L = B(alpha+x, beta+n-x)/B(alpha,beta) * B(gamma, delta+n)/B(gamma,delta)
      + sum_{i=0}^{n-t_x-1} B(alpha+x, beta+t_x-x+i)/B(alpha,beta)
                            * B(gamma+1, delta+t_x+i)/B(gamma,delta)``

(alive through ``n``, or dead right before opportunity ``t_x+i+1``), a log-sum-exp here.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from scipy.special import betaln, digamma, gammaln, logsumexp

from retain.stats._base import BaseModel
from retain.stats._validation import (
    Columns,
    check_count,
    count_of,
    read_columns,
    reject,
    weights_of,
)

_COLUMNS = ("frequency", "recency", "periods")


def _check_history(columns: Columns) -> None:
    x, t_x, n = columns["frequency"], columns["recency"], columns["periods"]
    for name in _COLUMNS:
        check_count(name, columns[name])
    reject("periods", n, n < 1, "must be >= 1 (the number of opportunities)")
    reject("recency", t_x, t_x > n, "must be <= periods (the last purchase is one of them)")
    reject("frequency", x, x > t_x, "must be <= recency (one purchase per opportunity)")
    reject("recency", t_x, (x == 0) & (t_x != 0), "must be 0 when frequency is 0")


class BetaGeoBetaBinomModel(BaseModel):
    """BG/BB: a coin for buying and a coin for dying at each discrete opportunity.

    Parameters (``params_``) are ``alpha, beta`` (purchase probability ``~ Beta``) and
    ``gamma, delta`` (death probability ``~ Beta``), as in Fader, Hardie & Shang (2010).

    ``fit(data)`` reads ``frequency`` (purchases ``x``), ``recency`` (``t_x``, the opportunity
    of the last purchase, 0 if none) and ``periods`` (opportunities ``n`` observed), with an
    optional ``weight``: histories are few, so data usually come grouped.

    Examples
    --------
    >>> from retain.datasets import load_donations
    >>> model = BetaGeoBetaBinomModel().fit(load_donations())  # doctest: +SKIP
    >>> model.expected_purchases(load_donations(), 5)  # doctest: +SKIP
    """

    param_names: ClassVar[tuple[str, ...]] = ("alpha", "beta", "gamma", "delta")
    default_initial_params: ClassVar[tuple[float, ...]] = (1.0, 1.0, 1.0, 1.0)

    def _prepare(self, data: Any) -> tuple[Columns, np.ndarray, tuple[str, ...]]:
        columns = read_columns(data, _COLUMNS, optional=("weight",))
        _check_history(columns)
        return columns, weights_of(columns), _COLUMNS

    def _log_likelihood(
        self, params: np.ndarray, columns: Columns
    ) -> tuple[np.ndarray, np.ndarray]:
        alpha, beta, gamma, delta = (float(v) for v in params)
        x, t_x, n = columns["frequency"], columns["recency"], columns["periods"]
        gaps = (n - t_x).astype(int)
        psi_ab, psi_gd = digamma(alpha + beta), digamma(gamma + delta)
        base_value = -betaln(alpha, beta) - betaln(gamma, delta)
        base_gradient = np.array(
            [
                psi_ab - digamma(alpha),
                psi_ab - digamma(beta),
                psi_gd - digamma(gamma),
                psi_gd - digamma(delta),
            ]
        )
        # Term 0: alive through n. Terms 1..gap: dead right before opportunity t_x + i + 1.
        n_terms = int(gaps.max()) + 1
        values = np.full((n_terms, len(x)), -np.inf)
        gradients = np.zeros((n_terms, len(x), 4))
        values[0], gradients[0] = _term(alpha, beta, gamma, delta, x, n - x, 0.0, n)
        for i in range(n_terms - 1):
            rows = gaps > i
            value, gradient = _term(
                alpha,
                beta,
                gamma,
                delta,
                x[rows],
                t_x[rows] - x[rows] + i,
                1.0,
                t_x[rows] + i,
            )
            values[i + 1, rows], gradients[i + 1, rows] = value, gradient
        total = logsumexp(values, axis=0)
        shares = np.exp(values - total)
        gradient = np.einsum("kn,knj->nj", shares, gradients) + base_gradient
        return total + base_value, gradient

    # ----------------------------------------------------------------- predictions
    def _history(self, data: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        columns = read_columns(data, _COLUMNS)
        _check_history(columns)
        return columns["frequency"], columns["recency"], columns["periods"]

    def _log_probability_alive(self, data: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        x, t_x, n = self._history(data)
        alpha, beta, gamma, delta = self._fitted_params()
        history = {"frequency": x, "recency": t_x, "periods": n}
        log_likelihood, _ = self._log_likelihood(self._fitted_params(), history)
        log_alive_next = (
            betaln(alpha + x, beta + n - x)
            - betaln(alpha, beta)
            + betaln(gamma, delta + n + 1.0)
            - betaln(gamma, delta)
        )
        return log_alive_next - log_likelihood, x, n

    def probability_alive(self, data: Any) -> np.ndarray:
        """Probability that each customer is alive at the next opportunity ``n + 1``.

        FHS (2010) eq. 11: ``B(alpha+x, beta+n-x)/B(alpha,beta) * B(gamma, delta+n+1)
        / B(gamma,delta) / L``.

        Parameters
        ----------
        data
            Table with ``frequency``, ``recency`` and ``periods``.

        Returns
        -------
        numpy.ndarray
        """
        log_p, _, _ = self._log_probability_alive(data)
        return np.exp(log_p)

    def expected_purchases(self, data: Any, future_periods: int | np.ndarray) -> np.ndarray:
        """Expected purchases at the next ``future_periods`` opportunities, given the history.

        FHS (2010) eq. 13, read as: alive at ``n + 1`` (:meth:`probability_alive`), buying
        with the posterior mean ``(alpha+x)/(alpha+beta+n)`` at each opportunity, surviving
        from one to the next with ``theta ~ Beta(gamma, delta+n+1)``.

        Parameters
        ----------
        data
            Table with ``frequency``, ``recency`` and ``periods``.
        future_periods
            Opportunities ahead (whole, ``>= 0``): a scalar or one per row.

        Returns
        -------
        numpy.ndarray
        """
        log_p, x, n = self._log_probability_alive(data)
        ahead = count_of(future_periods, len(x))
        alpha, beta, gamma, delta = self._fitted_params()
        buy = (alpha + x) / (alpha + beta + n)
        return np.exp(log_p) * buy * _expected_opportunities_alive(gamma, delta + n + 1.0, ahead)

    def expected_purchases_new_customer(self, future_periods: int | np.ndarray) -> np.ndarray:
        """Expected purchases at the first ``future_periods`` opportunities of a new customer.

        FHS (2010) eq. 7: ``alpha/(alpha+beta) * delta/(gamma-1) * [1 - Gamma(gamma+delta)
        Gamma(1+delta+n) / (Gamma(gamma+delta+n) Gamma(1+delta))]``.

        Parameters
        ----------
        future_periods
            Opportunities (whole, ``>= 0``).

        Returns
        -------
        numpy.ndarray
        """
        alpha, beta, gamma, delta = self._fitted_params()
        ahead = count_of(future_periods, None)
        alive_first = delta / (gamma + delta)
        return (
            alive_first
            * alpha
            / (alpha + beta)
            * _expected_opportunities_alive(gamma, delta + 1.0, ahead)
        )

    def probability_of_purchases_new_customer(
        self, x: int | np.ndarray, future_periods: int | np.ndarray
    ) -> np.ndarray:
        """``P(X(n) = x)``: the chance a new customer buys at exactly ``x`` of ``n`` opportunities.

        FHS (2010) eq. 8: alive through ``n`` with ``x`` purchases, or dead before opportunity
        ``i + 1`` having bought ``x`` times in the first ``i``,
        ``C(n,x) B(alpha+x, beta+n-x)/B(alpha,beta) B(gamma, delta+n)/B(gamma,delta)
        + sum_{i=x}^{n-1} C(i,x) B(alpha+x, beta+i-x)/B(alpha,beta)
        B(gamma+1, delta+i)/B(gamma,delta)``.

        Parameters
        ----------
        x
            Purchases (whole, ``>= 0``), broadcast against ``future_periods``.
        future_periods
            Opportunities ``n`` (whole, ``>= 0``).

        Returns
        -------
        numpy.ndarray
        """
        alpha, beta, gamma, delta = self._fitted_params()
        count, n = np.broadcast_arrays(count_of(x, None), count_of(future_periods, None))
        possible = count <= n
        k = np.where(possible, count, 0.0)
        base = -betaln(alpha, beta) - betaln(gamma, delta)
        terms = [
            _log_choose(n, k) + betaln(alpha + k, beta + n - k) + betaln(gamma, delta + n) + base
        ]
        for i in range(int(n.max(initial=0))):
            in_range = (i >= k) & (i < n)
            i_safe = np.where(in_range, float(i), k)
            term = (
                _log_choose(i_safe, k)
                + betaln(alpha + k, beta + i_safe - k)
                + betaln(gamma + 1.0, delta + i_safe)
                + base
            )
            terms.append(np.where(in_range, term, -np.inf))
        return np.where(possible, np.exp(logsumexp(np.stack(terms), axis=0)), 0.0)


def _term(
    alpha: float,
    beta: float,
    gamma: float,
    delta: float,
    bought: np.ndarray,
    passed: np.ndarray,
    died: float,
    survived: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """``log B(alpha+bought, beta+passed) + log B(gamma+died, delta+survived)`` and its
    gradient (without the ``-log B(alpha,beta) - log B(gamma,delta)`` shared by every term)."""
    buy_total = digamma(alpha + beta + bought + passed)
    life_total = digamma(gamma + delta + died + survived)
    value = betaln(alpha + bought, beta + passed) + betaln(gamma + died, delta + survived)
    gradient = np.column_stack(
        [
            digamma(alpha + bought) - buy_total,
            digamma(beta + passed) - buy_total,
            np.broadcast_to(digamma(gamma + died), life_total.shape) - life_total,
            digamma(delta + survived) - life_total,
        ]
    )
    return value, gradient


def _expected_opportunities_alive(gamma: float, delta: Any, ahead: np.ndarray) -> np.ndarray:
    """``sum_{j=0}^{m-1} E[(1-theta)^j]`` for ``theta ~ Beta(gamma, delta)``: how many of the
    next ``m`` opportunities a customer alive at the first is expected to be alive for.

    ``sum_j Gamma(d+j)/Gamma(g+d+j) = [Gamma(d)/Gamma(g+d-1) - Gamma(d+m)/Gamma(g+d+m-1)]
    / (g-1)``, times ``Gamma(g+d)/Gamma(d)``; summed term by term near ``gamma = 1``.
    """
    if abs(gamma - 1.0) > 1e-6:
        head = gammaln(gamma + delta) - gammaln(gamma + delta - 1.0)
        tail = (
            gammaln(gamma + delta)
            - gammaln(delta)
            + gammaln(delta + ahead)
            - gammaln(gamma + delta + ahead - 1.0)
        )
        return (np.exp(head) - np.exp(tail)) / (gamma - 1.0)
    steps = np.arange(int(np.max(ahead, initial=0)))
    delta_col = np.asarray(delta, dtype=float)[..., None]
    terms = np.exp(
        gammaln(delta_col + steps)
        - gammaln(gamma + delta_col + steps)
        + gammaln(gamma + delta_col)
        - gammaln(delta_col)
    )
    return np.sum(np.where(steps < np.asarray(ahead)[..., None], terms, 0.0), axis=-1)


def _log_choose(n: np.ndarray, k: np.ndarray) -> np.ndarray:
    return gammaln(n + 1.0) - gammaln(k + 1.0) - gammaln(n - k + 1.0)
