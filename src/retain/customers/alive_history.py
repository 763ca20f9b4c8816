"""A customer's P(alive) over their own history, as the last rescoring's model sees it.

No model is refitted: the model the last successful rescoring chose, with the parameters it
fitted (kept on its :class:`~retain.customers.models.RescoringRun`), is evaluated on the
customer's own order days at points from their first order to the day the scores are for,
as if each point were the observation end (what lifetimes' ``plot_history_alive`` draws).
Between two orders the probability only falls (the customer grows older without buying);
an order lifts it. The last point is the stored score.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from retain.customers.models import RescoringRun
from retain.scoring import CANDIDATES

#: About this many evenly spaced points, plus each order day and the day before it...
POINTS = 200
#: ... unless that makes more than this many (a customer with hundreds of order days): then
#: this many evenly spaced points, which a chart's width cannot tell apart anyway.
MAX_POINTS = 800


@dataclass(frozen=True)
class AlivePoint:
    day: dt.date
    p_alive: float
    #: A counted order was placed that day.
    ordered: bool


@dataclass(frozen=True)
class AliveHistory:
    model: str
    as_of: dt.date
    points: list[AlivePoint]


def p_alive_history(
    order_days: tuple[dt.date, ...], run: RescoringRun | None, *, points: int = POINTS
) -> AliveHistory | None:
    """P(alive) from the first of ``order_days`` (distinct UTC days with a counted order) to
    the run's ``as_of``; ``None`` when there is nothing to trace: no run with a model kept
    (none yet, or every run before this was recorded), or no order day up to ``as_of``."""
    if run is None or run.as_of is None or run.model not in CANDIDATES or not run.model_params:
        return None
    days = [day for day in order_days if day <= run.as_of]
    if not days:
        return None
    first = days[0]
    order_offsets = np.array([(day - first).days for day in days], dtype=float)
    end = float((run.as_of - first).days)
    grid = np.unique(
        np.concatenate(
            [
                np.round(np.linspace(0.0, end, points)),
                order_offsets,
                np.maximum(order_offsets - 1.0, 0.0),
                [end],
            ]
        )
    )
    if grid.size > MAX_POINTS:
        grid = np.unique(np.round(np.linspace(0.0, end, MAX_POINTS)))
    # At each point: the order days so far (the first is not a repeat), the last of them.
    so_far = np.searchsorted(order_offsets, grid, side="right")
    frequency = (so_far - 1).astype(float)
    recency = order_offsets[so_far - 1]
    model = CANDIDATES[run.model].from_params(**run.model_params)
    alive = model.probability_alive({"frequency": frequency, "recency": recency, "T": grid})
    ordered = set(order_offsets.tolist())
    return AliveHistory(
        model=run.model,
        as_of=run.as_of,
        points=[
            AlivePoint(
                day=first + dt.timedelta(days=int(offset)),
                p_alive=float(probability),
                ordered=float(offset) in ordered,
            )
            for offset, probability in zip(grid, alive, strict=True)
        ],
    )
