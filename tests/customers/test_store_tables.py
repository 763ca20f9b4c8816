"""The store's orders and customers read in bulk as Arrow: every row, typed, times in UTC."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow as pa
import pytest

from retain.customers.models import Order
from retain.customers.store_tables import (
    CUSTOMER_SCHEMA,
    ORDER_SCHEMA,
    read_customers_table,
    read_orders_table,
)
from tests.customers.builders import make_customer, make_order


@pytest.mark.django_db
def test_orders_come_back_typed_with_every_status() -> None:
    ann = make_customer()
    bob = make_customer()
    paris = dt.timezone(dt.timedelta(hours=2))
    first = make_order(
        ann,
        ordered_at=dt.datetime(2024, 3, 1, 10, 30, 15, 250000, tzinfo=dt.UTC),
        amount=Decimal("25.00"),
    )
    second = make_order(
        ann, ordered_at=dt.datetime(2024, 3, 2, 1, tzinfo=paris), amount=Decimal("0.10")
    )
    third = make_order(bob, status="refunded", amount=Decimal("1234567.89"))

    table = read_orders_table()

    assert table.schema == ORDER_SCHEMA
    rows = {row["order_id"]: row for row in table.to_pylist()}
    assert rows[first.pk] == {
        "customer_id": ann.pk,
        "order_id": first.pk,
        "ordered_at": dt.datetime(2024, 3, 1, 10, 30, 15, 250000),
        "amount": 25.0,
        "status": "completed",
    }
    assert rows[second.pk]["ordered_at"] == dt.datetime(2024, 3, 1, 23)  # in UTC
    assert rows[second.pk]["amount"] == 0.10
    assert (rows[third.pk]["status"], rows[third.pk]["amount"]) == ("refunded", 1234567.89)


@pytest.mark.django_db
def test_orders_before_a_moment() -> None:
    customer = make_customer()
    make_order(customer, ordered_at=dt.datetime(2024, 5, 31, 23, 59, tzinfo=dt.UTC))
    make_order(customer, ordered_at=dt.datetime(2024, 6, 1, tzinfo=dt.UTC))
    table = read_orders_table(before=dt.datetime(2024, 6, 1, tzinfo=dt.UTC))
    assert table.column("ordered_at").to_pylist() == [dt.datetime(2024, 5, 31, 23, 59)]


@pytest.mark.django_db
def test_an_empty_store_gives_empty_tables() -> None:
    assert read_orders_table() == ORDER_SCHEMA.empty_table()
    assert read_customers_table() == CUSTOMER_SCHEMA.empty_table()


@pytest.mark.django_db
def test_customers_come_back_with_signup_and_channel() -> None:
    signed = make_customer(
        signed_up_at=dt.datetime(2023, 1, 2, 3, 4, 5, tzinfo=dt.UTC), acquisition_channel="ads"
    )
    unknown = make_customer(
        external_id='odd, "quoted"\nid', signed_up_at=None, acquisition_channel=""
    )
    table = read_customers_table()
    assert table.schema == CUSTOMER_SCHEMA
    rows = {row["customer_id"]: row for row in table.to_pylist()}
    assert rows[signed.pk]["signed_up_at"] == dt.datetime(2023, 1, 2, 3, 4, 5)
    assert rows[signed.pk]["acquisition_channel"] == "ads"
    assert rows[unknown.pk] == {
        "customer_id": unknown.pk,
        "external_id": 'odd, "quoted"\nid',
        "signed_up_at": None,
        "acquisition_channel": "",
    }


@pytest.mark.django_db
def test_many_orders_arrive_whole() -> None:
    customer = make_customer()
    Order.objects.bulk_create(
        Order(
            customer=customer,
            external_id=f"bulk-{i}",
            ordered_at=dt.datetime(2024, 1, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=i),
            amount=Decimal(i % 1000) / 100,
        )
        for i in range(30_000)
    )
    table = read_orders_table()
    assert table.num_rows == 30_000
    assert pa.compute.sum(table.column("amount")).as_py() == pytest.approx(
        sum((i % 1000) / 100 for i in range(30_000))
    )
