"""A journey's report: treatment against holdout, read with one grouped query.

For each group: customers enrolled, goal conversions (enrolments that ended converted),
and revenue per enrolled customer from their completed orders within the goal's window
after entering (30 days for a journey without a goal). The differences come with 95 %
intervals (:mod:`retain.journeys.uplift`); the incremental revenue is the revenue
difference per customer times the customers treated.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass
from typing import Any

from django.db.models import (
    Count,
    DateTimeField,
    ExpressionWrapper,
    F,
    FloatField,
    OuterRef,
    Q,
    Sum,
)
from django.db.models.functions import Cast

from retain.customers.queries import did_within, revenue_within
from retain.errors import NotFound
from retain.journeys.active import document_of
from retain.journeys.models import Enrolment, Journey
from retain.journeys.uplift import Interval, Moments, mean_difference, rate_difference

#: The revenue window of a journey without a goal, in days.
DEFAULT_WINDOW_DAYS = 30.0


@dataclass(frozen=True)
class GroupFigures:
    enrolled: int
    converted: int
    conversion_rate: float | None
    revenue: float
    revenue_per_customer: float | None


@dataclass(frozen=True)
class JourneyReport:
    journey: str
    name: str
    window_days: float
    treatment: GroupFigures
    holdout: GroupFigures
    #: The conversion rate's difference, treatment minus holdout (Newcombe's interval).
    uplift: Interval
    #: Revenue per enrolled customer's difference (Welch's interval).
    revenue_uplift: Interval
    #: ``revenue_uplift`` times the customers treated.
    incremental_revenue: Interval

    def as_json(self) -> dict[str, Any]:
        """The report for ``--json`` and the API; ``enrolled``, ``held_out``, ``converted``
        and ``conversion_rate`` are the journey's totals."""
        enrolled = self.treatment.enrolled + self.holdout.enrolled
        converted = self.treatment.converted + self.holdout.converted
        return {
            "journey": self.journey, "name": self.name, "window_days": self.window_days,
            "enrolled": enrolled, "held_out": self.holdout.enrolled, "converted": converted,
            "conversion_rate": converted / enrolled if enrolled else None,
            "treatment": asdict(self.treatment), "holdout": asdict(self.holdout),
            "uplift": _interval(self.uplift), "revenue_uplift": _interval(self.revenue_uplift),
            "incremental_revenue": _interval(self.incremental_revenue),
        }  # fmt: skip


def journey_report(key: str) -> JourneyReport:
    """The report of the journey ``key`` over all its versions; :class:`NotFound` if none."""
    journey = Journey.objects.filter(key=key).first()
    if journey is None:
        raise NotFound(f"no journey with the key {key!r}", journey=key)
    goal = document_of(journey.current_id).goal if journey.current_id else None
    days = goal.within_days if goal is not None else DEFAULT_WINDOW_DAYS
    end = ExpressionWrapper(
        OuterRef("entered_at") + dt.timedelta(days=days), output_field=DateTimeField()
    )
    revenue = Cast(
        revenue_within(OuterRef("customer_id"), OuterRef("entered_at"), end),
        output_field=FloatField(),
    )
    # A conversion is read from the data for both groups alike, not from the enrolment's
    # outcome: an enrolment that completed its steps before the window closed can still
    # convert after.
    converted = Q(reached=True) if goal is not None else Q(outcome="converted")
    enrolments = Enrolment.objects.filter(journey=journey).annotate(revenue=revenue)
    if goal is not None:
        enrolments = enrolments.annotate(
            reached=did_within(OuterRef("customer_id"), goal.event, OuterRef("entered_at"), end)
        )
    rows = (
        enrolments.values("held_out")
        .annotate(
            enrolled=Count("pk"),
            converted=Count("pk", filter=converted),
            total=Sum("revenue"),
            squares=Sum(F("revenue") * F("revenue")),
        )
        .order_by()
    )
    groups = {row["held_out"]: row for row in rows}
    treated, held = groups.get(False, {}), groups.get(True, {})
    treated_moments, held_moments = _moments(treated), _moments(held)
    revenue_gain = mean_difference(treated_moments, held_moments)
    people = treated_moments.count
    return JourneyReport(
        journey=journey.key, name=journey.name, window_days=days,
        treatment=_figures(treated), holdout=_figures(held),
        uplift=rate_difference(
            (treated.get("converted", 0), people), (held.get("converted", 0), held_moments.count)
        ),
        revenue_uplift=revenue_gain,
        incremental_revenue=Interval(
            revenue_gain.estimate * people, revenue_gain.low * people, revenue_gain.high * people
        ),
    )  # fmt: skip


def _moments(row: dict[str, Any]) -> Moments:
    return Moments(row.get("enrolled", 0), row.get("total") or 0.0, row.get("squares") or 0.0)


def _figures(row: dict[str, Any]) -> GroupFigures:
    enrolled, converted = row.get("enrolled", 0), row.get("converted", 0)
    revenue = float(row.get("total") or 0.0)
    return GroupFigures(
        enrolled=enrolled, converted=converted,
        conversion_rate=converted / enrolled if enrolled else None,
        revenue=round(revenue, 2),
        revenue_per_customer=revenue / enrolled if enrolled else None,
    )  # fmt: skip


def _interval(interval: Interval) -> dict[str, float | None]:
    def plain(value: float) -> float | None:
        return None if math.isnan(value) else value

    return {"estimate": plain(interval.estimate), "low": plain(interval.low),
            "high": plain(interval.high)}  # fmt: skip
