"""Per-customer value scores from the fitted models, with the model chosen on held-out data.

The orders are summarised in days (:func:`retain.analytics.rfm_summary`). To choose the
transaction model, the last part of the window is held out: each candidate (BG/NBD,
Pareto/NBD, MBG/NBD) is fitted to what came before and predicts every customer's purchases in
the held-out days; the one with the smallest mean absolute error per customer wins, and the
comparison is returned with the scores. Beyond :data:`CHOICE_CUSTOMERS` customers the choice
is made on about that many, picked inside the engine by a hash of the customer id before the
orders are summarised (the same customers on every run). The winner is then refitted to the
whole window (the next best if it does not converge there, reported as a fallback), with
Gamma-Gamma for spend (:mod:`retain.scoring.spend`), and scores every customer as of the
observation end.

The models are refused (:class:`~retain.scoring.notes.ModelsRefused`) rather than fitted to
orders that cannot support them: with no repeat buyer every customer would come out "gone"
with a lifetime value of 0, which is what the data cannot say.
"""

from __future__ import annotations

import datetime as dt
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from retain.analytics import completed_orders, rfm_summary
from retain.errors import ConvergenceError, ConvergenceWarning, DataError
from retain.scoring.notes import Fallback, ModelsRefused, fit_with_caveats
from retain.scoring.spend import value_per_purchase
from retain.stats import (
    BetaGeoModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    discounted_expected_purchases,
    distinct_rows,
)
from retain.time_units import as_date

CANDIDATES = {
    "BG/NBD": BetaGeoModel,
    "Pareto/NBD": ParetoNBDModel,
    "MBG/NBD": ModifiedBetaGeoModel,
}
#: P(alive) below which churn risk is high, and below which it is medium.
RISK_BANDS = (0.3, 0.7)
_HISTORY = ("frequency", "recency", "T")
#: The purchase models need orders over at least this many days...
MIN_WINDOW_DAYS = 30
#: ... and at least this many customers with a repeat order (on a later day than the first).
MIN_REPEAT_BUYERS = 20
#: Beyond this many customers the model is chosen on about this many (hash buckets).
CHOICE_CUSTOMERS = 200_000
# Horizons (days) on which the chance of a next order is evaluated, for its median date.
_NEXT_ORDER_GRID = np.unique(np.round(np.geomspace(1, 1095, 40)))


@dataclass(frozen=True)
class Scores:
    """What :func:`score_customers` found: the table, and how the model was chosen."""

    customers: pd.DataFrame
    model: str | None
    model_choice: pd.DataFrame
    params: dict[str, float]
    spend_params: dict[str, float] | None
    #: Customers scored otherwise than by the fitted models, and why (empty: none).
    fallbacks: tuple[Fallback, ...] = ()
    #: What the final fits' optimiser warned about; their estimates are used all the same.
    caveats: tuple[str, ...] = ()
    #: Why the models were refused (then ``model`` is None and the model scores are empty).
    refused: str | None = None


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
        (10 = the most valuable tenth by CLV). ``fallbacks`` lists every group of customers
        scored otherwise than by the fitted models, with the reason (see
        :mod:`retain.scoring.spend`).

    Raises
    ------
    ModelsRefused
        The orders cannot support the models: they cover fewer than
        :data:`MIN_WINDOW_DAYS` days, fewer than :data:`MIN_REPEAT_BUYERS` customers ordered
        again on a later day, or no candidate model converges. The message says which, with
        the numbers; :func:`scores_without_models` then lists the customers without scores.
    """
    end = as_date(observation_end, "observation_end")
    table, _ = completed_orders(
        orders, customer_id=customer_id, order_id=order_id, ordered_at=ordered_at, amount=amount
    )
    table = table.select("customer_id", "ordered_at", "amount")
    first_day = as_date(table.ordered_at.min().to_pyarrow().as_py(), "first order")
    span = (end - first_day).days
    if span < MIN_WINDOW_DAYS:
        raise ModelsRefused(
            f"the orders cover {span} days up to {end}; the purchase models need at least "
            f"{MIN_WINDOW_DAYS}",
        )
    summary = _summary(table, end)
    repeaters = int((summary.frequency > 0).sum())
    if repeaters < MIN_REPEAT_BUYERS:
        raise ModelsRefused(
            f"the purchase models need at least {MIN_REPEAT_BUYERS} customers with a repeat "
            f"order (an order on a later day than their first); these orders have "
            f"{repeaters:,} among {len(summary):,} customers",
        )
    holdout = holdout_days or min(180, span // 3)
    calibration_end = end - dt.timedelta(days=holdout)
    choice = _choose_model(
        _choice_sample(table, len(summary), choice_customers), calibration_end, end
    )
    name, buying, fallbacks, caveats = _refit_best(choice, summary)
    spend = value_per_purchase(summary)
    fallbacks.extend(spend.fallbacks)
    caveats.extend(spend.caveats)
    scores = summary[["customer_id", "frequency", "recency", "T", "monetary_value"]].copy()
    # Customers with the same (frequency, recency, T) get the same predictions: compute each
    # distinct history once (in whole days many customers share one) and spread them back.
    history, row = distinct_rows({name: scores[name].to_numpy() for name in _HISTORY}, _HISTORY)
    per_history = {"p_alive": buying.probability_alive(history)}
    for days in (30, 90, 365):
        per_history[f"expected_purchases_{days}d"] = buying.expected_purchases(history, float(days))
    # CLV = spend per purchase (per customer) x discounted purchases (per history).
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
    scores["clv_12m"] = spend.per_purchase * discounted[row]
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
        spend_params=None if spend.model is None else spend.model.params_,
        fallbacks=tuple(fallbacks),
        caveats=tuple(caveats),
    )


def scores_without_models(
    orders: Any,
    *,
    observation_end: Any,
    refusal: ModelsRefused,
    customer_id: str = "customer_id",
    order_id: str = "order_id",
    ordered_at: str = "ordered_at",
    amount: str = "amount",
) -> Scores:
    """Every customer's history with the model scores left empty, for when the models were
    refused: the analyses that need no model still list every customer.

    ``p_alive``, the expected purchases, ``clv_12m``, ``churn_risk``, ``next_order_date`` and
    ``value_decile`` are empty (never 0: nobody is declared gone or worthless on no evidence);
    ``fallbacks`` holds one entry with the refusal's reason.
    """
    end = as_date(observation_end, "observation_end")
    table, _ = completed_orders(
        orders, customer_id=customer_id, order_id=order_id, ordered_at=ordered_at, amount=amount
    )
    summary = _summary(table.select("customer_id", "ordered_at", "amount"), end)
    scores = summary[["customer_id", "frequency", "recency", "T", "monetary_value"]].copy()
    for column in (
        "p_alive", "expected_purchases_30d", "expected_purchases_90d",
        "expected_purchases_365d", "clv_12m",
    ):  # fmt: skip
        scores[column] = np.nan
    scores["churn_risk"] = pd.Series([None] * len(scores), dtype=object)
    scores["next_order_date"] = pd.Series([None] * len(scores), dtype=object)
    scores["value_decile"] = pd.array([pd.NA] * len(scores), dtype="Int64")
    refused = Fallback(
        customers=len(scores),
        scores="every model score (P(alive), expected purchases, lifetime value, churn risk, "
        "next order)",
        reason=f"left empty, the models were refused: {refusal.message}",
    )
    return Scores(
        customers=scores.reset_index(drop=True),
        model=None,
        model_choice=pd.DataFrame(columns=["model", "mean_absolute_error", "note"]),
        params={},
        spend_params=None,
        fallbacks=(refused,),
        refused=refusal.message,
    )


def _summary(table: Any, end: dt.date) -> pd.DataFrame:
    return (
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


def _refit_best(
    choice: pd.DataFrame, summary: pd.DataFrame
) -> tuple[str, Any, list[Fallback], list[str]]:
    """The best model on the held-out days refitted to the whole window; if it does not
    converge there, the next best, and so on (each step reported), with its caveats."""
    fallbacks: list[Fallback] = []
    failed: list[str] = []
    ranked = choice[np.isfinite(choice.mean_absolute_error)].sort_values("mean_absolute_error")
    for name in ranked.model:
        try:
            buying, caveats = fit_with_caveats(lambda model=CANDIDATES[name]: model().fit(summary))
        except ConvergenceError as error:
            failed.append(f"{name} ({error})")
            continue
        if failed:
            fallbacks.append(
                Fallback(
                    customers=len(summary),
                    scores="every purchase score",
                    reason=(
                        f"scored with {name}, the next best on the held-out days: "
                        f"{'; '.join(failed)} did not converge on the whole window"
                    ),
                )
            )
        return name, buying, fallbacks, caveats
    raise ModelsRefused(
        "no purchase model converged on the whole window: " + "; ".join(failed),
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
        except (ConvergenceError, DataError) as error:
            # The orders before the held-out days can be too few for a model (no repeat
            # order yet): that candidate loses, the reason is kept in the comparison.
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
        raise ModelsRefused(
            "no purchase model could be fitted to the orders before the held-out days: "
            + "; ".join(choice.note.tolist()),
        )
    return choice


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
