"""Lifecycle stages: where each customer stands on a given day, and how they moved since.

Time runs in calendar months (or ISO weeks). For the period that holds ``as_of``, with
``last`` the latest period with an order up to then, ``previous`` the one before it and
``first`` the first:

===============  ===========================================================================
stage            rule
===============  ===========================================================================
new              ordered this period, for the first time
active           ordered this period and the one before
returning        ordered this period after a pause shorter than ``dormant_after`` periods
reactivated      ordered this period after a pause of ``dormant_after`` periods or more
at risk          no order this period; the last one fewer than ``dormant_after`` periods ago
dormant          the last order ``dormant_after`` to ``churned_after - 1`` periods ago
churned          the last order ``churned_after`` periods ago or more
===============  ===========================================================================

Defaults (months): dormant after 3 periods without an order, churned after 6. Customers
whose first order is after ``as_of`` are not listed.
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir

from retain.analytics._tables import deliver, to_ibis
from retain.analytics.cohorts import PERIODS, period_index, period_index_of_day, period_start
from retain.analytics.orders import completed_orders
from retain.errors import DataError
from retain.time_units import as_date

STAGES = ("new", "active", "returning", "reactivated", "at risk", "dormant", "churned")


def _stages_table(
    orders: Any, as_of: Any, period: str, dormant_after: int, churned_after: int, columns: dict
) -> tuple[ir.Table, bool]:
    _check(period, dormant_after, churned_after)
    day = as_date(as_of, "as_of")
    table, lazy = completed_orders(orders, **columns)
    now = period_index_of_day(day, period)
    periods = (
        table.select("customer_id", index=period_index(table.ordered_at, period))
        .filter(lambda t: t.index <= now)
        .distinct()
    )
    latest = periods.group_by("customer_id").aggregate(
        first=lambda t: t.index.min(), last=lambda t: t.index.max()
    )
    joined = periods.join(latest, "customer_id")
    before_last = (
        joined.filter(joined.index < joined["last"])
        .group_by("customer_id")
        .aggregate(previous=lambda t: t.index.max())
    )
    history = latest.left_join(before_last, "customer_id").select(
        "customer_id", "first", "last", "previous"
    )
    since = now - history["last"]
    stage = _stage(
        ibis.literal(now), history["first"], history["last"], history.previous,
        dormant_after, churned_after,
    )  # fmt: skip
    result = history.select("customer_id", periods_since_last_order=since, stage=stage).order_by(
        "customer_id"
    )
    return result, lazy


def _check(period: str, dormant_after: int, churned_after: int) -> None:
    if period not in PERIODS:
        raise DataError(f"period must be one of {list(PERIODS)}, got {period!r}", column="period")
    if not 1 < dormant_after < churned_after:
        raise DataError(
            f"need 1 < dormant_after < churned_after, got {dormant_after} and {churned_after}",
            column="dormant_after",
        )


def _stage(
    now: ir.IntegerValue,
    first: ir.IntegerValue,
    last: ir.IntegerValue,
    previous: ir.IntegerValue,
    dormant_after: int,
    churned_after: int,
) -> ir.StringValue:
    """The rule table of the module docstring, for period ``now``."""
    since = now - last
    pause = last - previous
    return ibis.cases(
        ((since == 0) & (first == now), "new"),
        ((since == 0) & (pause == 1), "active"),
        ((since == 0) & (pause < dormant_after), "returning"),
        (since == 0, "reactivated"),
        (since < dormant_after, "at risk"),
        (since < churned_after, "dormant"),
        else_="churned",
    )


def lifecycle_history(
    orders: Any,
    *,
    until: Any,
    period: str = "month",
    dormant_after: int = 3,
    churned_after: int = 6,
    customer_id: str = "customer_id",
    order_id: str = "order_id",
    ordered_at: str = "ordered_at",
    amount: str = "amount",
) -> Any:
    """Every customer's stage in every period from their first order to ``until``'s period.

    Between two ordering periods a customer's stage follows from the earlier one alone, so
    each ordering period spawns the run of periods up to the next (no customers x periods
    grid to join). The stage in each period is what :func:`lifecycle_stages` gives on a day
    in it.

    Returns
    -------
    One row per customer and period: ``customer_id``, ``period`` (its first day) and
    ``stage``, ordered by customer and period.
    """
    _check(period, dormant_after, churned_after)
    day = as_date(until, "until")
    table, lazy = completed_orders(
        orders, customer_id=customer_id, order_id=order_id, ordered_at=ordered_at, amount=amount
    )
    now = period_index_of_day(day, period)
    periods = (
        table.select("customer_id", index=period_index(table.ordered_at, period))
        .filter(lambda t: t.index <= now)
        .distinct()
    )
    by_customer = ibis.window(group_by="customer_id", order_by="index")
    spans = periods.mutate(
        previous=periods.index.lag().over(by_customer),
        following=periods.index.lead().over(by_customer),
        first=periods.index.min().over(ibis.window(group_by="customer_id")),
    )
    spans = spans.mutate(
        period_number=ibis.range(spans.index, spans.following.fill_null(now + 1))
    ).unnest("period_number")
    stage = _stage(
        spans.period_number, spans["first"], spans.index, spans.previous,
        dormant_after, churned_after,
    )  # fmt: skip
    result = spans.select(
        "customer_id", period=period_start(spans.period_number, period), stage=stage
    ).order_by(["customer_id", "period"])
    return deliver(result, lazy=lazy)


def lifecycle_stages(
    orders: Any,
    *,
    as_of: Any,
    period: str = "month",
    dormant_after: int = 3,
    churned_after: int = 6,
    customer_id: str = "customer_id",
    order_id: str = "order_id",
    ordered_at: str = "ordered_at",
    amount: str = "amount",
) -> Any:
    """Each customer's lifecycle stage on ``as_of`` (rules in the module docstring).

    Returns
    -------
    One row per customer with an order by ``as_of``: ``customer_id``,
    ``periods_since_last_order`` and ``stage`` (one of :data:`STAGES`).
    """
    columns = {
        "customer_id": customer_id,
        "order_id": order_id,
        "ordered_at": ordered_at,
        "amount": amount,
    }
    result, lazy = _stages_table(orders, as_of, period, dormant_after, churned_after, columns)
    return deliver(result, lazy=lazy)


def lifecycle_transitions(
    orders: Any,
    *,
    start: Any,
    end: Any,
    period: str = "month",
    dormant_after: int = 3,
    churned_after: int = 6,
    customer_id: str = "customer_id",
    order_id: str = "order_id",
    ordered_at: str = "ordered_at",
    amount: str = "amount",
) -> Any:
    """How customers moved between stages from ``start`` to ``end``: one row per pair of
    stages with ``customers``; customers acquired after ``start`` come ``from_stage`` =
    ``"not yet a customer"``."""
    if as_date(start, "start") >= as_date(end, "end"):
        raise DataError(f"start {start} must be before end {end}", column="start")
    columns = {
        "customer_id": customer_id,
        "order_id": order_id,
        "ordered_at": ordered_at,
        "amount": amount,
    }
    before, lazy = _stages_table(orders, start, period, dormant_after, churned_after, columns)
    after, _ = _stages_table(orders, end, period, dormant_after, churned_after, columns)
    return deliver(_moves(before, after), lazy=lazy)


def transitions_between(before: Any, after: Any) -> Any:
    """The transition counts between two stage tables from :func:`lifecycle_stages` (when
    both are already computed, as ``retain analyze`` has them)."""
    first, lazy = to_ibis(before)
    second, _ = to_ibis(after)
    return deliver(_moves(first, second), lazy=lazy)


def _moves(before: ir.Table, after: ir.Table) -> ir.Table:
    moved = after.left_join(before, "customer_id").select(
        from_stage=ibis.coalesce(before.stage, ibis.literal("not yet a customer")),
        to_stage=after.stage,
    )
    return (
        moved.group_by(["from_stage", "to_stage"])
        .aggregate(customers=lambda t: t.count())
        .order_by(["from_stage", "to_stage"])
    )
