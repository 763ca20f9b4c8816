"""The orders table every analysis starts from: its schema, its checks, and which orders count.

Schema (column names can be mapped with the keyword arguments):

=============  ==========  ========  ================================================
column         type        required  meaning
=============  ==========  ========  ================================================
customer_id    any         yes       the shop's own customer id
order_id       any         yes       unique per order
ordered_at     timestamp   yes       when the order was placed (a date is fine)
amount         number      yes       order value, >= 0 and < 10^12, in ``currency``
channel        text        no        where it was placed (web, app, store, ...)
currency       text        no        ISO code; one per analysis (several are refused)
status         text        no        completed unless refunded / cancelled / ...
=============  ==========  ========  ================================================

Which orders count
------------------
An order counts when the customer bought and paid: it is a purchase as far as retention is
concerned. Every analysis (RFM scores and summary, cohorts, lifecycle, channels, scores)
applies the same rule, through :func:`completed_orders` or :func:`is_left_out_status`:

- **Status.** The ``status`` is compared in lower case, without surrounding spaces, with
  ``-`` and ``_`` read as spaces (``" Refunded "``, ``CANCELLED``, ``on-hold`` and ``On hold``
  are the same). An order whose status is one of :data:`EXCLUDED_STATUSES` is left out:
  refunded, cancelled, returned, failed or void (it did not happen), and **pending**
  (``pending``, ``pending payment``, ``awaiting payment``, ``unpaid``, ``draft``,
  ``abandoned``: the customer has not paid, and in shop exports most of these are abandoned
  checkouts). ``processing`` and ``on hold`` orders count: the customer committed to them and
  the shop is fulfilling them. ``partially refunded`` counts (with the amount as given). Any
  other status, an empty status, or no status column, counts.
- **Observation end.** An analysis taken on a day leaves out the orders placed after it.
- **Zero-value orders** count: a free order is still a visit (the spend model deals with them).

:func:`orders_left_out` counts what was left out, per reason, so that every analysis can say
how many orders it did not use and why (``retain rfm`` prints it in one line).

Refunds booked as rows
----------------------
A refund exported as its own row with a negative amount is never guessed at. By default
(``refunds="refuse"``) a negative amount is an error naming the rows. With
``refunds="net"`` (:func:`net_refunds`) each negative row is netted against the order with
the same ``order_id`` and customer: the order's amount becomes what was kept, and an order
refunded in full gets the status ``refunded`` (so it is left out, and counted as such). A
negative row without such an order, or refunds larger than their order, are refused.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import Any, Literal

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from retain.analytics._tables import (
    deliver,
    epoch_days,
    fetch,
    reject_any,
    reject_repeats,
    reject_rows,
    require_columns,
    scalar,
    to_ibis,
)
from retain.errors import DataError
from retain.time_units import as_date

#: Amounts at or above this are refused: the store keeps 14 digits with 2 decimals, and sums of
#: larger values lose the cents (or overflow to infinity) in the models.
MAX_AMOUNT = 10.0**12

#: Statuses (as read by :func:`status_label`) whose orders are left out of every analysis.
EXCLUDED_STATUSES = (
    "refunded",
    "cancelled",
    "canceled",
    "returned",
    "failed",
    "declined",
    "void",
    "voided",
    "pending",
    "pending payment",
    "awaiting payment",
    "unpaid",
    "draft",
    "checkout draft",
    "abandoned",
)

#: The reason :func:`orders_left_out` gives for orders placed after the observation end.
AFTER_END = "after the observation end"

Refunds = Literal["refuse", "net"]

#: The Arrow tables :func:`completed_orders` checked, by ``id``, in this process only: a weak
#: reference each, so a table that is gone leaves no entry. Checked-ness never lives in the
#: data (a file's schema metadata travels with it, and anyone can write it).
_checked: dict[int, weakref.ref[pa.Table]] = {}


def mark_checked(kept: pa.Table) -> pa.Table:
    """Remember that this very Arrow table (the object, not its rows) came out of
    :func:`completed_orders`, so the analyses run on it (``retain analyze``, the rescoring)
    do not check it again. Give it only what :func:`completed_orders` returned; any other
    table, equal or not, is checked as usual."""
    key = id(kept)

    def forget(reference: weakref.ref[pa.Table]) -> None:
        if _checked.get(key) is reference:
            del _checked[key]

    _checked[key] = weakref.ref(kept, forget)
    return kept


def is_checked(orders: Any) -> bool:
    """Whether ``orders`` is a table :func:`mark_checked` was given in this process."""
    reference = _checked.get(id(orders))
    return reference is not None and reference() is orders


def status_label(status: ir.Value) -> ir.StringValue:
    """A status as the rule reads it: lower case, trimmed, ``-`` and ``_`` as spaces."""
    return status.cast("string").lower().replace("-", " ").replace("_", " ").strip()


def is_left_out_status(status: ir.Value) -> ir.BooleanValue:
    """True for the orders whose status says they do not count (never null)."""
    label = status_label(status)
    return (label.notnull() & label.isin(list(EXCLUDED_STATUSES))).fill_null(False)


@dataclass(frozen=True)
class OrdersLeftOut:
    """How many orders an analysis left out, per reason.

    ``reasons`` maps a reason (a status as read by the rule, e.g. ``"refunded"``, or
    :data:`AFTER_END`) to its count, largest first; ``total_orders`` is every row given.
    """

    total_orders: int
    reasons: dict[str, int] = field(default_factory=dict)

    @property
    def left_out(self) -> int:
        return sum(self.reasons.values())

    @property
    def counted(self) -> int:
        return self.total_orders - self.left_out

    def line(self) -> str:
        """One line for people: ``left out 5 orders: 3 refunded, 2 cancelled``."""
        if not self.left_out:
            return f"counted all {self.total_orders:,} orders (none left out)"
        parts = ", ".join(f"{count:,} {reason}" for reason, count in self.reasons.items())
        noun = "order" if self.left_out == 1 else "orders"
        return f"left out {self.left_out:,} {noun} of {self.total_orders:,}: {parts}"


def orders_left_out(
    orders: Any,
    *,
    observation_end: Any = None,
    ordered_at: str = "ordered_at",
    status: str | None = "status",
    refunds: Refunds = "refuse",
    customer_id: str = "customer_id",
    order_id: str = "order_id",
    amount: str = "amount",
) -> OrdersLeftOut:
    """Count the orders the analyses leave out of ``orders``, and why.

    Each order gets one reason, the first that applies: its status (see
    :data:`EXCLUDED_STATUSES`), then being placed after ``observation_end`` (when given).
    Orders are rows; with ``refunds="net"`` the refund rows are first netted into their
    orders (:func:`net_refunds`), so an order refunded in full counts as ``refunded``.
    ``order_id``, ``customer_id`` and ``amount`` are only read then. The table is not
    checked here: the analysis that reads it checks it.
    """
    if refunds == "net":
        table, _ = to_ibis(
            net_refunds(
                orders,
                customer_id=customer_id,
                order_id=order_id,
                ordered_at=ordered_at,
                amount=amount,
                status=status or "status",
            )
        )
        status = status or "status"
    else:
        _check_refunds(refunds)
        table, _ = to_ibis(orders)
    require_columns(table, {"ordered_at": ordered_at})
    rules: list[tuple[ir.BooleanValue, Any]] = []
    if status is not None and status in table.columns:
        rules.append((is_left_out_status(table[status]), status_label(table[status])))
    if observation_end is not None:
        end = as_date(observation_end, "observation_end")
        day = table[ordered_at].try_cast("timestamp").date().epoch_days()
        rules.append(((day > epoch_days(end)).fill_null(False), ibis.literal(AFTER_END)))
    if not rules:
        return OrdersLeftOut(total_orders=int(scalar(table.count())))
    reason = ibis.cases(*rules, else_=ibis.null("string"))
    counts = fetch(
        table.select(reason=reason).group_by("reason").aggregate(n=lambda t: t.count())
    ).to_pylist()
    total = sum(row["n"] for row in counts)
    ranked = sorted((row for row in counts if row["reason"] is not None), key=_largest_first)
    return OrdersLeftOut(
        total_orders=int(total), reasons={row["reason"]: int(row["n"]) for row in ranked}
    )


def _largest_first(row: dict) -> tuple[int, str]:
    return (-row["n"], row["reason"])


def _check_refunds(refunds: str) -> None:
    if refunds not in ("refuse", "net"):
        raise DataError(f"refunds must be 'refuse' or 'net', got {refunds!r}")


def net_refunds(
    orders: Any,
    *,
    customer_id: str = "customer_id",
    order_id: str = "order_id",
    ordered_at: str = "ordered_at",
    amount: str = "amount",
    status: str = "status",
) -> Any:
    """Net refund rows (negative amounts) into the order with the same ``order_id``.

    Returns the orders in the caller's kind (an ibis Table stays lazy), one row per order,
    with every column as given except: ``amount`` is what the customer kept, and an order
    refunded in full has ``status`` ``"refunded"`` (a ``status`` column is added when there
    is none, empty for the other orders). The rest of the checks are
    :func:`completed_orders`'.

    Raises
    ------
    DataError
        A negative row whose ``order_id`` has no order with a non-negative amount, or whose
        customer differs from that order's; refunds larger than their order. Each names the
        column, the number of bad rows and one of them.
    """
    table, lazy = to_ibis(orders)
    require_columns(
        table,
        {"customer_id": customer_id, "order_id": order_id, "ordered_at": ordered_at,
         "amount": amount},
    )  # fmt: skip
    value = table[amount].try_cast("float64")
    is_refund = (value < 0).fill_null(False)
    placed = table.filter(~is_refund)
    refund_rows = table.filter(is_refund)
    owners = placed.select(_order=placed[order_id], _owner=placed[customer_id])
    matched = refund_rows.left_join(owners, refund_rows[order_id] == owners._order)
    _refuse(
        matched.filter(matched._order.isnull()).select(*table.columns),
        amount,
        f"a negative amount (a refund) with no order of the same {order_id} to net it against",
    )
    _refuse(
        matched.filter(matched._owner != matched[customer_id]).select(*table.columns),
        customer_id,
        f"a refund row's customer differs from the customer of the order with its {order_id}",
    )
    refunded = refund_rows.group_by(_order=refund_rows[order_id]).aggregate(
        _refunded=lambda t: t[amount].try_cast("float64").sum()
    )
    joined = placed.left_join(refunded, placed[order_id] == refunded._order)
    kept = joined[amount].try_cast("float64") + joined._refunded.fill_null(0.0)
    _refuse(
        joined.filter(kept < 0).select(*table.columns, refunds_total=joined._refunded),
        amount,
        "refunds larger than the order they are netted against",
    )
    in_full = joined._refunded.notnull() & (kept == 0)
    old_status = joined[status].cast("string") if status in joined.columns else ibis.null("string")
    columns = {c: joined[c] for c in table.columns}
    columns[amount] = ibis.ifelse(joined._refunded.notnull(), kept, joined[amount].cast("float64"))
    columns[status] = ibis.ifelse(in_full, ibis.literal("refunded"), old_status)
    return deliver(joined.select(**columns), lazy=lazy)


def _refuse(bad_rows: ir.Table, column: str, rule: str) -> None:
    """Raise when ``bad_rows`` (in the caller's own columns) is not empty."""
    reject_rows(bad_rows, column, ibis.literal(True), rule)


def completed_orders(
    orders: Any,
    *,
    customer_id: str = "customer_id",
    order_id: str = "order_id",
    ordered_at: str = "ordered_at",
    amount: str = "amount",
    status: str | None = "status",
    currency: str | None = "currency",
    refunds: Refunds = "refuse",
) -> tuple[ir.Table, bool]:
    """Check ``orders`` and keep the ones that count, renamed to the standard columns.

    Returns the ibis table with ``customer_id, order_id, ordered_at (timestamp), amount
    (float64)`` plus any other columns as they were, and whether the caller passed an ibis
    table (results stay lazy then). ``status=None`` keeps every order whatever its status
    (the store's import checks); ``refunds="net"`` nets refund rows into their orders first
    (:func:`net_refunds`). :func:`orders_left_out` counts what this leaves out.

    Raises
    ------
    DataError
        A required column is missing; a customer id, order id or time is missing; a time is
        not a date; an amount is missing, not a number or negative (a refund row: net it with
        ``refunds="net"`` or mark its order with a status); an order id repeats; the amounts
        are in more than one currency (``currency=None`` skips that check, for a store that
        keeps them all). Each names the column, the number of bad rows and one.
    """
    if is_checked(orders):
        return ibis.memtable(orders), False
    _check_refunds(refunds)
    lazy = isinstance(orders, ir.Table)
    if refunds == "net":
        orders = net_refunds(
            orders,
            customer_id=customer_id,
            order_id=order_id,
            ordered_at=ordered_at,
            amount=amount,
            status=status or "status",
        )
    table, _ = to_ibis(orders)
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
                value.abs() >= MAX_AMOUNT,
                f"amount is {MAX_AMOUNT:,.0f} or more (or infinite); no order is that large",
            ),
            (
                amount,
                value < 0,
                "amount is negative (a refund row?); net refunds into their orders "
                "(refunds='net', which needs the refund row to carry its order's id) or mark "
                "the refunded order with the status 'refunded'",
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
        standard = standard.filter(~is_left_out_status(standard[status]))
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
