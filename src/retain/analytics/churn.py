"""Subscription churn and net revenue retention, month by month.

Subscriptions schema (column names can be mapped):

===========  =========  ========  ===================================================
column       type       required  meaning
===========  =========  ========  ===================================================
customer_id  any        yes       the shop's own customer id
started_at   timestamp  yes       when this subscription (or plan) began
ended_at     timestamp  no value  when it ended; empty while it runs
plan         text       no        plan name
mrr          number     yes       monthly recurring revenue while it runs, >= 0
===========  =========  ========  ===================================================

A plan change is one row ending and another starting the same moment. A customer's MRR at an
instant is the sum over their running subscriptions. Each month compares every customer's
MRR at its first instant with the first instant of the next month:

- new: 0 at the start, > 0 at the end (first subscription or a return);
- expansion / contraction: > 0 at both, up / down;
- churned: > 0 at the start, 0 at the end.

``net_revenue_retention = (start + expansion - contraction - churned) / start`` and
``customer_churn = churned customers / customers at the start``; both are empty for a month
that starts with no MRR.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import ibis

from retain.analytics._tables import (
    deliver,
    reject_rows,
    require_columns,
    scalar,
    to_ibis,
)
from retain.time_units import as_date


def subscription_churn(
    subscriptions: Any,
    *,
    observation_end: Any,
    customer_id: str = "customer_id",
    started_at: str = "started_at",
    ended_at: str = "ended_at",
    mrr: str = "mrr",
) -> Any:
    """Monthly MRR movements, customer churn and net revenue retention.

    Parameters
    ----------
    subscriptions
        Subscriptions table (module docstring).
    observation_end
        Last day observed; the last month reported is the last one that ends by then.

    Returns
    -------
    One row per month from the first subscription's month: ``month`` (first day),
    ``customers_start``, ``mrr_start``, ``new_mrr``, ``expansion_mrr``, ``contraction_mrr``,
    ``churned_mrr``, ``mrr_end``, ``customers_churned``, ``customer_churn`` and
    ``net_revenue_retention``.
    """
    end = as_date(observation_end, "observation_end")
    table, lazy = to_ibis(subscriptions)
    require_columns(
        table,
        {"customer_id": customer_id, "started_at": started_at, "ended_at": ended_at, "mrr": mrr},
    )
    start_time = table[started_at].try_cast("timestamp")
    end_time = table[ended_at].try_cast("timestamp")
    value = table[mrr].try_cast("float64")
    reject_rows(table, customer_id, table[customer_id].isnull(), "customer_id is missing")
    reject_rows(table, started_at, start_time.isnull(), "started_at is missing or not a date")
    reject_rows(
        table,
        ended_at,
        table[ended_at].notnull() & end_time.isnull(),
        "ended_at is not a date",
    )
    reject_rows(table, ended_at, end_time < start_time, "ended_at is before started_at")
    reject_rows(table, mrr, value.isnull() | value.isnan(), "mrr is missing or not a number")
    reject_rows(table, mrr, value < 0, "mrr is negative")
    runs = table.select(customer_id=table[customer_id], start=start_time, stop=end_time, mrr=value)

    first = as_date(scalar(runs.start.min()), "first started_at")
    starts = _month_starts(first, end)
    # The months as a small table built on the data's own backend (a union of literal rows
    # over a one-row aggregate), so the whole expression runs where the data lives.
    one_row = runs.aggregate(rows=runs.count())
    instants = ibis.union(
        *(
            one_row.select(
                month_number=ibis.literal(i, type="int64"),
                instant=ibis.literal(dt.datetime(d.year, d.month, 1), type="timestamp"),
            )
            for i, d in enumerate(starts)
        )
    )
    running = runs.cross_join(instants)
    running = running.filter(
        (running.start <= running.instant)
        & (running.stop.isnull() | (running.stop > running.instant))
    )
    snapshot = running.group_by(["customer_id", "month_number"]).aggregate(
        mrr=lambda t: t.mrr.sum()
    )
    before = snapshot.rename(mrr_start="mrr")
    after = snapshot.mutate(month_number=snapshot.month_number - 1).rename(mrr_end="mrr")
    paired = before.outer_join(after, ["customer_id", "month_number"]).select(
        month_number=ibis.coalesce(before.month_number, after.month_number),
        mrr_start=before.mrr_start.fill_null(0.0),
        mrr_end=after.mrr_end.fill_null(0.0),
    )
    paired = paired.filter((paired.month_number >= 0) & (paired.month_number < len(starts) - 1))
    had, has = paired.mrr_start > 0, paired.mrr_end > 0
    change = paired.mrr_end - paired.mrr_start
    moves = paired.group_by("month_number").aggregate(
        customers_start=ibis.ifelse(had, 1, 0).sum(),
        mrr_start=paired.mrr_start.sum(),
        new_mrr=paired.mrr_end.sum(where=~had & has),
        expansion_mrr=change.sum(where=had & has & (change > 0)),
        contraction_mrr=(-change).sum(where=had & has & (change < 0)),
        churned_mrr=paired.mrr_start.sum(where=had & ~has),
        mrr_end=paired.mrr_end.sum(),
        customers_churned=ibis.ifelse(had & ~has, 1, 0).sum(),
    )
    grid = instants.filter(instants.month_number < len(starts) - 1)
    full = grid.left_join(moves, "month_number")
    zero = ibis.literal(0.0)
    result = full.select(
        month=full.instant.date(),
        customers_start=full.customers_start.fill_null(0),
        mrr_start=full.mrr_start.fill_null(zero),
        new_mrr=full.new_mrr.fill_null(zero),
        expansion_mrr=full.expansion_mrr.fill_null(zero),
        contraction_mrr=full.contraction_mrr.fill_null(zero),
        churned_mrr=full.churned_mrr.fill_null(zero),
        mrr_end=full.mrr_end.fill_null(zero),
        customers_churned=full.customers_churned.fill_null(0),
    )
    result = result.mutate(
        customer_churn=ibis.ifelse(
            result.customers_start > 0,
            result.customers_churned.cast("float64") / result.customers_start.cast("float64"),
            ibis.null("float64"),
        ),
        net_revenue_retention=ibis.ifelse(
            result.mrr_start > 0,
            (result.mrr_start + result.expansion_mrr - result.contraction_mrr - result.churned_mrr)
            / result.mrr_start,
            ibis.null("float64"),
        ),
    ).order_by("month")
    return deliver(result, lazy=lazy)


def _month_starts(first: dt.date, end: dt.date) -> list[dt.date]:
    """First days of the months from ``first``'s to the one after the last month that ends
    by ``end``: each reported month needs its closing instant."""
    limit = end + dt.timedelta(days=1)
    days = []
    day = dt.date(first.year, first.month, 1)
    while day <= limit:
        days.append(day)
        day = dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return days
