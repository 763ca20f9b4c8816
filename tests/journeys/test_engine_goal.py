"""The goal in the engine: the goal's event within its window converts the enrolment
wherever it is; what came before the entry, the entry itself and what comes after the
window do not."""

from __future__ import annotations

import datetime as dt

from retain.journeys.engine import Ended, Entry, Outcome
from tests.journeys.engine_builders import START, email, journey, seen, start, tick

DAY = dt.timedelta(days=1)
GOAL = {"event": "Order Completed", "within_days": 14}


def _nurture(**overrides: object) -> object:
    return journey(
        email("a"),
        {"wait": {"days": 3}},
        email("b"),
        {"wait_for": {"event": "Product Viewed", "timeout_days": 5}},
        email("c"),
        goal=GOAL,
        **overrides,
    )


def test_the_goal_window_starts_at_entry() -> None:
    state, _ = start(_nurture())
    assert state.entered_at == START
    assert state.goal_deadline == START + 14 * DAY


def test_the_goal_event_during_a_wait_converts_the_enrolment() -> None:
    document = _nurture()
    state, _ = start(document)
    when = START + DAY
    state, actions = seen(document, state, "Order Completed", when, now=when + DAY)
    assert actions == [Ended(Outcome.CONVERTED, f"Order Completed at {when.isoformat()}")]
    assert state.outcome is Outcome.CONVERTED
    assert state.ended_at == when + DAY
    assert state.wake_at is None and state.position is None


def test_the_goal_event_during_a_wait_for_converts_the_enrolment() -> None:
    document = _nurture()
    state, _ = start(document)
    state, _ = tick(document, state, START + 3 * DAY)
    assert state.waiting is not None
    state, actions = seen(document, state, "Order Completed", START + 4 * DAY)
    assert actions == [Ended(Outcome.CONVERTED, state.reason)]
    assert state.outcome is Outcome.CONVERTED and state.waiting is None


def test_the_goal_converts_a_held_out_enrolment_too() -> None:
    document = _nurture()
    state, _ = start(document, held_out=True)
    state, _ = seen(document, state, "Order Completed", START + DAY)
    assert state.outcome is Outcome.CONVERTED


def test_the_goal_event_after_the_deadline_is_no_conversion() -> None:
    document = journey({"wait": {"days": 30}}, email(), goal={**GOAL, "within_days": 2})
    state, _ = start(document)
    late = START + 2 * DAY
    assert seen(document, state, "Order Completed", late) == (state, [])
    just_in_time = late - dt.timedelta(seconds=1)
    assert seen(document, state, "Order Completed", just_in_time)[0].outcome is Outcome.CONVERTED


def test_an_event_before_the_entry_is_ignored() -> None:
    document = _nurture()
    state, _ = start(document)
    assert seen(document, state, "Order Completed", START - dt.timedelta(seconds=1)) == (state, [])


def test_the_entry_event_seen_again_is_no_conversion() -> None:
    document = journey({"wait": {"days": 3}}, email(), goal=GOAL)
    entry = Entry("Order Completed", {"order_id": "1"}, START, message_id="m-1")
    state, _ = start(document, entry=entry)
    assert seen(document, state, "Order Completed", START, message_id="m-1") == (state, [])
    # another order at the very same moment is another event
    converted, _ = seen(document, state, "Order Completed", START, message_id="m-2")
    assert converted.outcome is Outcome.CONVERTED


def test_without_message_ids_the_entry_is_known_by_its_name_and_moment() -> None:
    document = journey({"wait": {"days": 3}}, email(), goal=GOAL)
    state, _ = start(document, entry=Entry("Order Completed", {}, START))
    assert seen(document, state, "Order Completed", START) == (state, [])
    later, _ = seen(document, state, "Order Completed", START + dt.timedelta(seconds=1))
    assert later.outcome is Outcome.CONVERTED


def test_an_entry_processed_late_is_entered_when_it_happened() -> None:
    document = _nurture()
    happened = START - dt.timedelta(minutes=10)
    state, _ = start(document, entry=Entry("Signed Up", {}, happened), now=START)
    assert state.entered_at == happened
    assert state.goal_deadline == happened + 14 * DAY
    # an order between the sign-up and the enrolment counts
    converted, _ = seen(document, state, "Order Completed", happened + dt.timedelta(minutes=5))
    assert converted.outcome is Outcome.CONVERTED


def test_an_entry_dated_in_the_future_is_entered_now() -> None:
    state, _ = start(_nurture(), entry=Entry("Signed Up", {}, START + DAY), now=START)
    assert state.entered_at == START


def test_a_journey_without_a_goal_ignores_every_event_at_a_wait() -> None:
    document = journey({"wait": {"days": 3}}, email())
    state, _ = start(document)
    assert state.goal_deadline is None
    assert seen(document, state, "Order Completed", START + DAY) == (state, [])


def test_the_goal_wins_over_a_wait_for_the_same_event() -> None:
    document = journey(
        {"wait_for": {"event": "Order Completed", "timeout_days": 3}}, email("thanks"), goal=GOAL
    )
    state, _ = start(document)
    state, actions = seen(document, state, "Order Completed", START + DAY)
    assert actions == [Ended(Outcome.CONVERTED, state.reason)]


def test_an_ended_enrolment_is_left_as_it_is() -> None:
    document = _nurture()
    state, _ = start(document)
    state, _ = seen(document, state, "Order Completed", START + DAY)
    assert seen(document, state, "Order Completed", START + 2 * DAY) == (state, [])
    assert tick(document, state, START + 100 * DAY) == (state, [])
