"""Single-record customer operations: idempotent on the input's own key, explicit about
conflicts, and never a silent merge."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from retain.customers.models import Consent, DomainEvent, Event, Identity, IdentityKind, Order
from retain.customers.services import (
    get_or_create_customer,
    identify_customer,
    link_alias,
    link_identity,
    record_event,
    record_events,
    record_order,
    refund_order,
    resolve_customer,
    resolve_customers,
    set_consent,
)
from retain.errors import Conflict, DataError, NotFound

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)


def test_identify_maps_known_traits_and_keeps_the_rest() -> None:
    customer = identify_customer(user_id="c-1", at=NOW, traits={
        "email": " Ann@Example.COM ", "firstName": "Ann", "lastName": "Lee",
        "birthday": "1990-05-17T00:00:00Z", "acquisitionChannel": "search",
        "createdAt": "2025-01-02T03:04:05Z", "sms_consent": "yes", "plan": "gold"})  # fmt: skip
    assert customer.email == "ann@example.com" and customer.name == "Ann Lee"
    assert customer.birthday == dt.date(1990, 5, 17) and customer.acquisition_channel == "search"
    assert customer.signed_up_at == dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    assert customer.traits["plan"] == "gold"
    assert Consent.objects.get(customer=customer, channel="sms").granted


def test_identify_refuses_a_bad_trait() -> None:
    with pytest.raises(DataError, match=r"traits\.email"):
        identify_customer(user_id="c-1", traits={"email": "not an email"}, at=NOW)
    with pytest.raises(DataError, match=r"traits\.birthday"):
        identify_customer(user_id="c-1", traits={"birthday": "soon"}, at=NOW)
    with pytest.raises(DataError, match=r"traits\.unsubscribed"):
        identify_customer(user_id="c-1", traits={"unsubscribed": "maybe"}, at=NOW)


def test_an_anonymous_identify_of_an_unknown_visitor_does_nothing() -> None:
    assert identify_customer(user_id=None, anonymous_id="anon", traits={}, at=NOW) is None


def test_an_older_consent_answer_never_wins() -> None:
    customer = get_or_create_customer(external_id="c-2")
    set_consent(customer=customer, channel="email", granted=False, source="x", at=NOW)
    set_consent(customer=customer, channel="email", granted=True, source="x",
                at=NOW - dt.timedelta(days=1))  # fmt: skip
    assert not Consent.objects.get(customer=customer).granted


def test_an_order_is_recorded_once_and_refunded() -> None:
    customer = get_or_create_customer(external_id="c-3")
    first = record_order(customer=customer, order_id="o-1", ordered_at=NOW,
                         amount=Decimal("10.00"), currency="eur")  # fmt: skip
    again = record_order(customer=customer, order_id="o-1", ordered_at=NOW, amount=Decimal(1))
    assert first.pk == again.pk and again.amount == Decimal("10.00") and again.currency == "EUR"
    assert refund_order(order_id="o-1").status == "refunded"
    with pytest.raises(NotFound, match="no order 'o-2' to refund"):
        refund_order(order_id="o-2")
    # The conflict names both customers by the ids the user knows (not by a row's key).
    with pytest.raises(
        Conflict, match="order 'o-1' belongs to customer 'c-3', not 'c-4'"
    ) as caught:
        record_order(customer=get_or_create_customer(external_id="c-4"), order_id="o-1",
                     ordered_at=NOW, amount=Decimal(1))  # fmt: skip
    assert caught.value.details == {"order_id": "o-1", "customer": "c-3", "given_customer": "c-4"}
    assert Order.objects.get(external_id="o-1").customer == customer


def test_events_are_recorded_once_per_message_id() -> None:
    arguments = {"customer": None, "kind": "track", "name": "Viewed", "occurred_at": NOW,
                 "message_id": "m-1", "anonymous_id": "anon-1"}  # fmt: skip
    assert record_event(**arguments).pk == record_event(**arguments).pk
    record_events([arguments, {**arguments, "message_id": "m-2"}])
    assert Event.objects.count() == 2
    with pytest.raises(DataError, match="event kind must be one of track, page, screen, group"):
        record_event(**{**arguments, "kind": "purchase"})
    assert Event.objects.count() == 2


def test_alias_links_an_anonymous_past_and_refuses_to_merge_two_customers() -> None:
    record_event(customer=None, kind="page", name="Home", occurred_at=NOW, message_id="m-1",
                 anonymous_id="anon-9")  # fmt: skip
    customer = link_alias(previous_id="anon-9", user_id="c-9")
    assert Event.objects.get().customer == customer
    assert resolve_customer(user_id=None, anonymous_id="anon-9") == customer
    get_or_create_customer(external_id="c-10")
    with pytest.raises(Conflict, match="merge them by hand"):
        link_alias(previous_id="c-10", user_id="c-9")
    with pytest.raises(Conflict) as caught:  # anon-9 is c-9's already
        resolve_customer(user_id="c-10", anonymous_id="anon-9")
    assert (
        str(caught.value) == "anonymous_id 'anon-9' already belongs to customer 'c-9', not 'c-10'"
    )
    assert caught.value.details["customer"] == "c-9"
    assert Identity.objects.filter(kind="anonymous_id", value="anon-9").count() == 1


def test_many_users_are_resolved_at_once_as_one_by_one_would(django_assert_max_num_queries) -> None:
    aliased = get_or_create_customer(external_id="old")
    link_identity(customer=aliased, kind=IdentityKind.USER_ID, value="renamed")
    known = get_or_create_customer(external_id="known")
    wanted = {"renamed", "known", *(f"new{i}" for i in range(300))}
    with django_assert_max_num_queries(12):  # not one per user (SQLite splits big inserts)
        found = resolve_customers(wanted)
    assert found["renamed"] == aliased and found["known"] == known
    assert set(found) == wanted
    again = resolve_customers(wanted)
    assert {k: c.pk for k, c in again.items()} == {k: c.pk for k, c in found.items()}
    identity = Identity.objects.get(kind=IdentityKind.USER_ID, value="new7")
    assert identity.customer == found["new7"]


def test_a_changed_email_is_kept_in_history_and_freed_for_another_customer() -> None:
    ann = identify_customer(user_id="ann", traits={"email": "x@example.com"}, at=NOW)
    later = NOW + dt.timedelta(days=1)
    identify_customer(user_id="ann", traits={"email": "y@example.com"}, at=later)

    bob = identify_customer(user_id="bob", traits={"email": "X@example.com"}, at=later)

    assert bob is not None and bob.email == "x@example.com"
    ann.refresh_from_db()
    assert ann.email == "y@example.com"
    emails = dict(Identity.objects.filter(kind=IdentityKind.EMAIL).values_list("value", "customer"))
    assert emails == {"x@example.com": bob.pk, "y@example.com": ann.pk}
    history = DomainEvent.objects.get(name="customer.email_changed")
    assert (history.customer_id, history.occurred_at) == (ann.pk, later)
    assert history.data == {"from": "x@example.com", "to": "y@example.com", "source": "identify"}


def test_a_current_email_stays_refused_to_another_customer() -> None:
    identify_customer(user_id="ann", traits={"email": "x@example.com"}, at=NOW)

    with pytest.raises(Conflict, match=r"'x@example\.com' is customer 'ann'"):
        identify_customer(user_id="bob", traits={"email": "x@example.com"}, at=NOW)


def test_a_first_or_repeated_email_records_no_change() -> None:
    identify_customer(user_id="ann", traits={"email": "x@example.com"}, at=NOW)
    identify_customer(user_id="ann", traits={"email": "X@Example.com"}, at=NOW)

    assert not DomainEvent.objects.filter(name="customer.email_changed").exists()


def test_a_cleared_email_is_freed_and_recorded() -> None:
    ann = identify_customer(user_id="ann", traits={"email": "x@example.com"}, at=NOW)
    identify_customer(user_id="ann", traits={"email": ""}, at=NOW)

    bob = identify_customer(user_id="bob", traits={"email": "x@example.com"}, at=NOW)

    assert bob is not None and bob.email == "x@example.com"
    history = DomainEvent.objects.get(name="customer.email_changed")
    assert (history.customer_id, history.data["from"], history.data["to"]) == (
        ann.pk, "x@example.com", "")  # fmt: skip


def test_an_email_identity_left_on_a_changed_customer_is_released_with_its_history() -> None:
    ann = get_or_create_customer(external_id="ann")
    ann.email = "y@example.com"  # stored before the rule: the old address kept its identity
    ann.save()
    link_identity(customer=ann, kind=IdentityKind.EMAIL, value="x@example.com")

    bob = identify_customer(user_id="bob", traits={"email": "x@example.com"}, at=NOW)

    assert bob is not None
    assert Identity.objects.get(kind=IdentityKind.EMAIL, value="x@example.com").customer == bob
    history = DomainEvent.objects.get(name="customer.email_changed")
    assert history.customer == ann
    assert history.data == {"from": "x@example.com", "to": "y@example.com",
                            "source": "identify", "released_to": "bob"}  # fmt: skip
