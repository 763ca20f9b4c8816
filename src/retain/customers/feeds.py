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

from django.db.models import Exists, F, Max, Min, OuterRef, Q
from django.utils import timezone

from retain.customers.models import Customer, DomainEvent, Event, EventKind, Order

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


@dataclass(frozen=True)
class DatedCustomer:
    """A customer whose date may come round on one of the days asked about: the date (a
    birthday) or moment (a first order, a sign-up), and their own time zone if known."""

    customer_id: int
    moment: dt.date | dt.datetime
    time_zone: str | None


#: The dates a date trigger may name, and where each is kept.
DATE_KINDS = ("birthday", "first_order", "signup")


def dated_customers(kind: str, days: list[dt.date], *, yearly: bool) -> list[DatedCustomer]:
    """Customers whose ``kind`` date falls on one of ``days`` (``yearly``: on the same month
    and day of any earlier year, as birthdays and anniversaries do). The caller gives a day
    either side of its own, because the customer's day depends on their time zone."""
    if kind not in DATE_KINDS:
        raise ValueError(f"unknown date kind {kind!r}")
    if kind == "first_order":
        rows = Order.objects.values("customer_id").annotate(moment=Min("ordered_at"))
        field_name = "moment"
    else:
        field_name = "birthday" if kind == "birthday" else "signed_up_at"
        rows = Customer.objects.exclude(**{f"{field_name}__isnull": True}).values(
            customer_id=F("pk"), moment=F(field_name)
        )
    lookup = field_name if kind == "birthday" else f"{field_name}__date"
    wanted = Q()
    for day in days:
        if yearly:
            wanted |= Q(**{f"{lookup}__month": day.month, f"{lookup}__day": day.day})
            if (day.month, day.day) == (2, 28):  # 29 February is kept on the 28th
                wanted |= Q(**{f"{lookup}__month": 2, f"{lookup}__day": 29})
        else:
            wanted |= Q(**{lookup: day})
    rows = rows.filter(wanted)
    found = list(rows.values_list("customer_id", "moment"))
    zones = dict(
        Customer.objects.filter(pk__in=[customer for customer, _ in found]).values_list(
            "pk", "traits"
        )
    )
    return [
        DatedCustomer(customer, moment, _zone_trait(zones.get(customer)))
        for customer, moment in found
    ]


def _zone_trait(traits: Any) -> str | None:
    if not isinstance(traits, dict):
        return None
    zone = traits.get("timezone") or traits.get("time_zone")
    return zone if isinstance(zone, str) else None


# --- reading by time (the journey simulator replays the store's history in time order) ---


def happenings_between(
    start: dt.datetime, end: dt.datetime, *, up_to: dict[str, int]
) -> list[Happening]:
    """Every tracked event, order and domain event about a customer that happened at or
    after ``start`` and before ``end``, among the rows with ids at most ``up_to[feed]`` (the
    store as it was when the reader began), in the order they happened.

    The feeds above are read by id, as the rows were stored; a replay of the past needs them
    by the time they happened instead."""
    earlier = Order.objects.filter(
        customer=OuterRef("customer"), ordered_at__lt=OuterRef("ordered_at")
    )
    orders = (
        Order.objects.filter(ordered_at__gte=start, ordered_at__lt=end, pk__lte=up_to["orders"])
        .annotate(repeat=Exists(earlier))
        .values_list("pk", "customer_id", "external_id", "ordered_at", "amount", "currency",
                     "status", "repeat")
    )  # fmt: skip
    events = Event.objects.filter(
        occurred_at__gte=start, occurred_at__lt=end, pk__lte=up_to["events"],
        kind=EventKind.TRACK, customer__isnull=False,
    ).values_list(
        "pk", "customer_id", "name", "occurred_at", "message_id", "properties"
    )  # fmt: skip
    domain = DomainEvent.objects.filter(
        occurred_at__gte=start, occurred_at__lt=end, pk__lte=up_to["domain"],
        customer__isnull=False,
    ).values_list("pk", "customer_id", "name", "occurred_at", "data")  # fmt: skip
    found = [
        Happening("orders", pk, customer, ORDER_COMPLETED, at, f"order:{order_id}",
                  {"order_id": order_id, "total": float(amount), "currency": currency,
                   "status": status},
                  first_order=not repeat)
        for pk, customer, order_id, at, amount, currency, status, repeat in orders
    ]  # fmt: skip
    found += [
        Happening("events", pk, customer, name, at, f"event:{message}",
                  properties if isinstance(properties, dict) else {})
        for pk, customer, name, at, message, properties in events
    ]  # fmt: skip
    found += [
        Happening("domain", pk, customer, name, at, f"domain:{pk}",
                  data if isinstance(data, dict) else {})
        for pk, customer, name, at, data in domain
    ]  # fmt: skip
    return sorted(found, key=lambda happening: (happening.occurred_at, happening.position))


class DatedCustomersInMemory:
    """:func:`dated_customers` answered from memory: every customer's dates of a kind are
    read once, at the first question about that kind. For a reader that asks about day after
    day (the simulator asks every simulated hour); the answers are the store's at that first
    question."""

    def __init__(self) -> None:
        self._yearly: dict[str, dict[tuple[int, int], list[DatedCustomer]]] = {}
        self._daily: dict[str, dict[dt.date, list[DatedCustomer]]] = {}
        self._zones: set[str] = set()

    def zones(self, kind: str) -> set[str]:
        """The time zones the customers of ``kind`` gave (as given: not checked)."""
        if kind not in self._daily:
            self._read(kind)
        return self._zones

    def __call__(self, kind: str, days: list[dt.date], *, yearly: bool) -> list[DatedCustomer]:
        if kind not in self._daily:
            self._read(kind)
        found: list[DatedCustomer] = []
        for day in days:
            if yearly:
                found += self._yearly[kind].get((day.month, day.day), [])
                if (day.month, day.day) == (2, 28):  # 29 February is kept on the 28th
                    found += self._yearly[kind].get((2, 29), [])
            else:
                found += self._daily[kind].get(day, [])
        return found

    def _read(self, kind: str) -> None:
        if kind not in DATE_KINDS:
            raise ValueError(f"unknown date kind {kind!r}")
        if kind == "first_order":
            rows = Order.objects.values("customer_id").annotate(moment=Min("ordered_at"))
            pairs = rows.values_list("customer_id", "moment")
        else:
            field_name = "birthday" if kind == "birthday" else "signed_up_at"
            pairs = Customer.objects.exclude(**{f"{field_name}__isnull": True}).values_list(
                "pk", field_name
            )
        zones = {
            pk: _zone_trait({"timezone": zone, "time_zone": other})
            for pk, zone, other in Customer.objects.values_list(
                "pk", "traits__timezone", "traits__time_zone"
            )
        }
        yearly: dict[tuple[int, int], list[DatedCustomer]] = {}
        daily: dict[dt.date, list[DatedCustomer]] = {}
        for customer, moment in pairs:
            if moment is None:
                continue
            # The day as the database's ``__date`` reads it: in Django's current time zone.
            day = timezone.localdate(moment) if isinstance(moment, dt.datetime) else moment
            dated = DatedCustomer(customer, moment, zones.get(customer))
            if dated.time_zone:
                self._zones.add(dated.time_zone)
            yearly.setdefault((day.month, day.day), []).append(dated)
            daily.setdefault(day, []).append(dated)
        self._yearly[kind], self._daily[kind] = yearly, daily
