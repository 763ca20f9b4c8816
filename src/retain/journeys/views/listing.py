"""The journeys list: each journey's status, version, how many entered and converted, and
its uplift over the holdout with the 95 % interval."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from retain.console.frame import page
from retain.journeys.queries import (
    EnrolmentCounts,
    JourneySummary,
    enrolment_counts,
    list_journeys,
)
from retain.journeys.report import JourneyReport, journey_report
from retain.journeys.views.common import may_change


@dataclass(frozen=True)
class JourneyRow:
    journey: JourneySummary
    counts: EnrolmentCounts
    #: ``None`` while nobody has entered (no report to read).
    report: JourneyReport | None


@page()
def journey_list(request: HttpRequest) -> HttpResponse:
    """Every journey, by key. The counts come from one grouped query; the report (a query
    per journey) only for the journeys someone entered."""
    counts = enrolment_counts()
    rows = []
    for journey in list_journeys():
        entered = counts.get(journey.key, EnrolmentCounts())
        report = journey_report(journey.key) if entered.entered else None
        rows.append(JourneyRow(journey, entered, report))
    return render(request, "journeys/list.html",
                  {"rows": rows, "may_change": may_change(request)})  # fmt: skip
