"""The orders table every analysis starts from: its schema, its checks, and which orders count.

Schema (column names can be mapped with the keyword arguments):

=============  ==========  ========  ================================================
column         type        required  meaning
=============  ==========  ========  ================================================
customer_id    any         yes       the shop's own customer id
order_id       any         yes       unique per order
ordered_at     timestamp   yes       when the order was placed (a date is fine)
amount         number      yes       order value, >= 0, in ``currency``
channel        text        no        where it was placed (web, app, store, ...)
currency       text        no        ISO code; one per analysis (several are refused)
status         text        no        completed unless refunded / cancelled / ...
=============  ==========  ========  ================================================

Which orders count: an order whose ``status`` is one of :data:`EXCLUDED_STATUSES`
(case-insensitive) did not happen as far as retention is concerned and is left out of every
analysis; any other status, or no status column, counts. Refunds booked as separate negative
orders are not guessed at: a negative amount is an error, so the caller nets them out first.
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from retain.analytics._tables import (
    fetch,
    reject_any,
    reject_repeats,
    reject_rows,
    require_columns,
    to_ibis,
)

#: Statuses whose orders are excluded from every analysis.
EXCLUDED_STATUSES = ("refunded", "cancelled", "canceled", "returned", "failed", "void")


_CHECKED = {b"retain.orders": b"checked"}


def mark_checked(kept: pa.Table) -> pa.Table:
    """Label an Arrow table of orders that :func:`completed_orders` already checked and
    filtered, so the analyses run on it (``retain analyze``) do not check it again."""
    return kept.replace_schema_metadata({**(kept.schema.metadata or {}), **_CHECKED})


def is_checked(orders: Any) -> bool:
    metadata = orders.schema.metadata if isinstance(orders, pa.Table) else None
    return bool(metadata) and metadata.get(b"retain.orders") == b"checked"


def completed_orders(
    orders: Any,
    *,
    customer_id: str = "customer_id",
    order_id: str = "order_id",
    ordered_at: str = "ordered_at",
    amount: str = "amount",
    status: str | None = "status",
    currency: str | None = "currency",
) -> tuple[ir.Table, bool]:
    """Check ``orders`` and keep the ones that count, renamed to the standard columns.

    Returns the ibis table with ``customer_id, order_id, ordered_at (timestamp), amount
    (float64)`` plus any other columns as they were, and whether the caller passed an ibis
    table (results stay lazy then).

    Raises
    ------
    DataError
        A required column is missing; a customer id, order id or time is missing; a time is
        not a date; an amount is missing, not a number or negative; an order id repeats; the
        amounts are in more than one currency (``currency=None`` skips that check, for a
        store that keeps them all). Each names the column, the number of bad rows and one.
    """
    if is_checked(orders):
        return ibis.memtable(orders), False
    table, lazy = to_ibis(orders)
    roles = {"customer_id": customer_id, "order_id": order_id, "ordered_at": ordered_at}
    roles["amount"] = amount
    require_columns(table, roles)
    when = table[ordered_at].try_cast("timestamp")
    value = table[amount].try_cast("float64")
    missing = [
        (roles[role], table[roles[role]].isnull(), f"{role} is missing")
        for role in ("customer_id", "order_id", "ordered_at")
    ]
    reject_any(
        table,
        [
            *missing,
            (ordered_at, when.isnull(), "not a date or timestamp"),
            (amount, value.isnull() | value.isnan(), "amount is missing or not a number"),
            (
                amount,
                value < 0,
                "amount is negative; net refunds out of their orders or mark them with a status",
            ),
        ],
    )
    reject_repeats(table, order_id, "order")
    if currency is not None and currency in table.columns:
        _reject_mixed_currencies(table, currency)
    others = [c for c in table.columns if c not in roles.values()]
    standard = table.select(
        customer_id=table[customer_id],
        order_id=table[order_id],
        ordered_at=when,
        amount=value,
        **{c: table[c] for c in others},
    )
    if status is not None and status in table.columns:
        label = standard[status].cast("string").lower().strip()
        standard = standard.filter(label.isnull() | ~label.isin(list(EXCLUDED_STATUSES)))
    return standard, lazy


def _reject_mixed_currencies(table: ir.Table, currency: str) -> None:
    """Amounts in two currencies cannot be summed: refuse all but the most common one."""
    code = table[currency]
    counts = fetch(
        table.filter(code.notnull()).group_by(code.name("code")).aggregate(n=lambda t: t.count())
    ).to_pylist()
    if len(counts) < 2:
        return
    main = max(counts, key=lambda row: (row["n"], str(row["code"])))["code"]
    others = sorted(str(row["code"]) for row in counts if row["code"] != main)
    reject_rows(
        table,
        currency,
        code.notnull() & (code != ibis.literal(main)),
        f"orders in {len(counts)} currencies ({main} and {', '.join(others)}); convert the "
        "amounts to one currency or analyse each currency apart",
    )
