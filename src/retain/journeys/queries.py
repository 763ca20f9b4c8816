"""Reading journeys: the list with each one's status and current version, one journey with
its versions, a version's document (the pages, the API, the CLI and the runner read here)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q
from django.db.models.fields.json import KT

from retain.errors import NotFound
from retain.journeys.active import documents_of
from retain.journeys.documents import JourneyDocument, from_stored
from retain.journeys.models import Enrolment, Journey, JourneyStatus, JourneyVersion
from retain.messaging.queries import CustomerMessage, customer_messages


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


# --- the console's pages ---------------------------------------------------------------------


@dataclass(frozen=True)
class EnrolmentCounts:
    """A journey's enrolments: all that entered (the holdout too), the held out, and those
    still running."""

    entered: int = 0
    held_out: int = 0
    running: int = 0


def enrolment_counts() -> dict[str, EnrolmentCounts]:
    """Each journey's :class:`EnrolmentCounts` by key, in one grouped query (a journey nobody
    entered is not in it)."""
    rows = (
        Enrolment.objects.values("journey__key")
        .annotate(
            entered=Count("pk"),
            held_out=Count("pk", filter=Q(held_out=True)),
            running=Count("pk", filter=Q(active=True)),
        )
        .order_by()
    )
    return {
        row["journey__key"]: EnrolmentCounts(row["entered"], row["held_out"], row["running"])
        for row in rows
    }


@dataclass(frozen=True)
class Waiting:
    """Where a journey's running enrolments rest now. Enrolments rest only at ``wait`` and
    ``wait_for`` steps; ``by_step`` counts those of the current version by step id, the
    others are counted apart (their steps are their own version's)."""

    by_step: dict[str, int]
    #: Entered but not yet taken through their first steps by the runner.
    entering: int
    on_older_versions: int

    @property
    def running(self) -> int:
        """Every running enrolment of the journey, whatever its version."""
        return sum(self.by_step.values()) + self.entering + self.on_older_versions


def waiting_at_steps(key: str) -> Waiting:
    """The running enrolments of the journey ``key`` at each step (one grouped query over
    the journey's running enrolments); :class:`NotFound` naming the key."""
    journey = _journey(key)
    rows = (
        Enrolment.objects.filter(journey=journey, active=True)
        .values("version_id", position=KT("state__position"))
        .annotate(count=Count("pk"))
        .order_by()
    )
    steps = from_stored(journey.current.document).steps if journey.current else ()
    by_step: dict[str, int] = {}
    entering = older = 0
    for row in rows:
        position = row["position"]
        if row["version_id"] != journey.current_id:
            older += row["count"]
        elif position is None:
            entering += row["count"]
        else:
            step = steps[int(position)].id if 0 <= int(position) < len(steps) else ""
            by_step[step] = by_step.get(step, 0) + row["count"]
    return Waiting(by_step=by_step, entering=entering, on_older_versions=older)


@dataclass(frozen=True)
class JourneyEntered:
    """One time a customer entered a journey, and where that stands."""

    journey_key: str
    journey_name: str
    version: int
    entered_at: dt.datetime
    held_out: bool
    running: bool
    #: How it ended (converted, completed, exited, cancelled, error); blank while running.
    outcome: str
    ended_at: dt.datetime | None
    #: The step a running enrolment waits at (its version's step id); blank otherwise.
    waiting_at: str
    #: What made the engine end it with an error, when it did.
    reason: str


@dataclass(frozen=True)
class SentByJourney:
    """A customer's message with the journey that decided it, by name."""

    message: CustomerMessage
    journey_key: str
    journey_name: str
    step: str


@dataclass(frozen=True)
class CustomerJourneys:
    """A customer's journeys and messages, newest first, at most ``limit`` of each; ``more_*``
    says whether older ones were left out."""

    entered: list[JourneyEntered]
    messages: list[SentByJourney]
    limit: int
    more_entered: bool
    more_messages: bool


def customer_journeys(customer_id: int, *, limit: int = 50) -> CustomerJourneys:
    """The journeys the customer (the store's id) entered and the messages they were sent or
    not sent, newest first: four queries, whatever their history."""
    enrolments = list(
        Enrolment.objects.filter(customer_id=customer_id)
        .select_related("journey", "version")
        .defer("version__document", "version__source_text", "entry")
        .order_by("-entered_at", "-id")[: limit + 1]
    )
    documents = documents_of(e.version_id for e in enrolments if e.active and e.state)
    entered = [_entered(enrolment, documents) for enrolment in enrolments[:limit]]
    messages = customer_messages(customer_id, limit=limit + 1)
    keys = {message.source.get("journey") for message in messages} - {None}
    names = dict(Journey.objects.filter(key__in=keys).values_list("key", "name"))
    sent = [
        SentByJourney(
            message=message,
            journey_key=str(message.source.get("journey") or ""),
            journey_name=names.get(message.source.get("journey"), ""),
            step=str(message.source.get("step") or ""),
        )
        for message in messages[:limit]
    ]
    return CustomerJourneys(
        entered=entered, messages=sent, limit=limit,
        more_entered=len(enrolments) > limit, more_messages=len(messages) > limit,
    )  # fmt: skip


def _entered(enrolment: Enrolment, documents: dict[int, JourneyDocument]) -> JourneyEntered:
    waiting_at = ""
    position = enrolment.state.get("position") if enrolment.active else None
    document = documents.get(enrolment.version_id)
    if isinstance(position, int) and document is not None and position < len(document.steps):
        waiting_at = document.steps[position].id
    return JourneyEntered(
        journey_key=enrolment.journey.key, journey_name=enrolment.journey.name,
        version=enrolment.version.number, entered_at=enrolment.entered_at,
        held_out=enrolment.held_out, running=enrolment.active, outcome=enrolment.outcome,
        ended_at=enrolment.ended_at, waiting_at=waiting_at,
        reason=str(enrolment.state.get("reason") or "") if enrolment.outcome == "error" else "",
    )  # fmt: skip
