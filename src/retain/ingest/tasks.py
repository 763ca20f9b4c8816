"""Background entry points of ingest: applying accepted tracking calls, and the sweep of
those that wait."""

from __future__ import annotations

import datetime as dt

from retain.ingest.applying import apply_batch, apply_pending_messages, lanes_left, sweep_waiting
from retain.ingest.lanes import wait_for_storing
from retain.ingest.services import APPLY_JOB, LANES
from retain.ingest.waiting import SWEEP_JOB
from retain.worker.registry import job
from retain.worker.services import ensure_ready

#: How long a lane's job waits before trying again when another worker has the lane.
BUSY_LANE_DELAY = dt.timedelta(seconds=0.5)


@job(APPLY_JOB)
def apply_messages(*, lane: int | None = None, limit: int | None = None) -> int:
    """Apply up to ``limit`` (default: :func:`~retain.ingest.applying.apply_batch`, smaller
    on SQLite) pending messages of ``lane`` (the door makes sure one job per lane it stored
    messages in waits; ``None``, as older jobs carry: every lane) in one transaction (the
    job's).

    Before it ends, the run waits for the calls storing in its lanes (their storing locks:
    :mod:`retain.ingest.lanes`) and makes sure a job waits for each lane with messages left:
    those it had no room for, those stored while it ran (whose call counted on this job), and,
    when another worker had the lane, that worker's, tried again a little later.
    """
    limit = limit or apply_batch()
    result = apply_pending_messages(lane=lane, limit=limit)
    lanes = range(LANES) if lane is None else [lane]
    wait_for_storing(lanes)
    if left := lanes_left(lanes):
        delay = BUSY_LANE_DELAY if result.busy else None
        ensure_ready(APPLY_JOB, "lane", left, delay=delay, limit=limit)
    return result.claimed


@job(SWEEP_JOB)
def sweep_waiting_messages() -> int:
    """Wake the waiting messages whose key resolved and fail those past their deadline;
    scheduled again (:data:`~retain.ingest.waiting.SWEEP_EVERY`) while anything waits."""
    result = sweep_waiting()
    return result.woken + result.failed
