"""Customer ids as shops write them reach the API: a ``/`` in an id is sent URL-encoded."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.accounts.builders import make_api_key
from tests.customers.builders import make_customer, make_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def reader() -> Client:
    _, plain = make_api_key("read")
    return Client(headers={"Authorization": f"Bearer {plain}"})


@pytest.mark.parametrize("external_id", ["a/b", "shop/eu/007", "/leading", "trailing/"])
def test_an_id_with_a_slash_is_fetched_url_encoded(reader: Client, external_id: str) -> None:
    customer = make_customer(external_id=external_id)
    make_order(customer=customer, external_id="A/1")
    make_customer(external_id="a")  # what a path cut at the slash would find

    response = reader.get(f"/api/v1/customers/{external_id.replace('/', '%2F')}")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["customer_id"] == external_id
    assert [order["order_id"] for order in body["orders"]] == ["A/1"]
