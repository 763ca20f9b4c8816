"""From a transaction log to the per-customer summary the repeat-buying models read."""

from __future__ import annotations

from typing import Any

import ibis

from retain.analytics._tables import (
    deliver,
    epoch_days,
    reject_any,
    require_columns,
    to_ibis,
)
from retain.analytics.orders import is_left_out_status
from retain.errors import DataError
from retain.time_units import as_date, days_per_unit


def rfm_summary(
    transactions: Any,
    *,
    customer_id: str = "customer_id",
    datetime: str = "date",
    monetary: str | None = "amount",
    observation_end: Any,
    calibration_end: Any = None,
    time_unit: str = "W",
    status: str | None = "status",
) -> Any:
    """Summarise each customer's purchases as frequency, recency, age and mean spend.

    The conventions are those behind the published CDNOW results (Fader, Hardie & Lee 2005):
    purchases on the same day merge into one; the first purchase is not a repeat; time runs
    from a customer's first purchase. Which purchases count is the rule of every analysis
    (:mod:`retain.analytics.orders`): refunded, cancelled, pending, ... ones are left out,
    as are those after ``observation_end``; :func:`retain.analytics.orders_left_out` (with
    ``ordered_at=datetime``) says how many and why.

    Parameters
    ----------
    transactions
        One row per purchase: a pandas/polars DataFrame, a pyarrow Table or an ibis Table (an
        ibis Table stays lazy on its own backend and an ibis expression is returned).
    customer_id, datetime, monetary
        Column names. ``monetary`` may be ``None`` when there are no amounts.
    observation_end
        Last day observed (inclusive); purchases after it are outside the window and ignored.
    calibration_end
        If given, the models' inputs are measured to this day and the purchases after it (to
        ``observation_end``) become holdout columns.
    time_unit
        ``"D"``, ``"W"`` (default), ``"M"`` (365.2425/12 days) or ``"Y"`` (365.2425 days).
    status
        The status column, if the table has one (``None``: every row counts whatever a
        column of that name says).

    Returns
    -------
    Table with one row per customer whose first purchase is on or before the calibration
    end, ordered by customer:

    - ``frequency``: repeat purchase days within calibration;
    - ``recency``: time from the first to the last purchase within calibration;
    - ``T``: time from the first purchase to the calibration end;
    - ``monetary_value``: mean value of the repeat purchase days (0 without repeats);
    - with ``calibration_end``: ``frequency_holdout``, ``monetary_value_holdout`` and
      ``duration_holdout`` (the holdout length).

    Raises
    ------
    DataError
        A column is missing; a customer id or date is null; an amount is null or negative
        (a refund row: net it into its order first, :func:`retain.analytics.net_refunds`);
        the calibration end is after the observation end; an unknown time unit.
    """
    unit_days = days_per_unit(time_unit)
    end = as_date(observation_end, "observation_end")
    cal_end = end if calibration_end is None else as_date(calibration_end, "calibration_end")
    if cal_end > end:
        raise DataError(f"calibration_end {cal_end} is after observation_end {end}")

    table, lazy = to_ibis(transactions)
    roles = {"customer_id": customer_id, "datetime": datetime}
    if monetary is not None:
        roles["monetary"] = monetary
    require_columns(table, roles)
    purchase_day = table[datetime].try_cast("date")
    amount = table[monetary].try_cast("float64") if monetary is not None else ibis.literal(0.0)
    rules = [
        (customer_id, table[customer_id].isnull(), "customer id is missing"),
        (datetime, table[datetime].isnull(), "purchase date is missing"),
        (datetime, purchase_day.isnull(), "not a date (expected YYYY-MM-DD or a timestamp)"),
    ]
    if monetary is not None:
        rules += [
            (monetary, amount.isnull() | amount.isnan(), "amount is missing or not a number"),
            (
                monetary,
                amount < 0,
                "amount is negative (a refund row?); net refunds into their orders first "
                "(retain.analytics.net_refunds, by order id) or mark the refunded order with "
                "the status 'refunded'",
            ),
        ]
    reject_any(table, rules)
    counts = (
        ~is_left_out_status(table[status])
        if status is not None and status in table.columns
        else ibis.literal(True)
    )

    # One row per customer and purchase day, days counted from 1970-01-01.
    days = (
        table.select(
            customer=table[customer_id],
            day=purchase_day.epoch_days(),
            amount=amount,
            counts=counts,
        )
        .filter(lambda t: t.counts & (t.day <= epoch_days(end)))
        .group_by(["customer", "day"])
        .aggregate(amount=lambda t: t.amount.sum())
    )
    cal_day = epoch_days(cal_end)
    firsts = days.group_by("customer").aggregate(first_day=lambda t: t.day.min())
    joined = days.join(firsts, "customer").filter(lambda t: t.first_day <= cal_day)
    is_repeat = (joined.day > joined.first_day) & (joined.day <= cal_day)
    in_holdout = joined.day > cal_day
    summary = joined.group_by("customer").aggregate(
        first_day=joined.first_day.min(),
        frequency=ibis.ifelse(is_repeat, 1, 0).sum(),
        last_day=joined.day.max(where=joined.day <= cal_day),
        repeat_spend=joined.amount.sum(where=is_repeat),
        frequency_holdout=ibis.ifelse(in_holdout, 1, 0).sum(),
        holdout_spend=joined.amount.sum(where=in_holdout),
    )
    unit = ibis.literal(unit_days)
    columns = {
        customer_id: summary.customer,
        "frequency": summary.frequency,
        "recency": (summary.last_day - summary.first_day).cast("float64") / unit,
        "T": (ibis.literal(cal_day) - summary.first_day).cast("float64") / unit,
        "monetary_value": ibis.ifelse(
            summary.frequency > 0,
            summary.repeat_spend.cast("float64") / summary.frequency.cast("float64"),
            0.0,
        ),
    }
    if calibration_end is not None:
        columns["frequency_holdout"] = summary.frequency_holdout
        columns["monetary_value_holdout"] = ibis.ifelse(
            summary.frequency_holdout > 0,
            summary.holdout_spend.cast("float64") / summary.frequency_holdout.cast("float64"),
            0.0,
        )
        # An integer literal cast to double: a bare float literal is NUMERIC on PostgreSQL.
        holdout_days = ibis.literal((end - cal_end).days).cast("float64")
        columns["duration_holdout"] = holdout_days / unit
    result = summary.select(**columns).order_by(customer_id)
    return deliver(result, lazy=lazy)
