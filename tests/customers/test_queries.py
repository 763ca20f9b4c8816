"""The customers' read side: the 360 view and the paged search, straight from the store."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from retain.customers.queries import (
    RECENT_EVENTS,
    get_customer_360,
    score_of,
    search_customers,
)
from retain.errors import NotFound, RuleViolation
from tests.customers.builders import (
    MOMENT,
    make_customer,
    make_event,
    make_order,
    make_score,
)

pytestmark = pytest.mark.django_db


def test_the_360_holds_orders_newest_first_and_the_latest_events() -> None:
    customer = make_customer()
    old, new = (make_order(customer, ordered_at=MOMENT - timedelta(days=d)) for d in (30, 1))
    for minutes in range(RECENT_EVENTS + 5):
        make_event(customer, occurred_at=MOMENT + timedelta(minutes=minutes))
    make_event(make_customer(), occurred_at=MOMENT + timedelta(days=9))  # someone else's
    found = get_customer_360(customer.external_id)
    assert [order.pk for order in found.order_page.items] == [new.pk, old.pk]
    assert (found.order_page.total, found.order_page.page) == (2, 1)
    moments = [event.occurred_at for event in found.recent_events]
    assert len(moments) == RECENT_EVENTS and moments == sorted(moments, reverse=True)
    assert moments[0] == MOMENT + timedelta(minutes=RECENT_EVENTS + 4)


def test_an_unknown_customer_is_not_found() -> None:
    with pytest.raises(NotFound, match="no customer with id 'ghost'") as caught:
        get_customer_360("ghost")
    assert caught.value.details == {"customer_id": "ghost"}


def test_a_customer_never_scored_has_no_score() -> None:
    assert score_of(get_customer_360(make_customer().external_id)) is None


@pytest.mark.parametrize("orders", [0, 1, 40])
def test_the_360_costs_nine_queries_however_many_orders(orders: int) -> None:
    customer = make_customer()
    make_score(customer)
    for _ in range(orders):
        make_order(customer)
    with CaptureQueriesContext(connection) as queries:
        found = get_customer_360(customer.external_id, orders_page=2)
        assert found.order_page.total == orders and score_of(found) is not None
        assert len(found.order_page.items) == max(0, min(25, orders - 25))
    assert len(queries) == 9  # the customer and score, 6 lists, the page of orders, its count
    with CaptureQueriesContext(connection) as queries:
        get_customer_360(customer.external_id, recent_events=False)
    assert len(queries) == 8


def test_search_matches_id_email_or_name_in_any_case() -> None:
    ada = make_customer(external_id="A-100", email="ada@lovelace.org", name="Ada Lovelace")
    grace = make_customer(external_id="G-200", email="grace@navy.mil", name="Grace Hopper")
    make_customer(external_id="X-300", email="x@example.com", name="Someone")
    assert [c.pk for c in search_customers("a-1").items] == [ada.pk]
    assert [c.pk for c in search_customers("NAVY").items] == [grace.pk]
    assert [c.pk for c in search_customers("hopper").items] == [grace.pk]
    assert search_customers("").total == 3


def test_search_filters_on_scores_and_profile() -> None:
    risky = make_customer(acquisition_channel="ads")
    make_score(risky, churn_risk="high", lifecycle_stage="at risk")
    make_score(make_customer(acquisition_channel="ads"), churn_risk="low")
    make_customer(acquisition_channel="ads")  # never scored: no score filter matches it
    assert search_customers(filters={"acquisition_channel": "ads"}).total == 3
    found = search_customers(filters={"churn_risk": "high", "acquisition_channel": "ads"})
    assert [c.pk for c in found.items] == [risky.pk]
    assert search_customers(filters={"lifecycle_stage": "at risk"}).total == 1


def test_pages_are_ordered_by_id_and_say_where_the_others_are() -> None:
    ids = [make_customer(external_id=f"p-{n:02d}").external_id for n in (3, 1, 4, 5, 2)]
    first = search_customers("p-", page=1, page_size=2)
    middle = search_customers("p-", page=2, page_size=2)
    last = search_customers("p-", page=3, page_size=2)
    seen = [c.external_id for page in (first, middle, last) for c in page.items]
    assert seen == sorted(ids)
    assert (first.total, first.pages, first.previous_page, first.next_page) == (5, 3, None, 2)
    assert (middle.previous_page, middle.next_page) == (1, 3)
    assert (last.previous_page, last.next_page) == (2, None)
    beyond = search_customers("p-", page=9, page_size=2)
    assert beyond.items == [] and beyond.previous_page == 3 and beyond.next_page is None


def test_nothing_found_is_one_empty_page() -> None:
    page = search_customers("nobody")
    assert (page.total, page.pages, page.items, page.next_page) == (0, 0, [], None)


@pytest.mark.parametrize(
    ("arguments", "field"),
    [({"page": 0}, "page"), ({"page_size": 0}, "page_size"), ({"page_size": 201}, "page_size"),
     ({"filters": {"favourite_colour": "red"}}, "favourite_colour")],
)  # fmt: skip
def test_bad_paging_or_filters_are_a_rule_violation(arguments: dict, field: str) -> None:
    with pytest.raises(RuleViolation) as caught:
        search_customers("", **arguments)
    assert caught.value.details["field"] == field
