"""What happened in the store, in the order it was stored, for the domains that react to it
(journeys): tracked events, orders and domain events, each read after a position (the last
row id the reader handled) in batches.

Rows are read by id, not by time: an event applied late (it waited for its customer) still
comes after the reader's position, so nothing is skipped. Rows without a customer (a
visitor nobody has identified) are left out: nobody can be enrolled for them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Exists, Max, OuterRef

from retain.customers.models import DomainEvent, Event, EventKind, Order

#: The name an order goes by in the feed (the Segment spec's event for it).
ORDER_COMPLETED = "Order Completed"


@dataclass(frozen=True)
class Happening:
    """One thing that happened to a customer: an event by its name, an order as
    ``Order Completed`` (``first_order`` when it is the customer's first by date), or a
    domain event (``lifecycle.changed``) with its data as properties."""

    feed: str
    position: int
    customer_id: int
    name: str
    occurred_at: dt.datetime
    #: Unique per happening: what enters a customer (``event:<message id>``, ``order:<id>``,
    #: ``domain:<id>``), so the same happening read twice enters nobody twice.
    key: str
    properties: dict[str, Any] = field(default_factory=dict)
    first_order: bool = False


def events_after(position: int, *, limit: int) -> list[Happening]:
    """Tracked events (``track`` calls) after the event id ``position``."""
    rows = (
        Event.objects.filter(pk__gt=position, kind=EventKind.TRACK, customer__isnull=False)
        .order_by("pk")
        .values_list("pk", "customer_id", "name", "occurred_at", "message_id", "properties")
    )[:limit]
    return [
        Happening("events", pk, customer, name, at, f"event:{message}",
                  properties if isinstance(properties, dict) else {})
        for pk, customer, name, at, message, properties in rows
    ]  # fmt: skip


def orders_after(position: int, *, limit: int) -> list[Happening]:
    """Orders after the order id ``position``, as ``Order Completed`` with ``order_id``,
    ``total`` and ``currency`` properties."""
    earlier = Order.objects.filter(
        customer=OuterRef("customer"), ordered_at__lt=OuterRef("ordered_at")
    )
    rows = (
        Order.objects.filter(pk__gt=position)
        .annotate(repeat=Exists(earlier))
        .order_by("pk")
        .values_list("pk", "customer_id", "external_id", "ordered_at", "amount", "currency",
                     "status", "repeat")
    )[:limit]  # fmt: skip
    return [
        Happening("orders", pk, customer, ORDER_COMPLETED, at, f"order:{order_id}",
                  {"order_id": order_id, "total": float(amount), "currency": currency,
                   "status": status},
                  first_order=not repeat)
        for pk, customer, order_id, at, amount, currency, status, repeat in rows
    ]  # fmt: skip


def domain_events_after(position: int, *, limit: int) -> list[Happening]:
    """Domain events about a customer after the domain event id ``position``."""
    rows = (
        DomainEvent.objects.filter(pk__gt=position, customer__isnull=False)
        .order_by("pk")
        .values_list("pk", "customer_id", "name", "occurred_at", "data")
    )[:limit]
    return [
        Happening("domain", pk, customer, name, at, f"domain:{pk}",
                  data if isinstance(data, dict) else {})
        for pk, customer, name, at, data in rows
    ]  # fmt: skip


def last_positions() -> dict[str, int]:
    """The newest id of each feed: where a reader starting now begins (so a journey applied
    today does not react to last year's events)."""

    def newest(model: type) -> int:
        return model.objects.aggregate(newest=Max("pk"))["newest"] or 0

    return {"events": newest(Event), "orders": newest(Order), "domain": newest(DomainEvent)}
