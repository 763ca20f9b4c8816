"""Reading journeys: the list with each one's status and current version, one journey with
its versions, a version's document (the pages, the API, the CLI and the runner read here)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from retain.errors import NotFound
from retain.journeys.documents import JourneyDocument, from_stored
from retain.journeys.models import Journey, JourneyStatus, JourneyVersion


@dataclass(frozen=True)
class JourneySummary:
    """A journey as lists show it; ``version`` and ``applied_*`` are its current version's."""

    key: str
    name: str
    status: str
    version: int | None
    applied_at: dt.datetime | None
    applied_by: str
    source: str
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True)
class VersionSummary:
    number: int
    applied_at: dt.datetime
    applied_by: str
    source: str
    content_hash: str
    current: bool


@dataclass(frozen=True)
class JourneyDetail:
    journey: JourneySummary
    #: Newest first.
    versions: list[VersionSummary]


@dataclass(frozen=True)
class VersionDocument:
    """One version as applied: the text as given, and the checked document as stored."""

    key: str
    number: int
    current: bool
    applied_at: dt.datetime
    applied_by: str
    source: str
    content_hash: str
    source_text: str
    stored: dict[str, Any]

    def document(self) -> JourneyDocument:
        return from_stored(self.stored)


@dataclass(frozen=True)
class CurrentJourney:
    """What the runner needs of a journey: its current version's id (enrolments point at
    it) and the document."""

    key: str
    status: str
    version_id: int
    number: int
    document: JourneyDocument


def list_journeys(*, status: str | None = None) -> list[JourneySummary]:
    """Every journey (or those with ``status``), by key."""
    journeys = (
        Journey.objects.select_related("current")
        .defer("current__document", "current__source_text")
        .order_by("key")
    )
    if status is not None:
        journeys = journeys.filter(status=status)
    return [_summary(journey) for journey in journeys]


def get_journey(key: str) -> JourneyDetail:
    """One journey with its versions, newest first; :class:`NotFound` naming the key."""
    journey = _journey(key)
    versions = journey.versions.order_by("-number").defer("document", "source_text")
    return JourneyDetail(
        journey=_summary(journey),
        versions=[_version_summary(version, journey) for version in versions],
    )


def _version_summary(version: JourneyVersion, journey: Journey) -> VersionSummary:
    return VersionSummary(
        number=version.number, applied_at=version.applied_at, applied_by=version.applied_by,
        source=version.source, content_hash=version.content_hash,
        current=version.pk == journey.current_id,
    )  # fmt: skip


def get_version(key: str, number: int | None = None) -> VersionDocument:
    """A version of a journey (its current one by default); :class:`NotFound` naming the
    key or the version."""
    journey = _journey(key)
    versions = journey.versions.filter(number=number)
    version = journey.current if number is None else versions.first()
    if version is None:
        latest = journey.current.number if journey.current else 0
        raise NotFound(
            f"journey {key!r} has no version {number} (its versions are 1 to {latest})",
            key=key,
            version=number,
        )
    return VersionDocument(
        key=journey.key, number=version.number, current=version.pk == journey.current_id,
        applied_at=version.applied_at, applied_by=version.applied_by, source=version.source,
        content_hash=version.content_hash, source_text=version.source_text,
        stored=version.document,
    )  # fmt: skip


def current_journeys(*, status: str = JourneyStatus.ACTIVE) -> list[CurrentJourney]:
    """The journeys with ``status`` (active by default) and their current documents."""
    journeys = Journey.objects.filter(status=status, current__isnull=False)
    return [_current(journey) for journey in journeys.select_related("current").order_by("key")]


def _current(journey: Journey) -> CurrentJourney:
    version = journey.current
    assert version is not None
    return CurrentJourney(
        key=journey.key, status=journey.status, version_id=version.pk, number=version.number,
        document=from_stored(version.document),
    )  # fmt: skip


def version_document(version_id: int) -> JourneyDocument:
    """The document of a version by its id (what an enrolment points at)."""
    version = JourneyVersion.objects.filter(pk=version_id).only("document").first()
    if version is None:
        raise NotFound(f"no journey version with the id {version_id}", version_id=version_id)
    return from_stored(version.document)


def _journey(key: str) -> Journey:
    journey = Journey.objects.select_related("current").filter(key=key).first()
    if journey is None:
        raise NotFound(f"no journey with the key {key!r}", key=key)
    return journey


def _summary(journey: Journey) -> JourneySummary:
    current = journey.current
    return JourneySummary(
        key=journey.key, name=journey.name, status=journey.status,
        version=current.number if current else None,
        applied_at=current.applied_at if current else None,
        applied_by=current.applied_by if current else "",
        source=current.source if current else "",
        created_at=journey.created_at, updated_at=journey.updated_at,
    )  # fmt: skip
