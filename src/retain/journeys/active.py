"""The journeys that run now, with their current version's document read once per version
(a version never changes, so its document is cached for the process's life)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from retain.journeys.documents import JourneyDocument
from retain.journeys.models import Journey, JourneyStatus
from retain.journeys.queries import version_document


@dataclass(frozen=True)
class ActiveJourney:
    journey_id: int
    key: str
    version_id: int
    version_number: int
    document: JourneyDocument


def active_journeys() -> list[ActiveJourney]:
    """The active journeys with a current version, by priority (highest first), then key."""
    rows = (
        Journey.objects.filter(status=JourneyStatus.ACTIVE, current__isnull=False)
        .values_list("pk", "key", "current_id", "current__number")
        .order_by("key")
    )
    found = [
        ActiveJourney(pk, key, version, number, document_of(version))
        for pk, key, version, number in rows
    ]
    return sorted(found, key=lambda journey: -journey.document.priority)


@lru_cache(maxsize=1024)
def document_of(version_id: int) -> JourneyDocument:
    """The checked document of a version, read once."""
    return version_document(version_id)
