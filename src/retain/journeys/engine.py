"""The journey engine: where an enrolment goes next, as a pure function.

::

    state, actions = enter(document, enrolment_key=..., customer_key=..., entry=...,
                           now=now, held_out=..., facts=facts)
    state, actions = advance(document, state, Tick(), now=now, facts=facts)
    state, actions = advance(document, state, EventSeen(...), now=now, facts=facts)

No database, no network, no clock: the runner passes ``now``, stores the
:class:`EnrolmentState` (JSON) and carries out the actions (messages into the outbox under
their idempotency keys). What the engine cannot know by itself, whether the customer matches
a branch's filter now and their time zone, it asks :class:`Facts`. The same inputs give the
same state and the same actions, idempotency keys included, so a runner that crashes and
advances an enrolment again writes nothing twice.

An enrolment runs its steps at once until it must wait: it rests at a ``wait`` (until
``wake_at``) or a ``wait_for`` (until the event or the timeout), or ends. A step reached
twice in one call without a rest in between is a loop that would never stop (the same facts
take the same turns): the enrolment ends with :attr:`Outcome.ERROR`, its reason naming the
loop. So does an enrolment past :data:`MAX_VISITS` steps, or whose wait needs a time zone
that does not exist. An enrolment that ends in error carries out nothing of that call: the
runner gets the ``Ended`` action alone.

Held-out enrolments go through the same steps at the same moments; every action they
produce carries ``held_out=True`` and the runner records it without carrying it out: no
message, no webhook, and no trait or tag either (a tag may feed another journey or an
audience exported to an ad platform, and the holdout must get nothing the treatment gets).
Their goal conversions are recorded like any other: that is the comparison.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol

from pydantic import BaseModel

from retain.journeys.clock import UnknownTimeZone, next_allowed, zone_named
from retain.journeys.documents import (
    WEEKDAYS,
    BranchStep,
    EmailStep,
    JourneyDocument,
    MessageContent,
    SetStep,
    SplitStep,
    WaitForStep,
    WaitStep,
    WebhookStep,
)
from retain.journeys.enrolment_state import EnrolmentState, Entry, Outcome, Waiting
from retain.journeys.holdout import stable_fraction

__all__ = [
    "MAX_VISITS",
    "Action",
    "AddTags",
    "CallWebhook",
    "Custom",
    "Ended",
    "EnrolmentState",
    "Entry",
    "EventSeen",
    "Facts",
    "Outcome",
    "RemoveTags",
    "SendEmail",
    "SetTraits",
    "Stimulus",
    "Tick",
    "Waiting",
    "advance",
    "cancel",
    "enter",
    "idempotency_key",
    "split_path",
]

#: The most steps one enrolment may execute over its life: a loop with a wait in it runs
#: on, but not forever.
MAX_VISITS = 10_000
#: The steps an enrolment rests at.
_RESTING = ("wait", "wait_for")


# --- what moves an enrolment ---------------------------------------------------------------


@dataclass(frozen=True)
class Tick:
    """Time passes: a wait or a ``wait_for``'s timeout ends if ``now`` reached ``wake_at``."""


@dataclass(frozen=True)
class EventSeen:
    """An event of the customer's (``Order Completed``), for a ``wait_for`` or the goal."""

    name: str
    properties: Mapping[str, Any]
    occurred_at: dt.datetime
    message_id: str | None = None


Stimulus = Tick | EventSeen


class Facts(Protocol):
    """What the engine asks the runner about the customer, as of ``now``."""

    def matches(self, condition: Mapping[str, Any]) -> bool:
        """Whether the customer matches an audience filter (a ``branch``'s ``if``)."""
        ...

    def time_zone(self) -> str | None:
        """The customer's IANA time zone (``Asia/Bangkok``) for waits ``until`` a local time
        or on ``weekdays``; ``None`` is UTC. The runner passes the shop's zone when the
        customer has none of their own."""
        ...


# --- what the runner carries out -------------------------------------------------------------


@dataclass(frozen=True)
class SendEmail:
    """Send an email: the content per locale (``en`` the fallback)."""

    step_id: str
    idempotency_key: str
    contents: Mapping[str, MessageContent]
    topic: str | None
    transactional: bool
    held_out: bool


@dataclass(frozen=True)
class CallWebhook:
    """POST the documented payload, with ``data`` added, to ``url``."""

    step_id: str
    idempotency_key: str
    url: str
    data: Mapping[str, Any]
    held_out: bool


@dataclass(frozen=True)
class SetTraits:
    step_id: str
    idempotency_key: str
    traits: Mapping[str, Any]
    held_out: bool


@dataclass(frozen=True)
class AddTags:
    step_id: str
    idempotency_key: str
    tags: tuple[str, ...]
    held_out: bool


@dataclass(frozen=True)
class RemoveTags:
    step_id: str
    idempotency_key: str
    tags: tuple[str, ...]
    held_out: bool


@dataclass(frozen=True)
class Custom:
    """A step of a kind registered by another domain (``register_step``): its validated
    body, for the runner to hand to that domain."""

    kind: str
    step_id: str
    idempotency_key: str
    body: BaseModel
    held_out: bool


@dataclass(frozen=True)
class Ended:
    """The enrolment ended: how, and why in words (``None`` when it simply completed)."""

    outcome: Outcome
    reason: str | None


Action = SendEmail | CallWebhook | SetTraits | AddTags | RemoveTags | Custom | Ended


# --- the doors ----------------------------------------------------------------------------


def enter(
    document: JourneyDocument,
    *,
    enrolment_key: str,
    customer_key: str,
    entry: Entry,
    now: dt.datetime,
    held_out: bool,
    facts: Facts,
) -> tuple[EnrolmentState, list[Action]]:
    """Enrol a customer and run the journey's first steps up to its first rest.

    ``enrolment_key`` is the runner's own name for the enrolment (``welcome:3:12345``: the
    journey, its version, the enrolment's id), the start of every idempotency key;
    ``customer_key`` the customer's stable key, which a ``split`` hashes. The enrolment is
    entered at the entry's moment (``now`` if it has none or names a later one): events
    before it are not counted and the goal's window starts there.
    """
    now = _utc(now, "now")
    if not enrolment_key:
        raise ValueError("enrolment_key must not be empty")
    occurred = None if entry.occurred_at is None else _utc(entry.occurred_at, "entry.occurred_at")
    entered_at = now if occurred is None else min(occurred, now)
    goal = document.goal
    state = EnrolmentState(
        enrolment_key=enrolment_key,
        journey_key=document.key,
        customer_key=customer_key,
        entry=replace(entry, properties=dict(entry.properties), occurred_at=occurred),
        entered_at=entered_at,
        held_out=held_out,
        goal_deadline=None if goal is None else entered_at + dt.timedelta(days=goal.within_days),
    )
    return _run(document, state, 0, now=now, facts=facts)


def advance(
    document: JourneyDocument,
    state: EnrolmentState,
    stimulus: Stimulus,
    *,
    now: dt.datetime,
    facts: Facts,
) -> tuple[EnrolmentState, list[Action]]:
    """Move an enrolment on after a tick or an event; ``document`` is the version it entered.

    An ended enrolment, a tick before ``wake_at`` and an event that concerns neither the goal
    nor what the enrolment waits for leave the state as it is, with no actions.
    """
    now = _utc(now, "now")
    if not state.running:
        return state, []
    _check_fits(document, state)
    if isinstance(stimulus, Tick):
        return _on_tick(document, state, now=now, facts=facts)
    if isinstance(stimulus, EventSeen):
        return _on_event(document, state, stimulus, now=now, facts=facts)
    raise TypeError(f"expected a Tick or an EventSeen, not {type(stimulus).__name__}")


def cancel(
    state: EnrolmentState, *, now: dt.datetime, reason: str
) -> tuple[EnrolmentState, list[Action]]:
    """End a running enrolment from outside (the journey stopped, the customer erased)."""
    if not state.running:
        return state, []
    return _end(state, Outcome.CANCELLED, reason, _utc(now, "now"))


def idempotency_key(enrolment_key: str, step_id: str, visit: int) -> str:
    """The key of one execution of a step: ``<enrolment key>:<step id>:<visit>``, as in
    ``welcome:3:12345:step-1:1``."""
    return f"{enrolment_key}:{step_id}:{visit}"


def split_path(
    journey_key: str, customer_key: str, step_id: str, paths: Mapping[str, float]
) -> str:
    """The path a ``split`` sends the customer down: a stable hash of (journey, customer,
    step) placed on the paths' shares, in the order written."""
    place = stable_fraction(f"{journey_key}:{customer_key}:{step_id}") * sum(paths.values())
    reached = 0.0
    for name, weight in paths.items():
        reached += weight
        if place < reached:
            return name
    return next(reversed(paths))  # the sum's rounding, never by more than a hair


# --- moving on ----------------------------------------------------------------------------


def _on_tick(
    document: JourneyDocument, state: EnrolmentState, *, now: dt.datetime, facts: Facts
) -> tuple[EnrolmentState, list[Action]]:
    if state.wake_at is None or now < state.wake_at:
        return state, []
    assert state.position is not None  # _check_fits
    following = state.position + 1
    if state.waiting is not None and state.waiting.on_timeout is not None:
        following = document.step_index(state.waiting.on_timeout)
    resumed = replace(state, wake_at=None, waiting=None)
    return _run(document, resumed, following, now=now, facts=facts)


def _on_event(
    document: JourneyDocument,
    state: EnrolmentState,
    event: EventSeen,
    *,
    now: dt.datetime,
    facts: Facts,
) -> tuple[EnrolmentState, list[Action]]:
    occurred = _utc(event.occurred_at, "event.occurred_at")
    if occurred < state.entered_at or _is_entry(state.entry, event, occurred):
        return state, []
    goal = document.goal
    deadline = state.goal_deadline
    if goal is not None and event.name == goal.event and deadline and occurred < deadline:
        return _end(state, Outcome.CONVERTED, f"{event.name} at {occurred.isoformat()}", now)
    if _awaited(state.waiting, event, occurred):
        assert state.position is not None  # _check_fits
        resumed = replace(state, wake_at=None, waiting=None)
        return _run(document, resumed, state.position + 1, now=now, facts=facts)
    return state, []


def _run(
    document: JourneyDocument,
    state: EnrolmentState,
    index: int,
    *,
    now: dt.datetime,
    facts: Facts,
) -> tuple[EnrolmentState, list[Action]]:
    """Execute steps from ``index`` until the enrolment rests or ends."""
    steps = document.steps
    actions: list[Action] = []
    visits = state.visits
    path: list[int] = []
    while index < len(steps):
        if index in path:
            loop = [steps[at].id for at in path[path.index(index) :]] + [steps[index].id]
            reason = (
                f"the steps {' -> '.join(loop)} loop without a wait between them: "
                "the enrolment stopped and sent nothing of this run"
            )
            return _end(replace(state, visits=visits), Outcome.ERROR, reason, now)
        if visits >= MAX_VISITS:
            reason = f"executed {MAX_VISITS:,} steps, the most an enrolment may"
            return _end(replace(state, visits=visits), Outcome.ERROR, reason, now)
        path.append(index)
        step = steps[index]
        visits += 1
        key = idempotency_key(state.enrolment_key, step.id, visits)
        held_out = state.held_out
        body = step.body
        following = index + 1
        match step.kind:
            case "email":
                assert isinstance(body, EmailStep)
                actions.append(
                    SendEmail(step.id, key, body.contents(), document.topic,
                              document.transactional, held_out)
                )  # fmt: skip
            case "webhook":
                assert isinstance(body, WebhookStep)
                actions.append(CallWebhook(step.id, key, body.url, dict(body.data), held_out))
            case "set":
                assert isinstance(body, SetStep)
                actions.extend(_set_actions(step.id, key, body, held_out))
            case "wait":
                assert isinstance(body, WaitStep)
                try:
                    wake = _wake_at(body, now, facts)
                except UnknownTimeZone as error:
                    reason = f"step {step.id}: the customer's time zone: {error}"
                    return _end(replace(state, visits=visits), Outcome.ERROR, reason, now)
                if wake > now:
                    rest = replace(state, position=index, wake_at=wake, visits=visits)
                    return rest, actions
            case "wait_for":
                assert isinstance(body, WaitForStep)
                waiting = _waiting(body, state.entry, now)
                rest = replace(
                    state, position=index, wake_at=waiting.timeout_at, waiting=waiting,
                    visits=visits,
                )  # fmt: skip
                return rest, actions
            case "branch":
                assert isinstance(body, BranchStep)
                target = body.then if facts.matches(body.condition) else body.otherwise
                if target is not None:
                    following = document.step_index(target)
            case "split":
                assert isinstance(body, SplitStep)
                chosen = split_path(document.key, state.customer_key, step.id, body.paths)
                following = document.step_index(chosen)
            case "exit":
                ended, end = _end(
                    replace(state, visits=visits), Outcome.EXITED, f"exit at step {step.id}", now
                )
                return ended, actions + end
            case _:
                actions.append(Custom(step.kind, step.id, key, body, held_out))
        index = following
    ended, end = _end(replace(state, visits=visits), Outcome.COMPLETED, None, now)
    return ended, actions + end


def _end(
    state: EnrolmentState, outcome: Outcome, reason: str | None, now: dt.datetime
) -> tuple[EnrolmentState, list[Action]]:
    return state.ended(outcome, reason, now), [Ended(outcome, reason)]


def _set_actions(step_id: str, key: str, body: SetStep, held_out: bool) -> list[Action]:
    """A ``set`` step's changes, one action per kind; they share the visit's key (each
    change is idempotent in itself)."""
    actions: list[Action] = []
    if body.traits:
        actions.append(SetTraits(step_id, key, dict(body.traits), held_out))
    if body.tags:
        actions.append(AddTags(step_id, key, tuple(body.tags), held_out))
    if body.remove_tags:
        actions.append(RemoveTags(step_id, key, tuple(body.remove_tags), held_out))
    return actions


def _wake_at(body: WaitStep, now: dt.datetime, facts: Facts) -> dt.datetime:
    """The end of a wait: the duration from now, then the next allowed local time.

    An ``until`` written with its own offset (``10:00+07:00``) is read in that offset; any
    other in the customer's zone."""
    after = now + body.duration()
    if body.until is None and body.weekdays is None:
        return after
    if body.until is not None and body.until.tzinfo is not None:
        zone = body.until.tzinfo
    else:
        zone = zone_named(facts.time_zone())
    weekdays = None if body.weekdays is None else {WEEKDAYS.index(day) for day in body.weekdays}
    return next_allowed(after, zone, at=body.until, weekdays=weekdays)


def _waiting(body: WaitForStep, entry: Entry, now: dt.datetime) -> Waiting:
    return Waiting(
        event=body.event,
        timeout_at=now + dt.timedelta(days=body.timeout_days),
        same=body.same,
        same_value=None if body.same is None else entry.properties.get(body.same),
        on_timeout=body.on_timeout,
    )


def _awaited(waiting: Waiting | None, event: EventSeen, occurred: dt.datetime) -> bool:
    """Whether ``event`` is what a ``wait_for`` waits for: its name, before the timeout, and
    with ``same``, the entry's value of that property."""
    if waiting is None or event.name != waiting.event or occurred >= waiting.timeout_at:
        return False
    return waiting.same is None or _same_value(
        waiting.same_value, event.properties.get(waiting.same)
    )


def _same_value(expected: Any, seen: Any) -> bool:
    """Whether an event's property is the entry's value. A missing or null value is nobody's
    (an entry without it makes the wait match nothing: it times out). Shops send ids as text
    in one event and as a number in the next, so ``"123"`` is ``123``; ``"0123"`` is not, nor
    is ``true`` ``1``."""
    if expected is None or seen is None:
        return False
    if isinstance(expected, bool) or isinstance(seen, bool):
        return type(expected) is type(seen) and expected == seen
    if isinstance(expected, str | int) and isinstance(seen, str | int):
        return str(expected) == str(seen)
    return bool(expected == seen)


def _is_entry(entry: Entry, event: EventSeen, occurred: dt.datetime) -> bool:
    """Whether ``event`` is the one that enrolled the customer, seen again: the same message
    id, or (without ids) the same name at the same moment."""
    if event.message_id is not None and entry.message_id is not None:
        return event.message_id == entry.message_id
    return event.name == entry.name and occurred == entry.occurred_at


def _check_fits(document: JourneyDocument, state: EnrolmentState) -> None:
    """A running state rests at a wait of this document; anything else is the runner
    pairing a state with the wrong journey or version: a bug to stop at, not to follow."""
    position = state.position
    fits = (
        state.journey_key == document.key
        and position is not None
        and 0 <= position < len(document.steps)
        and document.steps[position].kind in _RESTING
        and (document.steps[position].kind == "wait") == (state.waiting is None)
    )
    if not fits:
        raise ValueError(
            f"the state of enrolment {state.enrolment_key} (journey {state.journey_key}, "
            f"position {position}) does not fit the journey {document.key}: "
            "is it the version the enrolment entered?"
        )


def _utc(moment: dt.datetime, name: str) -> dt.datetime:
    if moment.tzinfo is None:
        raise ValueError(f"{name} must be an aware datetime, not {moment.isoformat()}")
    return moment.astimezone(dt.UTC)
