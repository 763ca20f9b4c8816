"""A journey as a document: what a CRM team writes in YAML (or JSON), checked before it is
stored, so a mistake is refused at ``retain journeys apply`` with its path and line, never
found at send time.

The shape (docs/journeys.md shows a full example)::

    key: win-back
    name: Win back lapsing customers
    trigger: {domain_event: lifecycle.changed, where: {to: at risk}}
    audience: {all: [{field: value_decile, gte: 8}]}
    reentry: {every_days: 90}
    goal: {event: Order Completed, within_days: 14}
    holdout: 0.1
    priority: 5
    topic: win-back
    steps:
      - email: {en: {subject: ..., html: ...}, th: {...}}
      - wait: {days: 3}
      - branch: {if: {field: days_since_last_order, lt: 3}, then: done}
      - email: ...
      - id: done
        exit: {}

A step is a mapping with an optional ``id`` and exactly one kind (``email``, ``webhook``,
``wait``, ``wait_for``, ``branch``, ``split``, ``set``, ``exit``). The kinds are a registry
(:func:`register_step`), so a later domain (support's follow-up task, surveys, loyalty
points) adds its own step without touching this module or the engine.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializationInfo,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic_core import PydanticCustomError

from retain.customers.audiences import check_filter
from retain.errors import DataError
from retain.journeys.yaml_reading import Lines, YamlProblem, read_yaml

#: A journey's key: what the CLI, the API and the reports call it (``win-back``).
KEY_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
#: A step's id: what ``branch``, ``split`` and ``wait_for`` jump to.
STEP_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
#: The most steps a journey may have (a guard against a runaway generated document).
MAX_STEPS = 200
#: The largest document accepted, in characters.
MAX_DOCUMENT_CHARS = 1_000_000
LOCALES = ("en", "th", "vi", "el", "id")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- what a step may say ------------------------------------------------------------------


class MessageContent(_Strict):
    """One language's version of a message; ``text`` is derived from ``html`` if left out."""

    subject: str = Field(min_length=1, max_length=998)
    html: str = Field(min_length=1)
    text: str | None = None


def _check_audience(value: Any) -> Any:
    """The filter if the filter language takes it; else the problem at the bad part's own
    path and line (``audience.all[1].gte``)."""
    try:
        return check_filter(value, "filter")
    except DataError as error:
        where = str(error.details.get("field") or "filter")
        inner = [int(index) if index else name
                 for name, index in re.findall(r"([A-Za-z_]\w*)|\[(\d+)\]", where)][1:]  # fmt: skip
        raise _at(inner, error.message.removeprefix(f"{where}: ")) from None


AudienceFilter = Annotated[dict[str, Any], Field(description="an audience filter")]


class EmailStep(_Strict):
    """Send an email: one content per locale (``en`` is the fallback) or one content for
    everybody."""

    subject: str | None = Field(default=None, min_length=1, max_length=998)
    html: str | None = None
    text: str | None = None
    locales: dict[str, MessageContent] = Field(default_factory=dict)
    #: A field the author does not write: ``{en: ..., th: ...}`` is gathered into it.
    gathered: ClassVar[str] = "locales"

    @model_validator(mode="before")
    @classmethod
    def _gather_locales(cls, value: Any) -> Any:
        """``{en: {...}, th: {...}}`` reads as per-locale contents (``en`` among them: the
        other languages fall back to it); ``{subject, html}`` as one content for every
        customer."""
        if not isinstance(value, Mapping) or not value or {*value} & {*cls.model_fields}:
            return value
        problems = [([name], f"expected a language of {', '.join(LOCALES)}, or subject, "
                     "html and text") for name in value if name not in LOCALES]  # fmt: skip
        if not problems and "en" not in value:
            problems = [([], "contents per language need en, which the others fall back to")]
        if problems:
            raise _at(*problems[0], more=problems[1:])
        return {"locales": dict(value)}

    @model_validator(mode="after")
    def _one_way(self) -> EmailStep:
        single = self.subject is not None or self.html is not None or self.text is not None
        if single and self.locales:
            raise ValueError("give either subject/html/text or contents per locale, not both")
        if not single and not self.locales:
            raise ValueError("an email needs a subject and html (or contents per locale)")
        if single and (self.subject is None or self.html is None):
            raise ValueError("an email needs both a subject and html")
        return self

    def contents(self) -> dict[str, MessageContent]:
        """The content per locale; the single content is filed under ``en``."""
        if self.locales:
            return dict(self.locales)
        assert self.subject is not None and self.html is not None
        return {"en": MessageContent(subject=self.subject, html=self.html, text=self.text)}


class WebhookStep(_Strict):
    """POST a signed JSON document to the shop's endpoint (its SMS, LINE, Zalo or WhatsApp
    provider, or its account managers' tool); ``data`` is added to the documented payload."""

    url: str = Field(pattern=r"^https?://", max_length=2000)
    data: dict[str, Any] = Field(default_factory=dict)


class WaitStep(_Strict):
    """Wait a duration, then (if given) until the next local time of day on one of the
    weekdays, in the customer's time zone."""

    days: float = Field(default=0, ge=0, le=3660)
    hours: float = Field(default=0, ge=0, le=87840)
    minutes: float = Field(default=0, ge=0, le=5270400)
    until: dt.time | None = None
    weekdays: tuple[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"], ...] | None = None

    @model_validator(mode="after")
    def _something(self) -> WaitStep:
        if not (self.days or self.hours or self.minutes or self.until or self.weekdays):
            raise ValueError("a wait needs days, hours, minutes, until or weekdays")
        if self.weekdays is not None and not self.weekdays:
            raise ValueError("weekdays needs at least one day")
        return self

    def duration(self) -> dt.timedelta:
        return dt.timedelta(days=self.days, hours=self.hours, minutes=self.minutes)


class WaitForStep(_Strict):
    """Wait for an event, at most ``timeout_days``. With ``same``, only an event whose
    property has the entry event's value counts (``same: order_id``: the same order)."""

    event: str = Field(min_length=1, max_length=200)
    same: str | None = Field(default=None, max_length=64)
    timeout_days: float = Field(gt=0, le=3660)
    on_timeout: str | None = Field(default=None, pattern=STEP_ID_PATTERN)


class BranchStep(_Strict):
    """Go to ``then`` if the customer matches the filter now, else to ``else`` (by default
    the next step)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    condition: dict[str, Any] = Field(alias="if")
    then: str | None = Field(default=None, pattern=STEP_ID_PATTERN)
    otherwise: str | None = Field(default=None, alias="else", pattern=STEP_ID_PATTERN)

    @field_validator("condition", mode="before")
    @classmethod
    def _filter(cls, value: Any) -> Any:
        return _check_audience(value)

    @model_validator(mode="after")
    def _somewhere(self) -> BranchStep:
        if self.then is None and self.otherwise is None:
            raise ValueError("a branch needs then or else")
        return self


class SplitStep(_Strict):
    """Send each customer down one path by a stable hash of (journey, customer, step):
    ``{paths: {a: 50, b: 50}}`` with step ids as the path names and shares as weights."""

    paths: dict[Annotated[str, Field(pattern=STEP_ID_PATTERN)], Annotated[float, Field(gt=0)]]

    @field_validator("paths")
    @classmethod
    def _two(cls, value: dict[str, float]) -> dict[str, float]:
        if len(value) < 2:
            raise ValueError("a split needs at least two paths")
        return value


class SetStep(_Strict):
    """Set traits and add (or remove) tags on the customer."""

    traits: dict[Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")], Any] = Field(
        default_factory=dict
    )
    tags: tuple[Annotated[str, Field(min_length=1, max_length=64)], ...] = ()
    remove_tags: tuple[Annotated[str, Field(min_length=1, max_length=64)], ...] = ()

    @model_validator(mode="after")
    def _something(self) -> SetStep:
        if not (self.traits or self.tags or self.remove_tags):
            raise ValueError("set needs traits, tags or remove_tags")
        return self


class ExitStep(_Strict):
    """End the enrolment here."""


#: The step kinds by the key that names them in a document; see :func:`register_step`.
STEP_KINDS: dict[str, type[BaseModel]] = {
    "email": EmailStep,
    "webhook": WebhookStep,
    "wait": WaitStep,
    "wait_for": WaitForStep,
    "branch": BranchStep,
    "split": SplitStep,
    "set": SetStep,
    "exit": ExitStep,
}


def register_step(kind: str, schema: type[BaseModel]) -> None:
    """Add a step kind (a later domain's: a follow-up task, a survey, points). The engine
    hands a step it does not know itself to the runner as an action named ``kind`` with the
    validated body, and goes on to the next step."""
    if kind in STEP_KINDS or kind == "id":
        raise ValueError(f"the step kind {kind!r} exists already")
    STEP_KINDS[kind] = schema


class Step(BaseModel):
    """One step: an ``id`` (by default its position, ``step-1``...) and one kind."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    id: str = Field(pattern=STEP_ID_PATTERN)
    kind: str
    body: Any

    @model_validator(mode="before")
    @classmethod
    def _one_kind(cls, value: Any) -> Any:
        if not isinstance(value, Mapping):
            raise ValueError("a step is a mapping with one kind, such as {wait: {days: 3}}")
        kind, body = value.get("kind"), value.get("body")
        if kind in STEP_KINDS and isinstance(body, STEP_KINDS[kind]):  # read already
            return value
        kinds = [name for name in value if name != "id"]
        if len(kinds) != 1 or kinds[0] not in STEP_KINDS:
            known = ", ".join(STEP_KINDS)
            given = ", ".join(map(str, kinds)) or "nothing"
            raise ValueError(f"a step needs exactly one kind of {known}; it has {given}")
        kind = kinds[0]
        body = value[kind] if value[kind] is not None else {}
        if not isinstance(body, Mapping):
            raise ValueError(f"{kind} takes a mapping, not {body!r}")
        try:
            checked = STEP_KINDS[kind].model_validate(dict(body))
        except ValidationError as error:  # report each inner problem at its own path and line
            gathered = getattr(STEP_KINDS[kind], "gathered", None)
            problems = [([kind, *_unwritten(place, gathered, body), *inner], message)
                        for place, inner, message in _problems_of(error)]  # fmt: skip
            raise _at(*problems[0], more=problems[1:]) from None
        return {"id": value.get("id", ""), "kind": kind, "body": checked}

    @model_serializer(mode="plain")
    def _as_written(self, info: SerializationInfo) -> dict[str, Any]:
        """Stored as written, ``{id: ..., wait: {...}}``, so it is read back the same way."""
        body = self.body.model_dump(mode=info.mode, by_alias=bool(info.by_alias))
        return {"id": self.id, self.kind: body}


# --- triggers ----------------------------------------------------------------------------


class EventTrigger(_Strict):
    """A tracked event (an order is ``Order Completed``), optionally only a customer's first
    order, and the values some of its properties must have (``where: {currency: THB}``)."""

    event: str = Field(min_length=1, max_length=200)
    first_order: bool = False
    where: dict[str, str | int | float | bool] = Field(default_factory=dict)


class DomainEventTrigger(_Strict):
    """A fact the store recorded (``lifecycle.changed``, ``segment.changed``, later
    ``complaint.resolved``), with conditions on its data (``{to: at risk}``)."""

    domain_event: str = Field(min_length=1, max_length=64)
    where: dict[str, str | int | float | bool] = Field(default_factory=dict)


class PredictionTrigger(_Strict):
    """Entering a condition over the scores after a rescoring: a customer who did not match
    the filter before the rescoring and matches it after."""

    prediction: dict[str, Any]

    @field_validator("prediction", mode="before")
    @classmethod
    def _filter(cls, value: Any) -> Any:
        return _check_audience(value)


class DateTrigger(_Strict):
    """A date of the customer's: ``birthday``, ``first_order_anniversary``, or ``days``
    after ``first_order`` or ``signup``; evaluated at ``at`` local time in the customer's
    time zone."""

    date: Literal["birthday", "first_order_anniversary", "after_first_order", "after_signup"]
    days: tuple[Annotated[int, Field(ge=0, le=36600)], ...] = ()
    at: dt.time = dt.time(10, 0)

    @model_validator(mode="after")
    def _days(self) -> DateTrigger:
        after = self.date.startswith("after_")
        if after and not self.days:
            raise ValueError(f"{self.date} needs days, such as [30, 90, 180, 365]")
        if not after and self.days:
            raise ValueError(f"{self.date} takes no days")
        return self


class BroadcastTrigger(_Strict):
    """A send to the audience at a moment (once), or every ``every_days`` from it."""

    broadcast: dt.datetime
    every_days: int | None = Field(default=None, ge=1, le=3660)

    @field_validator("broadcast")
    @classmethod
    def _aware(cls, value: dt.datetime) -> dt.datetime:
        if value.tzinfo is None:
            raise ValueError("give the time zone, such as 2026-12-10T10:00:00+07:00")
        return value


TRIGGER_KINDS: dict[str, type[_Strict]] = {
    "event": EventTrigger,
    "domain_event": DomainEventTrigger,
    "prediction": PredictionTrigger,
    "date": DateTrigger,
    "broadcast": BroadcastTrigger,
}
Trigger = EventTrigger | DomainEventTrigger | PredictionTrigger | DateTrigger | BroadcastTrigger


class Goal(_Strict):
    """Success: the customer does ``event`` within ``within_days`` of entering."""

    event: str = Field(min_length=1, max_length=200)
    within_days: float = Field(gt=0, le=3660)


class Reentry(_Strict):
    """Whether a customer may enter again: ``once`` (ever), ``always``, or not within
    ``every_days`` of their last entry."""

    rule: Literal["once", "always", "every"] = "once"
    every_days: float | None = Field(default=None, gt=0, le=36600)

    @model_validator(mode="before")
    @classmethod
    def _read(cls, value: Any) -> Any:
        if value in ("once", "always"):
            return {"rule": value}
        if isinstance(value, Mapping) and set(value) == {"every_days"}:
            return {"rule": "every", "every_days": value["every_days"]}
        if isinstance(value, Mapping) and "rule" in value:
            return value
        raise ValueError("expected once, always or {every_days: N}")


class JourneyDocument(_Strict):
    """A whole journey as written; :func:`read_document` is the way in."""

    key: str = Field(pattern=KEY_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=5000)
    trigger: Trigger
    audience: dict[str, Any] | None = None
    reentry: Reentry = Reentry(rule="once")
    goal: Goal | None = None
    holdout: float = Field(default=0.1, ge=0, le=0.9)
    priority: int = Field(default=0, ge=-1000, le=1000)
    topic: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    transactional: bool = False
    steps: tuple[Step, ...] = Field(min_length=1, max_length=MAX_STEPS)

    @field_validator("trigger", mode="before")
    @classmethod
    def _trigger_kind(cls, value: Any) -> Any:
        if not isinstance(value, Mapping):
            raise ValueError("a trigger is a mapping, such as {event: Order Completed}")
        kinds = [name for name in TRIGGER_KINDS if name in value]
        if len(kinds) != 1:
            raise ValueError(f"a trigger needs exactly one of {', '.join(TRIGGER_KINDS)}")
        return TRIGGER_KINDS[kinds[0]](**value)

    @field_validator("audience", mode="before")
    @classmethod
    def _audience(cls, value: Any) -> Any:
        return None if value is None else _check_audience(value)

    @field_validator("steps", mode="before")
    @classmethod
    def _number_steps(cls, value: Any) -> Any:
        """A step without an id is named by its position (``step-3``)."""
        if not isinstance(value, list | tuple):
            return value
        return [
            {**step, "id": step.get("id", f"step-{number}")} if isinstance(step, Mapping) else step
            for number, step in enumerate(value, start=1)
        ]

    @field_validator("steps", mode="after")
    @classmethod
    def _ids_and_targets(cls, steps: tuple[Step, ...]) -> tuple[Step, ...]:
        """Ids are unique and every jump lands on a step; a problem is reported at the step."""
        ids = {step.id for step in steps}
        seen: set[str] = set()
        for index, step in enumerate(steps):
            if step.id in seen:
                raise _at([index, "id"], f"two steps have the id {step.id!r}")
            seen.add(step.id)
            for target in _targets(step):
                if target not in ids:
                    raise _at([index, step.kind], f"goes to {target!r}, which is no step's id")
        return steps

    @model_validator(mode="after")
    def _consistent(self) -> JourneyDocument:
        if self.transactional and self.topic:
            raise ValueError("a transactional journey has no marketing topic")
        if not self.transactional and not self.topic and self._sends():
            raise ValueError(
                "a journey that sends needs a topic (what customers unsubscribe from), "
                "or transactional: true"
            )
        return self

    def _sends(self) -> bool:
        return any(step.kind in ("email", "webhook") for step in self.steps)

    def step_index(self, step_id: str) -> int:
        return next(number for number, step in enumerate(self.steps) if step.id == step_id)


def _at(
    inner: list[Any], message: str, *, more: list[tuple[list[Any], str]] | None = None
) -> PydanticCustomError:
    """A problem reported at a path below the field being checked (its own line); ``more``
    are further problems, each with its path below the field."""
    return PydanticCustomError(
        "journey", "{message}", {"message": message, "inner": inner, "more": more or []}
    )


def _unwritten(place: list[Any], gathered: str | None, body: Mapping[str, Any]) -> list[Any]:
    """A location without the field a step gathered its body into (the author never wrote
    ``locales``: ``email.th.subject``, not ``email.locales.th.subject``)."""
    if gathered and place[:1] == [gathered] and gathered not in body:
        return place[1:]
    return place


def _problems_of(error: ValidationError) -> list[tuple[list[Any], list[Any], str]]:
    """Each problem of a model checked inside a validator: (its location, the path below
    that location, the message); a problem that carries further ones counts each."""
    found = []
    for problem in _own(error.errors()):
        location = [part for part in problem["loc"] if not _is_internal(part)]
        context = problem.get("ctx") or {}
        found.append((location, list(context.get("inner", [])), _message(problem)))
        found += [(location, list(inner), message) for inner, message in context.get("more", [])]
    return found


def _message(problem: Mapping[str, Any]) -> str:
    return str(problem["msg"]).removeprefix("Value error, ")


def _targets(step: Step) -> list[str]:
    body = step.body
    if isinstance(body, BranchStep):
        return [t for t in (body.then, body.otherwise) if t is not None]
    if isinstance(body, SplitStep):
        return list(body.paths)
    if isinstance(body, WaitForStep) and body.on_timeout:
        return [body.on_timeout]
    return []


# --- reading a document, with the line of each mistake -------------------------------------


class DocumentProblem(DataError):
    """A journey document that cannot be applied: where (path and line) and why."""


@dataclass(frozen=True)
class ParsedDocument:
    """A checked document and the line of each of its paths (``("steps", 2)``: the third
    step's line), for problems found after the document's own checks (its templates)."""

    document: JourneyDocument
    lines: Lines
    source: str
    #: The line each text value's first line is on (see ``yaml_reading.ReadYaml.starts``).
    starts: Lines = field(default_factory=dict)

    def line_of(self, *path: Any) -> int:
        return _nearest_line(list(path), self.lines)

    def text_line(self, *path: Any, line: int | None = None) -> int:
        """The document's line of a text value's ``line`` (1-based within the text, as a
        template error gives it); the nearest line of the path when the text is not found."""
        start = self.starts.get(tuple(path))
        if start is None:
            return self.line_of(*path)
        return start + (line - 1 if line else 0)


def read_document(text: str, *, source: str = "journey") -> JourneyDocument:
    """Parse and check one journey written in YAML (JSON is YAML too).

    Raises :class:`DocumentProblem` naming the file, the line, the path of the bad field and
    what was expected, for every problem found (``welcome.yaml:12: steps[2].wait.days:
    Input should be greater than or equal to 0``).
    """
    return parse_document(text, source=source).document


def parse_document(text: str, *, source: str = "journey") -> ParsedDocument:
    """:func:`read_document`, keeping the line of every path of the document."""
    if len(text) > MAX_DOCUMENT_CHARS:
        raise DocumentProblem(f"{source}: longer than {MAX_DOCUMENT_CHARS:,} characters")
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise DocumentProblem(f"{source}:{line}: contains a NUL character")
    try:
        read = read_yaml(text)
    except YamlProblem as error:
        line = f":{error.line}" if error.line else ""
        raise DocumentProblem(f"{source}{line}: {error.message}") from None
    if not isinstance(read.data, Mapping):
        raise DocumentProblem(f"{source}:1: a journey is a mapping with key, name, trigger, steps")
    try:
        document = JourneyDocument.model_validate(read.data)
    except ValidationError as error:
        found = [
            (_nearest_line([*location, *inner], read.lines), [*location, *inner], message)
            for location, inner, message in _problems_of(error)
        ]
        problems = [
            f"{source}:{line}: {_path_text(path) or '(document)'}: {message}"
            for line, path, message in sorted(found, key=lambda problem: problem[0])
        ]
        raise DocumentProblem("\n".join(problems), problems=problems) from None
    return ParsedDocument(document=document, lines=read.lines, source=source, starts=read.starts)


def stored_form(document: JourneyDocument) -> dict[str, Any]:
    """The checked document as plain JSON values, every field given (what a version keeps);
    :func:`from_stored` reads it back to an equal document."""
    return document.model_dump(mode="json", by_alias=True)


def from_stored(data: Mapping[str, Any]) -> JourneyDocument:
    """A document kept by :func:`stored_form` (checked again: a step kind registered since
    is known, one removed since is refused)."""
    return JourneyDocument.model_validate(dict(data))


_HIDDEN = re.compile(r"^(function-after|function-before|function-wrap|function-plain)\[.*\]$")


def _own(problems: list[Any]) -> list[Any]:
    """The problems to report: a list too short only because an item failed is no news."""
    failed = {problem["loc"][0] for problem in problems if len(problem["loc"]) > 1}
    return [p for p in problems if not (p["type"] == "too_short" and p["loc"][0] in failed)]


def _is_internal(part: Any) -> bool:
    """Pydantic names the union member or validator it tried; the author never wrote it."""
    return isinstance(part, str) and (
        bool(_HIDDEN.match(part))
        or part in {"EventTrigger", "DomainEventTrigger", "PredictionTrigger", "DateTrigger",
                    "BroadcastTrigger", "body", "kind"}
    )  # fmt: skip


def _nearest_line(location: list[Any], lines: dict[tuple[Any, ...], int]) -> int:
    """The line of the deepest part of the path that exists in the document (a missing
    field is reported at the mapping that lacks it)."""
    for end in range(len(location), -1, -1):
        if tuple(location[:end]) in lines:
            return lines[tuple(location[:end])]
    return 1


def _path_text(location: list[Any]) -> str:
    text = ""
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text
