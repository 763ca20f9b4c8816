"""The enrolment's state: a JSON document that comes back as it went, a bad one refused
with the field that is wrong, and a state that does not fit its journey stopped."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from retain.journeys.engine import (
    Ended,
    EnrolmentState,
    Entry,
    EventSeen,
    Outcome,
    Tick,
    advance,
    cancel,
)
from tests.journeys.engine_builders import START, FixedFacts, email, journey, start, tick

DAY = dt.timedelta(days=1)
CHECKOUT = journey(
    email("a"),
    {"wait_for": {"event": "Order Completed", "same": "order_id", "timeout_days": 2,
                  "on_timeout": "late"}},
    {"wait": {"days": 1, "until": "10:00"}},
    {"id": "late", "email": {"subject": "late", "html": "<p>x</p>"}},
    goal={"event": "Order Completed", "within_days": 7},
)  # fmt: skip
ENTRY = Entry("Checkout Started", {"order_id": "A-1", "total": 12.5, "items": [{"sku": "x"}]},
              START, message_id="m-1")  # fmt: skip


def round_trip(state: EnrolmentState) -> EnrolmentState:
    return EnrolmentState.from_json(json.loads(json.dumps(state.to_json())))


def test_a_state_waiting_for_an_event_comes_back_from_json_as_it_went() -> None:
    state, _ = start(CHECKOUT, entry=ENTRY, held_out=True)
    assert state.waiting is not None
    assert round_trip(state) == state


def test_a_state_at_a_wait_and_an_ended_state_come_back_from_json_as_they_went() -> None:
    state, _ = start(CHECKOUT, entry=ENTRY, facts=FixedFacts(zone="Asia/Bangkok"))
    state, _ = advance(CHECKOUT, state, EventSeen("Product Viewed", {}, START), now=START,
                       facts=FixedFacts())  # fmt: skip
    waiting, _ = tick(CHECKOUT, state, START + 2 * DAY)
    assert round_trip(waiting) == waiting
    ended, _ = tick(CHECKOUT, waiting, START + 30 * DAY)
    assert ended.outcome is Outcome.COMPLETED
    assert round_trip(ended) == ended


def test_a_state_from_json_behaves_as_the_original() -> None:
    state, _ = start(CHECKOUT, entry=ENTRY)
    event = EventSeen("Order Completed", {"order_id": "A-1"}, START + DAY)
    facts = FixedFacts()
    assert advance(CHECKOUT, round_trip(state), event, now=START + DAY, facts=facts) == advance(
        CHECKOUT, state, event, now=START + DAY, facts=facts
    )


def test_the_json_holds_times_in_utc_and_plain_values() -> None:
    bangkok = dt.timezone(dt.timedelta(hours=7))
    state, _ = start(CHECKOUT, entry=ENTRY, now=START.astimezone(bangkok))
    data = state.to_json()
    assert data["entered_at"] == "2026-03-02T09:00:00+00:00"
    assert data["waiting"]["timeout_at"] == "2026-03-04T09:00:00+00:00"
    assert data["entry"]["properties"]["items"] == [{"sku": "x"}]
    assert data["format"] == 1 and data["outcome"] is None and data["visits"] == 2


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format": 2}, "state.format: expected 1"),
        ({"visits": True}, "state.visits: expected int, not bool"),
        ({"held_out": "yes"}, "state.held_out: expected bool, not str"),
        ({"entered_at": "yesterday"}, "state.entered_at: 'yesterday' is not an ISO 8601 time"),
        ({"entered_at": "2026-03-02T09:00:00"}, "state.entered_at: .* has no time zone"),
        ({"outcome": "won"}, "state.outcome: 'won' is not one of"),
        ({"entry": {"properties": {}}}, "state.entry.name: missing"),
        ({"waiting": {"event": "X"}}, "state.waiting.timeout_at: missing"),
        ({"waiting": []}, "state.waiting: expected Mapping, not list"),
    ],
)
def test_a_bad_state_document_is_refused_naming_the_field(
    change: dict[str, Any], message: str
) -> None:
    state, _ = start(CHECKOUT, entry=ENTRY)
    with pytest.raises(ValueError, match=message):
        EnrolmentState.from_json({**state.to_json(), **change})


def test_a_missing_field_is_named() -> None:
    data = start(CHECKOUT, entry=ENTRY)[0].to_json()
    del data["customer_key"]
    with pytest.raises(ValueError, match=r"state\.customer_key: missing"):
        EnrolmentState.from_json(data)
    with pytest.raises(ValueError, match="state: expected a mapping, not list"):
        EnrolmentState.from_json([])  # type: ignore[arg-type]


def test_a_state_of_another_journey_or_version_is_stopped() -> None:
    state, _ = start(CHECKOUT, entry=ENTRY)
    other = journey({"wait": {"days": 1}}, email())
    renamed = CHECKOUT.model_copy(update={"key": "other"})
    for document in (other, renamed):
        with pytest.raises(ValueError, match=r"does not fit the journey .* the version"):
            advance(document, state, Tick(), now=START + 9 * DAY, facts=FixedFacts())


def test_cancel_ends_a_running_enrolment_and_leaves_an_ended_one() -> None:
    state, _ = start(CHECKOUT, entry=ENTRY)
    cancelled, actions = cancel(state, now=START + DAY, reason="journey stopped")
    assert actions == [Ended(Outcome.CANCELLED, "journey stopped")]
    assert cancelled.outcome is Outcome.CANCELLED and cancelled.ended_at == START + DAY
    assert cancel(cancelled, now=START + 2 * DAY, reason="again") == (cancelled, [])
    assert advance(CHECKOUT, cancelled, Tick(), now=START + 9 * DAY, facts=FixedFacts()) == (
        cancelled,
        [],
    )


def test_a_naive_event_time_is_refused() -> None:
    state, _ = start(CHECKOUT, entry=ENTRY)
    event = EventSeen("Order Completed", {}, dt.datetime(2026, 3, 3))
    with pytest.raises(ValueError, match=r"event\.occurred_at must be an aware datetime"):
        advance(CHECKOUT, state, event, now=START + DAY, facts=FixedFacts())


def test_a_stimulus_of_another_kind_is_refused() -> None:
    state, _ = start(CHECKOUT, entry=ENTRY)
    with pytest.raises(TypeError, match="expected a Tick or an EventSeen, not str"):
        advance(CHECKOUT, state, "tick", now=START, facts=FixedFacts())  # type: ignore[arg-type]
