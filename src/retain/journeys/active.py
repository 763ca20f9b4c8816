"""The journeys that run now, and the documents of versions, each parsed once per process.

A version never changes, but its id alone is no safe cache key (an id may come back after
a rolled-back insert on SQLite): documents are cached by their content hash.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from retain.journeys.documents import JourneyDocument, from_stored
from retain.journeys.models import Journey, JourneyStatus, JourneyVersion


@dataclass(frozen=True)
class ActiveJourney:
    journey_id: int
    key: str
    version_id: int
    version_number: int
    document: JourneyDocument


_BY_HASH: dict[str, JourneyDocument] = {}


def active_journeys() -> list[ActiveJourney]:
    """The active journeys with a current version, by priority (highest first), then key."""
    rows = list(
        Journey.objects.filter(status=JourneyStatus.ACTIVE, current__isnull=False)
        .values_list("pk", "key", "current_id", "current__number")
        .order_by("key")
    )
    documents = documents_of(version for _, _, version, _ in rows)
    found = [
        ActiveJourney(pk, key, version, number, documents[version])
        for pk, key, version, number in rows
    ]
    return sorted(found, key=lambda journey: -journey.document.priority)


def documents_of(version_ids: Iterable[int]) -> dict[int, JourneyDocument]:
    """The document of each version, read from the store only when not seen before."""
    wanted = set(version_ids)
    hashes = dict(JourneyVersion.objects.filter(pk__in=wanted).values_list("pk", "content_hash"))
    missing = {pk for pk, digest in hashes.items() if digest not in _BY_HASH}
    for pk, stored in JourneyVersion.objects.filter(pk__in=missing).values_list("pk", "document"):
        _BY_HASH[hashes[pk]] = from_stored(stored)
    return {pk: _BY_HASH[digest] for pk, digest in hashes.items()}


def document_of(version_id: int) -> JourneyDocument:
    """The document of one version."""
    return documents_of([version_id])[version_id]
