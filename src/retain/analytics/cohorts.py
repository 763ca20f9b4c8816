"""Cohort retention: of the customers who first bought in a period, how many buy again later.

A cohort is every customer whose first counted order (see :mod:`retain.analytics.orders`)
falls in the same calendar month (or ISO week, Monday first). For each cohort and each period
since, the table says how many of them ordered in that period and what they spent, beside the
cohort's size and its first period's revenue: customer retention and revenue retention.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import ibis
import ibis.expr.types as ir

from retain.analytics._tables import deliver, epoch_days
from retain.analytics.orders import completed_orders
from retain.errors import DataError

PERIODS = ("month", "week")


def period_index_of_day(day: dt.date, period: str) -> int:
    """The same numbering as :func:`period_index`, for one day in Python."""
    if period == "month":
        return day.year * 12 + day.month - 1
    return (epoch_days(day) - 4) // 7


def period_index(when: ir.TimestampValue, period: str) -> ir.IntegerValue:
    """Months or weeks since a fixed origin: plain integers on every backend."""
    if period == "month":
        return when.year().cast("int64") * 12 + when.month().cast("int64") - 1
    # 1970-01-05 was a Monday: weeks start on Mondays.
    return ((when.date().epoch_days() - 4) / 7).floor().cast("int64")


def period_start(index: ir.IntegerValue, period: str) -> ir.DateValue:
    if period == "month":
        year = (index / 12).floor().cast("int64")
        return ibis.date(year, index - year * 12 + 1, 1)
    return ibis.date(1970, 1, 5) + (index * 7).as_interval("D")


def cohort_retention(
    orders: Any,
    *,
    period: str = "month",
    by: str | None = None,
    customer_id: str = "customer_id",
    order_id: str = "order_id",
    ordered_at: str = "ordered_at",
    amount: str = "amount",
) -> Any:
    """Customer and revenue retention per acquisition cohort and period since acquisition.

    Parameters
    ----------
    orders
        Orders table (see :mod:`retain.analytics.orders`); refunded and cancelled orders are
        left out.
    period
        ``"month"`` (calendar months) or ``"week"`` (ISO weeks).
    by
        Optional column of the orders to split cohorts by, e.g. ``"channel"``; each customer
        belongs to the group of their first order.
    customer_id, order_id, ordered_at, amount
        Column names in ``orders``.

    Returns
    -------
    One row per (``by``,) cohort and period number, ordered by them, with every period from
    the cohort's first to the last one observed (zeros where nobody ordered):
    ``cohort`` (first day of the cohort's period), ``period_number`` (0 = acquisition),
    ``cohort_size``, ``active_customers``, ``retention`` (active / size), ``revenue`` and
    ``revenue_retention`` (revenue / the cohort's revenue in period 0).
    """
    if period not in PERIODS:
        raise DataError(f"period must be one of {list(PERIODS)}, got {period!r}", column="period")
    table, lazy = completed_orders(
        orders, customer_id=customer_id, order_id=order_id, ordered_at=ordered_at, amount=amount
    )
    if by is not None and by not in table.columns:
        raise DataError(f"no column {by!r} to split cohorts by", column=by)
    keys = [] if by is None else [by]
    dated = table.mutate(index=period_index(table.ordered_at, period))
    # The first order (earliest, then lowest order id) gives the cohort and the group.
    rank = ibis.row_number().over(group_by="customer_id", order_by=["ordered_at", "order_id"])
    ranked = dated.mutate(rank=rank)
    first = ranked.filter(ranked["rank"] == 0).select(
        "customer_id", *keys, cohort_index=ranked.index
    )
    joined = dated.select("customer_id", "index", "amount").join(first, "customer_id")
    activity = (
        joined.mutate(period_number=joined.index - joined.cohort_index)
        .group_by([*keys, "cohort_index", "period_number"])
        .aggregate(
            active_customers=lambda t: t.customer_id.nunique(),
            revenue=lambda t: t.amount.sum(),
        )
    )
    sizes = activity.filter(activity.period_number == 0).select(
        *keys,
        "cohort_index",
        cohort_size=activity.active_customers,
        first_revenue=activity.revenue,
    )
    # Every period from the cohort's first to the last one observed, ordered in or not.
    last_index = dated.index.max().as_scalar()
    grid = sizes.mutate(period_number=ibis.range(0, last_index - sizes.cohort_index + 1)).unnest(
        "period_number"
    )
    full = grid.left_join(activity, [*keys, "cohort_index", "period_number"])
    active = full.active_customers.fill_null(0)
    revenue = full.revenue.fill_null(0.0)
    result = full.select(
        *keys,
        cohort=period_start(full.cohort_index, period),
        period_number=full.period_number,
        cohort_size=full.cohort_size,
        active_customers=active,
        retention=active.cast("float64") / full.cohort_size.cast("float64"),
        revenue=revenue,
        revenue_retention=ibis.ifelse(
            full.first_revenue > 0, revenue / full.first_revenue, ibis.null("float64")
        ),
    ).order_by([*keys, "cohort", "period_number"])
    return deliver(result, lazy=lazy)
