"""The customers by lifecycle stage and by RFM segment, with what they are worth, and how
they moved between stages from one rescoring to the next: what the segments page reads.

Everything is summed in the database, whatever the number of customers: one grouped query
over the scores (by stage and segment together, at most 7 x 11 rows, whose sums give both
tables) and one read of the last rescorings, each of which keeps its stage moves already
counted (:attr:`~retain.customers.models.RescoringRun.stage_moves`), so no event is grouped
and no customer is read one by one.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db.models import Count, Sum

from retain.analytics import SEGMENTS, STAGES
from retain.customers.models import RescoringRun, Score

#: The rescorings whose moves the page shows (each compared with the one before it).
MOVE_PERIODS = 8


@dataclass(frozen=True)
class Group:
    """Customers sharing a stage or a segment: how many, their share of the scored customers,
    and their predicted 12-month value (the sum, and per customer)."""

    name: str
    customers: int
    share: float
    value: float

    @property
    def average_value(self) -> float:
        return self.value / self.customers if self.customers else 0.0


@dataclass(frozen=True)
class ScoredGroups:
    """The scored customers split by lifecycle stage and by RFM segment.

    ``stages`` in the lifecycle's order (:data:`retain.analytics.STAGES`), ``segments`` in
    the RFM grid's (:data:`retain.analytics.SEGMENTS`), names the analytics do not know last;
    blank names are left out of both (no rescoring writes one), not out of ``customers``.
    """

    customers: int
    value: float
    stages: list[Group]
    segments: list[Group]


def scored_groups() -> ScoredGroups:
    """Each stage's and each segment's size and value, from one grouped query."""
    rows = list(
        Score.objects.values("lifecycle_stage", "rfm_segment")
        .annotate(customers=Count("pk"), value=Sum("clv_12m"))
        .order_by()
    )
    customers = sum(row["customers"] for row in rows)
    value = sum(row["value"] or 0.0 for row in rows)
    return ScoredGroups(
        customers=customers,
        value=value,
        stages=_groups(rows, "lifecycle_stage", STAGES, customers),
        segments=_groups(rows, "rfm_segment", SEGMENTS, customers),
    )


def _groups(
    rows: Iterable[dict], field_name: str, known: Sequence[str], scored: int
) -> list[Group]:
    counts: dict[str, int] = defaultdict(int)
    values: dict[str, float] = defaultdict(float)
    for row in rows:
        if row[field_name]:
            counts[row[field_name]] += row["customers"]
            values[row[field_name]] += row["value"] or 0.0
    order = {name: index for index, name in enumerate(known)}
    names = sorted(counts, key=lambda name: (order.get(name, len(order)), name))
    return [
        Group(name=name, customers=counts[name], share=counts[name] / scored, value=values[name])
        for name in names
    ]


@dataclass(frozen=True)
class MovePeriod:
    """One rescoring, compared with the one before it: the day its scores are for, when it
    ran, and how many customers moved between each pair of stages (``None``: the run was
    recorded before moves were kept)."""

    as_of: dt.date
    finished_at: dt.datetime
    moves: dict[tuple[str, str], int] | None

    @property
    def moved(self) -> int | None:
        return None if self.moves is None else sum(self.moves.values())


@dataclass(frozen=True)
class MoveRow:
    """One pair of stages: the customers who moved from ``before`` to ``after`` in each
    period (``None`` where the period's moves were not kept), and over all periods."""

    before: str
    after: str
    customers: list[int | None]
    total: int


@dataclass(frozen=True)
class StageMoves:
    """The moves of the last rescorings, oldest first, one row per pair of stages that moved
    in any of them (the most moved first)."""

    periods: list[MovePeriod]
    rows: list[MoveRow]

    @property
    def total(self) -> int:
        return sum(row.total for row in self.rows)

    @property
    def unrecorded(self) -> bool:
        """Some period's moves are not known (its run was recorded before they were kept)."""
        return any(period.moves is None for period in self.periods)


def stage_moves(periods: int = MOVE_PERIODS) -> StageMoves:
    """The stage moves of the last ``periods`` successful rescorings that had one before them
    (the first rescoring has nothing to compare with: every customer starts there). One
    query."""
    runs = list(
        RescoringRun.objects.filter(succeeded=True)
        .order_by("-id")  # the order they ran in: each is compared with the one before
        .values("as_of", "finished_at", "stage_moves")[: periods + 1]
    )
    # With fewer than periods + 1 runs, the oldest one is the store's first rescoring.
    shown = list(reversed(runs[: min(periods, len(runs) - 1)]))
    found = [
        MovePeriod(
            as_of=run["as_of"] or run["finished_at"].date(),
            finished_at=run["finished_at"],
            moves=None if run["stage_moves"] is None else _moves(run["stage_moves"]),
        )
        for run in shown
    ]
    totals: dict[tuple[str, str], int] = defaultdict(int)
    for period in found:
        for pair, moved in (period.moves or {}).items():
            totals[pair] += moved
    pairs = sorted(totals, key=lambda pair: (-totals[pair], pair))
    rows = [
        MoveRow(
            before=before,
            after=after,
            customers=[
                None if period.moves is None else period.moves.get((before, after), 0)
                for period in found
            ],
            total=totals[(before, after)],
        )
        for before, after in pairs
    ]
    return StageMoves(periods=found, rows=rows)


def _moves(kept: list[dict]) -> dict[tuple[str, str], int]:
    moves: dict[tuple[str, str], int] = defaultdict(int)
    for move in kept:
        moves[(str(move["from"]), str(move["to"]))] += int(move["customers"])
    return dict(moves)
