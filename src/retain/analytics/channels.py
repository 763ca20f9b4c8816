"""Which acquisition channels bring loyal customers, with the uncertainty a manager needs.

A customer's channel is their ``acquisition_channel`` in the customers table when given,
else the channel of their first order. Per channel:

- 12-month retention: of the customers acquired at least a year before the observation end,
  the share who ordered again within 365 days of their first order, with a 95% Wilson
  interval (sound for small channels and shares near 0 or 1);
- 12-month CLV: the mean of the scores' ``clv_12m`` with a 95% normal interval.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import ibis
import numpy as np
import pandas as pd

from retain.analytics._tables import epoch_days, fetch, require_columns, to_ibis
from retain.analytics.orders import completed_orders
from retain.errors import DataError
from retain.time_units import as_date

_Z = 1.959964


def wilson_interval(successes: np.ndarray, trials: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """95% Wilson score interval for a binomial share (Wilson 1927); NaN where no trials."""
    n = np.asarray(trials, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.asarray(successes, dtype=float) / n
        centre = (share + _Z**2 / (2 * n)) / (1 + _Z**2 / n)
        half = _Z * np.sqrt(share * (1 - share) / n + _Z**2 / (4 * n**2)) / (1 + _Z**2 / n)
    return centre - half, centre + half


def channel_value(
    orders: Any,
    scores: pd.DataFrame,
    *,
    observation_end: Any,
    customers: Any = None,
    channel: str = "channel",
    acquisition_channel: str = "acquisition_channel",
) -> pd.DataFrame:
    """Retention and lifetime value per acquisition channel, best first.

    Parameters
    ----------
    orders
        Orders table (see :mod:`retain.analytics.orders`).
    scores
        Per-customer scores with ``customer_id`` and ``clv_12m``
        (:func:`retain.scoring.score_customers`).
    observation_end
        The day the analysis is for.
    customers
        Optional customers table with ``customer_id`` and ``acquisition_channel``.
    channel, acquisition_channel
        Column names of the order channel and of the customers' acquisition channel.

    Returns
    -------
    pandas.DataFrame
        One row per channel: ``channel``, ``customers``, ``customers_a_year_old``,
        ``retention_12m`` with ``retention_12m_low`` / ``_high``, ``clv_12m`` with
        ``clv_12m_low`` / ``_high``, ordered by ``clv_12m``.
    """
    end = as_date(observation_end, "observation_end")
    table, _ = completed_orders(orders)
    days = table.mutate(day=table.ordered_at.date().epoch_days()).filter(
        lambda t: t.day <= epoch_days(end)
    )
    if customers is not None:  # the channel is the customer's: only the first day is needed
        people, _ = to_ibis(customers)
        require_columns(people, {"customer_id": "customer_id", "channel": acquisition_channel})
        firsts = (
            days.group_by("customer_id")
            .aggregate(day=lambda t: t.day.min())
            .left_join(
                people.select("customer_id", channel_name=people[acquisition_channel]),
                "customer_id",
            )
        )
    else:
        if channel not in table.columns:
            raise DataError(
                f"no {channel!r} column in the orders and no customers table to take the "
                "acquisition channel from",
                column=channel,
            )
        rank = ibis.row_number().over(group_by="customer_id", order_by=["ordered_at", "order_id"])
        ranked = days.mutate(rank=rank)
        firsts = ranked.filter(ranked["rank"] == 0)
        firsts = firsts.select("customer_id", "day", channel_name=firsts[channel])
    firsts = firsts.select("customer_id", first_day="day", channel_name="channel_name")
    # Only the two columns the test needs go through the join with every order.
    order_days = days.select("customer_id", "day")
    repeat = (
        order_days.join(firsts.select("customer_id", "first_day"), "customer_id")
        .filter(lambda t: (t.day > t.first_day) & (t.day <= t.first_day + 365))
        .select("customer_id")
        .distinct()
        .mutate(retained=ibis.literal(1))
    )
    year_ago = epoch_days(end - dt.timedelta(days=365))
    per_customer = firsts.left_join(repeat, "customer_id").select(
        "customer_id",
        "channel_name",
        old_enough=ibis.ifelse(firsts.first_day <= year_ago, 1, 0),
        retained=repeat.retained.fill_null(0),
    )
    frame = fetch(per_customer).to_pandas()
    if "clv_12m" not in scores or "customer_id" not in scores:
        raise DataError("scores need customer_id and clv_12m columns", column="clv_12m")
    frame = frame.merge(scores[["customer_id", "clv_12m"]], on="customer_id", how="left")
    frame["channel_name"] = frame["channel_name"].fillna("unknown")
    grouped = frame.groupby("channel_name")
    old = frame[frame.old_enough == 1].groupby("channel_name")
    result = pd.DataFrame(
        {
            "customers": grouped.size(),
            "customers_a_year_old": old.size(),
            "retained": old.retained.sum(),
            "clv_12m": grouped.clv_12m.mean(),
            "clv_sd": grouped.clv_12m.std(ddof=1),
        }
    ).fillna({"customers_a_year_old": 0, "retained": 0})
    result["retention_12m"] = result.retained / result.customers_a_year_old.replace(0, np.nan)
    low, high = wilson_interval(result.retained.to_numpy(), result.customers_a_year_old.to_numpy())
    result["retention_12m_low"], result["retention_12m_high"] = low, high
    half = _Z * result.clv_sd / np.sqrt(result.customers)
    result["clv_12m_low"], result["clv_12m_high"] = result.clv_12m - half, result.clv_12m + half
    result = result.reset_index(names="channel").sort_values("clv_12m", ascending=False)
    columns = [
        "channel", "customers", "customers_a_year_old", "retention_12m", "retention_12m_low",
        "retention_12m_high", "clv_12m", "clv_12m_low", "clv_12m_high",
    ]  # fmt: skip
    return result[columns].astype({"customers_a_year_old": "int64"}).reset_index(drop=True)
