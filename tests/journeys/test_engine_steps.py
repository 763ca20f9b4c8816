"""The engine's steps, one kind at a time: what each does to the enrolment and what the
runner is asked to carry out."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from pydantic import BaseModel, ConfigDict

from retain.journeys.documents import STEP_KINDS, MessageContent, register_step
from retain.journeys.engine import (
    AddTags,
    CallWebhook,
    Custom,
    Ended,
    Outcome,
    RemoveTags,
    SendEmail,
    SetTraits,
    idempotency_key,
)
from tests.journeys.engine_builders import START, FixedFacts, email, journey, kinds, start

VIP = {"field": "segment", "eq": "vip"}


def is_vip(condition: object) -> bool:
    return condition == VIP


# --- messages and changes ----------------------------------------------------------------


def test_an_email_step_asks_for_the_email_with_its_contents_topic_and_key() -> None:
    document = journey(
        {"email": {"en": {"subject": "Hi", "html": "<p>Hi</p>"},
                   "th": {"subject": "สวัสดี", "html": "<p>สวัสดี</p>"}}},
        topic="news",
    )  # fmt: skip
    state, actions = start(document)
    assert actions == [
        SendEmail(
            step_id="step-1",
            idempotency_key="welcome:1:1:step-1:1",
            contents={
                "en": MessageContent(subject="Hi", html="<p>Hi</p>"),
                "th": MessageContent(subject="สวัสดี", html="<p>สวัสดี</p>"),
            },
            topic="news",
            transactional=False,
            held_out=False,
        ),
        Ended(Outcome.COMPLETED, None),
    ]
    assert state.outcome is Outcome.COMPLETED


def test_a_single_content_email_is_filed_under_english() -> None:
    _, actions = start(journey(email("Order received")))
    message = actions[0]
    assert isinstance(message, SendEmail)
    assert set(message.contents) == {"en"}
    assert message.transactional and message.topic is None


def test_a_webhook_step_asks_for_the_call_with_its_data() -> None:
    document = journey({"webhook": {"url": "https://example.com/sms", "data": {"template": 7}}})
    _, actions = start(document)
    assert actions[0] == CallWebhook(
        step_id="step-1",
        idempotency_key="welcome:1:1:step-1:1",
        url="https://example.com/sms",
        data={"template": 7},
        held_out=False,
    )


def test_a_set_step_asks_for_traits_tags_and_untagging_under_its_visit_key() -> None:
    document = journey({"set": {"traits": {"plan": "gold"}, "tags": ["vip"],
                                "remove_tags": ["new"]}})  # fmt: skip
    _, actions = start(document)
    key = "welcome:1:1:step-1:1"
    assert actions == [
        SetTraits("step-1", key, {"plan": "gold"}, held_out=False),
        AddTags("step-1", key, ("vip",), held_out=False),
        RemoveTags("step-1", key, ("new",), held_out=False),
        Ended(Outcome.COMPLETED, None),
    ]


def test_a_set_step_with_tags_only_asks_for_tags_only() -> None:
    _, actions = start(journey({"set": {"tags": ["vip"]}}))
    assert kinds(actions) == ["AddTags", "Ended"]


class Points(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    points: int


@pytest.fixture
def points_step() -> Iterator[None]:
    """A kind another domain registers (loyalty points), for this test only."""
    register_step("grant_points", Points)
    yield
    del STEP_KINDS["grant_points"]


@pytest.mark.usefixtures("points_step")
def test_a_registered_kind_is_handed_to_the_runner_with_its_body_and_goes_on() -> None:
    document = journey({"grant_points": {"points": 50}}, email("Thanks"))
    state, actions = start(document)
    assert actions[0] == Custom(
        kind="grant_points",
        step_id="step-1",
        idempotency_key="welcome:1:1:step-1:1",
        body=Points(points=50),
        held_out=False,
    )
    assert kinds(actions) == ["Custom", "SendEmail", "Ended"]
    assert state.outcome is Outcome.COMPLETED


# --- endings ---------------------------------------------------------------------------------


def test_running_past_the_last_step_completes_the_enrolment() -> None:
    state, actions = start(journey(email()), now=START)
    assert actions[-1] == Ended(Outcome.COMPLETED, None)
    assert state.outcome is Outcome.COMPLETED
    assert state.ended_at == START
    assert state.position is None and state.wake_at is None and not state.running


def test_an_exit_step_ends_the_enrolment_and_skips_what_follows() -> None:
    state, actions = start(journey(email("first"), {"id": "out", "exit": {}}, email("never")))
    assert kinds(actions) == ["SendEmail", "Ended"]
    assert actions[-1] == Ended(Outcome.EXITED, "exit at step out")
    assert state.outcome is Outcome.EXITED
    assert state.visits == 2


# --- branch ------------------------------------------------------------------------------------


def _branching(**branch: str) -> object:
    return journey(
        {"branch": {"if": VIP, **branch}},
        email("regular"),
        {"id": "vip", "email": {"subject": "vip", "html": "<p>vip</p>"}},
        {"id": "end", "exit": {}},
    )


def _subjects(actions: list) -> list[str]:
    return [a.contents["en"].subject for a in actions if isinstance(a, SendEmail)]


def test_a_branch_goes_to_then_for_a_customer_who_matches() -> None:
    facts = FixedFacts(matching=is_vip)
    _, actions = start(_branching(then="vip"), facts=facts)
    assert _subjects(actions) == ["vip"]
    assert facts.asked == [VIP]


def test_a_branch_without_else_goes_on_to_the_next_step_for_a_customer_who_does_not() -> None:
    _, actions = start(_branching(then="vip"))
    assert _subjects(actions) == ["regular", "vip"]


def test_a_branch_goes_to_else_for_a_customer_who_does_not_match() -> None:
    _, actions = start(_branching(then="vip", **{"else": "end"}))
    assert _subjects(actions) == []
    _, actions = start(_branching(**{"else": "end"}), facts=FixedFacts(matching=is_vip))
    assert _subjects(actions) == ["regular", "vip"]


# --- split -------------------------------------------------------------------------------------


def _split(paths: dict[str, float]) -> object:
    steps = [{"split": {"paths": paths}}]
    for name in paths:
        steps += [{"id": name, "email": {"subject": name, "html": "<p>x</p>"}}, {"exit": {}}]
    return journey(*steps)


def test_a_split_sends_each_customer_down_one_path_the_same_one_every_time() -> None:
    document = _split({"a": 1, "b": 1})
    for number in range(200):
        first = _subjects(start(document, customer_key=f"c-{number}")[1])
        again = _subjects(start(document, customer_key=f"c-{number}", now=START.replace(
            year=2027))[1])  # fmt: skip
        assert len(first) == 1 and first == again


@pytest.mark.parametrize("weights", [{"a": 50, "b": 50}, {"a": 10, "b": 90},
                                     {"a": 1, "b": 2, "c": 7}])  # fmt: skip
def test_a_split_shares_10000_customers_by_its_weights(weights: dict[str, float]) -> None:
    from scipy import stats

    document = _split(weights)
    counts = dict.fromkeys(weights, 0)
    for number in range(10_000):
        (path,) = _subjects(start(document, customer_key=f"customer-{number}")[1])
        counts[path] += 1
    total = sum(weights.values())
    for path, weight in weights.items():
        low, high = stats.binom.interval(0.99, 10_000, weight / total)
        assert low <= counts[path] <= high, (path, counts)


def test_two_splits_in_one_journey_draw_independently() -> None:
    document = journey(
        {"id": "first", "split": {"paths": {"x1": 1, "y1": 1}}},
        {"id": "x1", "set": {"tags": ["x1"]}},
        {"id": "y1", "split": {"paths": {"x2": 1, "y2": 1}}},
        {"id": "x2", "set": {"tags": ["x2"]}},
        {"id": "y2", "exit": {}},
    )
    # x1 falls through to the second split; both draws are independent halves
    together = 0
    for number in range(4000):
        _, actions = start(document, customer_key=f"c-{number}")
        tags = {tag for a in actions if isinstance(a, AddTags) for tag in a.tags}
        together += tags == {"x1", "x2"}
    assert 800 <= together <= 1200  # a quarter of 4,000, not a half


def test_the_same_customer_splits_differently_in_another_journey() -> None:
    here = _split({"a": 1, "b": 1})
    there = _split({"a": 1, "b": 1}).model_copy(update={"key": "other"})
    differ = sum(
        _subjects(start(here, customer_key=f"c-{n}")[1])
        != _subjects(start(there, customer_key=f"c-{n}")[1])
        for n in range(1000)
    )
    assert 400 <= differ <= 600


# --- held out ------------------------------------------------------------------------------------


@pytest.mark.usefixtures("points_step")
def test_a_held_out_enrolment_goes_through_the_same_steps_with_every_action_marked() -> None:
    document = journey(
        email(),
        {"webhook": {"url": "https://example.com/hook"}},
        {"set": {"traits": {"a": 1}, "tags": ["t"], "remove_tags": ["u"]}},
        {"grant_points": {"points": 5}},
        {"wait": {"days": 1}},
        email("later"),
    )
    treated, treated_actions = start(document)
    held, held_actions = start(document, held_out=True)
    assert kinds(held_actions) == kinds(treated_actions)
    assert all(action.held_out for action in held_actions)
    assert not any(action.held_out for action in treated_actions)
    assert held.wake_at == treated.wake_at
    assert held.held_out and not treated.held_out


# --- keys ----------------------------------------------------------------------------------------


def test_the_idempotency_key_is_the_enrolment_key_the_step_and_the_visit() -> None:
    assert idempotency_key("welcome:3:12345", "step-2", 7) == "welcome:3:12345:step-2:7"


def test_entering_twice_with_the_same_inputs_asks_for_the_same_actions() -> None:
    document = journey(email("a"), {"set": {"tags": ["x"]}}, {"wait": {"hours": 2}}, email("b"))
    assert start(document) == start(document)
    assert start(document, enrolment_key="welcome:1:2") != start(document)


def test_visits_count_every_step_executed() -> None:
    document = journey(email(), {"branch": {"if": VIP, "then": "end"}}, email(),
                       {"id": "end", "exit": {}})  # fmt: skip
    state, actions = start(document)
    assert state.visits == 4
    keys = [a.idempotency_key for a in actions if isinstance(a, SendEmail)]
    assert keys == ["welcome:1:1:step-1:1", "welcome:1:1:step-3:3"]


def test_a_naive_now_or_an_empty_enrolment_key_is_refused() -> None:
    with pytest.raises(ValueError, match="now must be an aware datetime"):
        start(journey(email()), now=dt.datetime(2026, 3, 2, 9))
    with pytest.raises(ValueError, match="enrolment_key"):
        start(journey(email()), enrolment_key="")
