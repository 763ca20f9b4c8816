"""RFM scores and named segments: who buys recently, often and much, in words a CRM team uses.

Scores
------
Each customer is scored 1-5 on recency (days since the last counted order, fewer is better),
frequency (counted orders) and monetary value (total spend). Real bases are full of ties
(half of a shop's customers typically bought once), so the scores are built to survive them:

- **Ties share a score, placed at their middle.** For recency and monetary value a
  customer's position is the share of the group with a strictly worse value plus half the
  share with the same value (the mid-rank); the score is that position cut in equal parts.
  Five distinct customers score 1 to 5; a value shared by 60 % of a group sits at 30 % and
  scores where that falls, never at the top because of the tie (``ceil(5 * cume_dist)``, used
  before, put every one-time buyer of CDNOW at F = 3 and made 40 % of them champions).
- **Frequency, on fixed breakpoints.** Order counts are the most tied value of all (on
  CDNOW 51 % of customers bought once, 17 % twice, 9 % three times), and any quantile of
  them either lumps the one-time buyers with repeat buyers or skips scores. So F counts
  orders against fixed, documented breakpoints, :data:`FREQUENCY_BREAKS`: 1 order F = 1
  (always: a one-time buyer has the lowest score), 2 orders F = 2, 3 orders F = 3, 4-5
  orders F = 4, 6 or more F = 5. A shop whose customers order weekly passes its own
  ``frequency_breaks``. (On CDNOW on 1998-06-30 these are also the quartiles of the repeat
  buyers.)
- **Recency, with a fixed line at ``active_days`` (365 by default).** Customers whose last
  order is at most ``active_days`` old score R = 3-5 by thirds of those customers; the
  customers silent for longer score R = 1-2 by halves of them. So R >= 3 means "ordered
  within the year": no champion, loyal customer, potential loyalist, new customer, promising
  customer, or customer needing attention is silent for more than a year, whatever the
  quantiles of the base.
- **Monetary.** M = 1-5 by fifths of all customers (mid-rank); it is reported in the RFM
  code (``rfm_score``, e.g. ``"545"``) and in :func:`segment_summary`'s revenue, not used by
  the segment map.

Segments
--------
The segment is read off a map of R against F, the 11-segment RFM map popularised by Putler
(putler.com/rfm-analysis) and documented with score ranges in the R package ``rfm``
(``rfm_segment``, rsquaredacademy; CRAN). Its names and their intent are kept; the cells are
laid out so that every (R, F) pair has exactly one segment and one-time buyers (F = 1) are
only ever new, promising, about to sleep, hibernating or lost:

======  ===============  ===================  ===================  ===============  ===============
R \\ F  1                2                    3                    4                5
======  ===============  ===================  ===================  ===============  ===============
5       new customers    potential loyalists  potential loyalists  champions        champions
4       promising        potential loyalists  potential loyalists  loyal customers  loyal customers
3       about to sleep   about to sleep       need attention       loyal customers  loyal customers
2       hibernating      hibernating          at risk              at risk          can't lose them
1       lost             lost                 at risk              at risk          can't lose them
======  ===============  ===================  ===================  ===============  ===============

On the full CDNOW cohort on 1998-06-30 (a closed cohort whose customers all first bought in
the first quarter of 1997, so no one-time buyer ordered in the last 194 days) new customers
and promising are empty, as they should be; every other segment holds between 0.4 % and
about 32 % of the customers (lost: the customers silent longest who bought once or twice).
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir

from retain.analytics._tables import deliver, epoch_days, to_ibis
from retain.analytics.orders import Refunds, completed_orders
from retain.errors import DataError
from retain.time_units import as_date

SEGMENTS = (
    "champions",
    "loyal customers",
    "potential loyalists",
    "new customers",
    "promising",
    "need attention",
    "about to sleep",
    "at risk",
    "can't lose them",
    "hibernating",
    "lost",
)

#: The fewest orders for F = 2, 3, 4 and 5 (default): 1 order is F = 1, 2 is F = 2, 3 is
#: F = 3, 4-5 is F = 4, 6 or more is F = 5.
FREQUENCY_BREAKS = (2, 3, 4, 6)

#: Days without an order after which a customer's recency score is at most 2 (default).
ACTIVE_DAYS = 365


def _midrank_score(
    value: ir.NumericValue, parts: int, *, group: ir.Value, higher_is_better: bool
) -> ir.IntegerValue:
    """1..``parts``: the mid-rank share of ``value`` within ``group`` cut in equal parts.

    ``floor(parts * (worse + tied / 2) / n) + 1`` computed as ``parts * (2 worse + tied)
    // (2 n)`` in integers, so every backend gives the same score (no float rounding at a
    cut). ``worse`` counts the group's customers with a strictly worse value (ibis's
    ``rank`` is the 0-based minimum rank), ``tied`` those with the same value.
    """
    order = value if higher_is_better else value.desc()
    worse = ibis.rank().over(group_by=group, order_by=order)
    tied = value.count().over(group_by=[group, value])
    size = value.count().over(group_by=group)
    share = (worse * 2 + tied) * parts
    return (share // (size * 2)).cast("int64") + 1


def _frequency_score(orders: ir.IntegerValue, breaks: tuple[int, ...]) -> ir.IntegerValue:
    """1 plus the number of breakpoints reached: with (2, 3, 4, 6), 1 order scores 1, 2
    orders 2, 3 orders 3, 4-5 orders 4 and 6 or more 5."""
    score = ibis.literal(1)
    for least in breaks:
        score = score + ibis.ifelse(orders >= least, 1, 0)
    return score.cast("int64")


def _scores(
    per_customer: ir.Table, active_days: int, frequency_breaks: tuple[int, ...]
) -> ir.Table:
    days = per_customer.recency_days
    active = days <= active_days
    return per_customer.mutate(
        r_score=ibis.ifelse(
            active,
            _midrank_score(days, 3, group=active, higher_is_better=False) + 2,
            _midrank_score(days, 2, group=active, higher_is_better=False),
        ),
        f_score=_frequency_score(per_customer.frequency, frequency_breaks),
        m_score=_midrank_score(
            per_customer.monetary, 5, group=ibis.literal(True), higher_is_better=True
        ),
    )


def _check_breaks(breaks: Any) -> tuple[int, ...]:
    values = tuple(breaks) if isinstance(breaks, (tuple, list)) else ()
    whole = all(isinstance(v, int) and not isinstance(v, bool) for v in values)
    if len(values) != 4 or not whole or values[0] < 2 or list(values) != sorted(set(values)):
        raise DataError(
            "frequency_breaks must be four increasing whole numbers of orders from 2 up (the "
            f"fewest orders for F = 2, 3, 4 and 5), got {breaks!r}"
        )
    return values


def _segment(r: ir.IntegerValue, f: ir.IntegerValue) -> ir.StringValue:
    """The R x F map of the module docstring, row by row."""
    return ibis.cases(
        ((r == 5) & (f >= 4), "champions"),
        ((r == 5) & (f >= 2), "potential loyalists"),
        (r == 5, "new customers"),
        ((r == 4) & (f >= 4), "loyal customers"),
        ((r == 4) & (f >= 2), "potential loyalists"),
        (r == 4, "promising"),
        ((r == 3) & (f >= 4), "loyal customers"),
        ((r == 3) & (f == 3), "need attention"),
        (r == 3, "about to sleep"),
        (f == 5, "can't lose them"),
        (f >= 3, "at risk"),
        (r == 2, "hibernating"),
        else_="lost",
    )


def rfm_segments(
    orders: Any,
    *,
    observation_end: Any,
    active_days: int = ACTIVE_DAYS,
    frequency_breaks: tuple[int, int, int, int] = FREQUENCY_BREAKS,
    customer_id: str = "customer_id",
    order_id: str = "order_id",
    ordered_at: str = "ordered_at",
    amount: str = "amount",
    refunds: Refunds = "refuse",
) -> Any:
    """Score every customer on recency, frequency and monetary value and name their segment.

    Parameters
    ----------
    orders
        Orders table (see :mod:`retain.analytics.orders`); the orders that do not count
        (refunded, cancelled, pending, ...) and those after ``observation_end`` are left out;
        :func:`retain.analytics.orders_left_out` says how many and why.
    observation_end
        The day the scores are taken on (inclusive).
    frequency_breaks
        The fewest orders for F = 2, 3, 4 and 5 (default ``(2, 3, 4, 6)``); a shop whose
        customers order weekly will want higher ones.
    active_days
        Customers silent for more than this many days score R <= 2, so they are never
        champions, loyal customers or any other "recent" segment (default 365).
    refunds
        ``"refuse"`` (default) or ``"net"``: see :func:`retain.analytics.net_refunds`.

    Returns
    -------
    One row per customer with a counted order by ``observation_end``: ``customer_id``,
    ``recency_days``, ``frequency`` (orders), ``monetary`` (total spend), ``r_score``,
    ``f_score``, ``m_score``, ``rfm_score`` (e.g. ``"545"``) and ``segment`` (one of
    :data:`SEGMENTS`), ordered by customer.
    """
    end = as_date(observation_end, "observation_end")
    if isinstance(active_days, bool) or not isinstance(active_days, int) or active_days < 1:
        raise DataError(f"active_days must be a whole number of days >= 1, got {active_days!r}")
    breaks = _check_breaks(frequency_breaks)
    table, lazy = completed_orders(
        orders,
        customer_id=customer_id,
        order_id=order_id,
        ordered_at=ordered_at,
        amount=amount,
        refunds=refunds,
    )
    day = table.ordered_at.date().epoch_days()
    within = table.mutate(day=day).filter(lambda t: t.day <= epoch_days(end))
    per_customer = within.group_by("customer_id").aggregate(
        recency_days=lambda t: epoch_days(end) - t.day.max(),
        frequency=lambda t: t.count(),
        monetary=lambda t: t.amount.sum(),
    )
    scored = _scores(per_customer, active_days, breaks)
    result = scored.mutate(
        rfm_score=scored.r_score.cast("string")
        .concat(scored.f_score.cast("string"))
        .concat(scored.m_score.cast("string")),
        segment=_segment(scored.r_score, scored.f_score),
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
