"""Builders for the journeys' page tests: a journey with every kind of flow a page draws, and
a shop whose customers went through it by the real runner (enrolments, held-out and queued
messages, conversions)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import yaml

from retain.customers.models import Customer
from retain.customers.services import record_order
from retain.journeys.tasks import run_once
from tests.customers.builders import make_customer, make_event
from tests.journeys.builders import journey_data

#: The journey's emails: a first name and the order in the subject and body, styles inlined
#: as a real email's are (the preview must show them).
THANKS_EMAIL = {
    "en": {
        "subject": "Thanks {{ customer.first_name }}",
        "html": '<p style="color: #0a3069; font-size: 18px">Thank you for order '
        "{{ order.id }}, {{ customer.first_name }}!</p>",
    },
    "th": {"subject": "ขอบคุณ {{ customer.first_name }}", "html": "<p>{{ order.id }}</p>"},
}
STEPS: list[dict[str, Any]] = [
    {"id": "thank", "email": THANKS_EMAIL},
    {"id": "pause", "wait": {"days": 3}},
    {"id": "check", "branch": {"if": {"field": "churn_risk", "eq": "high"}, "then": "rescue"}},
    {"id": "follow-up", "email": {"subject": "How is it going?", "html": "<p>Tell us.</p>"}},
    {"id": "done", "exit": {}},
    {"id": "rescue", "set": {"tags": ["at-risk-after-order"]}},
]


def thanks_data(key: str = "thanks", **overrides: Any) -> dict[str, Any]:
    """A first order enters; a thank-you email, three days' wait, a branch on churn risk, a
    follow-up or a tag; the goal a review within 14 days; half held out.

    (The goal is not a second order: the report counts the order that entered the customer
    as a conversion, since the enrolment's entry moment is that order's.)"""
    fields: dict[str, Any] = {
        "name": "Thank you for the first order",
        "description": "Thanks a new customer, then checks on them three days later.",
        "trigger": {"event": "Order Completed", "first_order": True},
        "goal": {"event": "Review Written", "within_days": 14},
        "holdout": 0.5,
        "topic": "orders",
        "steps": STEPS,
    }
    fields.update(overrides)
    return journey_data(key, **fields)


def thanks_text(key: str = "thanks", **overrides: Any) -> str:
    return yaml.safe_dump(thanks_data(key, **overrides), sort_keys=False, allow_unicode=True)


def order(customer: Customer, order_id: str, at: dt.datetime, amount: str = "40") -> None:
    record_order(customer=customer, order_id=order_id, ordered_at=at, amount=Decimal(amount),
                 currency="USD")  # fmt: skip


def run(now: dt.datetime, passes: int = 3) -> None:
    for _ in range(passes):
        run_once(now=now)


def customers_through(now: dt.datetime, count: int = 20, *, prefix: str = "t") -> list[Customer]:
    """``count`` customers whose first order (an hour before ``now``, when the runner takes
    it) enters the journeys applied before; every third orders again the next day (a
    conversion). The runner takes them in: the
    treatment gets the thank-you email queued, the holdout's is recorded held out, and all
    wait at the three days' wait."""
    customers = [
        make_customer(external_id=f"{prefix}-{number:02d}", name=f"Shopper {number:02d}")
        for number in range(count)
    ]
    for number, customer in enumerate(customers):
        order(customer, f"{prefix}-first-{number}", now - dt.timedelta(hours=1))
    run(now)
    for number, customer in enumerate(customers):
        if number % 3 == 0:
            make_event(customer, name="Review Written", occurred_at=now + dt.timedelta(days=1))
            order(customer, f"{prefix}-again-{number}", now + dt.timedelta(days=1), "60")
    return customers
