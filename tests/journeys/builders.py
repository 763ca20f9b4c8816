"""Typed builders for journeys: a valid document as YAML text, applied or not."""

from __future__ import annotations

import datetime as dt
from typing import Any

import yaml

from retain.journeys.services import ApplyOutcome, apply_document

#: Steps that send nothing, so a journey needs no topic and no template check.
QUIET_STEPS: list[dict[str, Any]] = [
    {"set": {"tags": ["welcomed"]}},
    {"wait": {"days": 3}},
    {"id": "done", "exit": {}},
]


def journey_data(key: str = "win-back", **overrides: Any) -> dict[str, Any]:
    """A valid journey as plain data: a tracked event starts it, it tags the customer,
    waits three days and ends."""
    data: dict[str, Any] = {
        "key": key,
        "name": f"Journey {key}",
        "trigger": {"event": "Signed Up"},
        "steps": [dict(step) for step in QUIET_STEPS],
    }
    data.update(overrides)
    return data


def journey_text(key: str = "win-back", **overrides: Any) -> str:
    """:func:`journey_data` written as YAML (block style, keys in the order given)."""
    return yaml.safe_dump(journey_data(key, **overrides), sort_keys=False, allow_unicode=True)


def apply_journey(
    key: str = "win-back",
    *,
    source: str = "test.yaml",
    applied_by: str = "test",
    now: dt.datetime | None = None,
    **overrides: Any,
) -> ApplyOutcome:
    return apply_document(
        journey_text(key, **overrides), source=source, applied_by=applied_by, now=now
    )
