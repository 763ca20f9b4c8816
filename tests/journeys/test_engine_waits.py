"""Waiting in the engine: waits for a duration and until a local time (across daylight
saving), and waits for an event with a timeout."""

from __future__ import annotations

import datetime as dt

import pytest

from retain.journeys.engine import Ended, Entry, Outcome, SendEmail, Waiting
from tests.journeys.engine_builders import (
    START,
    FixedFacts,
    email,
    journey,
    kinds,
    seen,
    start,
    tick,
    utc,
)

HOUR = dt.timedelta(hours=1)


def subjects(actions: list) -> list[str]:
    return [a.contents["en"].subject for a in actions if isinstance(a, SendEmail)]


# --- wait --------------------------------------------------------------------------------------


def test_a_wait_rests_until_its_duration_has_passed() -> None:
    document = journey(email("a"), {"wait": {"days": 1, "hours": 2, "minutes": 30}}, email("b"))
    state, actions = start(document)
    assert subjects(actions) == ["a"]
    assert state.running and state.position == 1
    assert state.wake_at == START + dt.timedelta(days=1, hours=2, minutes=30)


def test_a_tick_before_the_wake_time_changes_nothing() -> None:
    document = journey({"wait": {"days": 1}}, email("b"))
    state, _ = start(document)
    assert tick(document, state, state.wake_at - dt.timedelta(seconds=1)) == (state, [])


def test_a_tick_at_the_wake_time_goes_on() -> None:
    document = journey({"wait": {"days": 1}}, email("b"))
    state, _ = start(document)
    state, actions = tick(document, state, state.wake_at)
    assert subjects(actions) == ["b"]
    assert state.outcome is Outcome.COMPLETED


def test_a_late_tick_measures_the_next_wait_from_when_it_came() -> None:
    document = journey({"wait": {"hours": 1}}, email("b"), {"wait": {"hours": 1}}, email("c"))
    state, _ = start(document)
    late = START + dt.timedelta(days=2)
    state, _ = tick(document, state, late)
    assert state.wake_at == late + HOUR


def test_waits_in_a_row_each_rest() -> None:
    document = journey({"wait": {"hours": 1}}, {"wait": {"hours": 2}}, email("b"))
    state, actions = start(document)
    assert actions == [] and state.wake_at == START + HOUR
    state, actions = tick(document, state, START + HOUR)
    assert actions == [] and state.wake_at == START + 3 * HOUR and state.position == 1
    _, actions = tick(document, state, START + 3 * HOUR)
    assert subjects(actions) == ["b"]


def test_a_wait_until_a_local_time_in_bangkok() -> None:
    # Monday 16:00 in Bangkok; one day, then 10:00 local: Wednesday 10:00 (03:00 UTC)
    document = journey({"wait": {"days": 1, "until": "10:00"}}, email())
    state, _ = start(document, facts=FixedFacts(zone="Asia/Bangkok"))
    assert state.wake_at == utc("2026-03-04T03:00")


def test_a_wait_until_over_spring_forward_in_athens_keeps_the_local_time() -> None:
    athens = FixedFacts(zone="Europe/Athens")
    friday_noon = utc("2026-03-27T10:00")  # 12:00 EET
    # twelve hours, then 09:00: Saturday 09:00 EET (UTC+2)
    document = journey({"wait": {"hours": 12, "until": "09:00"}}, email())
    state, _ = start(document, now=friday_noon, facts=athens)
    assert state.wake_at == utc("2026-03-28T07:00")
    # a day, then 09:00: Sunday 09:00, after the clocks went forward: EEST (UTC+3)
    document = journey({"wait": {"days": 1, "until": "09:00"}}, email())
    state, _ = start(document, now=friday_noon, facts=athens)
    assert state.wake_at == utc("2026-03-29T06:00")


def test_a_wait_until_a_time_skipped_by_spring_forward_wakes_when_the_clocks_jump() -> None:
    document = journey({"wait": {"until": "03:30"}}, email())
    state, _ = start(document, now=utc("2026-03-28T10:00"), facts=FixedFacts(zone="Europe/Athens"))
    assert state.wake_at == utc("2026-03-29T01:00")  # 04:00 EEST


def test_a_wait_until_over_fall_back_in_new_york_keeps_the_local_time() -> None:
    new_york = FixedFacts(zone="America/New_York")
    saturday_noon = utc("2026-10-31T16:00")  # 12:00 EDT (UTC-4)
    # twelve hours (Sunday 00:00 EDT), then 10:00: after the clocks went back, EST (UTC-5)
    document = journey({"wait": {"hours": 12, "until": "10:00"}}, email())
    state, _ = start(document, now=saturday_noon, facts=new_york)
    assert state.wake_at == utc("2026-11-01T15:00")
    # the day before, 10:00 was 14:00 UTC
    state, _ = start(document, now=saturday_noon - dt.timedelta(days=1), facts=new_york)
    assert state.wake_at == utc("2026-10-31T14:00")


def test_a_wait_until_the_repeated_hour_in_new_york_is_its_first_occurrence() -> None:
    document = journey({"wait": {"until": "01:30"}}, email())
    facts = FixedFacts(zone="America/New_York")
    state, _ = start(document, now=utc("2026-10-31T16:00"), facts=facts)
    assert state.wake_at == utc("2026-11-01T05:30")  # 01:30 EDT


def test_a_wait_on_weekdays_until_a_time_skips_the_weekend() -> None:
    weekdays = ["mon", "tue", "wed", "thu", "fri"]
    document = journey({"wait": {"hours": 1, "until": "09:00", "weekdays": weekdays}}, email())
    # Friday 6 March 2026, 16:00 in Bangkok
    state, _ = start(document, now=utc("2026-03-06T09:00"), facts=FixedFacts(zone="Asia/Bangkok"))
    assert state.wake_at == utc("2026-03-09T02:00")  # Monday 09:00


def test_a_wait_on_weekdays_alone_on_an_allowed_day_goes_on_at_once() -> None:
    document = journey({"wait": {"weekdays": ["mon"]}}, email("now"))
    state, actions = start(document, facts=FixedFacts(zone="Asia/Bangkok"))  # a Monday
    assert subjects(actions) == ["now"] and state.outcome is Outcome.COMPLETED


def test_a_wait_until_written_with_its_offset_ignores_the_customers_zone() -> None:
    document = journey({"wait": {"until": "10:00:00+07:00"}}, email())
    state, _ = start(document, facts=FixedFacts(zone="America/New_York"))
    assert state.wake_at == utc("2026-03-03T03:00")


def test_a_customer_without_a_zone_waits_in_utc() -> None:
    document = journey({"wait": {"until": "10:00"}}, email())
    state, _ = start(document, facts=FixedFacts(zone=None))
    assert state.wake_at == utc("2026-03-02T10:00")


def test_an_unknown_time_zone_ends_the_enrolment_in_error_naming_it_and_sending_nothing() -> None:
    document = journey(email("a"), {"wait": {"until": "10:00"}}, email("b"))
    state, actions = start(document, facts=FixedFacts(zone="Mars/Olympus"))
    assert state.outcome is Outcome.ERROR
    assert actions == [Ended(Outcome.ERROR, state.reason)]
    assert "step-2" in state.reason and "'Mars/Olympus'" in state.reason


def test_a_plain_wait_does_not_ask_for_the_zone() -> None:
    document = journey({"wait": {"days": 1}}, email())
    state, _ = start(document, facts=FixedFacts(zone="Mars/Olympus"))
    assert state.running


# --- wait_for ------------------------------------------------------------------------------------


def _checkout(**wait_for: object) -> object:
    return journey(
        {"wait_for": {"event": "Order Completed", "timeout_days": 1, **wait_for}},
        email("thanks"),
        {"exit": {}},
        {"id": "reminder", "email": {"subject": "reminder", "html": "<p>r</p>"}},
    )


CART = Entry("Checkout Started", {"order_id": "A-1"}, START)


def test_a_wait_for_rests_until_its_timeout_and_says_what_it_waits_for() -> None:
    document = _checkout(same="order_id", on_timeout="reminder")
    state, actions = start(document, entry=CART)
    assert actions == []
    assert state.wake_at == START + dt.timedelta(days=1)
    assert state.waiting == Waiting(
        event="Order Completed",
        timeout_at=START + dt.timedelta(days=1),
        same="order_id",
        same_value="A-1",
        on_timeout="reminder",
    )


def test_the_event_waited_for_goes_on_to_the_next_step() -> None:
    document = _checkout()
    state, _ = start(document, entry=CART)
    state, actions = seen(document, state, "Order Completed", START + HOUR)
    assert subjects(actions) == ["thanks"]
    assert state.outcome is Outcome.EXITED


def test_another_event_changes_nothing() -> None:
    document = _checkout()
    state, _ = start(document, entry=CART)
    assert seen(document, state, "Product Viewed", START + HOUR) == (state, [])


def test_with_same_only_the_entry_value_counts() -> None:
    document = _checkout(same="order_id")
    state, _ = start(document, entry=CART)
    assert seen(document, state, "Order Completed", START + HOUR, order_id="B-2") == (state, [])
    assert seen(document, state, "Order Completed", START + HOUR) == (state, [])
    _, actions = seen(document, state, "Order Completed", START + HOUR, order_id="A-1")
    assert subjects(actions) == ["thanks"]


@pytest.mark.parametrize(
    ("entered", "event", "counts"),
    [(123, "123", True), ("123", 123, True), ("0123", 123, False), (True, 1, False),
     (1, True, False), (2.5, 2.5, True), (None, None, False), ({"a": 1}, {"a": 1}, True)],
)  # fmt: skip
def test_same_compares_ids_as_shops_send_them(entered: object, event: object, counts: bool) -> None:
    document = _checkout(same="order_id")
    state, _ = start(document, entry=Entry("Checkout Started", {"order_id": entered}, START))
    after, _ = seen(document, state, "Order Completed", START + HOUR, order_id=event)
    assert (after != state) is counts


def test_an_entry_without_the_same_property_waits_only_for_the_timeout() -> None:
    document = _checkout(same="order_id")
    state, _ = start(document, entry=Entry("Checkout Started", {}, START))
    assert seen(document, state, "Order Completed", START + HOUR, order_id="A-1") == (state, [])
    _, actions = tick(document, state, START + dt.timedelta(days=1))
    assert subjects(actions) == ["thanks"]


def test_the_timeout_without_on_timeout_goes_on_to_the_next_step() -> None:
    document = _checkout()
    state, _ = start(document, entry=CART)
    assert tick(document, state, START + dt.timedelta(hours=23)) == (state, [])
    state, actions = tick(document, state, START + dt.timedelta(days=1))
    assert subjects(actions) == ["thanks"] and state.waiting is None


def test_the_timeout_with_on_timeout_goes_there() -> None:
    document = _checkout(on_timeout="reminder")
    state, _ = start(document, entry=CART)
    state, actions = tick(document, state, START + dt.timedelta(days=1))
    assert subjects(actions) == ["reminder"]
    assert state.outcome is Outcome.COMPLETED


def test_an_event_at_or_after_the_timeout_is_late_even_before_the_tick() -> None:
    document = _checkout(on_timeout="reminder")
    state, _ = start(document, entry=CART)
    for late in (START + dt.timedelta(days=1), START + dt.timedelta(days=1, seconds=1)):
        assert seen(document, state, "Order Completed", late) == (state, [])
    just_in_time = START + dt.timedelta(days=1) - dt.timedelta(microseconds=1)
    assert subjects(seen(document, state, "Order Completed", just_in_time)[1]) == ["thanks"]


def test_an_event_before_the_timeout_counts_even_when_it_arrives_after() -> None:
    document = _checkout(on_timeout="reminder")
    state, _ = start(document, entry=CART)
    in_time = START + dt.timedelta(hours=20)
    _, actions = seen(document, state, "Order Completed", in_time, now=in_time + 2 * HOUR * 3)
    assert subjects(actions) == ["thanks"]


def test_the_wait_for_times_out_from_when_it_was_reached() -> None:
    document = journey({"wait": {"days": 2}}, {"wait_for": {"event": "X", "timeout_days": 3}})
    state, _ = start(document)
    reached = START + dt.timedelta(days=2, minutes=5)
    state, _ = tick(document, state, reached)
    assert state.wake_at == reached + dt.timedelta(days=3)
    assert kinds(tick(document, state, state.wake_at)[1]) == ["Ended"]
