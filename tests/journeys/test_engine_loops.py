"""Loops in the engine: a loop with a wait runs (each visit under its own key), a loop
without one is stopped at once and sends nothing, and no enrolment runs forever."""

from __future__ import annotations

import datetime as dt

from retain.journeys import engine
from retain.journeys.engine import Ended, Outcome, SendEmail
from tests.journeys.engine_builders import START, FixedFacts, email, journey, start, tick

ALWAYS = FixedFacts(matching=lambda condition: True)
COND = {"field": "segment", "eq": "vip"}


def test_a_loop_without_a_wait_ends_in_error_naming_the_loop_and_sends_nothing() -> None:
    document = journey(
        email("before"),
        {"id": "top", "email": {"subject": "loop", "html": "<p>x</p>"}},
        {"id": "again", "branch": {"if": COND, "then": "top"}},
    )
    state, actions = start(document, facts=ALWAYS)
    assert state.outcome is Outcome.ERROR
    assert "top -> again -> top" in state.reason
    assert actions == [Ended(Outcome.ERROR, state.reason)]


def test_a_step_that_jumps_to_itself_is_a_loop() -> None:
    document = journey({"id": "self", "branch": {"if": COND, "then": "self"}}, email())
    state, _ = start(document, facts=ALWAYS)
    assert state.outcome is Outcome.ERROR
    assert "self -> self" in state.reason


def test_a_loop_whose_wait_passes_at_once_is_a_loop_too() -> None:
    # on a Monday a wait for Monday passes at once, every time round
    document = journey(
        {"id": "top", "wait": {"weekdays": ["mon"]}},
        {"branch": {"if": COND, "then": "top"}},
    )
    state, _ = start(document, facts=ALWAYS)
    assert state.outcome is Outcome.ERROR


def test_a_branch_that_leaves_the_loop_is_no_loop() -> None:
    document = journey(
        {"id": "top", "branch": {"if": COND, "then": "out"}},
        email("once"),
        {"id": "out", "exit": {}},
    )
    state, _ = start(document, facts=ALWAYS)
    assert state.outcome is Outcome.EXITED


def test_a_loop_with_a_wait_runs_each_visit_under_its_own_key() -> None:
    document = journey(
        {"id": "top", "email": {"subject": "weekly", "html": "<p>x</p>"}},
        {"wait": {"days": 7}},
        {"branch": {"if": COND, "then": "top"}},
    )
    state, actions = start(document, facts=ALWAYS)
    keys = [actions[0].idempotency_key]
    now = START
    for _ in range(5):
        now = state.wake_at
        state, actions = tick(document, state, now, ALWAYS)
        assert [type(a) for a in actions] == [SendEmail]
        keys.append(actions[0].idempotency_key)
    assert keys == [f"welcome:1:1:top:{visit}" for visit in (1, 4, 7, 10, 13, 16)]
    assert state.running and state.wake_at == now + dt.timedelta(days=7)


def test_no_enrolment_executes_more_steps_than_the_most_allowed() -> None:
    document = journey(
        {"id": "top", "wait": {"minutes": 1}},
        {"branch": {"if": COND, "then": "top"}},
    )
    state, _ = start(document, facts=ALWAYS)
    ticks = 0
    while state.running:
        state, actions = tick(document, state, state.wake_at, ALWAYS)
        ticks += 1
    assert state.outcome is Outcome.ERROR
    assert actions == [Ended(Outcome.ERROR, "executed 10,000 steps, the most an enrolment may")]
    assert state.visits == engine.MAX_VISITS == 10_000
    assert ticks == 5_000
