"""The customer 360 page ``/customers/<the shop's id>/``: everything on one page, orders and
activity a page at a time (htmx swaps the list), words for what is missing, and refusals that
say what went wrong."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.utils import translation

from retain.customers.models import Customer, DomainEvent
from tests.console.builders import make_user, signed_in
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
SHOP_ID = "eu/shop/ลูกค้า 7"
URL = "/customers/eu/shop/%E0%B8%A5%E0%B8%B9%E0%B8%81%E0%B8%84%E0%B9%89%E0%B8%B2%207/"


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def _text(html: str) -> str:
    """The page's text as a reader sees it: tags dropped, spaces folded."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _orders(customer, count: int) -> None:
    for day in range(count):
        make_order(customer, external_id=f"o-{day:02d}", ordered_at=MOMENT + dt.timedelta(days=day))


def test_the_360_shows_who_they_are_their_scores_and_their_history() -> None:
    customer = make_customer(external_id=SHOP_ID, name="Ada Lovelace", email="ada@example.com",
                             traits={"plan": "gold", "pets": 2})  # fmt: skip
    make_identity(customer, kind="anonymous_id", value="device-1")
    make_consent(customer, channel="email", granted=True, source="checkout")
    make_consent(customer, channel="sms", granted=False, source="preference centre")
    make_order(customer, ordered_at=MOMENT - dt.timedelta(days=60))
    make_order(customer, ordered_at=MOMENT, status="refunded")
    make_score(customer, p_alive=0.23, churn_risk="high", rfm_segment="at risk",
               lifecycle_stage="dormant")  # fmt: skip
    DomainEvent.objects.create(name="lifecycle.changed", customer=customer, occurred_at=MOMENT,
                               data={"from": "active", "to": "dormant"})  # fmt: skip
    DomainEvent.objects.create(name="segment.changed", customer=customer, occurred_at=MOMENT,
                               data={"from": "loyal customers", "to": "at risk"})  # fmt: skip
    make_complaint(customer, category="delivery", description="Parcel never came")
    make_survey_answer(customer, survey="nps", score=3, comment="slow delivery")
    make_subscription(customer, plan="yearly", mrr=Decimal("12.50"))
    make_event(customer, name="Checkout Started")

    response = signed_in(make_user("agent")).get(URL)

    assert response.status_code == 200
    text = _text(response.content.decode())
    assert "Ada Lovelace" in text and SHOP_ID in text and "ada@example.com" in text
    assert "Anonymous Id device-1" in text
    assert "Email yes checkout, March 1, 2024" in text
    assert "SMS no preference centre, March 1, 2024" in text
    assert "Push notifications never asked" in text and "Phone never asked" in text
    assert "plan gold" in text and "pets 2" in text
    assert "P(alive) 23% Likely lapsed" in text
    assert "(1 refunded or cancelled order not counted)" in text
    assert "RFM segment at risk used to order several times, silent for long" in text
    assert "Lifecycle stage: active → dormant" in text
    assert "RFM segment: loyal customers → at risk" in text
    assert "Parcel never came" in text and "open" in text
    assert "slow delivery" in text and "yearly" in text and "running" in text
    assert "Checkout Started" in text


def test_a_customer_with_nothing_yet_gets_words_not_blanks() -> None:
    make_customer(external_id="fresh", name="", email="", traits={})
    text = _text(signed_in().get("/customers/fresh/").content.decode())
    assert "No order yet: the scores come with the first paid order." in text
    assert "no email given" in text and "Known only by the shop's id." in text
    assert "The shop has sent no traits for this customer." in text
    assert "No stage yet: the history starts with the first scoring." in text
    for empty in ("No order yet.", "No activity tracked", "No complaint from this customer.",
                  "This customer has not answered a survey.", "No subscription."):  # fmt: skip
        assert empty in text


def test_the_orders_come_25_a_page_newest_first_and_htmx_gets_only_the_list() -> None:
    _orders(make_customer(external_id=SHOP_ID), 60)
    client = signed_in()
    first = client.get(URL).content.decode()
    assert re.findall(r"<code>(o-\d\d)</code>", first) == [f"o-{d:02d}" for d in range(59, 34, -1)]
    assert "Page 1 of 3 (60 orders)" in _text(first)
    assert 'hx-get="?orders_page=2" hx-target="#orders"' in first

    partial = client.get(URL, {"orders_page": "3"}, headers={"HX-Request": "true",
                                                              "HX-Target": "orders"})  # fmt: skip
    body = partial.content.decode()
    assert partial.status_code == 200 and "<html" not in body
    assert body.lstrip().startswith('<section aria-labelledby="orders-title" id="orders">')
    assert re.findall(r"<code>(o-\d\d)</code>", body) == [f"o-{d:02d}" for d in range(9, -1, -1)]
    assert "Older orders" not in body and "Newer orders" in body

    whole = client.get(URL, {"orders_page": "2"}).content.decode()  # without htmx: the page
    assert "<html" in whole and "Page 2 of 3 (60 orders)" in _text(whole)
    past = _text(client.get(URL, {"orders_page": "9"}).content.decode())
    assert "No orders on this page: the last page is 3." in past


@pytest.mark.parametrize("name", ["orders_page", "events_page"])
@pytest.mark.parametrize("page", ["0", "two", "-3", "10000000"])
def test_a_bad_page_number_is_a_400_that_names_it(name: str, page: str) -> None:
    make_customer(external_id="c-1")
    response = signed_in().get("/customers/c-1/", {name: page})
    assert response.status_code == 400
    assert f"{name} must be a whole number from 1 to 1,000,000; got {page!r}" in (
        response.content.decode().replace("&#x27;", "'")
    )


def test_older_activity_comes_20_at_a_time() -> None:
    customer = make_customer(external_id="busy")
    for minute in range(45):
        make_event(
            customer, name=f"Event {minute:02d}", occurred_at=MOMENT + dt.timedelta(minutes=minute)
        )
    client = signed_in()
    page = client.get("/customers/busy/").content.decode()
    assert re.findall(r"Event (\d\d)", page) == [f"{m:02d}" for m in range(44, 24, -1)]
    assert 'id="events-more-2"' in page and "45 events tracked, newest first." in _text(page)
    htmx = {"HX-Request": "true", "HX-Target": "events-more-3"}
    more = client.get("/customers/busy/", {"events_page": "3"}, headers=htmx).content.decode()
    assert "<html" not in more and re.findall(r"Event (\d\d)", more) == [
        "04",
        "03",
        "02",
        "01",
        "00",
    ]
    assert "events-more" not in more  # nothing older


def test_an_unknown_customer_is_a_404_page_offering_a_search() -> None:
    response = signed_in().get("/customers/nobody%2Fhere/")
    assert response.status_code == 404
    text = _text(response.content.decode())
    assert "No such customer" in text and "No customer has the id “nobody/here”." in text
    assert 'href="/customers/?q=nobody/here"' in response.content.decode()


def test_signed_out_visitors_are_sent_to_sign_in() -> None:
    from django.test import Client

    make_customer(external_id="c-1")
    response = Client().get("/customers/c-1/")
    assert response.status_code == 302 and response["Location"].startswith("/login/?next=")


@pytest.mark.parametrize("orders", [1, 80])
def test_the_page_costs_a_fixed_number_of_queries(
    orders: int, django_assert_max_num_queries
) -> None:
    customer = make_customer(external_id="heavy")
    make_score(customer)
    for number in range(orders):
        make_order(customer, ordered_at=MOMENT - dt.timedelta(days=number))
        make_event(customer, occurred_at=MOMENT - dt.timedelta(hours=number))
    client = signed_in()
    client.get("/customers/heavy/")  # the session is warmed up
    with django_assert_max_num_queries(22):
        response = client.get("/customers/heavy/")
    assert response.status_code == 200


@pytest.mark.parametrize(
    "external_id", ["a/b/c", "ends/", "ลูกค้า/๑", "Ελένη 50%", "q?x=1#frag", "ümlaut+plus"]
)
def test_any_shop_id_opens_by_the_address_the_list_links_to(external_id: str) -> None:
    from django.urls import reverse

    make_customer(external_id=external_id, name="Somebody")
    _orders(Customer.objects.get(external_id=external_id), 30)
    address = reverse("customers:detail", args=[external_id])
    client = signed_in()
    response = client.get(address)
    assert response.status_code == 200, address
    assert external_id in response.content.decode().replace("&#x27;", "'")
    paged = client.get(address, {"orders_page": "2"}, headers={"HX-Request": "true",
                                                             "HX-Target": "orders"})  # fmt: skip
    assert "Page 2 of 2 (30 orders)" in _text(paged.content.decode())
