"""Typed builders for the rescoring tests: customers and orders in the store.

(``tests/customers/builders.py`` belongs to the customers API work; these stay small and
cover what rescoring needs.)
"""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any

import pandas as pd

from retain.customers.models import Customer, Order
from retain.datasets import make_business

_numbers = itertools.count(1)


def make_customer(**overrides: Any) -> Customer:
    number = next(_numbers)
    fields: dict[str, Any] = {"external_id": f"rescoring-customer-{number}"}
    return Customer.objects.create(**{**fields, **overrides})


def make_order(customer: Customer, **overrides: Any) -> Order:
    number = next(_numbers)
    fields: dict[str, Any] = {
        "external_id": f"rescoring-order-{number}",
        "ordered_at": dt.datetime(2024, 6, 1, 12, tzinfo=dt.UTC),
        "amount": Decimal("25.00"),
        "status": "completed",
    }
    return Order.objects.create(customer=customer, **{**fields, **overrides})


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
