"""The ``ingest.apply_messages`` job: accepted calls become customers, orders and events, in
order; a message that cannot be applied keeps its error and the rest go on."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from retain.customers.models import Consent, Customer, DomainEvent, Event, Identity, Order
from retain.ingest.applying import apply_pending_messages
from retain.ingest.models import Message
from retain.worker.models import Job, JobStatus
from retain.worker.runner import run_jobs_until_idle
from tests.ingest.builders import (
    basic_auth,
    make_alias,
    make_group,
    make_identify,
    make_order_completed,
    make_page,
    make_screen,
    make_track,
    make_write_key,
)

pytestmark = pytest.mark.django_db


def send(client: Client, messages: list[dict[str, Any]]) -> None:
    body = json.dumps({"batch": messages})  # no sentAt: the times are kept as given
    headers = {"Authorization": basic_auth(make_write_key())}
    response = client.post("/v1/batch", body, content_type="application/json", headers=headers)
    assert response.status_code == 200, response.content


def test_identify_creates_then_updates_the_customer(client: Client) -> None:
    traits = {"email": "Ann@Example.com", "name": "Ann Lee", "birthday": "1990-05-17",
              "acquisition_channel": "newsletter", "email_consent": True,
              "plan": "gold"}  # fmt: skip
    send(client, [make_identify(userId="c-1", anonymousId="a-1", traits=traits)])
    run_jobs_until_idle()
    customer = Customer.objects.get(external_id="c-1")
    assert (customer.email, customer.name, customer.birthday, customer.acquisition_channel) == (
        "ann@example.com", "Ann Lee", dt.date(1990, 5, 17), "newsletter")  # fmt: skip
    assert customer.traits["plan"] == "gold"
    assert Consent.objects.get(customer=customer, channel="email").granted
    kinds = set(Identity.objects.filter(customer=customer).values_list("kind", "value"))
    assert kinds == {("user_id", "c-1"), ("anonymous_id", "a-1"), ("email", "ann@example.com")}

    later = make_identify(userId="c-1", timestamp="2026-03-02T00:00:00+00:00",
                          traits={"name": "Ann Smith", "unsubscribed": True})  # fmt: skip
    send(client, [later])
    run_jobs_until_idle()
    customer.refresh_from_db()
    assert customer.name == "Ann Smith" and customer.email == "ann@example.com"
    assert not Consent.objects.get(customer=customer, channel="email").granted
    assert Customer.objects.count() == 1


def test_order_completed_becomes_an_order_and_order_refunded_marks_it(client: Client) -> None:
    properties = {"order_id": "o-9", "revenue": 99.9, "currency": "usd", "channel": "web"}
    completed = make_order_completed(userId="c-2", properties=properties)
    send(client, [completed, completed | {"messageId": "another-id-same-order"}])
    run_jobs_until_idle()
    order = Order.objects.get(external_id="o-9")
    assert order.customer.external_id == "c-2"
    assert (order.amount, order.currency, order.channel, order.status) == (
        Decimal("99.90"), "USD", "web", "completed")  # fmt: skip
    assert order.ordered_at == dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
    assert not Event.objects.exists()

    send(client, [make_track(userId="c-2", event="Order Refunded",
                             properties={"order_id": "o-9"})])  # fmt: skip
    run_jobs_until_idle()
    order.refresh_from_db()
    assert order.status == "refunded"


def test_other_calls_become_events_and_alias_links_the_anonymous_past(client: Client) -> None:
    anonymous = [make_page(userId=None, anonymousId="anon-7"),
                 make_track(userId=None, anonymousId="anon-7", event="Signed Up")]  # fmt: skip
    send(client, anonymous)
    run_jobs_until_idle()
    assert list(Event.objects.values_list("customer", flat=True)) == [None, None]

    send(client, [make_alias(previousId="anon-7", userId="c-7"),
                  make_screen(userId="c-7"), make_group(userId="c-7")])  # fmt: skip
    run_jobs_until_idle()
    customer = Customer.objects.get(external_id="c-7")
    events = Event.objects.filter(customer=customer)
    assert sorted(events.values_list("kind", "name")) == [
        ("group", "acme"), ("page", "Home"), ("screen", "Basket"),
        ("track", "Signed Up")]  # fmt: skip
    assert Message.objects.filter(applied_at__isnull=True).count() == 0


def test_a_message_that_cannot_be_applied_keeps_its_error_and_the_rest_go_on(
    client: Client,
) -> None:
    first_order = make_order_completed(userId="c-2", order_id="o-3")
    bad_order = make_order_completed(userId="c-3", order_id="o-3")  # another customer's order
    unknown_refund = make_track(event="Order Refunded", properties={"order_id": "nope"})
    good = make_track(userId="c-3")  # (the refund waits for its order: test_waiting.py)
    send(client, [first_order, bad_order, unknown_refund, good])
    run_jobs_until_idle()
    failed = Message.objects.get(message_id=bad_order["messageId"])
    assert failed.applied_at is None
    assert failed.error == "Conflict: order 'o-3' belongs to customer 'c-2', not 'c-3'"
    assert Message.objects.get(message_id=unknown_refund["messageId"]).waiting_for == "order:nope"
    assert Message.objects.get(message_id=good["messageId"]).applied_at is not None
    assert Event.objects.count() == 1
    assert list(Order.objects.values_list("customer__external_id", flat=True)) == ["c-2"]
    assert apply_pending_messages().claimed == 0  # failed messages are not claimed again


def test_a_full_run_enqueues_the_next_one(client: Client) -> None:
    send(client, [make_track() for _ in range(7)])
    assert apply_pending_messages(limit=3).claimed == 3
    from retain.ingest.tasks import apply_messages

    Job.objects.all().delete()
    assert apply_messages(limit=3) == 3
    assert Job.objects.filter(status=JobStatus.READY).count() == 1  # the continuation
    run_jobs_until_idle()
    assert Event.objects.count() == 7


def test_an_alias_links_the_events_before_it_in_the_same_run(client: Client) -> None:
    send(client, [make_track(userId=None, anonymousId="anon-8"), make_track(userId="c-8"),
                  make_alias(previousId="anon-8", userId="c-8"),
                  make_track(userId="c-8")])  # fmt: skip
    assert apply_pending_messages().claimed == 4
    assert Event.objects.filter(customer__external_id="c-8").count() == 3


def test_an_email_a_customer_left_is_taken_by_another_through_the_door(client: Client) -> None:
    """One batch, applied in order: ann takes x, moves to y, then bob takes x."""
    send(client, [
        make_identify(userId="ann", traits={"email": "x@example.com"}),
        make_identify(userId="ann", timestamp="2026-03-02T00:00:00+00:00",
                      traits={"email": "y@example.com"}),
        make_identify(userId="bob", timestamp="2026-03-03T00:00:00+00:00",
                      traits={"email": "x@example.com"}),
    ])  # fmt: skip
    run_jobs_until_idle()

    assert not Message.objects.exclude(error="").exists()
    emails = dict(Customer.objects.values_list("external_id", "email"))
    assert emails == {"ann": "y@example.com", "bob": "x@example.com"}
    history = DomainEvent.objects.get(name="customer.email_changed")
    assert history.customer.external_id == "ann"
    assert (history.data["from"], history.data["to"]) == ("x@example.com", "y@example.com")
    assert history.occurred_at == dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
