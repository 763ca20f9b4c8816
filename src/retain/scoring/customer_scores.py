"""Per-customer value scores from the fitted models, with the model chosen on held-out data.

The orders are summarised in days (:func:`retain.analytics.rfm_summary`). To choose the
transaction model, the last part of the window is held out: each candidate (BG/NBD,
Pareto/NBD, MBG/NBD) is fitted to what came before and predicts every customer's purchases in
the held-out days; the one with the smallest mean absolute error per customer wins, and the
comparison is returned with the scores. Beyond :data:`CHOICE_CUSTOMERS` customers the choice
is made on about that many, picked inside the engine by a hash of the customer id before the
orders are summarised (the same customers on every run). The winner is then refitted to the
whole window, with Gamma-Gamma for spend, and scores every customer as of the observation end.
"""

from __future__ import annotations

import datetime as dt
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from retain.analytics import completed_orders, rfm_summary
from retain.analytics._tables import as_date
from retain.errors import ConvergenceError, ConvergenceWarning, DataError
from retain.stats import (
    BetaGeoModel,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    discounted_expected_purchases,
)
from retain.stats._validation import distinct_rows
from retain.stats.clv import expected_spend_per_purchase

CANDIDATES = {
    "BG/NBD": BetaGeoModel,
    "Pareto/NBD": ParetoNBDModel,
    "MBG/NBD": ModifiedBetaGeoModel,
}
#: P(alive) below which churn risk is high, and below which it is medium.
RISK_BANDS = (0.3, 0.7)
_HISTORY = ("frequency", "recency", "T")
#: Beyond this many customers the model is chosen on about this many (hash buckets).
CHOICE_CUSTOMERS = 200_000
# Horizons (days) on which the chance of a next order is evaluated, for its median date.
_NEXT_ORDER_GRID = np.unique(np.round(np.geomspace(1, 1095, 40)))


@dataclass(frozen=True)
class Scores:
    """What :func:`score_customers` found: the table, and how the model was chosen."""

    customers: pd.DataFrame
    model: str
    model_choice: pd.DataFrame
    params: dict[str, float]
    spend_params: dict[str, float] | None


def score_customers(
    orders: Any,
    *,
    observation_end: Any,
    holdout_days: int | None = None,
    choice_customers: int = CHOICE_CUSTOMERS,
    annual_discount_rate: float = 0.10,
    customer_id: str = "customer_id",
    order_id: str = "order_id",
    ordered_at: str = "ordered_at",
    amount: str = "amount",
) -> Scores:
    """Score every customer: P(alive), expected purchases, 12-month CLV, risk, next order.

    Parameters
    ----------
    orders
        Orders table (see :mod:`retain.analytics.orders`).
    observation_end
        The day the scores are for.
    holdout_days
        Days at the end of the window held out to choose the model; by default a third of
        the window, at most 180 days.
    choice_customers
        Beyond this many customers, the model is chosen on about this many of them.
    annual_discount_rate
        For the lifetime value.

    Returns
    -------
    Scores
        ``customers`` has one row per customer: ``customer_id``, ``frequency``, ``recency``,
        ``T`` (days), ``monetary_value``, ``p_alive``, ``expected_purchases_30d`` /
        ``_90d`` / ``_365d``, ``clv_12m``, ``churn_risk`` (high / medium / low by P(alive),
        :data:`RISK_BANDS`), ``next_order_date`` (the day by which a next order is as likely
        as not; empty when it is less likely than not ever to come) and ``value_decile``
        (10 = the most valuable tenth by CLV).
    """
    end = as_date(observation_end, "observation_end")
    table, _ = completed_orders(
        orders, customer_id=customer_id, order_id=order_id, ordered_at=ordered_at, amount=amount
    )
    table = table.select("customer_id", "ordered_at", "amount")
    first_day = as_date(table.ordered_at.min().to_pyarrow().as_py(), "first order")
    span = (end - first_day).days
    if span < 30:
        raise DataError(
            f"the orders cover {span} days up to {end}; scoring needs at least 30",
            column="ordered_at",
        )
    holdout = holdout_days or min(180, span // 3)
    calibration_end = end - dt.timedelta(days=holdout)
    summary = (
        rfm_summary(
            table,
            customer_id="customer_id",
            datetime="ordered_at",
            monetary="amount",
            observation_end=end,
            time_unit="D",
        )
        .to_pyarrow()
        .to_pandas()
    )
    choice = _choose_model(
        _choice_sample(table, len(summary), choice_customers), calibration_end, end
    )
    name = choice.sort_values("mean_absolute_error").model.iloc[0]
    buying = CANDIDATES[name]().fit(summary)
    repeaters = summary[summary.frequency > 0]
    spend = _fit_spend(repeaters)
    scores = summary[["customer_id", "frequency", "recency", "T", "monetary_value"]].copy()
    # Customers with the same (frequency, recency, T) get the same predictions: compute each
    # distinct history once (in whole days many customers share one) and spread them back.
    history, row = distinct_rows({name: scores[name].to_numpy() for name in _HISTORY}, _HISTORY)
    per_history = {"p_alive": buying.probability_alive(history)}
    for days in (30, 90, 365):
        per_history[f"expected_purchases_{days}d"] = buying.expected_purchases(history, float(days))
    # CLV = spend per purchase (per customer, closed form) x discounted purchases (per history).
    discounted = discounted_expected_purchases(
        buying,
        history,
        horizon_months=12,
        time_unit="D",
        annual_discount_rate=annual_discount_rate,
    )
    per_history["next_order_date"] = _next_order_dates(buying, history, end)
    for column, values in per_history.items():
        scores[column] = np.asarray(values)[row]
    if spend is not None:
        per_purchase = expected_spend_per_purchase(spend, scores)
    else:  # too few repeat buyers for a spend model: value at the observed mean spend
        per_purchase = float(repeaters.monetary_value.mean()) if len(repeaters) else 0.0
    scores["clv_12m"] = per_purchase * discounted[row]
    low, high = RISK_BANDS
    scores["churn_risk"] = np.select(
        [scores.p_alive < low, scores.p_alive < high], ["high", "medium"], "low"
    )
    scores["next_order_date"] = pd.to_datetime(scores["next_order_date"]).dt.date
    ranks = scores.clv_12m.rank(method="first", pct=True)
    scores["value_decile"] = np.ceil(ranks * 10).clip(1, 10).astype("int64")
    return Scores(
        customers=scores.reset_index(drop=True),
        model=name,
        model_choice=choice.reset_index(drop=True),
        params=buying.params_,
        spend_params=None if spend is None else spend.params_,
    )


def _choice_sample(table: Any, n_customers: int, wanted: int) -> Any:
    """The orders of about ``wanted`` customers: one of ``m`` buckets of the id's hash."""
    buckets = -(-n_customers // wanted)
    if buckets <= 1:
        return table
    return table.filter(table.customer_id.hash() % buckets == 0)


def _choose_model(table: Any, calibration_end: dt.date, end: dt.date) -> pd.DataFrame:
    """Each candidate's error on the held-out days, per customer and in total."""
    split = (
        rfm_summary(
            table,
            customer_id="customer_id",
            datetime="ordered_at",
            monetary="amount",
            observation_end=end,
            calibration_end=calibration_end,
            time_unit="D",
        )
        .to_pyarrow()
        .to_pandas()
    )
    actual = split.frequency_holdout.to_numpy(dtype=float)
    days = float((end - calibration_end).days)
    rows = []
    for name, model in CANDIDATES.items():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                predicted = model().fit(split).expected_purchases(split, days)
        except ConvergenceError as error:
            rows.append({"model": name, "mean_absolute_error": np.inf, "note": str(error)})
            continue
        rows.append(
            {
                "model": name,
                "mean_absolute_error": float(np.mean(np.abs(predicted - actual))),
                "predicted_purchases": float(predicted.sum()),
                "actual_purchases": float(actual.sum()),
                "note": "",
            }
        )
    choice = pd.DataFrame(rows)
    if not np.isfinite(choice.mean_absolute_error).any():
        raise ConvergenceError(
            "no transaction model could be fitted to these orders: "
            + "; ".join(choice.note.tolist())
        )
    return choice


def _fit_spend(repeaters: pd.DataFrame) -> GammaGammaModel | None:
    """Gamma-Gamma on the repeat buyers, or None when they are too few or it does not fit."""
    if len(repeaters) < 20:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return GammaGammaModel().fit(repeaters)
    except ConvergenceError:
        return None


def _next_order_dates(buying: Any, summary: Any, end: dt.date) -> np.ndarray:
    """The first day on the grid by which P(at least one order) reaches one half.

    The chance only grows with the horizon, so each customer's day is found by bisection over
    the grid: six evaluations for everyone at once instead of one per grid day.
    """
    grid = _NEXT_ORDER_GRID
    n = len(summary["frequency"])
    low = np.zeros(n, dtype=np.intp)  # invariant: the answer's index is in [low, high]
    high = np.full(n, len(grid) - 1, dtype=np.intp)
    reaches = 1.0 - buying.probability_of_purchases(summary, 0, grid[-1]) >= 0.5
    while np.any(low < high):
        middle = (low + high) // 2
        chance = 1.0 - buying.probability_of_purchases(summary, 0, grid[middle])
        open_rows = low < high
        above = chance >= 0.5
        high = np.where(open_rows & above, middle, high)
        low = np.where(open_rows & ~above, middle + 1, low)
    offsets = np.where(reaches, grid[low], np.nan)
    return (pd.Timestamp(end) + pd.to_timedelta(offsets, unit="D")).to_numpy()
