"""What BG/NBD and MBG/NBD share: Poisson buying with a coin toss for dropout after purchases.

While alive a customer buys as a Poisson process with rate ``lambda ~ Gamma(r, alpha)``; after
each purchase they drop out with probability ``p ~ Beta(a, b)``. BG/NBD (Fader, Hardie & Lee
2005) tosses the coin after each *repeat* purchase; MBG/NBD (Batislam, Denizel & Filiztekin
2007) also after the first, so a customer may be gone from day one. With ``k`` the number of
extra tosses (0 or 1), a history of ``x`` repeat purchases holds ``x + k`` tosses, and

``L = B(a, b+x+k)/B(a,b) * Gamma(r+x) alpha^r / Gamma(r)
      * [ (alpha+T)^-(r+x) + [x+k > 0] a/(b+x+k-1) (alpha+t_x)^-(r+x) ]``

(FHL 2005 eq. 6 for ``k = 0``; Batislam et al. eq. 3 for ``k = 1``): alive at ``T``, or gone
right after the last purchase. The bracket is a log-sum-exp, so heavy buyers neither overflow
nor underflow.

Every prediction rests on one fact: given alive at ``T``, the posterior of ``(lambda, p)`` is
``Gamma(r+x, alpha+T) x Beta(a, b+x+k)`` and the future is that of a BG/NBD customer who has
just bought (the coin is tossed only after the next purchase). :func:`expected_while_alive`
and :func:`log_probability_while_alive` describe such a customer.
"""

from __future__ import annotations

import weakref
from typing import Any, ClassVar

import numpy as np
from scipy.special import betainc, betaln, digamma, expit, gammaln, hyp2f1

from retain.stats._base import BaseModel
from retain.stats._validation import (
    Columns,
    check_rfm_summary,
    count_of,
    horizon_of,
    read_columns,
    weights_of,
)

_SUMMARY_COLUMNS = ("frequency", "recency", "T")
# Up to this frequency the rows are grouped by frequency without sorting.
_DIRECT_CODES_UP_TO = 100_000


def expected_while_alive(t: np.ndarray, r: Any, alpha: Any, a: float, b: Any) -> np.ndarray:
    """``E[X(t)]`` of a BG/NBD customer alive at 0 with parameters ``(r, alpha, a, b)``.

    FHL (2005) eq. 9, ``(a+b-1)/(a-1) [1 - (alpha/(alpha+t))^r 2F1(r, b; a+b-1; z)]`` with
    ``z = t/(alpha+t)``, after Euler's transformation
    ``2F1(A, B; C; z) = (1-z)^(C-A-B) 2F1(C-A, C-B; C; z)``: the power becomes
    ``(1-z)^(a-1)`` and the series ``2F1(a+b-1-r, a-1; a+b-1; z)``, whose terms stay small for
    heavy buyers (large ``r`` and ``b``) where the original overflows.
    """
    c = a + b - 1.0
    z = t / (alpha + t)
    with np.errstate(divide="ignore", invalid="ignore"):
        tail = np.exp((a - 1.0) * np.log1p(-z)) * hyp2f1(c - r, a - 1.0, c, z)
        value = c / (a - 1.0) * (1.0 - tail)
    return np.where(t > 0, value, 0.0)


def log_probability_while_alive(
    n: np.ndarray, t: np.ndarray, r: Any, alpha: Any, a: float, b: Any
) -> np.ndarray:
    """``log P(X(t) = n)`` of a BG/NBD customer alive at 0 with parameters ``(r, alpha, a, b)``.

    FHL (2005) eq. 8: ``n`` purchases and still alive, or the ``n``-th purchase ended it,

    ``P = B(a, b+n)/B(a,b) NBD(n) + [n > 0] B(a+1, b+n-1)/B(a,b) P(NBD >= n)``,

    with ``NBD`` the gamma-Poisson count over ``t`` and its upper tail the regularised beta
    function ``I_z(n, r)``, ``z = t/(alpha+t)`` (no sum of terms to cancel).
    """
    log_odds_stay = np.log(alpha) - np.log(alpha + t)
    if not np.any(n > 0):  # no purchase, no dropout: only the NBD's zero term is left
        return r * log_odds_stay + np.zeros_like(n, dtype=float)
    log_odds_buy = np.log(t) - np.log(alpha + t)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_nbd = (
            gammaln(r + n)
            - gammaln(r)
            - gammaln(n + 1.0)
            + r * log_odds_stay
            + np.where(n > 0, n * log_odds_buy, 0.0)
        )
        alive = betaln(a, b + n) - betaln(a, b) + log_nbd
        ended = (
            betaln(a + 1.0, b + n - 1.0)
            - betaln(a, b)
            + np.log(betainc(np.maximum(n, 1.0), r, t / (alpha + t)))
        )
    return np.where(n > 0, np.logaddexp(alive, ended), alive)


def softplus_and_sigmoid(d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``log(1 + e^d)`` and ``1 / (1 + e^-d)`` from one exponential, stable for any ``d``.

    ``d`` is clipped at -700 first: ``e^-700`` is still a normal float, whereas ``-inf`` and
    underflowing values take the processor's slow path (a fit's rows without a repeat
    purchase all have ``d = -inf``); the error is below ``1e-300``. Arithmetic replaces
    ``np.where`` for the same reason: this runs on every row at every step of a fit.
    """
    clipped = np.maximum(d, -700.0)
    small = np.exp(-np.abs(clipped))
    softplus = np.maximum(clipped, 0.0) + np.log1p(small)
    ratio = 1.0 / (1.0 + small)
    positive = (clipped >= 0.0).astype(float)
    sigmoid = ratio * (small + positive * (1.0 - small))
    return softplus, sigmoid


class BetaGeoFamily(BaseModel):
    """Fit and predict for BG/NBD (``_extra_tosses = 0``) and MBG/NBD (``= 1``)."""

    param_names: ClassVar[tuple[str, ...]] = ("r", "alpha", "a", "b")
    default_initial_params: ClassVar[tuple[float, ...]] = (0.5, 1.0, 1.0, 1.0)
    _extra_tosses: ClassVar[int] = 0

    # ----------------------------------------------------------------- likelihood
    def _prepare(self, data: Any) -> tuple[Columns, np.ndarray, tuple[str, ...]]:
        columns = read_columns(data, _SUMMARY_COLUMNS, optional=("weight",))
        check_rfm_summary(columns)
        weights = weights_of(columns)
        # alpha is a time: start it on the data's own time scale (see _initial).
        total = weights.sum()
        mean_age = float(weights @ columns["T"]) / total
        mean_frequency = float(weights @ columns["frequency"]) / total
        self._time_scale = mean_age / max(mean_frequency, 1.0)
        return columns, weights, _SUMMARY_COLUMNS

    def _initial(self) -> np.ndarray:
        """``initial_params`` if given, else ``r = 0.5, a = b = 1`` and ``alpha`` at the data's
        mean age per purchase: the likelihood is scale-equivariant in ``alpha``, so the fit
        takes the same path whatever unit the ages are in."""
        time_scale = getattr(self, "_time_scale", None)
        if self.initial_params is not None or time_scale is None:
            return super()._initial()
        return np.array([0.5, time_scale, 1.0, 1.0])

    def _log_likelihood(
        self, params: np.ndarray, columns: Columns
    ) -> tuple[np.ndarray, np.ndarray]:
        r, alpha, a, b = (float(v) for v in params)
        x, t_x, T = columns["frequency"], columns["recency"], columns["T"]
        group, frequencies = self._frequency_groups(x)
        # Terms in x alone: once per distinct frequency, then spread to the rows.
        tosses = frequencies + self._extra_tosses
        shape = r + frequencies
        has_toss = tosses > 0
        safe = np.where(has_toss, b + tosses - 1.0, 1.0)
        log_odds_toss = np.where(has_toss, np.log(a) - np.log(safe), -np.inf)
        psi_all = digamma(a + b + tosses)
        psi_ab = digamma(a + b)
        per_group_value = gammaln(shape) - gammaln(r) + betaln(a, b + tosses) - betaln(a, b)
        per_group_d_r = digamma(shape) - digamma(r)
        per_group_d_b = digamma(b + tosses) - psi_all - digamma(b) + psi_ab
        shape_rows = shape[group]
        log_age = np.log(alpha + T)
        log_last = np.log(alpha + t_x)
        # Alive at T, or gone right after the last purchase: their log-odds, then the log-sum.
        log_odds_gone = log_odds_toss[group] + shape_rows * (log_age - log_last)
        log_mixture, share_gone = softplus_and_sigmoid(log_odds_gone)
        value = per_group_value[group] + r * np.log(alpha) - shape_rows * log_age
        value += log_mixture
        share_alive = 1.0 - share_gone
        gradient = np.empty((len(x), 4))
        gradient[:, 0] = (
            per_group_d_r[group] + np.log(alpha) - share_alive * log_age - share_gone * log_last
        )
        gradient[:, 1] = r / alpha - shape_rows * (
            share_alive / (alpha + T) + share_gone / (alpha + t_x)
        )
        gradient[:, 2] = (psi_ab - psi_all)[group] + share_gone / a
        gradient[:, 3] = per_group_d_b[group] - share_gone / safe[group]
        return value, gradient

    def _weighted_log_likelihood(
        self, params: np.ndarray, columns: Columns, weights: np.ndarray
    ) -> tuple[float, np.ndarray]:
        """The same sums as ``weights @ _log_likelihood(...)``, without per-row gradients.

        Rewritten so each row costs two logarithms, one exponential and a few dot products:
        terms in the frequency alone are weighted by each frequency's total weight, and
        ``(1 - s) u + s v`` becomes ``u + s (v - u)``. A fit on a million customers spends
        almost all its time here.
        """
        r, alpha, a, b = (float(v) for v in params)
        x, t_x, T = columns["frequency"], columns["recency"], columns["T"]
        group, frequencies = self._frequency_groups(x)
        group_weight = np.bincount(group, weights=weights, minlength=len(frequencies))
        total_weight = float(group_weight.sum())
        tosses = frequencies + self._extra_tosses
        shape = r + frequencies
        has_toss = tosses > 0
        safe = np.where(has_toss, b + tosses - 1.0, 1.0)
        log_odds_toss = np.where(has_toss, np.log(a) - np.log(safe), -np.inf)
        psi_all = digamma(a + b + tosses)
        psi_ab = digamma(a + b)
        per_group_value = gammaln(shape) - gammaln(r) + betaln(a, b + tosses) - betaln(a, b)

        weighted_shape = weights * (r + x)
        log_age = np.log(alpha + T)
        log_gap = log_age - np.log(alpha + t_x)
        log_mixture, share_gone = softplus_and_sigmoid(log_odds_toss[group] + (r + x) * log_gap)
        weighted_gone = weights * share_gone
        inverse_age = 1.0 / (alpha + T)
        value = (
            group_weight @ per_group_value
            + total_weight * r * np.log(alpha)
            - weighted_shape @ log_age
            + weights @ log_mixture
        )
        gradient = np.array(
            [
                group_weight @ (digamma(shape) - digamma(r))
                + total_weight * np.log(alpha)
                - weights @ log_age
                + weighted_gone @ log_gap,
                total_weight * r / alpha
                - weighted_shape @ inverse_age
                - (weighted_shape * share_gone) @ (1.0 / (alpha + t_x) - inverse_age),
                group_weight @ (psi_ab - psi_all) + weighted_gone.sum() / a,
                group_weight @ (digamma(b + tosses) - psi_all - digamma(b) + psi_ab)
                - weighted_gone @ (1.0 / safe)[group],
            ]
        )
        return float(value), gradient

    def _frequency_groups(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Row-to-frequency codes and the distinct frequencies, kept while ``x`` comes back.

        A fit evaluates the likelihood dozens of times on the same compressed column; a weak
        reference keeps the cache from holding the data alive.
        """
        cached = getattr(self, "_groups_cache", None)
        if cached is not None and cached[0]() is x:
            return cached[1]
        top = float(x.max()) if len(x) else 0.0
        if top <= _DIRECT_CODES_UP_TO:
            # Frequencies are whole numbers (checked): they are their own codes, no sort needed.
            groups = (x.astype(np.intp), np.arange(top + 1.0))
        else:
            frequencies, codes = np.unique(x, return_inverse=True)
            groups = (codes.reshape(-1), frequencies)
        self._groups_cache = (weakref.ref(x), groups)
        return groups

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.pop("_groups_cache", None)
        return state

    # ----------------------------------------------------------------- conditional predictions
    def _summary(self, data: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        columns = read_columns(data, _SUMMARY_COLUMNS)
        check_rfm_summary(columns)
        return columns["frequency"], columns["recency"], columns["T"]

    def _log_odds_gone(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        """``log(P(gone after last purchase) / P(alive))`` given each history."""
        r, alpha, a, b = self._fitted_params()
        tosses = x + self._extra_tosses
        has_toss = tosses > 0
        safe = np.where(has_toss, b + tosses - 1.0, 1.0)
        log_odds = np.log(a) - np.log(safe) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
        return np.where(has_toss, log_odds, -np.inf)

    def probability_alive(self, data: Any) -> np.ndarray:
        """Probability that each customer is still alive at ``T`` given their history.

        FHL (2005) eq. 11 (Batislam et al. 2007 eq. 5 for MBG/NBD):
        ``P(alive) = 1 / (1 + [x+k > 0] a/(b+x+k-1) ((alpha+T)/(alpha+t_x))^(r+x))``.
        Under BG/NBD a customer without a repeat purchase has never tossed the coin and is
        alive with certainty; MBG/NBD tosses it at the first purchase too.

        Parameters
        ----------
        data
            Table with ``frequency``, ``recency`` and ``T``.

        Returns
        -------
        numpy.ndarray
            One probability per row.
        """
        x, t_x, T = self._summary(data)
        return expit(-self._log_odds_gone(x, t_x, T))

    def expected_purchases(self, data: Any, t: float | np.ndarray) -> np.ndarray:
        """Expected number of purchases in ``(T, T + t]`` given each customer's history.

        FHL (2005) eq. 10: ``P(alive)`` times the expectation of a customer alive at ``T``
        with the posterior parameters ``(r+x, alpha+T, a, b+x+k)`` (module docstring).

        Parameters
        ----------
        data
            Table with ``frequency``, ``recency`` and ``T``.
        t
            Length of the future period: a scalar or one value per row.

        Returns
        -------
        numpy.ndarray
            One expectation per row.
        """
        x, t_x, T = self._summary(data)
        horizon = horizon_of(t, len(x))
        r, alpha, a, b = self._fitted_params()
        p_alive = expit(-self._log_odds_gone(x, t_x, T))
        return p_alive * expected_while_alive(
            horizon, r + x, alpha + T, a, b + x + self._extra_tosses
        )

    def probability_of_purchases(
        self, data: Any, n: int | np.ndarray, t: float | np.ndarray
    ) -> np.ndarray:
        """``P(X(T, T+t) = n | x, t_x, T)``: the chance of exactly ``n`` purchases next ``t``.

        Gone (probability ``1 - P(alive)``) means ``n = 0``; alive means a customer with the
        posterior parameters ``(r+x, alpha+T, a, b+x+k)`` (FHL 2005 eq. 8 for them).

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
        r, alpha, a, b = self._fitted_params()
        log_odds = self._log_odds_gone(x, t_x, T)
        log_p_alive = -np.logaddexp(0.0, log_odds)
        if_alive = _probability_or_certainty(
            count, horizon, r + x, alpha + T, a, b + x + self._extra_tosses, log_p_alive
        )
        p_gone = expit(log_odds)
        return if_alive + np.where(count == 0, p_gone, 0.0)

    # ----------------------------------------------------------------- new customers
    def _log_p_active_at_start(self) -> float:
        """``log P(alive right after the first purchase)``: 0 for BG/NBD."""
        return 0.0

    def expected_purchases_new_customer(self, t: float | np.ndarray) -> np.ndarray:
        """Expected repeat purchases in ``(0, t]`` of a customer just acquired.

        FHL (2005) eq. 9; for MBG/NBD ``b/(a+b)`` (survived the first toss) times the same
        for ``(r, alpha, a, b+1)`` (Batislam et al. 2007 eq. 7).

        Parameters
        ----------
        t
            Scalar or array of horizons ``>= 0``.

        Returns
        -------
        numpy.ndarray
            Same shape as ``t``.
        """
        r, alpha, a, b = self._fitted_params()
        horizon = horizon_of(t, None)
        return np.exp(self._log_p_active_at_start()) * expected_while_alive(
            horizon, r, alpha, a, b + self._extra_tosses
        )

    def probability_of_purchases_new_customer(
        self, n: int | np.ndarray, t: float | np.ndarray
    ) -> np.ndarray:
        """``P(X(t) = n)`` for a customer just acquired (FHL 2005 eq. 8).

        Parameters
        ----------
        n
            Number of purchases (whole, ``>= 0``), broadcast against ``t``.
        t
            Horizons ``>= 0``.

        Returns
        -------
        numpy.ndarray
            Broadcast shape of ``n`` and ``t``.
        """
        r, alpha, a, b = self._fitted_params()
        count, horizon = np.broadcast_arrays(count_of(n, None), horizon_of(t, None))
        log_active = self._log_p_active_at_start()
        if_active = _probability_or_certainty(
            count, horizon, r, alpha, a, b + self._extra_tosses, log_active
        )
        return if_active + np.where(count == 0, -np.expm1(log_active), 0.0)


def _probability_or_certainty(
    n: np.ndarray, t: np.ndarray, r: Any, alpha: Any, a: float, b: Any, log_weight: Any
) -> np.ndarray:
    """``exp(log_weight) * P(X(t) = n)`` for a customer alive at 0; at ``t = 0`` nothing is
    bought, so the probability is the weight for ``n = 0`` and 0 otherwise."""
    positive = t > 0
    safe_t = np.where(positive, t, 1.0)
    log_p = log_probability_while_alive(n, safe_t, r, alpha, a, b)
    at_zero = np.where(n == 0, 0.0, -np.inf)
    return np.exp(log_weight + np.where(positive, log_p, at_zero))
