"""Background entry points of ingest: applying accepted tracking calls, and the sweep of
those that wait."""

from __future__ import annotations

import datetime as dt

from retain.ingest.applying import apply_batch, apply_pending_messages, sweep_waiting
from retain.ingest.services import APPLY_JOB
from retain.ingest.waiting import SWEEP_JOB
from retain.worker.registry import job
from retain.worker.services import enqueue, ensure_ready

#: How long a lane's job waits before trying again when another worker has the lane.
BUSY_LANE_DELAY = dt.timedelta(seconds=0.5)


@job(APPLY_JOB)
def apply_messages(*, lane: int | None = None, limit: int | None = None) -> int:
    """Apply up to ``limit`` (default: :func:`~retain.ingest.applying.apply_batch`, smaller
    on SQLite) pending messages of ``lane`` (the door enqueues one job per lane it stored
    messages in; ``None``, as older jobs carry: every lane) in one transaction (the job's).

    A full run leaves more behind, so it makes sure a job for its lane waits (keeping each
    transaction short). A lane another worker is applying is tried again a little later,
    unless a job for it already waits: that worker may have claimed its messages before the
    ones that caused this job were stored.
    """
    limit = limit or apply_batch()
    result = apply_pending_messages(lane=lane, limit=limit)
    if lane is None:  # as older jobs did: one job over every lane, keyed
        if result.claimed >= limit:
            enqueue(APPLY_JOB, unique_key=APPLY_JOB, limit=limit)
    elif result.busy:
        ensure_ready(APPLY_JOB, "lane", [lane], delay=BUSY_LANE_DELAY, limit=limit)
    elif result.claimed >= limit:
        ensure_ready(APPLY_JOB, "lane", [lane], limit=limit)
    return result.claimed


@job(SWEEP_JOB)
def sweep_waiting_messages() -> int:
    """Wake the waiting messages whose key resolved and fail those past their deadline;
    scheduled again (:data:`~retain.ingest.waiting.SWEEP_EVERY`) while anything waits."""
    result = sweep_waiting()
    return result.woken + result.failed
