"""The shifted-beta-geometric model of contractual retention (Fader & Hardie 2007, "How to
project customer retention", Journal of Interactive Marketing 21(1); Fader & Hardie 2010,
"Customer-base valuation in a contractual setting: the perils of ignoring heterogeneity",
Marketing Science 29(1)).

At the end of each period a subscriber cancels with probability ``theta``, constant for them
and ``~ Beta(alpha, beta)`` across subscribers. The mixture explains why retention rates rise
with tenure: the quick leavers leave first. With ``B`` the beta function (FH 2007 eq. 5-7):

- ``P(T = t) = B(alpha + 1, beta + t - 1) / B(alpha, beta)``, ``t = 1, 2, ...``
- ``S(t) = B(alpha, beta + t) / B(alpha, beta)``
- ``r(t) = S(t) / S(t-1) = (beta + t - 1) / (alpha + beta + t - 1)``
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from scipy.special import betaln, digamma, hyp2f1

from retain.errors import DataError
from retain.stats._base import BaseModel
from retain.stats._validation import (
    Columns,
    check_count,
    column_names,
    read_columns,
    reject,
    weights_of,
)

_LIFETIME_COLUMNS = ("duration", "churned")
_CURVE_COLUMNS = ("period", "survivors")
# Without a single cancellation the likelihood rises towards a churn probability of 0 forever.
_NO_CHURN = "no subscriber churned, so there is no churn rate to estimate (the fit would be 0)"


def lifetimes_from_survival_curve(
    period: np.ndarray, survivors: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Turn a survival curve into weighted lifetimes: ``(duration, churned, weight)``.

    ``survivors[i]`` customers are still subscribed at ``period[i]`` (periods ``0..n`` in
    order, ``survivors[0] > 0`` the whole cohort). Those lost between ``t - 1`` and ``t``
    churned at ``t``; those left at ``n`` are still active (censored).

    Raises
    ------
    DataError
        ``period`` is not ``0, 1, ..., n`` (``n >= 1``), or ``survivors`` is negative, starts
        at 0, rises from one period to the next or never falls.
    """
    reject("period", period, period != np.arange(len(period)), "must run 0, 1, 2, ... in order")
    reject("survivors", survivors, ~np.isfinite(survivors), "must be a finite number")
    reject("survivors", survivors, survivors < 0, "must be >= 0")
    reject("survivors", survivors[:1], survivors[:1] <= 0, "must start (period 0) above 0")
    reject(
        "survivors",
        survivors,
        np.append(False, np.diff(survivors) > 0),
        "must not increase from one period to the next (nobody rejoins a cohort)",
    )
    if len(period) < 2:
        raise DataError("a survival curve needs at least periods 0 and 1", column="period")
    if survivors[-1] == survivors[0]:
        raise DataError(_NO_CHURN, column="survivors")
    lost = -np.diff(survivors)
    duration = np.append(period[1:], period[-1])
    churned = np.append(np.ones(len(lost)), 0.0)
    weight = np.append(lost, survivors[-1])
    keep = weight > 0
    return duration[keep], churned[keep], weight[keep]


class ShiftedBetaGeoModel(BaseModel):
    """sBG: each subscriber cancels with a constant per-period chance that varies across them.

    Parameters (``params_``) are ``alpha`` and ``beta`` of the ``Beta`` distribution of the
    per-period churn probability (Fader & Hardie 2007).

    ``fit(data)`` reads either

    - a survival curve: ``period`` (0, 1, ..., n in order) and ``survivors`` (how many of
      the cohort are still subscribed at the start of each period; period 0 is the whole
      cohort, and the counts never rise), as in Fader & Hardie (2007) table 1, or
    - one row per subscriber: ``duration`` (periods survived so far; for a churned subscriber,
      the period they cancelled in, ``>= 1``) and ``churned`` (1/True if they cancelled,
      0/False if still active), with an optional ``weight``.

    Shares or percentages in ``survivors`` give the same estimates as counts, but the
    likelihood, and so the standard errors, then describe a cohort of ``survivors[0]``
    customers: pass counts to get honest standard errors.

    Examples
    --------
    >>> curve = {"period": [0, 1, 2, 3], "survivors": [1000, 631, 468, 382]}
    >>> model = ShiftedBetaGeoModel().fit(curve)  # doctest: +SKIP
    >>> model.survival([4, 5, 6])  # doctest: +SKIP
    """

    param_names: ClassVar[tuple[str, ...]] = ("alpha", "beta")
    default_initial_params: ClassVar[tuple[float, ...]] = (1.0, 1.0)

    def _prepare(self, data: Any) -> tuple[Columns, np.ndarray, tuple[str, ...]]:
        names = set(column_names(data))
        is_curve = bool(names & set(_CURVE_COLUMNS))
        is_lifetimes = bool(names & set(_LIFETIME_COLUMNS))
        if is_curve and is_lifetimes:
            raise DataError(
                "pass either a survival curve (period, survivors) or one row per subscriber "
                f"(duration, churned), not both; the table has {sorted(names)}"
            )
        if is_curve:
            if "weight" in names:
                raise DataError(
                    "a survival curve takes no weight: survivors already counts the customers",
                    column="weight",
                )
            curve = read_columns(data, _CURVE_COLUMNS)
            duration, churned, weight = lifetimes_from_survival_curve(
                curve["period"], curve["survivors"]
            )
            columns = {"duration": duration, "churned": churned}
            return columns, weight, _LIFETIME_COLUMNS
        if not is_lifetimes:
            raise DataError(
                "expected a survival curve (columns period, survivors) or one row per "
                f"subscriber (columns duration, churned); the table has {sorted(names)}"
            )
        columns = read_columns(data, _LIFETIME_COLUMNS, optional=("weight",))
        duration, churned = columns["duration"], columns["churned"]
        check_count("duration", duration)
        reject("churned", churned, ~np.isin(churned, (0.0, 1.0)), "must be 0/1 or a boolean")
        reject(
            "duration",
            duration,
            (churned == 1.0) & (duration < 1),
            "must be >= 1 for a churned subscriber (the period they cancelled in)",
        )
        if not np.any(churned == 1.0):
            raise DataError(_NO_CHURN, column="churned")
        return columns, weights_of(columns), _LIFETIME_COLUMNS

    def _log_likelihood(
        self, params: np.ndarray, columns: Columns
    ) -> tuple[np.ndarray, np.ndarray]:
        alpha, beta = (float(v) for v in params)
        t, churned = columns["duration"], columns["churned"] == 1.0
        # Churned at t: B(alpha+1, beta+t-1); still active after t: B(alpha, beta+t).
        shape_a = np.where(churned, alpha + 1.0, alpha)
        shape_b = np.where(churned, beta + t - 1.0, beta + t)
        value = betaln(shape_a, shape_b) - betaln(alpha, beta)
        psi_all = digamma(alpha + beta + t)
        psi_ab = digamma(alpha + beta)
        gradient = np.empty((len(t), 2))
        gradient[:, 0] = digamma(shape_a) - psi_all - digamma(alpha) + psi_ab
        gradient[:, 1] = digamma(shape_b) - psi_all - digamma(beta) + psi_ab
        return value, gradient

    # ----------------------------------------------------------------- predictions
    def survival(self, t: float | np.ndarray) -> np.ndarray:
        """Share of a new cohort still subscribed after ``t`` periods, ``S(t)`` (FH 2007 eq. 7).

        Parameters
        ----------
        t
            Periods ``>= 0`` (whole numbers; the model is discrete).

        Returns
        -------
        numpy.ndarray
        """
        alpha, beta = self._fitted_params()
        periods = _periods(t, "t")
        return np.exp(betaln(alpha, beta + periods) - betaln(alpha, beta))

    def retention_rate(self, t: float | np.ndarray) -> np.ndarray:
        """Share of those subscribed at ``t - 1`` who renew at ``t`` (FH 2007 eq. 8),
        ``(beta+t-1)/(alpha+beta+t-1)``, rising with ``t`` as the quick leavers are gone.

        Parameters
        ----------
        t
            Periods ``>= 1``.

        Returns
        -------
        numpy.ndarray
        """
        alpha, beta = self._fitted_params()
        periods = _periods(t, "t")
        reject("t", periods.reshape(-1), periods.reshape(-1) < 1, "must be >= 1")
        return (beta + periods - 1.0) / (alpha + beta + periods - 1.0)

    def probability_churn_at(self, t: float | np.ndarray) -> np.ndarray:
        """``P(T = t)``: the chance a new subscriber cancels in period ``t`` (FH 2007 eq. 5).

        Parameters
        ----------
        t
            Periods ``>= 1``.

        Returns
        -------
        numpy.ndarray
        """
        alpha, beta = self._fitted_params()
        periods = _periods(t, "t")
        reject("t", periods.reshape(-1), periods.reshape(-1) < 1, "must be >= 1")
        return np.exp(betaln(alpha + 1.0, beta + periods - 1.0) - betaln(alpha, beta))

    def discounted_expected_residual_lifetime(
        self, renewals: float | np.ndarray, discount_rate: float
    ) -> np.ndarray:
        """Expected discounted number of further renewals of a subscriber who has renewed
        ``renewals`` times, valued just before their next renewal decision.

        Fader & Hardie (2010) eq. 6, with ``n - 1 = renewals``:
        ``DERL = (beta+n-1)/(alpha+beta+n-1) * 2F1(1, beta+n; alpha+beta+n; 1/(1+d))``,
        i.e. ``sum_k P(renews k more times | renewed n-1) / (1+d)^(k-1)``. Times the payment
        per period, it is the subscriber's residual value.

        Parameters
        ----------
        renewals
            Renewals made so far (``0`` for a subscriber in their first period).
        discount_rate
            Per period, ``> 0`` (e.g. ``0.10`` a year for yearly contracts).

        Returns
        -------
        numpy.ndarray
        """
        alpha, beta = self._fitted_params()
        made = _periods(renewals, "renewals")
        if not (np.isfinite(discount_rate) and discount_rate > 0):
            raise DataError(
                f"discount_rate must be > 0, got {discount_rate!r}", column="discount_rate"
            )
        n = made + 1.0
        return (
            (beta + n - 1.0)
            / (alpha + beta + n - 1.0)
            * hyp2f1(1.0, beta + n, alpha + beta + n, 1.0 / (1.0 + discount_rate))
        )

    def expected_lifetime(self) -> float:
        """Mean number of periods a new subscriber stays, ``(alpha+beta-1)/(alpha-1)``:
        ``E[1/theta]``, infinite when ``alpha <= 1`` (some subscribers practically never leave).

        Returns
        -------
        float
        """
        alpha, beta = self._fitted_params()
        if alpha <= 1.0:
            return float("inf")
        return float((alpha + beta - 1.0) / (alpha - 1.0))


def _periods(t: float | np.ndarray, name: str) -> np.ndarray:
    periods = np.asarray(t, dtype=float)
    flat = periods.reshape(-1)
    reject(name, flat, ~np.isfinite(flat), "must be a finite number")
    check_count(name, flat)
    return periods
