"""RFM scores and named segments: who buys recently, often and much, in words a CRM team uses.

Each customer is scored 1-5 on recency (days since the last order, fewer is better),
frequency (orders) and monetary value (total spend) by quintile of the customer base:
``score = ceil(5 * cume_dist)``, so customers with equal values always share a score (a base
where most customers ordered once puts all of them in one frequency score). The segment
follows from the recency and frequency scores (and monetary for "can't lose them"):

=================  =============================================
segment            rule (R, F, M scores)
=================  =============================================
champions          R >= 4 and F >= 4
loyal              R >= 3 and F >= 3, not champions
promising          R >= 4 and F <= 2 (recent, few orders yet)
needs attention    R = 3 and F <= 2
can't lose them    R <= 2 and F >= 4 and M >= 4
at risk            R <= 2 and F >= 3, not "can't lose them"
hibernating        R = 2 and F <= 2
lost               R = 1 and F <= 2
=================  =============================================

Every customer falls in exactly one segment.
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir

from retain.analytics._tables import as_date, deliver, epoch_days, to_ibis
from retain.analytics.orders import completed_orders

SEGMENTS = (
    "champions",
    "loyal",
    "promising",
    "needs attention",
    "can't lose them",
    "at risk",
    "hibernating",
    "lost",
)


def _quintile(value: ir.NumericValue, *, higher_is_better: bool) -> ir.IntegerValue:
    order = value if higher_is_better else value.desc()
    share = ibis.cume_dist().over(order_by=order)
    return (share * 5).ceil().cast("int64").clip(lower=1, upper=5)


def _segment(r: ir.IntegerValue, f: ir.IntegerValue, m: ir.IntegerValue) -> ir.StringValue:
    return ibis.cases(
        ((r >= 4) & (f >= 4), "champions"),
        ((r >= 3) & (f >= 3), "loyal"),
        ((r >= 4) & (f <= 2), "promising"),
        ((r == 3) & (f <= 2), "needs attention"),
        ((r <= 2) & (f >= 4) & (m >= 4), "can't lose them"),
        ((r <= 2) & (f >= 3), "at risk"),
        (r == 2, "hibernating"),
        else_="lost",
    )


def rfm_segments(
    orders: Any,
    *,
    observation_end: Any,
    customer_id: str = "customer_id",
    order_id: str = "order_id",
    ordered_at: str = "ordered_at",
    amount: str = "amount",
) -> Any:
    """Score every customer on recency, frequency and monetary value and name their segment.

    Parameters
    ----------
    orders
        Orders table (see :mod:`retain.analytics.orders`); orders after ``observation_end``
        and refunded or cancelled ones are left out.
    observation_end
        The day the scores are taken on (inclusive).

    Returns
    -------
    One row per customer with an order by ``observation_end``: ``customer_id``,
    ``recency_days``, ``frequency`` (orders), ``monetary`` (total spend), ``r_score``,
    ``f_score``, ``m_score``, ``rfm_score`` (e.g. ``"545"``) and ``segment``.
    """
    end = as_date(observation_end, "observation_end")
    table, lazy = completed_orders(
        orders, customer_id=customer_id, order_id=order_id, ordered_at=ordered_at, amount=amount
    )
    day = table.ordered_at.date().epoch_days()
    within = table.mutate(day=day).filter(lambda t: t.day <= epoch_days(end))
    per_customer = within.group_by("customer_id").aggregate(
        recency_days=lambda t: epoch_days(end) - t.day.max(),
        frequency=lambda t: t.count(),
        monetary=lambda t: t.amount.sum(),
    )
    scored = per_customer.mutate(
        r_score=_quintile(per_customer.recency_days, higher_is_better=False),
        f_score=_quintile(per_customer.frequency, higher_is_better=True),
        m_score=_quintile(per_customer.monetary, higher_is_better=True),
    )
    result = scored.mutate(
        rfm_score=scored.r_score.cast("string")
        .concat(scored.f_score.cast("string"))
        .concat(scored.m_score.cast("string")),
        segment=_segment(scored.r_score, scored.f_score, scored.m_score),
    ).order_by("customer_id")
    return deliver(result, lazy=lazy)


def segment_summary(scores: Any) -> Any:
    """Customers and revenue per segment, with shares, in :data:`SEGMENTS` order.

    ``scores`` is what :func:`rfm_segments` returned; segments nobody is in show zeros. Built
    from one aggregate row and a union of literal selects, so it runs on any backend (no
    in-memory table to join).
    """
    table, lazy = to_ibis(scores)
    totals = table.aggregate(
        **{
            f"customers_{i}": ibis.ifelse(table.segment == name, 1, 0).sum()
            for i, name in enumerate(SEGMENTS)
        },
        **{
            f"revenue_{i}": table.monetary.sum(where=table.segment == name)
            for i, name in enumerate(SEGMENTS)
        },
    )
    rows = ibis.union(
        *(
            totals.select(
                position=ibis.literal(i),
                segment=ibis.literal(name),
                customers=totals[f"customers_{i}"].fill_null(0),
                revenue=totals[f"revenue_{i}"].fill_null(0).cast("float64"),
            )
            for i, name in enumerate(SEGMENTS)
        )
    )
    result = (
        rows.mutate(
            customer_share=rows.customers.cast("float64") / rows.customers.sum().over(),
            revenue_share=rows.revenue / rows.revenue.sum().over(),
        )
        .order_by("position")
        .select("segment", "customers", "customer_share", "revenue", "revenue_share")
    )
    return deliver(result, lazy=lazy)
