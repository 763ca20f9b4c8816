"""Typed builders for the customers tables: each makes one row with sensible defaults; pass
only what the test is about. A builder that needs a customer makes one unless given."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from retain.customers.models import Complaint, Customer, Order, Subscription, SurveyAnswer

_counter = iter(range(1, 10**9))
_DAY = dt.datetime(2024, 1, 1, 12, tzinfo=dt.UTC)


def _next() -> int:
    return next(_counter)


def make_customer(**overrides: Any) -> Customer:
    number = _next()
    values: dict[str, Any] = {
        "external_id": f"c{number}",
        "email": f"customer{number}@example.com",
        "signed_up_at": _DAY,
    }
    return Customer.objects.create(**{**values, **overrides})


def make_order(*, customer: Customer | None = None, **overrides: Any) -> Order:
    values: dict[str, Any] = {
        "external_id": f"o{_next()}",
        "ordered_at": _DAY,
        "amount": Decimal("25.00"),
        "currency": "EUR",
        "channel": "web",
    }
    return Order.objects.create(customer=customer or make_customer(), **{**values, **overrides})


def make_subscription(*, customer: Customer | None = None, **overrides: Any) -> Subscription:
    values: dict[str, Any] = {"plan": "basic", "started_at": _DAY, "mrr": Decimal("9.00")}
    return Subscription.objects.create(
        customer=customer or make_customer(), **{**values, **overrides}
    )


def make_complaint(*, customer: Customer | None = None, **overrides: Any) -> Complaint:
    values: dict[str, Any] = {
        "external_id": f"k{_next()}",
        "opened_at": _DAY,
        "category": "delivery",
    }
    return Complaint.objects.create(customer=customer or make_customer(), **{**values, **overrides})


def make_survey_answer(*, customer: Customer | None = None, **overrides: Any) -> SurveyAnswer:
    values: dict[str, Any] = {"survey": "nps", "answered_at": _DAY, "score": 9}
    return SurveyAnswer.objects.create(
        customer=customer or make_customer(), **{**values, **overrides}
    )
