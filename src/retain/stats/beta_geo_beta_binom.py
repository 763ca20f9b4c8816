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
# Likelihood terms (one per way a history can end) evaluated at once: 2^18 cells, ~10 MB.
_CELLS_PER_BLOCK = 1 << 18


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
        x, t_x, n = columns["frequency"], columns["recency"], columns["periods"]
        n_terms = int(np.max(n - t_x, initial=0)) + 1
        # Rows in blocks: the (terms, rows, 4) temporaries stay a few MB however many rows.
        block = max(1, _CELLS_PER_BLOCK // n_terms)
        value, gradient = np.empty(len(x)), np.empty((len(x), 4))
        for start in range(0, len(x), block):
            rows = slice(start, start + block)
            value[rows], gradient[rows] = _history_log_likelihood(
                params, x[rows], t_x[rows], n[rows]
            )
        return value, gradient

    # ----------------------------------------------------------------- predictions
    def _history(self, data: Any) -> tuple[Columns, np.ndarray]:
        """The distinct histories of ``data`` and, per row, the index of its history.

        Histories repeat heavily (``n`` opportunities allow ``1 + n(n+1)/2`` of them), so
        the likelihood behind every prediction is evaluated once per distinct history.
        """
        columns = read_columns(data, _COLUMNS)
        _check_history(columns)
        x, t_x, n = columns["frequency"], columns["recency"], columns["periods"]
        # Whole numbers with x <= t_x <= n: a mixed-radix code is unique while it fits 2^53.
        radix = float(np.max(n)) + 1.0
        if radix**3 < 2.0**53:
            _, first, inverse = np.unique(
                (n * radix + t_x) * radix + x, return_index=True, return_inverse=True
            )
        else:
            _, first, inverse = np.unique(
                np.column_stack([x, t_x, n]), axis=0, return_index=True, return_inverse=True
            )
        distinct = {name: values[first] for name, values in columns.items()}
        return distinct, inverse.reshape(-1)

    def _log_probability_alive(self, data: Any) -> tuple[np.ndarray, Columns, np.ndarray]:
        """``log P(alive at n + 1)`` per distinct history (FHS 2010 eq. 11), the distinct
        histories, and each row's index into them."""
        distinct, inverse = self._history(data)
        params = self._fitted_params()
        alpha, beta, gamma, delta = params
        x, n = distinct["frequency"], distinct["periods"]
        log_likelihood, _ = self._log_likelihood(params, distinct)
        log_alive_next = (
            betaln(alpha + x, beta + n - x)
            - betaln(alpha, beta)
            + betaln(gamma, delta + n + 1.0)
            - betaln(gamma, delta)
        )
        return log_alive_next - log_likelihood, distinct, inverse

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
        log_p, _, inverse = self._log_probability_alive(data)
        return np.exp(log_p)[inverse]

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
        log_p, distinct, inverse = self._log_probability_alive(data)
        ahead = count_of(future_periods, len(inverse))
        alpha, beta, gamma, delta = self._fitted_params()
        x, n = distinct["frequency"], distinct["periods"]
        buying_while_alive = np.exp(log_p) * (alpha + x) / (alpha + beta + n)
        alive_for = _expected_opportunities_alive(gamma, delta + n[inverse] + 1.0, ahead)
        return buying_while_alive[inverse] * alive_for

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


def _history_log_likelihood(
    params: np.ndarray, x: np.ndarray, t_x: np.ndarray, n: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """FHS (2010) eq. 5 per row and its gradient: alive through ``n`` (term 0), or dead right
    before opportunity ``t_x + i + 1`` (term ``i + 1``), summed in log space."""
    alpha, beta, gamma, delta = (float(v) for v in params)
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
    n_terms = int(np.max(gaps, initial=0)) + 1
    values = np.full((n_terms, len(x)), -np.inf)
    gradients = np.zeros((n_terms, len(x), 4))
    values[0], gradients[0] = _term(alpha, beta, gamma, delta, x, n - x, 0.0, n)
    for i in range(n_terms - 1):
        rows = gaps > i
        values[i + 1, rows], gradients[i + 1, rows] = _term(
            alpha, beta, gamma, delta, x[rows], t_x[rows] - x[rows] + i, 1.0, t_x[rows] + i
        )
    total = logsumexp(values, axis=0)
    shares = np.exp(values - total)
    gradient = np.einsum("kn,knj->nj", shares, gradients) + base_gradient
    return total + base_value, gradient


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
    / (g-1)``, times ``Gamma(g+d)/Gamma(d)``. Near ``gamma = 1`` that difference cancels, so
    the terms ``E[(1-theta)^j] = prod_{i<j} (d+i)/(g+d+i)`` are summed one by one instead.
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
    delta, ahead = np.broadcast_arrays(np.asarray(delta, dtype=float), ahead)
    total, term = np.zeros(delta.shape), np.ones(delta.shape)
    for j in range(int(np.max(ahead, initial=0))):
        total += np.where(j < ahead, term, 0.0)
        term = term * (delta + j) / (gamma + delta + j)
    return total


def _log_choose(n: np.ndarray, k: np.ndarray) -> np.ndarray:
    return gammaln(n + 1.0) - gammaln(k + 1.0) - gammaln(n - k + 1.0)
