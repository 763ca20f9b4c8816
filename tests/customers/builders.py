"""Typed builders for the customers tables: each makes one row with sensible defaults; pass
only what the test is about. A builder that needs a customer makes one unless given."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any

import pandas as pd

from retain.customers.models import (
    Complaint,
    Consent,
    Customer,
    CustomerTag,
    Event,
    Identity,
    Order,
    Score,
    Subscription,
    SurveyAnswer,
)
from retain.datasets import make_business

_numbers = itertools.count(1)
#: The moment the rows are made at unless a test says otherwise.
MOMENT = dt.datetime(2024, 3, 1, 12, tzinfo=dt.UTC)


def make_customer(**overrides: Any) -> Customer:
    number = next(_numbers)
    fields: dict[str, Any] = {
        "external_id": f"cust-{number:05d}",
        "email": f"c{number}@example.com",
        "name": f"Customer {number}",
        "signed_up_at": MOMENT - dt.timedelta(days=400),
        "acquisition_channel": "search",
    }
    return Customer.objects.create(**{**fields, **overrides})


def make_order(customer: Customer | None = None, **overrides: Any) -> Order:
    fields: dict[str, Any] = {
        "external_id": f"order-{next(_numbers):06d}",
        "ordered_at": MOMENT,
        "amount": Decimal("19.90"),
        "currency": "EUR",
        "status": "completed",
    }
    return Order.objects.create(customer=customer or make_customer(), **{**fields, **overrides})


def make_score(customer: Customer | None = None, **overrides: Any) -> Score:
    fields: dict[str, Any] = {
        "p_alive": 0.8, "expected_purchases_30d": 0.2, "expected_purchases_90d": 0.5,
        "expected_purchases_365d": 1.7, "clv_12m": 120.5, "churn_risk": "low",
        "next_order_date": dt.date(2024, 4, 2), "value_decile": 9, "rfm_segment": "champions",
        "rfm_score": "545", "lifecycle_stage": "active", "model": "bg_nbd", "scored_at": MOMENT,
    }  # fmt: skip
    return Score.objects.create(customer=customer or make_customer(), **{**fields, **overrides})


def make_identity(customer: Customer | None = None, **overrides: Any) -> Identity:
    fields: dict[str, Any] = {"kind": "anonymous_id", "value": f"anon-{next(_numbers)}"}
    return Identity.objects.create(customer=customer or make_customer(), **{**fields, **overrides})


def make_consent(customer: Customer | None = None, **overrides: Any) -> Consent:
    fields: dict[str, Any] = {
        "channel": "email", "granted": True, "source": "checkout", "updated_at": MOMENT,
    }  # fmt: skip
    return Consent.objects.create(customer=customer or make_customer(), **{**fields, **overrides})


def make_subscription(customer: Customer | None = None, **overrides: Any) -> Subscription:
    fields: dict[str, Any] = {
        "plan": "monthly", "started_at": MOMENT - dt.timedelta(days=90), "mrr": Decimal("9.00"),
    }  # fmt: skip
    return Subscription.objects.create(
        customer=customer or make_customer(), **{**fields, **overrides}
    )


def make_complaint(customer: Customer | None = None, **overrides: Any) -> Complaint:
    fields: dict[str, Any] = {
        "external_id": f"complaint-{next(_numbers)}", "opened_at": MOMENT,
        "category": "delivery", "severity": 2,
    }  # fmt: skip
    return Complaint.objects.create(customer=customer or make_customer(), **{**fields, **overrides})


def make_survey_answer(customer: Customer | None = None, **overrides: Any) -> SurveyAnswer:
    fields: dict[str, Any] = {"survey": "nps", "answered_at": MOMENT, "score": 9}
    return SurveyAnswer.objects.create(
        customer=customer or make_customer(), **{**fields, **overrides}
    )


def make_tag(customer: Customer | None = None, **overrides: Any) -> CustomerTag:
    fields: dict[str, Any] = {"name": f"tag-{next(_numbers)}", "created_at": MOMENT}
    return CustomerTag.objects.create(
        customer=customer or make_customer(), **{**fields, **overrides}
    )


def make_event(customer: Customer | None, **overrides: Any) -> Event:
    """An event; ``None`` for an anonymous visitor's."""
    fields: dict[str, Any] = {
        "kind": "track", "name": "Product Viewed", "occurred_at": MOMENT,
        "message_id": f"msg-{next(_numbers)}",
    }  # fmt: skip
    return Event.objects.create(customer=customer, **{**fields, **overrides})


def load_business(n_customers: int, *, seed: int) -> pd.DataFrame:
    """A synthetic shop's customers and orders (2023-2024) in the store; returns its orders
    with ``customer_id`` replaced by the store's customer key (as the rescoring reads them)."""
    business = make_business(n_customers, seed=seed)
    prefix = f"biz{seed}-{next(_numbers)}-"
    customers = Customer.objects.bulk_create(
        Customer(external_id=f"{prefix}{shop_id}") for shop_id in business.customers.customer_id
    )
    if customers[0].pk is None:  # backends that do not return keys from bulk inserts
        customers = list(Customer.objects.filter(external_id__startswith=prefix).order_by("id"))
    keys = dict(zip(business.customers.customer_id, (c.pk for c in customers), strict=True))
    orders = business.orders.assign(customer_id=business.orders.customer_id.map(keys))
    Order.objects.bulk_create(
        Order(
            customer_id=row.customer_id,
            external_id=f"{prefix}{row.order_id}",
            ordered_at=row.ordered_at.to_pydatetime().replace(tzinfo=dt.UTC),
            amount=Decimal(f"{row.amount:.2f}"),
            status=row.status,
        )
        for row in orders.itertuples()
    )
    return orders
