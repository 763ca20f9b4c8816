"""A journey's steps as the journey page draws them: each step's kind and what it does in
the reader's language, where it leads (a branch's, a split's or a timeout's targets), and how
many running enrolments wait at it now."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from retain.journeys.documents import (
    BranchStep,
    EmailStep,
    ExitStep,
    JourneyDocument,
    SetStep,
    SplitStep,
    Step,
    WaitForStep,
    WaitStep,
    WebhookStep,
)
from retain.journeys.queries import Waiting

KIND_NAMES = {
    "email": gettext_lazy("Email"),
    "webhook": gettext_lazy("Webhook"),
    "wait": gettext_lazy("Wait"),
    "wait_for": gettext_lazy("Wait for an event"),
    "branch": gettext_lazy("Branch"),
    "split": gettext_lazy("Split"),
    "set": gettext_lazy("Set traits and tags"),
    "exit": gettext_lazy("Exit"),
}
#: Kinds where an enrolment rests (the others run at once, one after another).
RESTING_KINDS = frozenset({"wait", "wait_for"})


@dataclass(frozen=True)
class Target:
    """Where a step may lead: ``label`` says when ("if it matches", "path a, 50 %")."""

    label: str
    step_id: str | None  # None: the journey ends there


@dataclass(frozen=True)
class StepView:
    number: int
    id: str
    kind: str
    kind_name: str
    lines: list[str]
    #: Code-like details shown as they are written (a filter, a webhook's address).
    code: list[tuple[str, str]] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    #: Whether the enrolment goes on to the next step by itself (not after an exit, a split,
    #: or a branch that names both ways).
    falls_through: bool = True
    #: Running enrolments of the current version waiting here now (None: no one rests here).
    waiting: int | None = None


def describe_steps(document: JourneyDocument, waiting: Waiting | None) -> list[StepView]:
    """Every step of ``document`` in order; ``waiting`` (the current version's counts) is
    given only when the document shown is the current version's."""
    steps = document.steps
    views = []
    for index, step in enumerate(steps):
        next_id = steps[index + 1].id if index + 1 < len(steps) else None
        view = _describe(step, index + 1, next_id)
        if waiting is not None and step.kind in RESTING_KINDS:
            view = StepView(**{**view.__dict__, "waiting": waiting.by_step.get(step.id, 0)})
        views.append(view)
    return views


def _describe(step: Step, number: int, next_id: str | None) -> StepView:
    body = step.body
    kind_name = str(KIND_NAMES.get(step.kind, step.kind))
    common = {"number": number, "id": step.id, "kind": step.kind, "kind_name": kind_name}
    if isinstance(body, EmailStep):
        contents = body.contents()
        first = contents.get("en") or next(iter(contents.values()))
        return StepView(**common, lines=[
            _("Subject: %(subject)s") % {"subject": first.subject},
            _("Languages: %(languages)s") % {"languages": ", ".join(contents)},
        ])  # fmt: skip
    if isinstance(body, WebhookStep):
        return StepView(**common, lines=[_("Posts the customer and the journey to:")],
                        code=[(_("Address"), body.url)])  # fmt: skip
    if isinstance(body, WaitStep):
        return StepView(**common, lines=[_wait_text(body)])
    if isinstance(body, WaitForStep):
        lines = [
            ngettext(
                "Waits for “%(event)s”, at most %(days)s day.",
                "Waits for “%(event)s”, at most %(days)s days.",
                _count(body.timeout_days),
            )
            % {"event": body.event, "days": _plain(body.timeout_days)}
        ]
        if body.same:
            lines.append(_("Only one with the same “%(property)s” as the entry's counts.")
                         % {"property": body.same})  # fmt: skip
        targets = [
            Target(_("when it happens"), next_id),
            Target(_("when the wait times out"), body.on_timeout or next_id),
        ]
        return StepView(**common, lines=lines, targets=targets, falls_through=False)
    if isinstance(body, BranchStep):
        targets = [
            Target(_("if the customer matches"), body.then or next_id),
            Target(_("otherwise"), body.otherwise or next_id),
        ]
        return StepView(**common, lines=[_("Asks whether the customer matches the filter now.")],
                        code=[(_("Filter"), _compact(body.condition))], targets=targets,
                        falls_through=False)  # fmt: skip
    if isinstance(body, SplitStep):
        total = sum(body.paths.values())
        targets = [
            Target(_("%(share)s of customers") % {"share": f"{share / total:.0%}"}, path)
            for path, share in body.paths.items()
        ]
        return StepView(**common, lines=[_("Sends each customer down one path, always the same "
                        "for the same customer.")], targets=targets,
                        falls_through=False)  # fmt: skip
    if isinstance(body, SetStep):
        return StepView(**common, lines=_set_lines(body))
    if isinstance(body, ExitStep):
        return StepView(**common, lines=[_("Ends the journey here.")], falls_through=False)
    plain = body.model_dump(mode="json") if hasattr(body, "model_dump") else body
    return StepView(**common, lines=[], code=[(step.kind, _compact(plain))])


def _wait_text(body: WaitStep) -> str:
    parts = []
    if body.days:
        parts.append(ngettext("%(n)s day", "%(n)s days", _count(body.days))
                     % {"n": _plain(body.days)})  # fmt: skip
    if body.hours:
        parts.append(ngettext("%(n)s hour", "%(n)s hours", _count(body.hours))
                     % {"n": _plain(body.hours)})  # fmt: skip
    if body.minutes:
        parts.append(ngettext("%(n)s minute", "%(n)s minutes", _count(body.minutes))
                     % {"n": _plain(body.minutes)})  # fmt: skip
    text = _("Waits %(duration)s.") % {"duration": ", ".join(parts)} if parts else ""
    if body.until or body.weekdays:
        when = []
        if body.until:
            when.append(_("until %(time)s") % {"time": body.until.strftime("%H:%M")})
        if body.weekdays:
            when.append(_("on %(days)s") % {"days": ", ".join(body.weekdays)})
        then = _("Then waits %(when)s, the customer's local time.") % {"when": " ".join(when)}
        text = f"{text} {then}".strip()
    return text


def _set_lines(body: SetStep) -> list[str]:
    lines = []
    if body.tags:
        lines.append(_("Adds the tags %(tags)s.") % {"tags": ", ".join(body.tags)})
    if body.remove_tags:
        lines.append(_("Removes the tags %(tags)s.") % {"tags": ", ".join(body.remove_tags)})
    for name, value in body.traits.items():
        lines.append(_("Sets the trait %(name)s to %(value)s.")
                     % {"name": name, "value": _compact(value)})  # fmt: skip
    return lines


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=str)


def _plain(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


def _count(number: float) -> int:
    """The count a plural form is chosen by (``1.5 days`` reads as plural)."""
    return int(number) if float(number).is_integer() else 2


def trigger_lines(document: JourneyDocument) -> list[str]:
    """What enters a customer, and who may enter, in the reader's language."""
    trigger = document.trigger
    found = trigger.model_dump(mode="json")
    where = found.get("where") or {}
    if "event" in found:
        lines = [_("When “%(event)s” is tracked for the customer.") % {"event": found["event"]}]
        if found.get("first_order"):
            lines.append(_("Only their first order."))
    elif "domain_event" in found:
        lines = [_("When the store records “%(event)s” for the customer.")
                 % {"event": found["domain_event"]}]  # fmt: skip
    elif "prediction" in found:
        lines = [_("When a rescoring brings the customer into the filter %(filter)s.")
                 % {"filter": _compact(found["prediction"])}]  # fmt: skip
    elif "date" in found:
        days = ", ".join(str(day) for day in found.get("days") or ())
        lines = [_("On the customer's date “%(date)s”%(days)s, at %(time)s their local time.")
                 % {"date": found["date"], "days": f" + {days}" if days else "",
                    "time": str(found.get("at"))[:5]}]  # fmt: skip
    else:
        every = found.get("every_days")
        lines = [
            (_("Sent to the audience at %(moment)s, then every %(days)s days.")
             % {"moment": found["broadcast"], "days": every})
            if every else _("Sent to the audience once, at %(moment)s.")
            % {"moment": found["broadcast"]}
        ]  # fmt: skip
    if where:
        lines.append(_("Only when: %(where)s.") % {"where": _compact(where)})
    if document.audience:
        lines.append(_("Only customers in the audience %(filter)s.")
                     % {"filter": _compact(document.audience)})  # fmt: skip
    return lines
