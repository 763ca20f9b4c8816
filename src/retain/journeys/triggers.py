"""Which happenings enter which journeys: the event and domain-event triggers, as plain
functions of a journey's document and one happening (no store).

Date, prediction and broadcast triggers choose their customers in the database instead
(:mod:`retain.journeys.entering`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from retain.customers.feeds import Happening
from retain.journeys.documents import (
    DateTrigger,
    DomainEventTrigger,
    EventTrigger,
    JourneyDocument,
)


def is_entered_by(document: JourneyDocument, happening: Happening) -> bool:
    """Whether ``happening`` is one the journey's trigger enters a customer on."""
    trigger = document.trigger
    if isinstance(trigger, EventTrigger):
        return (
            happening.feed in ("events", "orders")
            and trigger.event == happening.name
            and (not trigger.first_order or happening.first_order)
            and _has_values(happening.properties, trigger.where)
        )
    if isinstance(trigger, DateTrigger):  # occasions found by journeys.dates
        return happening.feed == "dates" and happening.name == trigger.date
    if isinstance(trigger, DomainEventTrigger):
        return (
            happening.feed == "domain"
            and trigger.domain_event == happening.name
            and _has_values(happening.properties, trigger.where)
        )
    return False


def _has_values(properties: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    """Each wanted property is there with the same value and type (``1`` is not ``"1"``,
    ``true`` is not ``1``); numbers compare as numbers (``10`` is ``10.0``)."""
    for name, value in wanted.items():
        given = properties.get(name)
        if isinstance(value, bool) or isinstance(given, bool) or isinstance(value, str):
            if type(given) is not type(value) or given != value:
                return False
        elif not isinstance(given, int | float) or not math.isclose(given, value):
            return False
    return True
