"""The engine under random journeys and random ticks and events (hypothesis): it never
crashes, never asks twice for the same message, never sets a wake time in the past, ends once,
and gives the same answers on a replay, through JSON or not, held out or not."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from retain.journeys.documents import JourneyDocument
from retain.journeys.engine import (
    Action,
    Ended,
    EnrolmentState,
    Entry,
    EventSeen,
    Stimulus,
    Tick,
    advance,
    enter,
)
from tests.journeys.engine_builders import START, FixedFacts, journey

EVENTS = ("Order Completed", "Product Viewed", "Email Clicked")
ORDER_IDS = ("A-1", "B-2", None)
ZONES = ("UTC", "Asia/Bangkok", "Europe/Athens", "America/New_York")


@st.composite
def documents(draw: st.DrawFn) -> JourneyDocument:
    """A journey of 1 to 12 steps of every kind, jumping anywhere (loops included)."""
    count = draw(st.integers(1, 12))
    ids = [f"s{number}" for number in range(count)]
    target = st.sampled_from(ids)
    kinds = st.sampled_from(  # exits fewer, so that journeys run on
        ["email", "email", "webhook", "set", "wait", "wait", "wait_for", "wait_for", "branch",
         "branch", "split", "exit"]
    )  # fmt: skip
    steps = []
    for number, step_id in enumerate(ids):
        kind = draw(kinds)
        body: dict[str, Any]
        if kind == "email":
            body = {"subject": f"mail {number}", "html": "<p>x</p>"}
        elif kind == "webhook":
            body = {"url": "https://example.com/hook"}
        elif kind == "set":
            body = {"tags": [f"t{number}"]}
        elif kind == "wait":
            body = draw(
                st.sampled_from(
                    [{"hours": 5}, {"days": 1, "until": "09:30"}, {"weekdays": ["sat", "sun"]},
                     {"minutes": 30, "until": "02:30", "weekdays": ["sun"]}, {"until": "03:30"}]
                )
            )  # fmt: skip
        elif kind == "wait_for":
            body = {"event": draw(st.sampled_from(EVENTS)), "timeout_days": 2}
            if draw(st.booleans()):
                body["same"] = "order_id"
            if draw(st.booleans()):
                body["on_timeout"] = draw(target)
        elif kind == "branch":
            body = {"if": {"field": "segment", "eq": step_id}, "then": draw(target)}
            if draw(st.booleans()):
                body["else"] = draw(target)
        elif kind == "split" and count > 1:
            chosen = draw(st.lists(target, min_size=2, max_size=3, unique=True))
            body = {"paths": {name: draw(st.integers(1, 5)) for name in chosen}}
        else:
            kind, body = "exit", {}
        steps.append({"id": step_id, kind: body})
    goal = draw(st.sampled_from([None, {"event": "Order Completed", "within_days": 3}]))
    return journey(*steps, goal=goal, topic="news")


@st.composite
def stimuli(draw: st.DrawFn) -> list[tuple[dt.timedelta, Stimulus]]:
    """Up to 40 ticks and events, each some minutes to days after the one before; events
    may have happened a little before they arrive."""
    found: list[tuple[dt.timedelta, Stimulus]] = []
    elapsed = dt.timedelta(0)
    for _ in range(draw(st.integers(0, 40))):
        elapsed += dt.timedelta(minutes=draw(st.integers(0, 2 * 24 * 60)))
        if draw(st.booleans()):
            found.append((elapsed, Tick()))
        else:
            delay = dt.timedelta(minutes=draw(st.integers(0, 600)))
            order = draw(st.sampled_from(ORDER_IDS))
            properties = {} if order is None else {"order_id": order}
            name = draw(st.sampled_from(EVENTS))
            found.append((elapsed, EventSeen(name, properties, START + elapsed - delay)))
    return found


@dataclass
class Run:
    states: list[EnrolmentState]
    actions: list[list[Action]]
    moments: list[dt.datetime]


def run(
    document: JourneyDocument,
    sequence: list[tuple[dt.timedelta, Stimulus]],
    facts: FixedFacts,
    *,
    held_out: bool = False,
    through_json: bool = False,
) -> Run:
    entry = Entry("Checkout Started", {"order_id": "A-1"}, START, message_id="m-0")
    state, actions = enter(document, enrolment_key="news:1:7", customer_key="c-7", entry=entry,
                           now=START, held_out=held_out, facts=facts)  # fmt: skip
    result = Run([state], [actions], [START])
    for elapsed, stimulus in sequence:
        if through_json:
            state = EnrolmentState.from_json(json.loads(json.dumps(state.to_json())))
        state, actions = advance(document, state, stimulus, now=START + elapsed, facts=facts)
        result.states.append(state)
        result.actions.append(actions)
        result.moments.append(START + elapsed)
    return result


def facts_for(segments: frozenset[str], zone: str) -> FixedFacts:
    return FixedFacts(zone=zone, matching=lambda condition: condition.get("eq") in segments)


PROPERTIES = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SEGMENTS = st.frozensets(st.sampled_from([f"s{n}" for n in range(12)]))


@PROPERTIES
@given(documents(), stimuli(), SEGMENTS, st.sampled_from(ZONES))
def test_random_journeys_and_stimuli_keep_the_engines_promises(
    document: JourneyDocument,
    sequence: list[tuple[dt.timedelta, Stimulus]],
    segments: frozenset[str],
    zone: str,
) -> None:
    result = run(document, sequence, facts_for(segments, zone))
    every = [action for actions in result.actions for action in actions]
    event(f"outcome: {result.states[-1].outcome}")
    event(f"actions: {min(len(every), 5)}+" if len(every) >= 5 else f"actions: {len(every)}")

    # never the same message twice (a set step's changes share their visit's key)
    keyed = [(type(a).__name__, a.idempotency_key) for a in every if not isinstance(a, Ended)]
    assert len(keyed) == len(set(keyed))

    # one end at most, the last thing asked, and the state says so
    ends = [action for action in every if isinstance(action, Ended)]
    final = result.states[-1]
    assert len(ends) == (0 if final.running else 1)
    if ends:
        assert every[-1] == ends[0]
        assert (final.outcome, final.reason) == (ends[0].outcome, ends[0].reason)

    previous = result.states[0]
    for state, actions, now in zip(
        result.states[1:], result.actions[1:], result.moments[1:], strict=True
    ):
        if not previous.running:  # an ended enrolment stays as it is
            assert (state, actions) == (previous, [])
        assert state.visits >= previous.visits
        if state != previous and state.running:
            # a new wake time lies ahead of now (so of every moment before); it may be before
            # the one it replaces: an event ends a wait_for before its timeout
            assert state.wake_at is not None and state.wake_at > now
        previous = state


@PROPERTIES
@given(documents(), stimuli(), SEGMENTS, st.sampled_from(ZONES))
def test_a_replay_through_json_or_held_out_asks_for_the_same(
    document: JourneyDocument,
    sequence: list[tuple[dt.timedelta, Stimulus]],
    segments: frozenset[str],
    zone: str,
) -> None:
    facts = facts_for(segments, zone)
    first = run(document, sequence, facts)
    assert run(document, sequence, facts) == first
    assert run(document, sequence, facts, through_json=True) == first

    held = run(document, sequence, facts, held_out=True)
    assert [state.wake_at for state in held.states] == [s.wake_at for s in first.states]
    for treated, held_out in zip(first.actions, held.actions, strict=True):
        assert [type(a) for a in held_out] == [type(a) for a in treated]
        assert [getattr(a, "idempotency_key", None) for a in held_out] == [
            getattr(a, "idempotency_key", None) for a in treated
        ]
        assert all(getattr(a, "held_out", True) for a in held_out)
