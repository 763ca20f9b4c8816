"""The simulator replays the store's history through the journeys on a virtual clock: the
figures match what a hand-built history must give (entries, messages, the holdout, the
budget, quiet hours, goals, dates, predictions, broadcasts), and the store is as it was
afterwards: no enrolment, message, job, tag or cursor left behind."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from django.test import override_settings

from retain.customers.models import Customer, CustomerTag, DomainEvent, Order
from retain.errors import NotFound, RuleViolation
from retain.journeys.models import Enrolment, FeedCursor, Journey
from retain.journeys.simulation import JourneyFigures, Simulation, simulate
from retain.messaging.models import Message
from retain.server.commands import simulate_journeys
from retain.worker.models import Job
from tests.customers.builders import make_consent, make_customer, make_order
from tests.journeys.builders import apply_journey

pytestmark = pytest.mark.django_db

FIRST_DAY = dt.date(2026, 3, 2)
LAST_DAY = dt.date(2026, 3, 31)
#: Noon of a day of the period, UTC (the shop's time zone in the tests).
NOON = dt.datetime(2026, 3, 10, 12, tzinfo=dt.UTC)

EMAIL = {"email": {"subject": "Thanks {{ customer.first_name }}",
                   "html": "<p>Order {{ order.id }}</p>"}}  # fmt: skip
#: An email about no order (dates, predictions, broadcasts enter without one).
HELLO = {"email": {"subject": "Hello {{ customer.first_name }}", "html": "<p>Hello</p>"}}


def _thank_you(key: str = "thanks", **overrides: Any) -> None:
    """A thank-you-like journey: a first order enters, one email, nobody held out."""
    fields: dict[str, Any] = {
        "trigger": {"event": "Order Completed", "first_order": True},
        "topic": "orders", "holdout": 0, "steps": [EMAIL],
    }  # fmt: skip
    fields.update(overrides)
    apply_journey(key, **fields)


def _order(customer: Customer, at: dt.datetime, **overrides: Any) -> Order:
    return make_order(customer, ordered_at=at, amount=Decimal("25.00"), **overrides)


def _simulate(**options: Any) -> Simulation:
    """The command's function: its own transaction (here a savepoint), rolled back."""
    return simulate_journeys(start=FIRST_DAY, end=LAST_DAY, **options)


def _journey(result: Simulation, key: str) -> JourneyFigures:
    (found,) = [journey for journey in result.journeys if journey.key == key]
    return found


def _store() -> dict[str, object]:
    """What a simulation must leave as it was."""
    return {
        "enrolments": list(Enrolment.objects.values_list("pk", "state", "active")),
        "messages": Message.objects.count(), "jobs": Job.objects.count(),
        "cursors": sorted(FeedCursor.objects.values_list("feed", "position")),
        "tags": CustomerTag.objects.count(), "events": DomainEvent.objects.count(),
        "traits": sorted(Customer.objects.values_list("pk", "traits")),
        "statuses": sorted(Journey.objects.values_list("key", "status")),
    }  # fmt: skip


def test_three_first_orders_in_the_period_give_three_entries_and_three_messages() -> None:
    _thank_you()
    customers = [make_customer() for _ in range(3)]
    for number, customer in enumerate(customers):
        _order(customer, NOON + dt.timedelta(days=number))
        _order(customer, NOON + dt.timedelta(days=number, hours=5))  # a repeat: enters nobody
    earlier = make_customer()
    _order(earlier, NOON - dt.timedelta(days=30))  # before the period
    _order(make_customer(), dt.datetime(2026, 4, 1, tzinfo=dt.UTC))  # the day after it
    figures = _journey(_simulate(), "thanks")
    assert (figures.entered, figures.messages, figures.queued) == (3, 3, 3)
    assert (figures.held_out, figures.capped, figures.suppressed, figures.errors) == (0, 0, 0, 0)
    (step,) = figures.steps
    assert (step.step, step.kind, step.messages, step.queued) == ("step-1", "email", 3, 3)


def test_the_store_is_as_it_was_afterwards() -> None:
    _thank_you(steps=[{"set": {"tags": ["thanked"], "traits": {"thanked": "yes"}}}, EMAIL])
    apply_journey("tagged", trigger={"domain_event": "tag.added"}, holdout=0, topic="orders",
                  steps=[HELLO])  # fmt: skip
    kept = make_customer()
    _order(kept, NOON - dt.timedelta(days=100))
    thanks = Journey.objects.get(key="thanks")
    Enrolment.objects.create(
        journey=thanks, version=thanks.current,
        customer=kept, entry_key="order:kept", entered_at=NOON - dt.timedelta(days=100),
        active=False, outcome="completed",
    )  # fmt: skip
    FeedCursor.objects.update_or_create(feed="orders", defaults={"position": 7})
    for number in range(4):
        _order(make_customer(), NOON + dt.timedelta(days=number))
    before = _store()
    result = _simulate()
    assert _journey(result, "thanks").entered == 4
    # The tags the replay set were seen as they would be: the second journey reacted.
    assert _journey(result, "tagged").entered == 4
    assert _journey(result, "tagged").messages == 4
    assert _store() == before


@pytest.mark.django_db(transaction=True)
def test_nothing_is_committed_and_simulate_refuses_to_run_outside_a_transaction() -> None:
    with transaction.atomic():  # applying a journey locks the feeds' cursors
        _thank_you()
        _order(make_customer(), NOON)
    before = _store()
    assert _journey(_simulate(), "thanks").messages == 1
    assert _store() == before
    with pytest.raises(RuntimeError, match="rolled back"):
        simulate(start=NOON - dt.timedelta(days=1), end=NOON + dt.timedelta(days=1))
    assert _store() == before


@override_settings(RETAIN_PRESSURE_MESSAGES=3, RETAIN_PRESSURE_DAYS=7)
def test_the_budget_caps_in_simulated_time_and_ignores_messages_sent_after() -> None:
    apply_journey("every-order", trigger={"event": "Order Completed"}, reentry="always",
                  holdout=0, topic="orders", steps=[EMAIL])  # fmt: skip
    busy = make_customer()
    for day in range(5):  # five orders in five days: two over the budget of three in seven
        _order(busy, NOON + dt.timedelta(days=day))
    for day in (20, 21):  # two more, two weeks later: the budget has room again
        _order(busy, NOON + dt.timedelta(days=day))
    # A message the shop really sent today (after the period) counts for no simulated day.
    Message.objects.create(idempotency_key="real", customer=busy, to_address=busy.email,
                           topic="orders", subject="s", text="t", send_after=NOON)  # fmt: skip
    figures = _journey(_simulate(), "every-order")
    assert figures.errors == 0
    assert (figures.messages, figures.queued, figures.capped) == (7, 5, 2)
    assert (figures.suppressed, figures.reasons) == (0, {})


@override_settings(RETAIN_QUIET_HOURS=(21, 8), RETAIN_TIME_ZONE="UTC")
def test_quiet_hours_defer_what_comes_in_them_and_only_that() -> None:
    _thank_you()
    evening, late, early = make_customer(), make_customer(), make_customer()
    _order(evening, NOON.replace(hour=20, minute=45))  # before 21:00: sent at once
    _order(late, NOON.replace(hour=22, minute=30))  # in quiet hours: waits for 08:00
    _order(early, NOON.replace(hour=7, minute=15))  # in quiet hours: waits for 08:00
    result = _simulate(sample=3)
    figures = _journey(result, "thanks")
    assert (figures.queued, figures.deferred) == (3, 2)
    waited = {sample.to: sample.send_at for sample in result.samples}
    assert waited[late.email] == dt.datetime(2026, 3, 11, 8, tzinfo=dt.UTC)
    assert waited[early.email] == dt.datetime(2026, 3, 10, 8, tzinfo=dt.UTC)


def test_the_holdout_address_and_consent_are_counted_apart() -> None:
    _thank_you(holdout=0.5)
    customers = [make_customer() for _ in range(40)]
    customers[0].email = ""
    customers[0].save()
    make_consent(customers[1], granted=False)
    for customer in customers:
        _order(customer, NOON)
    figures = _journey(_simulate(), "thanks")
    assert figures.entered == 40
    assert figures.messages == 40
    assert figures.held_out == figures.entered_held_out
    assert 5 <= figures.held_out <= 35  # about half, by hash
    assert figures.queued + figures.held_out + figures.suppressed == 40
    reasons = set(figures.reasons)
    assert reasons <= {"no email address", "no consent to email"}
    assert figures.suppressed == sum(figures.reasons.values())


def test_a_goal_reached_after_an_email_counts_as_converted() -> None:
    _thank_you(
        goal={"event": "Order Completed", "within_days": 14},
        steps=[EMAIL, {"wait": {"days": 10}}, EMAIL],
    )  # fmt: skip
    back, gone, late = make_customer(), make_customer(), make_customer()
    for customer in (back, gone, late):
        _order(customer, NOON)
    _order(back, NOON + dt.timedelta(days=5))
    _order(late, NOON + dt.timedelta(days=16))  # after the goal's window
    figures = _journey(_simulate(), "thanks")
    assert (figures.entered, figures.converted) == (3, 1)
    # The one who came back got one email; the others two (the second after ten days).
    assert figures.messages == 5
    assert [step.messages for step in figures.steps] == [3, 0, 2]


def test_a_birthday_in_the_period_enters_once_at_its_local_time() -> None:
    apply_journey(
        "birthday", trigger={"date": "birthday", "at": "09:00"}, topic="birthday", holdout=0,
        reentry={"every_days": 300}, steps=[HELLO],
    )  # fmt: skip
    tokyo = make_customer(birthday=dt.date(1990, 3, 15), traits={"timezone": "Asia/Tokyo"})
    make_customer(birthday=dt.date(1990, 4, 15))  # outside the period
    result = _simulate(sample=1)
    figures = _journey(result, "birthday")
    assert (figures.entered, figures.messages) == (1, 1)
    (sample,) = result.samples
    # 09:00 in Tokyo is 00:00 UTC; the clock takes it at the end of that hour.
    assert sample.to == tokyo.email
    assert sample.send_at.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0) == (
        dt.datetime(2026, 3, 15, 0, tzinfo=dt.UTC)
    )


@pytest.mark.parametrize("hours", [1, 5, 24])
def test_birthdays_are_found_at_their_local_time_whatever_the_clocks_step(hours: int) -> None:
    apply_journey(
        "birthday", trigger={"date": "birthday", "at": "09:00"}, topic="birthday", holdout=0,
        reentry={"every_days": 300}, steps=[HELLO],
    )  # fmt: skip
    for day, zone in ((3, "Asia/Bangkok"), (4, "America/Los_Angeles"), (5, "Pacific/Auckland"),
                      (6, None), (7, "Not/AZone")):  # fmt: skip
        make_customer(birthday=dt.date(1980, 3, day), traits={"timezone": zone} if zone else {})
    figures = _journey(_simulate(tick_hours=hours), "birthday")
    assert (figures.entered, figures.messages, figures.errors) == (5, 5, 0)


def test_a_prediction_on_ages_enters_who_crosses_it_during_the_period() -> None:
    apply_journey(
        "quiet", trigger={"prediction": {"field": "days_since_last_order", "gt": 90}},
        topic="care", holdout=0, steps=[HELLO],
    )  # fmt: skip
    start = dt.datetime.combine(FIRST_DAY, dt.time(), tzinfo=dt.UTC)
    already = make_customer()
    _order(already, start - dt.timedelta(days=120))  # inside the condition from the start
    crossing = make_customer()
    _order(crossing, start - dt.timedelta(days=80))  # 90 days pass on the tenth day
    recent = make_customer()
    _order(recent, start - dt.timedelta(days=10))
    figures = _journey(_simulate(), "quiet")
    assert figures.entered == 1
    assert Enrolment.objects.count() == 0  # rolled back
    assert figures.messages == 1


def test_a_broadcast_in_the_period_enrols_its_audience_once() -> None:
    apply_journey(
        "news", trigger={"broadcast": "2026-03-20T10:00:00+00:00", "every_days": 7},
        topic="news", holdout=0, reentry="always", steps=[HELLO],
    )  # fmt: skip
    for _ in range(3):
        make_customer()
    figures = _journey(_simulate(), "news")
    # 20 and 27 March: two moments in the period, three customers each.
    assert (figures.entered, figures.messages) == (6, 6)


def test_one_journey_even_paused_and_the_others_left_out() -> None:
    _thank_you("thanks")
    _thank_you("paused-thanks")
    Journey.objects.filter(key="paused-thanks").update(status="paused")
    _order(make_customer(), NOON)
    result = _simulate(journey="paused-thanks")
    assert [journey.key for journey in result.journeys] == ["paused-thanks"]
    assert result.journeys[0].entered == 1
    assert dict(Journey.objects.values_list("key", "status")) == {
        "thanks": "active",
        "paused-thanks": "paused",
    }
    with pytest.raises(NotFound, match="nothing"):
        _simulate(journey="nothing")


def test_no_active_journey_or_a_backward_period_is_refused() -> None:
    with pytest.raises(RuleViolation, match="no active journey"):
        _simulate()
    _thank_you()
    with transaction.atomic(), pytest.raises(RuleViolation, match="before it starts"):
        simulate(start=NOON, end=NOON - dt.timedelta(days=1))


def test_happenings_at_the_edges_of_the_period() -> None:
    _thank_you()
    first, last, after = make_customer(), make_customer(), make_customer()
    _order(first, dt.datetime(2026, 3, 2, tzinfo=dt.UTC))  # the first instant: in
    _order(last, dt.datetime(2026, 3, 31, 23, 59, tzinfo=dt.UTC))  # the last minute: in
    _order(after, dt.datetime(2026, 4, 1, tzinfo=dt.UTC))  # the next day: out
    result = _simulate(sample=5)
    assert _journey(result, "thanks").entered == 2
    assert {sample.to for sample in result.samples} == {first.email, last.email}


def test_the_figures_as_json() -> None:
    _thank_you()
    _order(make_customer(), NOON)
    document = _simulate(sample=1).as_json()
    assert document["from"] == "2026-03-02T00:00:00+00:00"
    assert document["to"] == "2026-04-01T00:00:00+00:00"
    (journey,) = document["journeys"]
    assert {"key", "entered", "messages", "held_out", "capped", "deferred", "suppressed",
            "converted", "steps"} <= set(journey)  # fmt: skip
    assert journey["steps"] == [
        {"step": "step-1", "kind": "email", "messages": 1, "queued": 1, "deferred": 0,
         "held_out": 0, "capped": 0, "suppressed": 0, "failed": 0}
    ]  # fmt: skip
    assert document["samples"][0]["subject"].startswith("Thanks")
    assert any("current" in note or "now" in note for note in document["approximations"])
