"""Where one customer is in one journey: the engine's whole memory of an enrolment, kept by
the runner in a JSON column between two calls to the engine.

The state is plain data (frozen dataclasses); :meth:`EnrolmentState.to_json` gives the JSON
document the runner stores and :meth:`EnrolmentState.from_json` reads it back, refusing a
document that is not one with the field that is wrong. Times are aware datetimes in UTC.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

#: The version of the JSON document :meth:`EnrolmentState.to_json` writes.
STATE_FORMAT = 1


class Outcome(enum.StrEnum):
    """How an enrolment ended. ``None`` in the state while it runs."""

    #: The goal's event happened before the goal's deadline.
    CONVERTED = "converted"
    #: It ran past the last step.
    COMPLETED = "completed"
    #: It reached an ``exit`` step.
    EXITED = "exited"
    #: The runner stopped it (the journey was stopped, the customer erased).
    CANCELLED = "cancelled"
    #: The document could not be followed (a loop without a wait, a bad time zone).
    ERROR = "error"


@dataclass(frozen=True)
class Entry:
    """What enrolled the customer: the event's (or domain event's) name, its properties (the
    order id a ``wait_for`` with ``same`` compares), when it happened and its message id (so
    the entry event, seen again, is not taken for a later one)."""

    name: str
    properties: Mapping[str, Any] = field(default_factory=dict)
    occurred_at: dt.datetime | None = None
    message_id: str | None = None


@dataclass(frozen=True)
class Waiting:
    """What a ``wait_for`` step waits for: an event named ``event`` (with ``same``: whose
    property ``same`` equals ``same_value``, the entry's), until ``timeout_at``, then the
    step ``on_timeout`` (``None``: the next step)."""

    event: str
    timeout_at: dt.datetime
    same: str | None = None
    same_value: Any = None
    on_timeout: str | None = None


@dataclass(frozen=True)
class EnrolmentState:
    """One enrolment as the engine sees it.

    ``position`` is the index of the step it rests at (a ``wait`` or ``wait_for``), ``None``
    once ended; ``wake_at`` is when the runner must tick it (the end of the wait, the
    timeout). ``visits`` counts the steps executed over its life: the visit number makes each
    execution's idempotency key its own, a step visited twice in a loop included.
    """

    enrolment_key: str
    journey_key: str
    customer_key: str
    entry: Entry
    entered_at: dt.datetime
    held_out: bool
    goal_deadline: dt.datetime | None = None
    position: int | None = 0
    wake_at: dt.datetime | None = None
    waiting: Waiting | None = None
    visits: int = 0
    outcome: Outcome | None = None
    reason: str | None = None
    ended_at: dt.datetime | None = None

    @property
    def running(self) -> bool:
        return self.outcome is None

    def ended(self, outcome: Outcome, reason: str | None, now: dt.datetime) -> EnrolmentState:
        """This enrolment, ended at ``now``."""
        return replace(
            self,
            position=None,
            wake_at=None,
            waiting=None,
            outcome=outcome,
            reason=reason,
            ended_at=now,
        )

    def to_json(self) -> dict[str, Any]:
        """The state as a JSON document (a dict of JSON values) for the runner's column."""
        waiting = self.waiting
        return {
            "format": STATE_FORMAT,
            "enrolment_key": self.enrolment_key,
            "journey_key": self.journey_key,
            "customer_key": self.customer_key,
            "entry": {
                "name": self.entry.name,
                "properties": dict(self.entry.properties),
                "occurred_at": _time_text(self.entry.occurred_at),
                "message_id": self.entry.message_id,
            },
            "entered_at": _time_text(self.entered_at),
            "held_out": self.held_out,
            "goal_deadline": _time_text(self.goal_deadline),
            "position": self.position,
            "wake_at": _time_text(self.wake_at),
            "waiting": None
            if waiting is None
            else {
                "event": waiting.event,
                "timeout_at": _time_text(waiting.timeout_at),
                "same": waiting.same,
                "same_value": waiting.same_value,
                "on_timeout": waiting.on_timeout,
            },
            "visits": self.visits,
            "outcome": None if self.outcome is None else self.outcome.value,
            "reason": self.reason,
            "ended_at": _time_text(self.ended_at),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EnrolmentState:
        """The state :meth:`to_json` wrote; raises ``ValueError`` naming the bad field."""
        read = _Reader(data, "state")
        if read.value("format", int) != STATE_FORMAT:
            raise ValueError(f"state.format: expected {STATE_FORMAT}, not {data['format']!r}")
        entry = read.mapping("entry")
        waiting = read.optional_mapping("waiting")
        outcome = read.optional("outcome", str)
        if outcome is not None and outcome not in Outcome.__members__.values():
            raise ValueError(f"state.outcome: {outcome!r} is not one of {', '.join(Outcome)}")
        return cls(
            enrolment_key=read.value("enrolment_key", str),
            journey_key=read.value("journey_key", str),
            customer_key=read.value("customer_key", str),
            entry=Entry(
                name=entry.value("name", str),
                properties=dict(entry.mapping("properties").data),
                occurred_at=entry.optional_time("occurred_at"),
                message_id=entry.optional("message_id", str),
            ),
            entered_at=read.time("entered_at"),
            held_out=read.value("held_out", bool),
            goal_deadline=read.optional_time("goal_deadline"),
            position=read.optional("position", int),
            wake_at=read.optional_time("wake_at"),
            waiting=None
            if waiting is None
            else Waiting(
                event=waiting.value("event", str),
                timeout_at=waiting.time("timeout_at"),
                same=waiting.optional("same", str),
                same_value=waiting.data.get("same_value"),
                on_timeout=waiting.optional("on_timeout", str),
            ),
            visits=read.value("visits", int),
            outcome=None if outcome is None else Outcome(outcome),
            reason=read.optional("reason", str),
            ended_at=read.optional_time("ended_at"),
        )


def _time_text(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(dt.UTC).isoformat()


class _Reader:
    """Fields of a JSON mapping, each checked for its type, a mistake named by its path."""

    def __init__(self, data: Any, path: str) -> None:
        if not isinstance(data, Mapping):
            raise ValueError(f"{path}: expected a mapping, not {type(data).__name__}")
        self.data = data
        self.path = path

    def value(self, name: str, kind: type) -> Any:
        if name not in self.data:
            raise ValueError(f"{self.path}.{name}: missing")
        return self._checked(name, kind)

    def optional(self, name: str, kind: type) -> Any:
        return None if self.data.get(name) is None else self._checked(name, kind)

    def _checked(self, name: str, kind: type) -> Any:
        found = self.data[name]
        # a JSON true is no count of visits, and a count is no yes or no
        if not isinstance(found, kind) or (kind is int and isinstance(found, bool)):
            raise ValueError(
                f"{self.path}.{name}: expected {kind.__name__}, not {type(found).__name__}"
            )
        return found

    def mapping(self, name: str) -> _Reader:
        return _Reader(self.value(name, Mapping), f"{self.path}.{name}")

    def optional_mapping(self, name: str) -> _Reader | None:
        return None if self.data.get(name) is None else self.mapping(name)

    def time(self, name: str) -> dt.datetime:
        text = self.value(name, str)
        try:
            moment = dt.datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{self.path}.{name}: {text!r} is not an ISO 8601 time") from None
        if moment.tzinfo is None:
            raise ValueError(f"{self.path}.{name}: {text!r} has no time zone")
        return moment.astimezone(dt.UTC)

    def optional_time(self, name: str) -> dt.datetime | None:
        return None if self.data.get(name) is None else self.time(name)
