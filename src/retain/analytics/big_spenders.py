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

from retain.analytics._tables import epoch_days, fetch, scalar
from retain.analytics.orders import completed_orders
from retain.errors import DataError
from retain.time_units import as_date


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
        table.select("customer_id", day=table.ordered_at.date().epoch_days(), amount="amount")
        .filter(lambda t: t.day <= epoch_days(end))
        .group_by(["customer_id", "day"])
        .aggregate(amount=lambda t: t.amount.sum())
    )
    per_customer = days.group_by("customer_id").aggregate(
        total_spend=days.amount.sum(),
        orders=days.count(),
        first_day=days.day.min(),
        last_day=days.day.max(),
    )
    # The top spenders first (a top-N, not a sort of everyone), then their one-but-last
    # order day: the gaps between order days telescope, so their mean is (last - first) /
    # (days - 1) and the mean before the last gap (one-but-last - first) / (days - 2).
    total = scalar(per_customer.count())
    count = max(1, int(np.ceil(top_share * total)))
    big = per_customer.order_by([ibis.desc("total_spend"), "customer_id"]).limit(count)
    earlier = days.join(big.select("customer_id", "last_day"), "customer_id")
    previous = (
        earlier.filter(earlier.day < earlier.last_day)
        .group_by("customer_id")
        .aggregate(previous_day=lambda t: t.day.max())
    )
    with_previous = big.left_join(previous, "customer_id").select(
        *[big[name] for name in big.columns], previous.previous_day
    )
    big = fetch(with_previous).to_pandas()
    if not {"customer_id", "p_alive"} <= set(scores.columns):
        raise DataError("scores need customer_id and p_alive columns", column="p_alive")
    big = big.merge(scores[["customer_id", "p_alive"]], on="customer_id", how="left")
    big = big.sort_values(["total_spend", "customer_id"], ascending=[False, True])
    gaps = big.orders.to_numpy(dtype=float) - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        big["usual_gap_days"] = np.where(gaps >= 1, (big.last_day - big.first_day) / gaps, np.nan)
        earlier_gap = (big.previous_day - big.first_day) / (gaps - 1)
    big["earlier_gap_days"] = np.where(gaps >= 2, earlier_gap, np.nan)
    big["last_gap_days"] = big.last_day - big.previous_day
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
