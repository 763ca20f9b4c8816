"""The segments page: the customers by lifecycle stage and by RFM segment (how many, their
share, what they are worth), each linked to the customers list filtered to them, and how
customers moved between stages over the last rescorings (a chart, and the same numbers in a
table for whoever cannot see it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from retain.console.charts import stacked_bar_chart
from retain.console.frame import page
from retain.customers.profile import scoring_run
from retain.customers.queries import last_rescoring
from retain.customers.readings import SEGMENT_MEANINGS, STAGE_MEANINGS
from retain.customers.segments import Group, MovePeriod, StageMoves, scored_groups, stage_moves

#: The pairs of stages the chart draws one by one (the most moved); the rest are summed.
CHART_PAIRS = 7


@dataclass(frozen=True)
class GroupRow:
    """A stage or a segment as the page lists it: the figures, what the name means, and the
    address of the customers list filtered to exactly these customers."""

    group: Group
    meaning: str
    customers_url: str


@page()
def segments_overview(request: HttpRequest) -> HttpResponse:
    groups = scored_groups()
    moves = stage_moves()
    labels = period_labels(moves.periods)
    context: dict[str, Any] = {
        "groups": groups,
        "stages": _rows(groups.stages, "lifecycle_stage", STAGE_MEANINGS),
        "segments": _rows(groups.segments, "rfm_segment", SEGMENT_MEANINGS),
        "moves": moves,
        "periods": list(zip(moves.periods, labels, strict=True)),
        "moves_chart": moves_chart(moves, labels),
        "scoring": scoring_run(),
        # Why nothing is scored, when nothing is: the last run may have failed.
        "last_run": None if groups.customers else last_rescoring(),
    }
    return render(request, "customers/segments.html", context)


def _rows(groups: list[Group], filter_name: str, meanings: dict) -> list[GroupRow]:
    list_url = reverse("customers:list")
    rows = []
    for group in groups:
        query = QueryDict(mutable=True)
        query[filter_name] = group.name
        meaning = meanings.get(group.name)
        rows.append(
            GroupRow(group, str(meaning) if meaning else "", f"{list_url}?{query.urlencode()}")
        )
    return rows


def period_labels(periods: list[MovePeriod]) -> list[str]:
    """Each period named by the day its scores are for; by the moment it ran where two runs
    share a day (a rescoring run by hand beside the daily one)."""
    days = [period.as_of for period in periods]
    return [
        formats.date_format(period.as_of, "DATE_FORMAT")
        if days.count(period.as_of) == 1
        else formats.date_format(timezone.localtime(period.finished_at), "DATETIME_FORMAT")
        for period in periods
    ]


def moves_chart(moves: StageMoves, labels: list[str]) -> dict[str, Any] | None:
    """The customers who changed stage in each period, stacked by the pair of stages: the
    :data:`CHART_PAIRS` most moved pairs, then the others together. ``None`` with no move."""
    if not moves.rows:
        return None
    drawn = moves.rows[:CHART_PAIRS]
    names = [f"{row.before} → {row.after}" for row in drawn]
    other = _("other moves")
    rows = []
    for index, label in enumerate(labels):
        if moves.periods[index].moves is None:
            continue
        for name, row in zip(names, drawn, strict=True):
            if row.customers[index]:
                rows.append((label, name, row.customers[index]))
        rest = sum(row.customers[index] or 0 for row in moves.rows[CHART_PAIRS:])
        if rest:
            rows.append((label, other, rest))
    parts = names + ([other] if len(moves.rows) > CHART_PAIRS else [])
    return stacked_bar_chart(
        rows, bars=labels, parts=parts, bar_title=_("Rescoring"),
        part_title=_("Move"), value_title=_("Customers who moved"),
    )  # fmt: skip
