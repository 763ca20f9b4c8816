"""Bulk upserts: keyed by the shop's ids, only differing rows written, columns the input does
not carry left alone, unknown customer ids become bare customers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from retain.customers.bulk import (
    TakenEmails,
    UpsertCounts,
    upsert_customers,
    upsert_orders,
    upsert_subscriptions,
    upsert_survey_answers,
)
from retain.customers.models import (
    Customer,
    DomainEvent,
    Identity,
    IdentityKind,
    Order,
    Subscription,
    SurveyAnswer,
)
from retain.customers.services import identify_customer
from retain.errors import Conflict
from tests.customers.builders import make_customer, make_order, make_subscription

pytestmark = pytest.mark.django_db
NOON = dt.datetime(2024, 5, 1, 12, tzinfo=dt.UTC)
LOOKUP_ROWS = 5_100  # more keys than one IN (...) takes, on SQLite and PostgreSQL


def order_row(number: int, customer: str = "c1", amount: str = "10.00") -> dict:
    return {"customer": customer, "external_id": f"o{number}", "ordered_at": NOON,
            "amount": Decimal(amount), "status": "completed"}  # fmt: skip


ORDER_FIELDS = ("customer", "external_id", "ordered_at", "amount", "status")


def test_unchanged_customers_are_not_written_and_keep_their_updated_at() -> None:
    kept = make_customer(external_id="c1", name="Ann")
    changed = make_customer(external_id="c2", name="Bob")
    rows = [{"external_id": "c1", "name": "Ann"}, {"external_id": "c2", "name": "Robert"},
            {"external_id": "c3", "name": "Cy"}]  # fmt: skip

    counts = upsert_customers(rows, fields=("external_id", "name"))

    assert counts == UpsertCounts(created=1, updated=1, unchanged=1)
    assert Customer.objects.get(pk=kept.pk).updated_at == kept.updated_at
    after = Customer.objects.get(pk=changed.pk)
    assert after.name == "Robert" and after.updated_at > changed.updated_at
    assert after.created_at == changed.created_at and after.email == changed.email


def test_orders_for_unknown_customers_create_bare_ones_once() -> None:
    make_customer(external_id="c1")
    rows = [order_row(1), order_row(2, customer="new"), order_row(3, customer="new")]

    counts = upsert_orders(rows, fields=ORDER_FIELDS)

    assert counts == UpsertCounts(created=3, customers_created=1)
    bare = Customer.objects.get(external_id="new")
    assert (bare.email, bare.signed_up_at, bare.orders.count()) == ("", None, 2)
    assert upsert_orders(rows, fields=ORDER_FIELDS) == UpsertCounts(unchanged=3)


def test_an_order_moved_to_another_customer_is_an_update_when_allowed() -> None:
    order = make_order(external_id="o1", channel="app")

    counts = upsert_orders([order_row(1, customer="c9")], fields=ORDER_FIELDS, allow_moves=True)

    assert counts == UpsertCounts(updated=1, customers_created=1)
    order.refresh_from_db()
    assert order.customer.external_id == "c9"
    assert order.channel == "app"  # not in the input: left as stored


def test_more_rows_than_one_lookup_holds_are_compared_in_chunks() -> None:
    rows = [order_row(number, customer=f"c{number % 50}") for number in range(LOOKUP_ROWS)]

    counts = upsert_orders(rows, fields=ORDER_FIELDS)
    rows[-1] = {**rows[-1], "amount": Decimal("99.99")}
    again = upsert_orders(rows, fields=ORDER_FIELDS)

    assert counts.created == Order.objects.count() == LOOKUP_ROWS
    assert counts.customers_created == 50
    assert again == UpsertCounts(updated=1, unchanged=LOOKUP_ROWS - 1)


def test_subscriptions_and_answers_are_keyed_by_customer_and_moment() -> None:
    existing = make_subscription(customer=make_customer(external_id="c1"), started_at=NOON)
    rows = [
        {"customer": "c1", "plan": existing.plan, "started_at": NOON, "mrr": Decimal("19.00")},
        {"customer": "c1", "plan": "pro", "started_at": NOON, "mrr": Decimal("49.00")},
    ]
    counts = upsert_subscriptions(rows, fields=("customer", "plan", "started_at", "mrr"))
    assert counts == UpsertCounts(created=1, updated=1)
    assert Subscription.objects.get(pk=existing.pk).mrr == Decimal("19.00")

    answer = {"customer": "c1", "survey": "nps", "answered_at": NOON, "score": 9}
    fields = ("customer", "survey", "answered_at", "score")
    assert upsert_survey_answers([answer], fields=fields) == UpsertCounts(created=1)
    assert upsert_survey_answers([{**answer, "score": 3}], fields=fields).updated == 1
    assert SurveyAnswer.objects.get().score == 3


EMAIL_FIELDS = ("external_id", "email")


def emails_by_customer() -> dict[str, str]:
    return dict(Customer.objects.values_list("external_id", "email"))


def email_identities() -> dict[str, str]:
    found = Identity.objects.filter(kind=IdentityKind.EMAIL)
    return dict(found.values_list("value", "customer__external_id"))


def test_a_customers_file_may_move_an_email_within_itself_and_keeps_the_history() -> None:
    upsert_customers([{"external_id": "a", "email": "x@example.com"}], fields=EMAIL_FIELDS)
    moving = [{"external_id": "b", "email": "X@example.com"},  # before a leaves it
              {"external_id": "a", "email": "y@example.com"}]  # fmt: skip

    upsert_customers(moving, fields=EMAIL_FIELDS)

    assert emails_by_customer() == {"a": "y@example.com", "b": "X@example.com"}
    assert email_identities() == {"x@example.com": "b", "y@example.com": "a"}
    history = DomainEvent.objects.get(name="customer.email_changed")
    assert history.customer.external_id == "a"
    assert history.data == {"from": "x@example.com", "to": "y@example.com", "source": "import"}
    upsert_customers(moving, fields=EMAIL_FIELDS)  # again: nothing new to record
    assert DomainEvent.objects.filter(name="customer.email_changed").count() == 1


def test_an_email_a_customer_left_by_tracking_can_be_imported_for_another() -> None:
    identify_customer(user_id="a", traits={"email": "x@example.com"}, at=NOON)
    identify_customer(user_id="a", traits={"email": "y@example.com"}, at=NOON)

    upsert_customers([{"external_id": "b", "email": "x@example.com"}], fields=EMAIL_FIELDS)

    assert emails_by_customer() == {"a": "y@example.com", "b": "x@example.com"}
    assert email_identities() == {"x@example.com": "b", "y@example.com": "a"}


def test_a_customers_file_giving_a_held_email_to_another_customer_is_refused_whole() -> None:
    upsert_customers([{"external_id": "a", "email": "x@example.com"}], fields=EMAIL_FIELDS)
    rows = [{"external_id": "c", "email": "z@example.com"},
            {"external_id": "b", "email": "X@Example.com"},
            {"external_id": "d", "email": "z@example.com"}]  # fmt: skip

    with pytest.raises(TakenEmails) as refused:
        upsert_customers(rows, fields=EMAIL_FIELDS)

    assert [(t.index, t.email, t.holder, t.given_customer) for t in refused.value.taken] == [
        (1, "X@Example.com", "a", "b"), (2, "z@example.com", "c", "d")]  # fmt: skip
    assert emails_by_customer() == {"a": "x@example.com"}


def test_a_stored_email_the_tracking_door_then_refuses_to_another_customer() -> None:
    upsert_customers([{"external_id": "a", "email": "X@example.com"}], fields=EMAIL_FIELDS)

    with pytest.raises(Conflict, match=r"'x@example\.com' is customer 'a'"):
        identify_customer(user_id="b", traits={"email": "x@example.com"}, at=NOON)


def test_an_email_identity_left_by_an_older_change_is_released_by_a_file() -> None:
    held = make_customer(external_id="a", email="y@example.com")  # stored before the rule:
    Identity.objects.create(customer=held, kind=IdentityKind.EMAIL, value="x@example.com")

    upsert_customers([{"external_id": "b", "email": "x@example.com"}], fields=EMAIL_FIELDS)

    assert email_identities() == {"x@example.com": "b"}
    history = DomainEvent.objects.get(name="customer.email_changed")
    assert history.customer == held
    assert history.data == {"from": "x@example.com", "to": "y@example.com",
                            "source": "import", "released_to": "b"}  # fmt: skip
