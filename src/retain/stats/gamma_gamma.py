"""The Gamma-Gamma model of spend per purchase (Fader, Hardie & Lee 2005, "RFM and CLV: using
iso-value curves for customer base analysis", JMR 42(4); Fader & Hardie 2013, "The Gamma-Gamma
model of monetary value").

Each purchase of a customer is worth ``z ~ Gamma(p, nu)`` (shape ``p``, rate ``nu``); ``nu``
varies across customers as ``Gamma(q, v)``. Spend is independent of the purchase process, so
the model multiplies with any BG/NBD-family forecast into a lifetime value.

The summary keeps only each customer's mean ``m`` of ``x`` repeat purchases. The mean of ``x``
gamma values with a shared rate is ``Gamma(p x, nu x)``, so mixing over ``nu`` gives the
likelihood of the mean (Fader & Hardie 2013, eq. 4, with the Jacobian of the mean):

``f(m | x) = Gamma(p x + q) / (Gamma(p x) Gamma(q)) * v^q x^(p x) m^(p x - 1)
             / (v + x m)^(p x + q)``.

This is the convention behind the published CDNOW log-likelihood of -4055.9.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from scipy.special import digamma, gammaln

from retain.stats._base import BaseModel
from retain.stats._validation import Columns, check_count, read_columns, reject, weights_of

_COLUMNS = ("frequency", "monetary_value")


class GammaGammaModel(BaseModel):
    """Gamma-Gamma: gamma-distributed purchase values around a customer-specific mean.

    Parameters (``params_``) are ``p`` (shape of a purchase's value), ``q`` and ``v`` (shape
    and rate of the customers' ``nu``); the population's mean spend per purchase is
    ``p v / (q - 1)``.

    ``fit(data)`` reads ``frequency`` (repeat purchases, all ``> 0``: fit on repeat buyers
    only, e.g. ``summary[summary.frequency > 0]``) and ``monetary_value`` (their mean value,
    ``> 0``), with an optional ``weight``. Predictions accept every customer.

    ``log_likelihood_`` is that of the observed *means* ``m`` (the density of the sum of the
    ``x`` values, times the Jacobian ``x``), as in Fader & Hardie (2013) and the published
    CDNOW figure of -4055.9; the density of the sums would be lower by ``sum(weight * log x)``
    at the same estimates.

    Examples
    --------
    >>> spend = GammaGammaModel().fit(summary[summary.frequency > 0])  # doctest: +SKIP
    >>> spend.expected_spend(summary)  # doctest: +SKIP
    """

    param_names: ClassVar[tuple[str, ...]] = ("p", "q", "v")
    default_initial_params: ClassVar[tuple[float, ...]] = (1.0, 2.0, 1.0)

    def _prepare(self, data: Any) -> tuple[Columns, np.ndarray, tuple[str, ...]]:
        columns = read_columns(data, _COLUMNS, optional=("weight",))
        x, m = columns["frequency"], columns["monetary_value"]
        check_count("frequency", x)
        reject(
            "frequency",
            x,
            x == 0,
            "is 0: the spend model is fitted on repeat buyers only "
            "(pass summary[summary.frequency > 0])",
        )
        reject("monetary_value", m, ~np.isfinite(m), "must be a finite number")
        reject("monetary_value", m, m <= 0, "must be > 0 for a repeat buyer")
        weights = weights_of(columns)
        # v is money per unit of rate: start it where p = 1, q = 2 give the observed mean.
        self._mean_spend = float(weights @ m) / float(weights.sum())
        return columns, weights, _COLUMNS

    def _initial(self) -> np.ndarray:
        """``initial_params`` if given, else ``p = 1, q = 2`` and ``v`` the mean spend, which
        puts the start's population mean ``p v / (q - 1)`` on the data's own."""
        mean_spend = getattr(self, "_mean_spend", None)
        if self.initial_params is not None or mean_spend is None:
            return super()._initial()
        return np.array([1.0, 2.0, mean_spend])

    def _log_likelihood(
        self, params: np.ndarray, columns: Columns
    ) -> tuple[np.ndarray, np.ndarray]:
        p, q, v = (float(value) for value in params)
        x, m = columns["frequency"], columns["monetary_value"]
        shape = p * x
        log_total = np.log(v + x * m)
        log_x, log_m = np.log(x), np.log(m)
        value = (
            gammaln(shape + q)
            - gammaln(shape)
            - gammaln(q)
            + q * np.log(v)
            + shape * log_x
            + (shape - 1.0) * log_m
            - (shape + q) * log_total
        )
        psi_all = digamma(shape + q)
        gradient = np.empty((len(x), 3))
        gradient[:, 0] = x * (psi_all - digamma(shape) + log_x + log_m - log_total)
        gradient[:, 1] = psi_all - digamma(q) + np.log(v) - log_total
        gradient[:, 2] = q / v - (shape + q) / (v + x * m)
        return value, gradient

    def expected_spend(self, data: Any) -> np.ndarray:
        """Expected value of each customer's future purchases, given their history.

        Fader, Hardie & Lee (2005) eq. 5: a weighted mean of the population mean
        ``p v / (q - 1)`` and the customer's own ``m``,

        ``E[Z | x, m] = p (v + x m) / (p x + q - 1)``,

        the customer's weight growing with the number of purchases. A customer with no repeat
        purchase gets the population mean (their ``monetary_value`` is ignored).

        Parameters
        ----------
        data
            Table with ``frequency`` and ``monetary_value``.

        Returns
        -------
        numpy.ndarray
            One value per row, in the currency of ``monetary_value``; ``inf`` where the
            fitted ``q`` leaves the mean undefined (``p x + q <= 1``).
        """
        p, q, v = self._fitted_params()
        columns = read_columns(data, _COLUMNS)
        x, m = columns["frequency"], columns["monetary_value"]
        check_count("frequency", x)
        own = np.where(x > 0, m, 0.0)
        reject("monetary_value", m, (x > 0) & ~(np.isfinite(m) & (m > 0)), "must be > 0")
        denominator = p * x + q - 1.0
        with np.errstate(divide="ignore"):
            return np.where(denominator > 0, p * (v + x * own) / denominator, np.inf)

    def expected_spend_new_customer(self) -> float:
        """The population's mean value per purchase, ``p v / (q - 1)`` (``inf`` if ``q <= 1``).

        Returns
        -------
        float
        """
        p, q, v = self._fitted_params()
        if q <= 1.0:
            return float("inf")
        return float(p * v / (q - 1.0))
