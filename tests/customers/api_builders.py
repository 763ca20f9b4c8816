"""Small typed builders for the API tests (the store's customers, their orders and scores)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from retain.customers.models import (
    Complaint,
    Consent,
    Customer,
    Event,
    Identity,
    Order,
    Score,
    Subscription,
    SurveyAnswer,
)

_counter = iter(range(1, 10**9))
MOMENT = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def make_customer(**overrides: Any) -> Customer:
    number = next(_counter)
    fields = {"external_id": f"cust-{number:05d}", "email": f"c{number}@example.com",
              "name": f"Customer {number}", "signed_up_at": MOMENT - timedelta(days=400),
              "acquisition_channel": "search", **overrides}  # fmt: skip
    return Customer.objects.create(**fields)


def make_order(customer: Customer, **overrides: Any) -> Order:
    number = next(_counter)
    fields = {"external_id": f"order-{number:06d}", "ordered_at": MOMENT,
              "amount": Decimal("19.90"), "currency": "EUR", **overrides}  # fmt: skip
    return Order.objects.create(customer=customer, **fields)


def make_score(customer: Customer, **overrides: Any) -> Score:
    fields = {"p_alive": 0.8, "expected_purchases_30d": 0.2, "expected_purchases_90d": 0.5,
              "expected_purchases_365d": 1.7, "clv_12m": 120.5, "churn_risk": "low",
              "next_order_date": date(2024, 4, 2), "value_decile": 9,
              "rfm_segment": "champions", "rfm_score": "545", "lifecycle_stage": "active",
              "model": "bg_nbd", "scored_at": MOMENT, **overrides}  # fmt: skip
    return Score.objects.create(customer=customer, **fields)


def make_identity(customer: Customer, **overrides: Any) -> Identity:
    fields = {"kind": "anonymous_id", "value": f"anon-{next(_counter)}", **overrides}
    return Identity.objects.create(customer=customer, **fields)


def make_consent(customer: Customer, **overrides: Any) -> Consent:
    fields = {"channel": "email", "granted": True, "source": "checkout",
              "updated_at": MOMENT, **overrides}  # fmt: skip
    return Consent.objects.create(customer=customer, **fields)


def make_subscription(customer: Customer, **overrides: Any) -> Subscription:
    fields = {"plan": "monthly", "started_at": MOMENT - timedelta(days=90),
              "mrr": Decimal("9.00"), **overrides}  # fmt: skip
    return Subscription.objects.create(customer=customer, **fields)


def make_complaint(customer: Customer, **overrides: Any) -> Complaint:
    fields = {"external_id": f"complaint-{next(_counter)}", "opened_at": MOMENT,
              "category": "delivery", "severity": 2, **overrides}  # fmt: skip
    return Complaint.objects.create(customer=customer, **fields)


def make_survey_answer(customer: Customer, **overrides: Any) -> SurveyAnswer:
    fields = {"survey": "nps", "answered_at": MOMENT, "score": 9, **overrides}
    return SurveyAnswer.objects.create(customer=customer, **fields)


def make_event(customer: Customer | None, **overrides: Any) -> Event:
    number = next(_counter)
    fields = {"kind": "track", "name": "Product Viewed", "occurred_at": MOMENT,
              "message_id": f"msg-{number}", **overrides}  # fmt: skip
    return Event.objects.create(customer=customer, **fields)
