"""What the 360 of one customer reads besides the profile itself: their orders and events a
page at a time (a customer may hold thousands), the facts of their order history the
readings are made of, and the history of their stage and segment.

Each getter runs a fixed number of queries, whatever the customer holds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from math import ceil
from typing import Any

from django.db.models import Count, DateField, Q, Sum
from django.db.models.functions import Cast

from retain.analytics import EXCLUDED_STATUSES
from retain.customers.models import Customer, DomainEvent, Event, Order, RescoringRun
from retain.errors import NotFound, RuleViolation

#: Orders on one page of the 360 (the console's and the API's).
ORDERS_PAGE_SIZE = 25
#: Behavioural events shown at a time on the timeline.
EVENTS_PAGE_SIZE = 20
#: The largest page number taken: far beyond any customer's orders, and the row offset stays
#: inside the 64-bit integers both engines compute it in.
MAX_PAGE = 1_000_000
#: Stage and segment changes listed (the newest).
CHANGES_SHOWN = 50
#: The domain events that make a customer's stage and segment history.
CHANGE_EVENTS = ("lifecycle.changed", "segment.changed")


@dataclass(frozen=True)
class Page:
    """One page of a customer's rows, newest first, with the totals a pager needs. A page past
    the last is empty and keeps the totals."""

    items: Sequence[Any]
    total: int
    page: int
    page_size: int
    pages: int = field(init=False)
    next_page: int | None = field(init=False)
    previous_page: int | None = field(init=False)

    def __post_init__(self) -> None:
        pages = ceil(self.total / self.page_size)
        object.__setattr__(self, "pages", pages)
        object.__setattr__(self, "next_page", self.page + 1 if self.page < pages else None)
        previous = min(self.page - 1, pages) if self.page > 1 else None
        object.__setattr__(self, "previous_page", previous or None)


def page_number(text: str | int | None, *, name: str) -> int:
    """The page number a visitor asked for in the parameter ``name`` (absent: the first).

    Raises :class:`~retain.errors.RuleViolation` (a 400) naming the parameter and what was
    given when it is not a whole number from 1 to :data:`MAX_PAGE`.
    """
    if text is None or text == "":
        return 1
    try:
        number = int(str(text).strip())
    except ValueError:
        number = 0
    if not 1 <= number <= MAX_PAGE:
        shown = str(text)[:40]
        raise RuleViolation(
            f"{name} must be a whole number from 1 to {MAX_PAGE:,}; got {shown!r}",
            field=name,
            status=400,
        )
    return number


def find_customer(external_id: str) -> Customer:
    """The customer with the shop's id ``external_id``, nothing more (one query); raises
    :class:`~retain.errors.NotFound` for an unknown id."""
    # PostgreSQL cannot compare text holding a NUL byte; no stored id holds one.
    found = None if "\x00" in external_id else (
        Customer.objects.filter(external_id=external_id).first()
    )  # fmt: skip
    if found is None:
        raise NotFound(f"no customer with id {external_id!r}", customer_id=external_id)
    return found


def orders_page(customer: Customer, page: int = 1) -> Page:
    """The customer's orders, newest first, :data:`ORDERS_PAGE_SIZE` a page. Two queries."""
    orders = Order.objects.filter(customer=customer)
    start = (page - 1) * ORDERS_PAGE_SIZE
    rows = list(orders.order_by("-ordered_at", "-id")[start : start + ORDERS_PAGE_SIZE])
    return Page(items=rows, total=orders.count(), page=page, page_size=ORDERS_PAGE_SIZE)


def events_page(customer: Customer, page: int = 1) -> Page:
    """The customer's behavioural events, newest first, :data:`EVENTS_PAGE_SIZE` at a time."""
    events = Event.objects.filter(customer=customer)
    start = (page - 1) * EVENTS_PAGE_SIZE
    rows = list(events.order_by("-occurred_at", "-id")[start : start + EVENTS_PAGE_SIZE])
    return Page(items=rows, total=events.count(), page=page, page_size=EVENTS_PAGE_SIZE)


@dataclass(frozen=True)
class Change:
    """A move of the customer's lifecycle stage or RFM segment, as the rescoring recorded it."""

    kind: str  # "lifecycle" or "segment"
    before: str
    after: str
    at: dt.datetime


def changes(customer: Customer) -> list[Change]:
    """The customer's stage and segment changes, newest first (the newest
    :data:`CHANGES_SHOWN`). The first score records none: a history starts at the first
    change."""
    rows = (
        DomainEvent.objects.filter(customer=customer, name__in=CHANGE_EVENTS)
        .order_by("-occurred_at", "-id")
        .values_list("name", "data", "occurred_at")[:CHANGES_SHOWN]
    )
    return [
        Change(
            kind=name.split(".")[0],
            before=str((data or {}).get("from") or ""),
            after=str((data or {}).get("to") or ""),
            at=at,
        )
        for name, data, at in rows
    ]


def counts(status: str | None) -> bool:
    """Whether an order with ``status`` counts, by the analytics' rule
    (:mod:`retain.analytics.orders`): its label lower case, trimmed, ``-``/``_`` as spaces."""
    label = (status or "").lower().replace("-", " ").replace("_", " ").strip()
    return label not in EXCLUDED_STATUSES


@dataclass(frozen=True)
class OrderFacts:
    """What a customer's orders say, in the terms a reading uses: the counted orders
    (:func:`counts`) by UTC day, and the ones left out."""

    orders: int
    left_out: int
    #: The distinct UTC days with a counted order, oldest first.
    days: tuple[dt.date, ...]
    counted_value: Decimal
    zero_value: int

    @property
    def counted(self) -> int:
        return self.orders - self.left_out

    @property
    def typical_gap_days(self) -> float | None:
        """Mean days between order days (the models' rhythm); ``None`` for one day."""
        if len(self.days) < 2:
            return None
        return (self.days[-1] - self.days[0]).days / (len(self.days) - 1)


def order_facts(customer: Customer) -> OrderFacts:
    """The facts of every order of the customer, summed in the database whatever their
    number: two queries (the orders per status, the counted orders' distinct days)."""
    per_status = (
        Order.objects.filter(customer=customer)
        .values("status")
        .annotate(n=Count("pk"), value=Sum("amount"), free=Count("pk", filter=Q(amount=0)))
        .order_by()
    )
    orders = left_out = zero = 0
    value = Decimal(0)
    counted_statuses = []
    for row in per_status:
        orders += row["n"]
        if not counts(row["status"]):
            left_out += row["n"]
            continue
        counted_statuses.append(row["status"])
        value += row["value"] or 0
        zero += row["free"]
    # The date of a stored time is its UTC day on both engines (SQLite keeps UTC text,
    # PostgreSQL's connections run in UTC), computed natively: no datetime per order here.
    days = (
        Order.objects.filter(customer=customer, status__in=counted_statuses)
        .annotate(day=Cast("ordered_at", DateField()))
        .values_list("day", flat=True)
        .distinct()
        .order_by("day")
        if counted_statuses
        else []
    )
    return OrderFacts(
        orders=orders, left_out=left_out, days=tuple(days), counted_value=value,
        zero_value=zero,
    )  # fmt: skip


def scoring_run() -> RescoringRun | None:
    """The last rescoring that succeeded: the one whose scores the store holds."""
    return RescoringRun.objects.filter(succeeded=True).order_by("-id").first()


def set_aside_reason(customer: Customer, run: RescoringRun | None) -> str | None:
    """Why the last rescoring set this customer aside (``None``: it did not, or it is not
    among the customers the run lists)."""
    for skipped in (run.skipped if run else None) or []:
        if skipped.get("customer") == customer.external_id:
            return str(skipped.get("reason") or "")
    return None
