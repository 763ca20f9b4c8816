"""The whole "know your customers" analysis of an orders table, as plain tables.

One function runs every step of ``retain analyze`` and returns what the report shows and the
scores file holds; a callback hears about each stage so a terminal can show progress.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from retain.analytics import (
    big_spenders_at_risk,
    channel_value,
    cohort_retention,
    completed_orders,
    lifecycle_stages,
    orders_left_out,
    rfm_segments,
    segment_summary,
    subscription_churn,
)
from retain.analytics.lifecycle import transitions_between
from retain.analytics.orders import OrdersLeftOut, mark_checked
from retain.errors import DataError
from retain.scoring import ModelsRefused, Scores, score_customers, scores_without_models
from retain.time_units import as_date

STAGES = (
    "checking the orders",
    "cohorts",
    "fitting the models and scoring",
    "RFM segments",
    "lifecycle",
    "channels and big spenders",
)
#: The order columns the analysis reads (``channel`` too, when there is one).
ORDER_COLUMNS = ("customer_id", "order_id", "ordered_at", "amount")
#: Columns of the scores file, in order.
SCORE_COLUMNS = (
    "customer_id",
    "p_alive",
    "expected_purchases_30d",
    "expected_purchases_90d",
    "expected_purchases_365d",
    "clv_12m",
    "churn_risk",
    "next_order_date",
    "value_decile",
    "rfm_segment",
    "rfm_score",
    "lifecycle_stage",
    "frequency",
    "recency_days",
    "monetary",
)


@dataclass(frozen=True)
class Analysis:
    observation_end: dt.date
    n_orders: int
    n_customers: int
    first_order: dt.date
    scores: pd.DataFrame
    model: Scores
    cohorts: pd.DataFrame
    segments: pd.DataFrame
    lifecycle: pd.DataFrame
    transitions: pd.DataFrame
    channels: pd.DataFrame | None
    big_spenders: pd.DataFrame
    subscriptions: pd.DataFrame | None
    #: The orders' currency code (one per table: the checks refuse mixed currencies), if any.
    currency: str | None = None
    #: The orders the rule of :mod:`retain.analytics.orders` left out, and why.
    left_out: OrdersLeftOut | None = None

    @property
    def notes(self) -> tuple[str, ...]:
        """Every score given otherwise than by the fitted models (or why there is no model
        at all), then the fits' caveats, one line each: printed by ``retain analyze`` and
        shown in the report."""
        return (
            *(fallback.message for fallback in self.model.fallbacks),
            *self.model.caveats,
        )


def analyze(
    orders: Any,
    *,
    observation_end: Any = None,
    customers: Any = None,
    subscriptions: Any = None,
    progress: Callable[[int, str], None] | None = None,
) -> Analysis:
    """Run every analysis on ``orders`` (and the optional customers and subscriptions).

    ``observation_end`` defaults to the day of the last counted order. ``progress`` is called
    with the stage number (from 1) and its name, see :data:`STAGES`.
    """

    def step(number: int) -> None:
        if progress is not None:
            progress(number, STAGES[number - 1])

    step(1)
    checked, _ = completed_orders(orders)
    left_out = orders_left_out(orders, observation_end=observation_end)
    # Checked once and held in memory as Arrow, with only the columns the steps read: every
    # later step reads the same table.
    needed = [c for c in (*ORDER_COLUMNS, "channel") if c in checked.columns]
    currency = _currency(checked)
    kept = mark_checked(checked.select(*needed).to_pyarrow())
    table, _ = completed_orders(kept)
    counts = (
        table.aggregate(
            n=table.count(),
            customers=table.customer_id.nunique(),
            first=table.ordered_at.min(),
            last=table.ordered_at.max(),
        )
        .to_pyarrow()
        .to_pylist()[0]
    )
    end = as_date(observation_end or counts["last"], "observation_end")
    first, last = as_date(counts["first"], "first"), as_date(counts["last"], "last")
    if end < first:
        raise DataError(
            f"the observation end {end} is before the first order ({first}); give a day on or "
            f"after it (the default is the day of the last order, {last})"
        )
    step(2)
    cohorts = cohort_retention(kept)
    step(3)
    try:
        scored = score_customers(kept, observation_end=end)
    except ModelsRefused as refusal:  # what needs no model is still computed below
        scored = scores_without_models(kept, observation_end=end, refusal=refusal)
    step(4)
    rfm = rfm_segments(kept, observation_end=end)
    step(5)
    stages = lifecycle_stages(kept, as_of=end)
    half_year_ago = lifecycle_stages(kept, as_of=end - dt.timedelta(days=182))
    transitions = transitions_between(half_year_ago, stages)
    step(6)
    channels = None
    if customers is not None or "channel" in kept.column_names:
        channels = channel_value(kept, scored.customers, observation_end=end, customers=customers)
    big = big_spenders_at_risk(kept, scored.customers, observation_end=end)
    if scored.model is None:
        # Value at risk is a year's spend times the chance the customer is gone: with no
        # model there is no such chance, and counting every big spender as gone would
        # overstate it.
        big = big.assign(value_at_risk=float("nan"))
    churn = (
        subscription_churn(subscriptions, observation_end=end)
        if subscriptions is not None
        else None
    )
    scores = (
        scored.customers.merge(
            rfm.rename(columns={"segment": "rfm_segment"})[
                ["customer_id", "rfm_segment", "rfm_score", "recency_days", "monetary"]
            ],
            on="customer_id",
            how="left",
        )
        .merge(
            stages.rename(columns={"stage": "lifecycle_stage"})[["customer_id", "lifecycle_stage"]],
            on="customer_id",
            how="left",
        )
        .loc[:, list(SCORE_COLUMNS)]
    )
    return Analysis(
        observation_end=end,
        n_orders=int(counts["n"]),
        n_customers=int(counts["customers"]),
        first_order=as_date(counts["first"], "first order"),
        scores=scores,
        model=scored,
        cohorts=cohorts,
        segments=segment_summary(rfm),
        lifecycle=stages,
        transitions=transitions,
        channels=channels,
        big_spenders=big,
        subscriptions=churn,
        currency=currency,
        left_out=left_out,
    )


def _currency(checked: Any) -> str | None:
    """The orders' currency code, or None when they name none."""
    if "currency" not in checked.columns:
        return None
    named = checked.filter(checked.currency.notnull() & (checked.currency.strip() != ""))
    first = named.select(code=named.currency.strip().upper()).limit(1).to_pyarrow().to_pylist()
    return first[0]["code"] if first else None
