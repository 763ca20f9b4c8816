"""A journey's page: what enters a customer, its steps as a flow with the enrolments waiting
at each, the treatment against the holdout (charts and a table), its versions and the
document as applied; pause, resume and archive for the roles that may change journeys."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from retain.console.frame import page
from retain.errors import NotFound, RuleViolation
from retain.journeys.charts import holdout_charts
from retain.journeys.models import JourneyStatus
from retain.journeys.queries import get_journey, get_version, waiting_at_steps
from retain.journeys.report import GroupFigures, journey_report
from retain.journeys.services import (
    StatusChange,
    archive_journey,
    pause_journey,
    resume_journey,
)
from retain.journeys.uplift import Interval, wilson
from retain.journeys.views.common import (
    forbidden,
    journey_not_found,
    may_change,
    well_formed,
)
from retain.journeys.views.steps import describe_steps, trigger_lines

#: The largest version number asked for in an address (the column's range).
MAX_VERSION = 2_147_483_647


@page()
def journey_detail(request: HttpRequest, key: str) -> HttpResponse:
    """The journey ``key`` as its current version (or ``?version=N``) has it."""
    if not well_formed(key):
        return journey_not_found(request, key)
    wanted = request.GET.get("version", "").strip()
    number = int(wanted) if wanted.isascii() and wanted.isdigit() else None
    try:
        detail = get_journey(key)
    except NotFound:
        return journey_not_found(request, key)
    try:
        if wanted and (number is None or not 1 <= number <= MAX_VERSION):
            raise NotFound(f"journey {key!r} has no version {wanted!r}")
        version = get_version(key, number)
    except NotFound:
        return render(request, "journeys/not_found.html",
                      {"key": key, "version": wanted[:20]}, status=404)  # fmt: skip
    document = version.document()
    waiting = waiting_at_steps(key)
    report = journey_report(key)
    status = detail.journey.status
    context: dict[str, Any] = {
        "detail": detail,
        "journey": detail.journey,
        "version": version,
        "document": document,
        "trigger": trigger_lines(document),
        "steps": describe_steps(document, waiting if version.current else None),
        "waiting": waiting,
        "report": report,
        "groups": [
            (_("Treatment"), report.treatment, _interval(report.treatment)),
            (_("Holdout"), report.holdout, _interval(report.holdout)),
        ],
        "charts": holdout_charts(report),
        "may_change": may_change(request),
        "can_pause": status == JourneyStatus.ACTIVE,
        "can_resume": status != JourneyStatus.ACTIVE,
        "can_archive": status != JourneyStatus.ARCHIVED,
    }
    return render(request, "journeys/detail.html", context)


def _interval(figures: GroupFigures) -> Interval:
    """A group's conversion rate with its 95 % interval (Wilson's)."""
    return wilson(figures.converted, figures.enrolled)


def _done(change: StatusChange) -> str:
    if not change.changed:
        return _("Nothing changed: the journey was %(status)s already.") % {
            "status": JourneyStatus(change.after).label
        }
    return {
        JourneyStatus.PAUSED: _("The journey is paused."),
        JourneyStatus.ACTIVE: _("Resumed: it enrols customers and moves its enrolments on "
                                "again."),
        JourneyStatus.ARCHIVED: _("The journey is archived."),
    }[JourneyStatus(change.after)]  # fmt: skip


def _changer(change: Callable[[str], StatusChange]) -> Callable[..., HttpResponse]:
    @page()
    @require_POST
    def view(request: HttpRequest, key: str) -> HttpResponse:
        if not may_change(request):
            return forbidden(request)
        if not well_formed(key):
            return journey_not_found(request, key)
        try:
            with transaction.atomic():
                done = change(key)
        except NotFound:
            return journey_not_found(request, key)
        except RuleViolation:
            messages.error(request, _("An archived journey cannot be paused: resume it "
                                      "first, then pause it."))  # fmt: skip
        else:
            messages.success(request, _done(done))
        return redirect("journeys:detail", key=key)

    view.__name__ = view.__qualname__ = f"{change.__name__}_page"
    view.__doc__ = f"POST: {change.__doc__}"
    return view


pause = _changer(pause_journey)
resume = _changer(resume_journey)
archive = _changer(archive_journey)
