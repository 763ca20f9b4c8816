"""Customer lifetime value: a model of how often, a model of how much, and money's time value.

Fader, Hardie & Lee (2005, "RFM and CLV: using iso-value curves for customer base analysis",
eq. 2) value a customer as the discounted expected transactions times the expected spend per
transaction; the Gamma-Gamma model makes spend independent of the transaction process, so the
two expectations multiply. The discounted expected transactions are summed here month by
month: the purchases a customer is expected to make in month ``m`` (the difference of two
conditional expectations) are valued at the end of that month.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from retain.errors import DataError, plain
from retain.stats._validation import read_columns
from retain.time_units import DAYS_PER_UNIT, days_per_unit

_DAYS_PER_MONTH = DAYS_PER_UNIT["M"]


class TransactionModel(Protocol):
    """Anything that predicts purchases conditional on a customer's history."""

    def expected_purchases(self, data: Any, t: float | np.ndarray) -> np.ndarray: ...


class SpendModel(Protocol):
    """Anything that predicts a customer's mean spend per purchase."""

    def expected_spend(self, data: Any) -> np.ndarray: ...


def monthly_discount_factors(horizon_months: float, annual_discount_rate: float) -> np.ndarray:
    """Discount factor at the end of each month of the horizon (the last may be partial).

    A rate ``d`` a year is ``(1 + d)^(1/12) - 1`` a month, so twelve monthly steps discount
    exactly as one yearly step.
    """
    _check_horizon(horizon_months, annual_discount_rate)
    ends = _month_ends(horizon_months)
    return (1.0 + annual_discount_rate) ** (-ends / 12.0)


def _month_ends(horizon_months: float) -> np.ndarray:
    whole = int(np.floor(horizon_months))
    ends = np.arange(1, whole + 1, dtype=float)
    if horizon_months > whole:
        ends = np.append(ends, horizon_months)
    return ends


def discounted_expected_purchases(
    transaction_model: TransactionModel,
    data: Any,
    *,
    horizon_months: float,
    time_unit: str,
    annual_discount_rate: float,
) -> np.ndarray:
    """Expected purchases over the horizon, each month's discounted to today.

    Parameters
    ----------
    transaction_model
        A fitted model with ``expected_purchases(data, t)``, ``t`` in the data's time unit
        (BG/NBD, Pareto/NBD, MBG/NBD).
    data
        The customers' summaries, as the model reads them.
    horizon_months
        How far ahead to look, in months (``12`` for a one-year value).
    time_unit
        The unit ``recency`` and ``T`` are measured in (``"D"``, ``"W"``, ``"M"``, ``"Y"``), as
        passed to :func:`retain.analytics.rfm_summary`.
    annual_discount_rate
        The cost of capital per year, e.g. ``0.10``.

    Returns
    -------
    numpy.ndarray
        One value per customer: ``sum_m (E[X(T, T+t_m)] - E[X(T, T+t_{m-1})]) / (1+d)^(t_m/12)``.
    """
    _check_horizon(horizon_months, annual_discount_rate)
    _check_time_unit(time_unit)
    months_per_unit = days_per_unit(time_unit) / _DAYS_PER_MONTH
    ends = _month_ends(horizon_months)
    factors = monthly_discount_factors(horizon_months, annual_discount_rate)
    total: np.ndarray | float = 0.0
    previous: np.ndarray | float = 0.0
    for end, factor in zip(ends, factors, strict=True):
        cumulative = np.asarray(
            transaction_model.expected_purchases(data, end / months_per_unit), dtype=float
        )
        step = (cumulative - previous) * factor
        total = total + step
        previous = cumulative
    return np.asarray(total, dtype=float)


def customer_lifetime_value(
    transaction_model: TransactionModel,
    spend_model: SpendModel,
    data: Any,
    *,
    horizon_months: float,
    time_unit: str,
    annual_discount_rate: float,
    margin: float = 1.0,
) -> np.ndarray:
    """Discounted value of each customer's expected purchases over a horizon.

    Fader, Hardie & Lee (2005, "RFM and CLV", eq. 2): ``CLV = margin * E[spend] * DET``, with
    ``DET`` the discounted expected transactions (:func:`discounted_expected_purchases`) and
    ``E[spend]`` the spend model's conditional mean per purchase (the population mean for a
    customer with no repeat purchase yet).

    Parameters
    ----------
    transaction_model
        Fitted BG/NBD, Pareto/NBD or MBG/NBD model (anything with ``expected_purchases``).
    spend_model
        Fitted Gamma-Gamma model (anything with ``expected_spend``).
    data
        Per-customer summary with ``frequency``, ``recency``, ``T`` and ``monetary_value``.
    horizon_months, time_unit, annual_discount_rate
        See :func:`discounted_expected_purchases`.
    margin
        Share of revenue that is profit, in ``(0, 1]``; ``1`` values revenue.

    Returns
    -------
    numpy.ndarray
        Value per customer, in the currency of ``monetary_value``.
    """
    if not 0.0 < margin <= 1.0:
        raise DataError(f"margin must be in (0, 1], got {margin!r}")
    transactions = discounted_expected_purchases(
        transaction_model,
        data,
        horizon_months=horizon_months,
        time_unit=time_unit,
        annual_discount_rate=annual_discount_rate,
    )
    return margin * expected_spend_per_purchase(spend_model, data) * transactions


def expected_spend_per_purchase(spend_model: SpendModel, data: Any) -> np.ndarray:
    """The spend model's prediction per customer; those without a repeat purchase get the
    population mean (their ``monetary_value`` says nothing yet)."""
    columns = read_columns(data, ("frequency", "monetary_value"))
    repeaters = columns["frequency"] > 0
    spend = np.empty(len(repeaters))
    if repeaters.any():
        spend[repeaters] = spend_model.expected_spend(
            {name: values[repeaters] for name, values in columns.items()}
        )
    if not repeaters.all():
        new_customer = getattr(spend_model, "expected_spend_new_customer", None)
        if new_customer is None:
            raise DataError(
                f"{type(spend_model).__name__} cannot value customers without a repeat "
                "purchase (frequency 0)"
            )
        spend[~repeaters] = new_customer()
    return spend


_UNIT_NAMES = {"D": "days", "W": "weeks", "M": "months", "Y": "years"}


def _check_horizon(horizon_months: float, annual_discount_rate: float) -> None:
    if not _is_number(horizon_months) or not (np.isfinite(horizon_months) and horizon_months > 0):
        raise DataError(
            f"horizon_months must be a positive number of months (12 for a year), "
            f"got {plain(horizon_months)}"
        )
    if not _is_number(annual_discount_rate) or not 0.0 <= annual_discount_rate < 1.0:
        hint = ""
        if _is_number(annual_discount_rate) and 1.0 <= annual_discount_rate < 100.0:
            rate = plain(annual_discount_rate)
            hint = f" (for {rate} % a year, give {annual_discount_rate / 100:g})"
        raise DataError(
            "annual_discount_rate must be a yearly rate from 0 up to (not including) 1, such "
            f"as 0.10 for 10 % a year; got {plain(annual_discount_rate)}{hint}"
        )


def _check_time_unit(time_unit: Any) -> None:
    if time_unit not in _UNIT_NAMES:
        units = ", ".join(f"{code} ({name})" for code, name in _UNIT_NAMES.items())
        raise DataError(
            f"time_unit must be the unit recency and T are measured in, as given to "
            f"rfm_summary: {units}; got {plain(time_unit)}"
        )


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)
