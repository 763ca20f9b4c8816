"""The runner on the store: happenings enter journeys, due enrolments move on, emails land in
the outbox rendered for each customer, with one budget, quiet hours, consent and the holdout
honoured, and nothing done twice when the same input comes again."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal

import pytest
from django.test import override_settings

from retain.customers.models import Customer, DomainEvent, RescoringRun, Score
from retain.customers.services import record_order
from retain.journeys.models import Enrolment, FeedCursor
from retain.journeys.runner import enter_on_dates
from retain.journeys.tasks import run_once
from retain.messaging.models import Message, MessageStatus
from tests.customers.builders import make_consent, make_customer, make_score
from tests.journeys.builders import apply_journey

pytestmark = pytest.mark.django_db

NOON = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)

THANKS = [
    {
        "email": {
            "en": {
                "subject": "Thanks {{ customer.first_name }}",
                "html": "<p>Order {{ order.id }}: {{ order.total | money(order.currency) }}</p>",
            },
            "th": {"subject": "ขอบคุณ {{ customer.first_name }}", "html": "<p>{{ order.id }}</p>"},
        }
    }
]


def _thank_you(key: str = "thanks", **overrides: object) -> None:
    fields: dict[str, object] = {
        "trigger": {"event": "Order Completed", "first_order": True},
        "topic": "orders",
        "steps": THANKS,
        "holdout": 0,
    }
    fields.update(overrides)
    apply_journey(key, **fields)


def _order(customer: Customer, order_id: str, at: dt.datetime = NOON) -> None:
    record_order(
        customer=customer, order_id=order_id, ordered_at=at, amount=Decimal("1234.5"),
        currency="THB",
    )  # fmt: skip


def _run(now: dt.datetime = NOON, passes: int = 3) -> None:
    for _ in range(passes):
        run_once(now=now)


def test_a_first_order_enters_the_journey_and_queues_a_rendered_email() -> None:
    _thank_you()
    customer = make_customer(name="Somchai Jaidee", traits={"locale": "th-TH"})
    _order(customer, "A-1")
    _run()
    message = Message.objects.get(customer=customer)
    assert message.status == MessageStatus.QUEUED
    assert message.subject == "ขอบคุณ Somchai"
    assert "A-1" in message.html
    assert message.source["journey"] == "thanks"
    enrolment = Enrolment.objects.get(customer=customer)
    assert enrolment.outcome == "completed" and not enrolment.active


def test_a_repeat_order_does_not_enter_a_first_order_journey() -> None:
    _thank_you()
    customer = make_customer()
    _order(customer, "B-1", NOON - dt.timedelta(days=30))
    FeedCursor.objects.update(position=0)  # read the first order too
    _order(customer, "B-2")
    _run()
    assert Enrolment.objects.filter(customer=customer).count() == 1
    assert Enrolment.objects.get(customer=customer).entry["properties"]["order_id"] == "B-1"


def test_replaying_the_feeds_enrols_nobody_twice() -> None:
    _thank_you()
    customers = [make_customer() for _ in range(5)]
    for number, customer in enumerate(customers):
        _order(customer, f"R-{number}")
    _run()
    FeedCursor.objects.filter(feed__in=("events", "orders", "domain")).update(position=0)
    _run()
    assert Enrolment.objects.count() == 5
    assert Message.objects.count() == 5


def test_a_customer_without_consent_or_address_is_recorded_not_sent() -> None:
    _thank_you()
    refused = make_customer()
    make_consent(refused, granted=False)
    nowhere = make_customer(email="")
    _order(refused, "C-1")
    _order(nowhere, "C-2")
    _run()
    assert Message.objects.get(customer=refused).status == MessageStatus.SUPPRESSED
    assert "consent" in Message.objects.get(customer=refused).reason
    assert Message.objects.get(customer=nowhere).status == MessageStatus.SUPPRESSED
    assert "address" in Message.objects.get(customer=nowhere).reason


@override_settings(RETAIN_PRESSURE_MESSAGES=3, RETAIN_PRESSURE_DAYS=7)
def test_no_customer_gets_more_marketing_than_the_budget_across_journeys() -> None:
    for number in range(5):
        _thank_you(f"thanks-{number}", priority=number)
    customer = make_customer()
    _order(customer, "P-1")
    _run()
    messages = Message.objects.filter(customer=customer)
    queued = messages.filter(status=MessageStatus.QUEUED)
    assert messages.count() == 5 and queued.count() == 3
    # The journeys with the highest priority went first.
    assert sorted(m.source["journey"] for m in queued) == ["thanks-2", "thanks-3", "thanks-4"]
    assert all("capped" in m.reason for m in messages.filter(status=MessageStatus.SUPPRESSED))


@override_settings(RETAIN_QUIET_HOURS=(21, 8), RETAIN_TIME_ZONE="UTC")
def test_marketing_due_in_quiet_hours_waits_for_their_end_in_the_customers_zone() -> None:
    _thank_you()
    customer = make_customer(traits={"timezone": "Asia/Bangkok"})
    late = dt.datetime(2026, 12, 3, 15, 30, tzinfo=dt.UTC)  # 22:30 in Bangkok
    _order(customer, "Q-1", late)
    _run(late)
    message = Message.objects.get(customer=customer)
    assert message.status == MessageStatus.QUEUED
    assert message.send_after == dt.datetime(2026, 12, 4, 1, 0, tzinfo=dt.UTC)  # 08:00 local


def test_the_holdout_share_is_within_its_99_percent_interval() -> None:
    _thank_you(holdout=0.2)
    customers = Customer.objects.bulk_create(
        Customer(external_id=f"h-{n}", email=f"h{n}@example.com") for n in range(600)
    )
    for customer in customers:
        _order(customer, f"H-{customer.external_id}")
    _run(passes=6)
    held = Message.objects.filter(status=MessageStatus.HELD_OUT).count()
    assert Message.objects.count() == 600
    spread = 2.576 * math.sqrt(600 * 0.2 * 0.8)
    assert abs(held - 120) <= spread
    assert Enrolment.objects.filter(held_out=True).count() == held


def test_a_broadcast_enrols_its_audience_once() -> None:
    apply_journey(
        "news", trigger={"broadcast": "2026-12-01T10:00:00+00:00"}, topic="news", holdout=0,
        audience={"field": "value_decile", "gte": 8}, steps=THANKS[:1],
    )  # fmt: skip
    chosen = [make_customer() for _ in range(3)]
    for customer in chosen:
        make_score(customer, value_decile=9)
    make_score(make_customer(), value_decile=2)
    _run()
    _run(NOON + dt.timedelta(hours=1))
    assert set(Enrolment.objects.values_list("customer_id", flat=True)) == {c.pk for c in chosen}


def test_a_wait_holds_an_enrolment_until_its_time() -> None:
    steps = [{"wait": {"days": 2}}, *THANKS]
    _thank_you(steps=steps)
    customer = make_customer()
    _order(customer, "W-1")
    _run()
    assert not Message.objects.exists()
    _run(NOON + dt.timedelta(days=2, minutes=1))
    assert Message.objects.filter(customer=customer).count() == 1


def test_a_prediction_trigger_enters_customers_who_come_into_the_condition() -> None:
    apply_journey(
        "slipping", trigger={"prediction": {"field": "p_alive", "lt": 0.3}}, topic="care",
        holdout=0, steps=[{"set": {"tags": ["slipping"]}}],
    )  # fmt: skip
    already, later = make_customer(), make_customer()
    make_score(already, p_alive=0.1)
    make_score(later, p_alive=0.9)
    RescoringRun.objects.create(finished_at=NOON, succeeded=True)
    _run()
    assert not Enrolment.objects.exists()  # the first look only remembers who is inside
    Score.objects.filter(customer=later).update(p_alive=0.2)
    RescoringRun.objects.create(finished_at=NOON, succeeded=True)
    _run()
    assert list(Enrolment.objects.values_list("customer_id", flat=True)) == [later.pk]
    assert later.tags.filter(name="slipping").exists()


def test_a_birthday_comes_at_its_local_time_in_the_customers_zone() -> None:
    apply_journey(
        "birthday", trigger={"date": "birthday", "at": "09:00"}, topic="birthday", holdout=0,
        reentry={"every_days": 300}, steps=THANKS[:1],
    )  # fmt: skip
    customer = make_customer(birthday=dt.date(1990, 12, 4), traits={"timezone": "Asia/Tokyo"})
    evening = dt.datetime(2026, 12, 3, 23, 30, tzinfo=dt.UTC)  # 08:30 on the 4th in Tokyo
    enter_on_dates(now=evening, force=True)
    assert not Enrolment.objects.exists()
    enter_on_dates(now=evening + dt.timedelta(hours=1), force=True)  # 09:30 in Tokyo
    enter_on_dates(now=evening + dt.timedelta(hours=2), force=True)
    assert Enrolment.objects.get(customer=customer).entry_key == "birthday:2026"


def test_a_step_that_cannot_be_carried_out_sets_one_enrolment_aside() -> None:
    _thank_you(steps=[{"set": {"traits": {"plan": "gold"}}}, *THANKS])
    good, bad = make_customer(), make_customer()
    # A trait named like one identify files into a column cannot be set: this one fails.
    Customer.objects.filter(pk=bad.pk).update(traits={"locale": "en"})
    apply_journey(
        "bad-trait", trigger={"event": "Order Completed"}, topic="orders", holdout=0,
        steps=[{"set": {"traits": {"email": "x@example.com"}}}],
    )  # fmt: skip
    _order(good, "F-1")
    _order(bad, "F-2")
    _run()
    assert Enrolment.objects.filter(journey__key="bad-trait", outcome="error").count() == 2
    assert Message.objects.filter(source__journey="thanks").count() == 2
    assert DomainEvent.objects.filter(name="trait.changed").count() == 2


def test_a_held_out_customers_webhook_is_recorded_never_posted() -> None:
    apply_journey(
        "hook", trigger={"event": "Order Completed"}, topic="care", holdout=0.9,
        steps=[{"webhook": {"url": "https://example.invalid/hook"}}],
    )  # fmt: skip
    customers = [make_customer() for _ in range(20)]
    for number, customer in enumerate(customers):
        _order(customer, f"K-{number}")
    _run()
    held = Message.objects.filter(channel="webhook", status=MessageStatus.HELD_OUT)
    assert Message.objects.filter(channel="webhook").count() == 20
    assert held.count() == Enrolment.objects.filter(held_out=True).count() > 10
