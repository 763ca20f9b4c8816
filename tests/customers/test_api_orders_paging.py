"""``GET /api/v1/customers/{id}?orders_page=N``: the 360's orders 25 a page, newest first; a
page past the last is empty with the totals; anything but a page number is a 400 problem."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client

from retain.customers.profile import MAX_PAGE
from tests.accounts.builders import make_api_key
from tests.customers.builders import MOMENT, make_customer, make_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def reader() -> Client:
    _, plain = make_api_key("read")
    return Client(headers={"Authorization": f"Bearer {plain}"})


@pytest.fixture
def shopper() -> str:
    customer = make_customer(external_id="eu/shop/ลูกค้า-7")
    for day in range(60):
        make_order(customer, external_id=f"o-{day:02d}", ordered_at=MOMENT + timedelta(days=day))
    return "eu%2Fshop%2F%E0%B8%A5%E0%B8%B9%E0%B8%81%E0%B8%84%E0%B9%89%E0%B8%B2-7"


def _order_ids(body: dict) -> list[str]:
    return [order["order_id"] for order in body["orders"]]


def test_the_orders_come_25_a_page_newest_first(reader: Client, shopper: str) -> None:
    first = reader.get(f"/api/v1/customers/{shopper}").json()
    assert first["customer_id"] == "eu/shop/ลูกค้า-7"
    assert _order_ids(first) == [f"o-{day:02d}" for day in range(59, 34, -1)]
    assert first["orders_page"] == {"page": 1, "page_size": 25, "total": 60, "pages": 3,
                                    "next_page": 2, "previous_page": None}  # fmt: skip
    third = reader.get(f"/api/v1/customers/{shopper}", {"orders_page": 3}).json()
    assert _order_ids(third) == [f"o-{day:02d}" for day in range(9, -1, -1)]
    assert (third["orders_page"]["next_page"], third["orders_page"]["previous_page"]) == (None, 2)


def test_a_page_past_the_last_is_empty_with_the_totals(reader: Client, shopper: str) -> None:
    for page in (4, MAX_PAGE):
        body = reader.get(f"/api/v1/customers/{shopper}", {"orders_page": page}).json()
        assert body["orders"] == []
        assert body["orders_page"] | {"page": None} == {"page": None, "page_size": 25,
            "total": 60, "pages": 3, "next_page": None, "previous_page": 3}  # fmt: skip


@pytest.mark.parametrize("page", ["0", "-1", "two", "1.5", "", str(MAX_PAGE + 1), "9" * 30])
def test_a_bad_page_number_is_a_400_problem_naming_it(
    reader: Client, shopper: str, page: str
) -> None:
    response = reader.get(f"/api/v1/customers/{shopper}?orders_page={page}")
    if page == "":  # an empty parameter is no parameter: the first page
        assert response.status_code == 200
        return
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["field"] == "orders_page" and body["status"] == 400
    assert body["detail"] == (
        f"orders_page must be a whole number from 1 to {MAX_PAGE:,}; got {page[:40]!r}"
    )


def test_the_openapi_document_describes_orders_page(reader: Client) -> None:
    schema = reader.get("/api/v1/openapi.json").json()
    operation = schema["paths"]["/api/v1/customers/{customer_id}"]["get"]
    parameter = next(p for p in operation["parameters"] if p["name"] == "orders_page")
    assert parameter["in"] == "query" and parameter["required"] is False
    assert parameter["schema"] | {"title": None} == {"type": "integer", "minimum": 1,
        "maximum": MAX_PAGE, "default": 1, "title": None}  # fmt: skip
    assert "25 a page" in parameter["description"]
    assert "400" in parameter["description"]
    body = schema["components"]["schemas"]["Customer360Out"]["properties"]
    assert "orders_page" in body
