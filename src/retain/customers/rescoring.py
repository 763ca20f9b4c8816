"""Living scores: every customer's value scores, RFM segment and lifecycle stage recomputed
from the store's orders and written back, with an event for each stage or segment change.

The analytics library does the thinking (which orders count, the models, the segments, the
stages); this module reads the store in bulk (:mod:`retain.customers.store_tables`), calls
the library, and merges the result in set-based SQL (:mod:`retain.customers.score_sql`).

Choices, documented in ``docs/store.md``:

- A customer with no counted order (none yet, or all refunded / cancelled) has no ``Score``
  row; one scored before loses it. No event is recorded for that.
- The first score of a customer records no event (a change "from nothing" is not news a
  journey should react to); later runs record ``lifecycle.changed`` and ``segment.changed``
  with ``{"from": old, "to": new}``.
- A customer whose stored orders the analytics cannot use (an amount that is missing, not a
  number, negative or 10^12 or more; a missing time; stored before the doors checked them) is
  set aside: reported with the shop's customer and order ids and counted in the summary, and
  scored like a customer with no counted order (no score) until the order is fixed. The
  others are scored.
- Values are stored rounded (probabilities and expected purchases to 6 decimals, CLV to the
  cent), so a rerun on the same orders rewrites nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from django.utils import timezone

from retain.analytics import completed_orders, lifecycle_stages, rfm_segments
from retain.analytics.orders import MAX_AMOUNT, mark_checked
from retain.customers.models import Order, RescoringRun
from retain.customers.queries import store_figures
from retain.customers.score_sql import STAGED_COLUMNS, write_scores
from retain.customers.store_tables import read_orders_table
from retain.errors import DataError
from retain.scoring import score_customers

logger = logging.getLogger(__name__)
#: Customers set aside listed on a run's record (all are counted).
_SKIPPED_SHOWN = 20

#: Decimals kept per stored value.
_ROUNDING = {
    "p_alive": 6,
    "expected_purchases_30d": 6,
    "expected_purchases_90d": 6,
    "expected_purchases_365d": 6,
    "clv_12m": 2,
}


@dataclass(frozen=True)
class SkippedCustomer:
    """A customer left out of a rescoring: the shop's customer id and why (naming an order)."""

    customer: str
    reason: str


@dataclass(frozen=True)
class RescoreSummary:
    """What a rescoring did, and how long each stage took."""

    as_of: dt.date
    customers_scored: int
    stage_changes: int
    segment_changes: int
    scores_written: int
    scores_removed: int
    model: str | None
    seconds: float
    #: The purchase model's fitted parameters (empty without a model).
    model_params: dict[str, float] = field(default_factory=dict)
    stage_seconds: dict[str, float] = field(default_factory=dict)
    #: Customers whose orders could not be used (see :func:`set_aside_unusable`).
    skipped: tuple[SkippedCustomer, ...] = ()
    #: The lifecycle stage moves, counted per pair: ``{"from", "to", "customers"}`` each.
    stage_moves: tuple[dict[str, str | int], ...] = ()

    def lines(self) -> list[str]:
        """The summary as the CLI prints it."""
        stages = ", ".join(
            f"{name} {seconds:.1f} s" for name, seconds in self.stage_seconds.items()
        )
        return [
            f"{self.customers_scored:,} customers scored as of {self.as_of} "
            f"with {self.model or 'no model'} in {self.seconds:.1f} s ({stages})",
            f"{self.stage_changes:,} lifecycle stage changes, "
            f"{self.segment_changes:,} segment changes",
            f"{self.scores_written:,} scores written, {self.scores_removed:,} removed",
            *(
                [f"{len(self.skipped):,} customers not scored (their orders cannot be used), "
                 f"e.g. customer {self.skipped[0].customer!r}: {self.skipped[0].reason}"]
                if self.skipped else []
            ),
        ]  # fmt: skip


def rescore_customers(
    *, as_of: dt.date | None = None, now: dt.datetime | None = None
) -> RescoreSummary:
    """Recompute and store every customer's scores from the orders placed up to ``as_of``
    (inclusive; default: the UTC day of ``now``, itself defaulting to the clock).

    Runs in the caller's transaction (the job's or the command's), which commits the scores,
    removals and events together: a failure while writing raises, and the caller's rollback
    leaves the old scores and no events. Each run, failed or not, is recorded as a
    :class:`RescoringRun` (``/healthz`` shows the last), and each customer set aside is
    logged as a warning.

    Raises
    ------
    DataError
        The counted orders cover too short a window to fit the models (from
        :func:`retain.scoring.score_customers`). Nothing is written but the failed run's
        record, which a caller that commits all the same keeps (the job does, the command).
    """
    now = now or timezone.now()
    try:
        summary = _rescore(as_of=as_of, now=now)
    except DataError as error:
        RescoringRun.objects.create(finished_at=now, succeeded=False, reason=str(error))
        raise
    for skipped in summary.skipped:  # one line each, where the worker's output goes
        logger.warning("customer %s not scored: %s", skipped.customer, skipped.reason)
    RescoringRun.objects.create(
        finished_at=now, succeeded=True, customers_scored=summary.customers_scored,
        customers_skipped=len(summary.skipped),
        skipped=[vars(s) for s in summary.skipped[:_SKIPPED_SHOWN]], as_of=summary.as_of,
        model=summary.model or "", model_params=summary.model_params,
        figures=store_figures(),
        stage_moves=list(summary.stage_moves),
    )  # fmt: skip
    return summary


def _rescore(*, as_of: dt.date | None, now: dt.datetime) -> RescoreSummary:
    day = as_of or now.astimezone(dt.UTC).date()
    started = time.perf_counter()
    seconds: dict[str, float] = {}
    orders = read_orders_table(
        before=dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), dt.UTC)
    )
    seconds["read"] = time.perf_counter() - started
    orders, skipped = set_aside_unusable(orders)
    counted = count_orders(orders)
    model, params = None, {}
    if counted.num_rows:
        rows, model, params = score_orders(counted, as_of=day)
    else:  # nobody has a counted order: every stored score goes
        rows = pa.Table.from_pylist([], schema=_staged_schema())
    seconds["score"] = time.perf_counter() - started - seconds["read"]
    written = write_scores(rows, model=model or "", scored_at=now)
    seconds["write"] = time.perf_counter() - started - seconds["read"] - seconds["score"]
    return RescoreSummary(
        as_of=day,
        customers_scored=rows.num_rows,
        stage_changes=written.changes["lifecycle.changed"],
        segment_changes=written.changes["segment.changed"],
        scores_written=written.written,
        scores_removed=written.removed,
        model=model,
        model_params=params,
        seconds=time.perf_counter() - started,
        stage_seconds=seconds,
        skipped=skipped,
        stage_moves=tuple(written.stage_moves),
    )


def set_aside_unusable(orders: pa.Table) -> tuple[pa.Table, tuple[SkippedCustomer, ...]]:
    """``orders`` without the customers who have an order the analytics would refuse (its
    amount missing, not a number, negative, or :data:`MAX_AMOUNT` or more; its time missing),
    and those customers, each with the first such order as the reason.

    One such order would otherwise refuse the whole store's rescoring.
    """
    amount, ordered_at = orders["amount"], orders["ordered_at"]
    unusable = pc.fill_null(
        pc.or_kleene(
            pc.or_kleene(pc.is_nan(amount), pc.less(amount, 0.0)),
            pc.greater_equal(pc.abs(amount), MAX_AMOUNT),
        ),
        True,  # a missing amount
    )
    unusable = pc.or_(unusable, pc.is_null(ordered_at))
    if not pc.any(unusable).as_py():
        return orders, ()
    bad = orders.filter(unusable)
    customers = set(bad["customer_id"].to_pylist())
    kept = orders.filter(pc.invert(pc.is_in(orders["customer_id"], pa.array(list(customers)))))
    # The amounts as read (floats): the ORM would refuse to read the oversized ones again.
    read = {row["order_id"]: row for row in bad.to_pylist()}
    skipped: dict[int, SkippedCustomer] = {}
    for order_pk, customer_pk, external, shop_order in (
        Order.objects.filter(pk__in=list(read))
        .order_by("customer__external_id", "external_id")
        .values_list("pk", "customer_id", "customer__external_id", "external_id")
    ):
        if customer_pk not in skipped:
            row = read[order_pk]
            why = "its time is missing" if row["ordered_at"] is None else _amount_problem(row)
            skipped[customer_pk] = SkippedCustomer(external, f"order {shop_order!r}: {why}")
    return kept, tuple(skipped.values())


def _amount_problem(row: dict[str, Any]) -> str:
    value = row["amount"]
    if value is None:
        return "its amount is missing or not a number"
    if value != value:  # NaN
        return f"its amount is not a number ({value})"
    if value < 0:
        return f"its amount is negative ({value:.2f})"
    return f"its amount is {MAX_AMOUNT:,.0f} or more ({value:,.2f})"


def count_orders(orders: pa.Table) -> pa.Table:
    """The orders that count (the analytics' rule), checked once and marked so the three
    analyses that follow do not check them again."""
    table, _ = completed_orders(orders)
    return mark_checked(
        table.select("customer_id", "order_id", "ordered_at", "amount").to_pyarrow()
    )


def score_orders(orders: pa.Table, *, as_of: dt.date) -> tuple[pa.Table, str, dict[str, float]]:
    """One row per customer with a counted order (the :data:`STAGED_COLUMNS`), the name of
    the transaction model chosen and its fitted parameters (ages in days)."""
    scored = score_customers(orders, observation_end=as_of)
    segments = rfm_segments(orders, observation_end=as_of)[["customer_id", "segment", "rfm_score"]]
    stages = lifecycle_stages(orders, as_of=as_of)[["customer_id", "stage"]]
    table = (
        scored.customers.merge(segments, on="customer_id", how="left", validate="one_to_one")
        .merge(stages, on="customer_id", how="left", validate="one_to_one")
        .rename(columns={"segment": "rfm_segment", "stage": "lifecycle_stage"})
    )
    missing = table.rfm_segment.isna() | table.lifecycle_stage.isna()
    if missing.any():  # the three analyses read the same orders: they must list the same people
        raise DataError(
            "customers scored but missing a segment or stage",
            column="customer_id",
            bad_rows=int(missing.sum()),
            example=table[missing].iloc[0].to_dict(),
        )
    for column, decimals in _ROUNDING.items():
        table[column] = table[column].astype("float64").round(decimals)
    table["next_order_date"] = pd.to_datetime(table["next_order_date"]).dt.date
    return (
        pa.Table.from_pandas(table[list(STAGED_COLUMNS)], preserve_index=False).cast(
            _staged_schema()
        ),
        scored.model,
        {name: float(value) for name, value in scored.params.items()},
    )


def _staged_schema() -> pa.Schema:
    kinds: dict[str, Any] = {
        "customer_id": pa.int64(),
        "next_order_date": pa.date32(),
        "value_decile": pa.int16(),
    }
    return pa.schema(
        [
            (name, kinds.get(name, pa.string() if sql == "text" else pa.float64()))
            for name, sql in STAGED_COLUMNS.items()
        ]
    )
