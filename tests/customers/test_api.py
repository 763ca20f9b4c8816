"""``/api/v1/customers``: the 360 view and the search over HTTP, with an API key."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.test import Client

from tests.accounts.builders import make_api_key
from tests.customers.builders import (
    MOMENT,
    make_complaint,
    make_consent,
    make_customer,
    make_event,
    make_identity,
    make_order,
    make_score,
    make_subscription,
    make_survey_answer,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def reader() -> Client:
    _, plain = make_api_key("read")
    return Client(headers={"Authorization": f"Bearer {plain}"})


def test_the_360_shows_everything_known_of_a_customer(reader: Client) -> None:
    customer = make_customer(
        external_id="shop-42", email="ada@example.com", name="Ada", birthday=date(1990, 5, 17),
        traits={"plan": "gold"},
    )  # fmt: skip
    make_identity(customer, kind="anonymous_id", value="device-1")
    make_consent(customer, channel="email", granted=True)
    make_consent(customer, channel="sms", granted=False, source="")
    make_order(customer, external_id="o-1", ordered_at=MOMENT - timedelta(days=9),
               amount=Decimal("120.05"), currency="EUR")  # fmt: skip
    make_order(customer, external_id="o-2", ordered_at=MOMENT, amount=Decimal("7.5"),
               status="refunded")  # fmt: skip
    make_subscription(customer, plan="yearly", mrr=Decimal("12.50"))
    make_score(customer, lifecycle_stage="returning", churn_risk="medium", clv_12m=310.25)
    make_complaint(customer, external_id="c-1", category="delivery")
    make_survey_answer(customer, survey="nps", score=3, comment="slow")
    make_event(customer, name="Checkout Started", properties={"cart": 2})

    response = reader.get("/api/v1/customers/shop-42")

    assert response.status_code == 200
    body = response.json()
    assert body["customer_id"] == "shop-42"
    assert body["profile"] == {
        "email": "ada@example.com", "name": "Ada", "signed_up_at": "2023-01-26T12:00:00Z",
        "acquisition_channel": "search", "birthday": "1990-05-17", "segment": None,
        "traits": {"plan": "gold"},
    }  # fmt: skip
    assert body["identities"][0] | {"created_at": None} == {
        "kind": "anonymous_id", "value": "device-1", "created_at": None,
    }  # fmt: skip
    assert body["consent"]["email"]["granted"] is True
    assert body["consent"]["sms"] == {"granted": False, "source": None,
                                      "updated_at": "2024-03-01T12:00:00Z"}  # fmt: skip
    assert body["consent"]["push"] is None and body["consent"]["phone"] is None
    assert [(o["order_id"], o["amount"], o["currency"], o["status"]) for o in body["orders"]] == [
        ("o-2", "7.50", "EUR", "refunded"), ("o-1", "120.05", "EUR", "completed"),
    ]  # fmt: skip
    assert body["subscriptions"] == [{"plan": "yearly", "started_at": "2023-12-02T12:00:00Z",
                                      "ended_at": None, "mrr": "12.50"}]  # fmt: skip
    assert body["scores"]["churn_risk"] == "medium" and body["scores"]["clv_12m"] == 310.25
    assert body["scores"]["next_order_date"] == "2024-04-02"
    assert body["stage"] == "returning"
    assert body["complaints"][0]["complaint_id"] == "c-1"
    assert body["survey_answers"][0] | {"answered_at": None} == {
        "survey": "nps", "answered_at": None, "score": 3, "comment": "slow",
    }  # fmt: skip
    assert body["recent_events"] == [{"kind": "track", "name": "Checkout Started",
                                      "properties": {"cart": 2},
                                      "occurred_at": "2024-03-01T12:00:00Z"}]  # fmt: skip


def test_a_customer_never_scored_has_null_scores_and_empty_lists(reader: Client) -> None:
    customer = make_customer(email="", name="")
    body = reader.get(f"/api/v1/customers/{customer.external_id}").json()
    assert body["scores"] is None and body["stage"] is None
    assert body["profile"]["email"] is None and body["profile"]["name"] is None
    assert body["orders"] == body["identities"] == body["recent_events"] == []
    assert body["orders_page"] == {"page": 1, "page_size": 25, "total": 0, "pages": 0,
                                   "next_page": None, "previous_page": None}  # fmt: skip


def test_an_id_with_url_characters_is_found(reader: Client) -> None:
    make_customer(external_id="ada@example.com+1 x")
    response = reader.get("/api/v1/customers/ada%40example.com%2B1%20x")
    assert response.status_code == 200
    assert response.json()["customer_id"] == "ada@example.com+1 x"


def test_an_unknown_customer_is_a_404_problem(reader: Client) -> None:
    response = reader.get("/api/v1/customers/ghost")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json() | {"detail": None} == {
        "type": "urn:retain:error:not_found", "title": "Not found", "status": 404,
        "code": "not_found", "detail": None, "customer_id": "ghost",
    }  # fmt: skip


@pytest.mark.parametrize("orders", [1, 60])
def test_the_360_costs_a_fixed_number_of_queries(
    reader: Client, orders: int, django_assert_max_num_queries
) -> None:
    customer = make_customer()
    make_score(customer)
    for number in range(orders):
        make_order(customer, ordered_at=MOMENT - timedelta(days=number))
        make_event(customer, occurred_at=MOMENT - timedelta(hours=number))
    reader.get("/api/v1/customers/warm-up")  # the key's first use is recorded (one write)
    # the key, the customer and score, 6 prefetches, the page of orders and their count
    with django_assert_max_num_queries(10):
        response = reader.get(f"/api/v1/customers/{customer.external_id}")
    assert len(response.json()["orders"]) == min(orders, 25)
    assert response.json()["orders_page"]["total"] == orders
    assert len(response.json()["recent_events"]) == min(orders, 20)


def test_the_search_pages_through_matches(reader: Client) -> None:
    for number in range(5):
        make_customer(external_id=f"vip-{number}", name=f"Very Important {number}")
    make_customer(external_id="other", name="Nobody")

    first = reader.get("/api/v1/customers", {"q": "VIP", "page_size": 2}).json()
    last = reader.get("/api/v1/customers", {"q": "vip", "page": 3, "page_size": 2}).json()

    assert [item["customer_id"] for item in first["items"]] == ["vip-0", "vip-1"]
    assert {k: first[k] for k in ("total", "page", "page_size", "pages", "next_page",
                                  "previous_page")} == {
        "total": 5, "page": 1, "page_size": 2, "pages": 3, "next_page": 2, "previous_page": None,
    }  # fmt: skip
    assert [item["customer_id"] for item in last["items"]] == ["vip-4"]
    assert (last["next_page"], last["previous_page"]) == (None, 2)


def test_a_search_hit_carries_its_scores(reader: Client) -> None:
    scored = make_customer(external_id="s-1", acquisition_channel="referral")
    make_score(scored, churn_risk="high", lifecycle_stage="at risk", rfm_segment="at_risk")
    make_customer(external_id="s-2", acquisition_channel="referral")

    body = reader.get("/api/v1/customers", {"churn_risk": "high"}).json()
    assert body["total"] == 1
    assert body["items"][0] | {"email": None, "name": None, "signed_up_at": None} == {
        "customer_id": "s-1", "email": None, "name": None, "signed_up_at": None,
        "acquisition_channel": "referral", "segment": None, "lifecycle_stage": "at risk",
        "churn_risk": "high", "rfm_segment": "at_risk", "clv_12m": 120.5, "p_alive": 0.8,
    }  # fmt: skip
    both = reader.get("/api/v1/customers", {"acquisition_channel": "referral"}).json()
    assert [item["churn_risk"] for item in both["items"]] == ["high", None]
    staged = reader.get("/api/v1/customers", {"lifecycle_stage": "at risk", "rfm_segment":
                                              "at_risk"}).json()  # fmt: skip
    assert staged["total"] == 1


@pytest.mark.parametrize(
    ("params", "field"),
    [({"page_size": 201}, "page_size"), ({"page_size": 0}, "page_size"), ({"page": 0}, "page"),
     ({"page": "two"}, "page"), ({"churn_risk": "extreme"}, "churn_risk")],
)  # fmt: skip
def test_bad_query_parameters_are_a_422_problem(reader: Client, params: dict, field: str) -> None:
    response = reader.get("/api/v1/customers", params)
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "validation_error"
    assert [error["loc"] for error in body["errors"]] == [["query", field]]
