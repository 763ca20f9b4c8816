"""Big spenders who are not loyal: the most valuable customers who are slipping away.

Among the customers in the top tenth by total spend, a customer is at risk when

- they are overdue: the days since their last order exceed ``overdue_factor`` times their
  usual gap between orders (the mean of their past gaps), or
- their gaps are widening: the last gap exceeded ``overdue_factor`` times the mean of the
  gaps before it, or
- the model gives them less than an even chance of still being a customer (``p_alive``).

They are ranked by value at risk: what they spend in a year at their historical pace, times
the chance that they are gone (``1 - p_alive``).
"""

from __future__ import annotations

from typing import Any

import ibis
import numpy as np
import pandas as pd

from retain.analytics._tables import as_date, epoch_days, fetch
from retain.analytics.orders import completed_orders
from retain.errors import DataError


def big_spenders_at_risk(
    orders: Any,
    scores: pd.DataFrame,
    *,
    observation_end: Any,
    top_share: float = 0.10,
    overdue_factor: float = 1.5,
) -> pd.DataFrame:
    """The top spenders who are overdue, slowing down or likely gone, by value at risk.

    Parameters
    ----------
    orders
        Orders table (see :mod:`retain.analytics.orders`).
    scores
        Per-customer scores with ``customer_id`` and ``p_alive``.
    observation_end
        The day the analysis is for.
    top_share
        Share of customers, by total spend, that counts as big spenders.
    overdue_factor
        How many usual gaps make a customer overdue.

    Returns
    -------
    pandas.DataFrame
        ``customer_id``, ``total_spend``, ``orders``, ``usual_gap_days``,
        ``days_since_last_order``, ``last_gap_days``, ``p_alive``, ``reasons`` and
        ``value_at_risk``, highest value at risk first.
    """
    if not 0 < top_share <= 1:
        raise DataError(f"top_share must be in (0, 1], got {top_share}", column="top_share")
    end = as_date(observation_end, "observation_end")
    table, _ = completed_orders(orders)
    days = (
        table.mutate(day=table.ordered_at.date().epoch_days())
        .filter(lambda t: t.day <= epoch_days(end))
        .group_by(["customer_id", "day"])
        .aggregate(amount=lambda t: t.amount.sum())
    )
    window = ibis.window(group_by="customer_id", order_by="day")
    gaps = days.mutate(gap=days.day - days.day.lag().over(window))
    last_day = gaps.day.max().over(ibis.window(group_by="customer_id"))
    gaps = gaps.mutate(is_last=gaps.day == last_day)
    per_customer = gaps.group_by("customer_id").aggregate(
        total_spend=gaps.amount.sum(),
        orders=gaps.count(),
        first_day=gaps.day.min(),
        last_day=gaps.day.max(),
        usual_gap_days=gaps.gap.mean(),
        earlier_gap_days=gaps.gap.mean(where=~gaps.is_last),
        last_gap_days=gaps.gap.max(where=gaps.is_last),
    )
    frame = fetch(per_customer).to_pandas()
    if not {"customer_id", "p_alive"} <= set(scores.columns):
        raise DataError("scores need customer_id and p_alive columns", column="p_alive")
    frame = frame.merge(scores[["customer_id", "p_alive"]], on="customer_id", how="left")
    count = max(1, int(np.ceil(top_share * len(frame))))
    big = frame.nlargest(count, "total_spend", keep="first").copy()
    big["days_since_last_order"] = epoch_days(end) - big.last_day
    overdue = big.days_since_last_order > overdue_factor * big.usual_gap_days
    widening = big.last_gap_days > overdue_factor * big.earlier_gap_days
    unlikely = big.p_alive < 0.5
    flags = pd.DataFrame({"overdue": overdue, "slowing": widening, "likely gone": unlikely})
    big["reasons"] = [
        ", ".join(name for name, flagged in row.items() if flagged)
        for row in flags.fillna(False).to_dict("records")
    ]
    years = np.maximum(epoch_days(end) - big.first_day, 30) / 365.2425
    big["value_at_risk"] = big.total_spend / years * (1 - big.p_alive.fillna(0.0))
    at_risk = big[big.reasons != ""]
    columns = [
        "customer_id", "total_spend", "orders", "usual_gap_days", "days_since_last_order",
        "last_gap_days", "p_alive", "reasons", "value_at_risk",
    ]  # fmt: skip
    return at_risk.sort_values("value_at_risk", ascending=False)[columns].reset_index(drop=True)
