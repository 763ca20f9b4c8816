"""Builders for the engine's tests: journeys from a few steps, facts the test decides, and
moments written as text."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from retain.journeys.documents import JourneyDocument
from retain.journeys.engine import (
    Action,
    EnrolmentState,
    Entry,
    EventSeen,
    Tick,
    advance,
    enter,
)

#: A Monday, 09:00 UTC.
START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def utc(text: str) -> dt.datetime:
    """``2026-03-29T01:00`` as an aware UTC moment."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def journey(*steps: Mapping[str, Any], **overrides: Any) -> JourneyDocument:
    """A checked journey with these steps (transactional unless a topic is given)."""
    fields: dict[str, Any] = {
        "key": "welcome",
        "name": "Welcome",
        "trigger": {"event": "Signed Up"},
        "steps": list(steps),
    }
    fields.update(overrides)
    if "topic" not in fields and "transactional" not in fields:
        fields["transactional"] = True
    return JourneyDocument.model_validate(fields)


def email(subject: str = "Hello", **extra: Any) -> dict[str, Any]:
    return {"email": {"subject": subject, "html": f"<p>{subject}</p>"}, **extra}


@dataclass
class FixedFacts:
    """Facts the test decides: the filters that match (by equality), a time zone; it
    remembers what it was asked."""

    zone: str | None = "UTC"
    matching: Callable[[Mapping[str, Any]], bool] = lambda condition: False
    asked: list[Mapping[str, Any]] = field(default_factory=list)

    def matches(self, condition: Mapping[str, Any]) -> bool:
        self.asked.append(condition)
        return self.matching(condition)

    def time_zone(self) -> str | None:
        return self.zone


def start(
    document: JourneyDocument,
    *,
    now: dt.datetime = START,
    customer_key: str = "c-1",
    entry: Entry | None = None,
    held_out: bool = False,
    facts: FixedFacts | None = None,
    enrolment_key: str = "welcome:1:1",
) -> tuple[EnrolmentState, list[Action]]:
    """``enter`` with everyday defaults."""
    return enter(
        document,
        enrolment_key=enrolment_key,
        customer_key=customer_key,
        entry=entry if entry is not None else Entry("Signed Up", {}, now),
        now=now,
        held_out=held_out,
        facts=facts if facts is not None else FixedFacts(),
    )


def tick(
    document: JourneyDocument,
    state: EnrolmentState,
    now: dt.datetime,
    facts: FixedFacts | None = None,
) -> tuple[EnrolmentState, list[Action]]:
    return advance(document, state, Tick(), now=now, facts=facts or FixedFacts())


def seen(
    document: JourneyDocument,
    state: EnrolmentState,
    name: str,
    occurred_at: dt.datetime,
    *,
    now: dt.datetime | None = None,
    facts: FixedFacts | None = None,
    message_id: str | None = None,
    **properties: Any,
) -> tuple[EnrolmentState, list[Action]]:
    event = EventSeen(name, properties, occurred_at, message_id)
    return advance(document, state, event, now=now or occurred_at, facts=facts or FixedFacts())


def kinds(actions: list[Action]) -> list[str]:
    return [type(action).__name__ for action in actions]
