"""Applying journey documents and changing a journey's status; run in the caller's
transaction (the CLI's, the request's).

Applying is idempotent: the same document again (even reformatted, or with its comments
changed) adds nothing. A changed document adds version N+1 and makes it current; customers
already enrolled stay on the version they entered.

Applying never changes a journey's status. A new journey starts ``active``; a ``paused``
journey takes the new version and stays paused (pause, fix, apply, resume); an ``archived``
journey takes it too and stays archived, so applying a folder that still holds its file
does not bring it back behind its owner's back: ``resume`` does, on purpose.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from django.db import IntegrityError, transaction
from django.utils import timezone

from retain.errors import Conflict, DataError, NotFound, RuleViolation
from retain.journeys.documents import (
    DocumentProblem,
    JourneyDocument,
    ParsedDocument,
    parse_document,
    stored_form,
)
from retain.journeys.models import Journey, JourneyStatus, JourneyVersion
from retain.journeys.runner import RUN_JOB, start_reading_now
from retain.worker.services import bring_forward, enqueue

CREATED, NEW_VERSION, UNCHANGED = "created", "new version", "unchanged"
Outcome = Literal["created", "new version", "unchanged"]


@dataclass(frozen=True)
class ApplyOutcome:
    """What applying one document did: ``outcome`` is created, new version or unchanged;
    ``version`` is the journey's current version number after it."""

    key: str
    outcome: Outcome
    version: int
    status: str
    source: str


@dataclass(frozen=True)
class StatusChange:
    """A journey's status before and after pause, resume or archive (equal: nothing to do)."""

    key: str
    before: str
    after: str

    @property
    def changed(self) -> bool:
        return self.before != self.after


def content_hash(document: JourneyDocument) -> str:
    """sha256 of the checked document as canonical JSON: equal for the same journey however
    it was written (key order, comments, defaults spelled out or not)."""
    canonical = json.dumps(
        stored_form(document), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def check_document(text: str, *, source: str) -> ParsedDocument:
    """Read and check a document, its templates included, storing nothing; raises
    :class:`DocumentProblem` listing every problem as ``file:line: path: reason``."""
    parsed = parse_document(text, source=source)
    problems = _check_templates(parsed)
    if problems:
        raise DocumentProblem("\n".join(problems), problems=problems)
    return parsed


def apply_document(
    text: str, *, source: str, applied_by: str, now: dt.datetime | None = None
) -> ApplyOutcome:
    """Check one document (YAML or JSON) and store it: a new journey, a new version of one,
    or nothing when it equals the current version. :class:`DocumentProblem` lists every
    problem found, and nothing is stored."""
    parsed = check_document(text, source=source)
    return _store(parsed, text, applied_by=applied_by, now=now or timezone.now())


def apply_many(
    documents: Iterable[tuple[str, str]], *, applied_by: str, now: dt.datetime | None = None
) -> list[ApplyOutcome]:
    """Apply several documents, given as ``(source, text)``, all or nothing: one bad
    document refuses them all with every document's problems (:class:`DocumentProblem`),
    before anything is stored. Two documents with the same key are refused too."""
    given = list(documents)
    if not given:
        raise DataError("no journey documents to apply (.yaml, .yml or .json files)")
    checked: list[tuple[ParsedDocument, str]] = []
    problems: list[str] = []
    for source, text in given:
        try:
            checked.append((check_document(text, source=source), text))
        except DocumentProblem as error:
            problems += error.details.get("problems") or [error.message]
    sources: dict[str, str] = {}
    for parsed, _text in checked:
        key = parsed.document.key
        if key in sources:
            problems.append(
                f"{parsed.source}:{parsed.line_of('key')}: key: {key!r} is also the key of "
                f"{sources[key]}"
            )
        sources.setdefault(key, parsed.source)
    if problems:
        raise DocumentProblem("\n".join(problems), problems=problems)
    moment = now or timezone.now()
    return [_store(parsed, text, applied_by=applied_by, now=moment) for parsed, text in checked]


def pause_journey(key: str, *, now: dt.datetime | None = None) -> StatusChange:
    """Stop enrolling and advancing: enrolments wait where they are until resumed. Pausing
    a paused journey does nothing; an archived one is refused (resume brings it back)."""
    journey = _locked(key)
    if journey.status == JourneyStatus.ARCHIVED:
        raise RuleViolation(
            f"journey {key!r} is archived; `resume` it to make it active again", key=key
        )
    return _set_status(journey, JourneyStatus.PAUSED, now=now)


def resume_journey(key: str, *, now: dt.datetime | None = None) -> StatusChange:
    """Make a paused or archived journey active again; an active one is left as it is."""
    return _set_status(_locked(key), JourneyStatus.ACTIVE, now=now)


def archive_journey(key: str, *, now: dt.datetime | None = None) -> StatusChange:
    """Retire a journey: it enrols nobody; its versions stay, for the record. Archiving an
    archived journey does nothing."""
    return _set_status(_locked(key), JourneyStatus.ARCHIVED, now=now)


# --- storing --------------------------------------------------------------------------------


def _store(parsed: ParsedDocument, text: str, *, applied_by: str, now: dt.datetime) -> ApplyOutcome:
    document = parsed.document
    digest = content_hash(document)
    journey = (
        Journey.objects.select_for_update(of=("self",))
        .select_related("current")
        .filter(key=document.key)
    ).first()
    if journey is None:
        journey = _create(document, now=now)
        outcome: Outcome = CREATED
        number = 1
    elif journey.current is not None and journey.current.content_hash == digest:
        return ApplyOutcome(document.key, UNCHANGED, journey.current.number,
                            journey.status, parsed.source)  # fmt: skip
    else:
        outcome = NEW_VERSION
        number = (journey.current.number if journey.current else 0) + 1
    version = JourneyVersion.objects.create(
        journey=journey, number=number, document=stored_form(document), source_text=text,
        content_hash=digest, applied_at=now, applied_by=_tail(applied_by, 200),
        source=_tail(parsed.source, 500),
    )  # fmt: skip
    journey.current = version
    journey.name = document.name
    journey.updated_at = now
    journey.save(update_fields=["current", "name", "updated_at"])
    if journey.status == JourneyStatus.ACTIVE:
        _wake_runner(now)
    return ApplyOutcome(document.key, outcome, number, journey.status, parsed.source)


def _wake_runner(now: dt.datetime) -> None:
    """A journey starts reacting to what happens from now on (the runner's cursors start at
    the store's newest rows), and the runner job waits to run at once."""
    start_reading_now()
    enqueue(RUN_JOB, unique_key=RUN_JOB, run_after=now) or bring_forward(RUN_JOB, to=now)


def _tail(text: str, length: int) -> str:
    """A label that fits its column: a long file path keeps its end, the file's name."""
    return text if len(text) <= length else f"...{text[-(length - 3) :]}"


def _create(document: JourneyDocument, *, now: dt.datetime) -> Journey:
    """A new journey row; one created meanwhile by another apply is a :class:`Conflict`."""
    try:
        with transaction.atomic():
            return Journey.objects.create(
                key=document.key, name=document.name, status=JourneyStatus.ACTIVE,
                created_at=now, updated_at=now,
            )  # fmt: skip
    except IntegrityError:
        raise Conflict(
            f"journey {document.key!r} was created by another apply at the same moment; "
            "apply again",
            key=document.key,
        ) from None


def _locked(key: str) -> Journey:
    journey = Journey.objects.select_for_update().filter(key=key).first()
    if journey is None:
        raise NotFound(f"no journey with the key {key!r}", key=key)
    return journey


def _set_status(journey: Journey, status: str, *, now: dt.datetime | None) -> StatusChange:
    before = journey.status
    if before != status:
        journey.status = status
        journey.updated_at = now or timezone.now()
        journey.save(update_fields=["status", "updated_at"])
        if status == JourneyStatus.ACTIVE:
            _wake_runner(journey.updated_at)
    return StatusChange(journey.key, before, status)


# --- templates --------------------------------------------------------------------------------


def _check_templates(parsed: ParsedDocument) -> list[str]:
    """Every email's subject, HTML and text rendered against a sample customer in each of
    its languages, so an undefined variable, a syntax error or a filter given the wrong
    thing is refused now, at its line in the document, rather than when the first customer
    reaches the step."""
    emails = [(index, step) for index, step in enumerate(parsed.document.steps)
              if step.kind == "email"]  # fmt: skip
    if not emails:
        return []
    from retain.messaging.rendering import TemplateProblem, check_content

    problems = []
    for index, step in emails:
        email = step.body
        written = ({locale: _content(content) for locale, content in email.locales.items()}
                   if email.locales else _content(email.contents()["en"]))  # fmt: skip
        try:
            check_content(written)
        except TemplateProblem as error:
            problems += [_template_problem(parsed, index, problem) for problem in error.problems]
    return problems


def _content(content: Any) -> dict[str, str]:
    """A message's parts as the renderer takes them (the ones written)."""
    return {part: value for part, value in content.model_dump().items() if value is not None}


def _template_problem(parsed: ParsedDocument, index: int, problem: Any) -> str:
    """``file:line: steps[i].email.th.subject: reason``, the line being the template's own
    line in the document."""
    path: tuple[Any, ...] = ("steps", index, "email")
    path += tuple(name for name in (problem.locale, problem.part) if name)
    line = parsed.text_line(*path, line=problem.line) if problem.part else parsed.line_of(*path)
    where = ".".join(str(name) for name in path[2:])
    return f"{parsed.source}:{line}: steps[{index}].{where}: {problem.reason}"
