"""Background entry points of ingest: applying accepted tracking calls."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from retain.ingest.applying import APPLY_BATCH, apply_pending_messages
from retain.ingest.services import APPLY_JOB, apply_job_key
from retain.worker.registry import job
from retain.worker.services import enqueue

#: How long a lane's job waits before trying again when another worker has the lane.
BUSY_LANE_DELAY = dt.timedelta(seconds=0.5)


@job(APPLY_JOB)
def apply_messages(*, lane: int | None = None, limit: int = APPLY_BATCH) -> int:
    """Apply up to ``limit`` pending messages of ``lane`` (the door enqueues one job per lane
    it stored messages in; ``None``, as older jobs carry: every lane) in one transaction (the
    job's).

    A full run leaves more behind, so it enqueues its continuation (the queue freed this job's
    key when it claimed it), keeping each transaction short. A lane another worker is applying
    is tried again a little later: that worker may have claimed its messages before the ones
    that caused this job were stored.
    """
    result = apply_pending_messages(lane=lane, limit=limit)
    if result.busy:
        enqueue(APPLY_JOB, unique_key=apply_job_key(lane), lane=lane, limit=limit,
                run_after=timezone.now() + BUSY_LANE_DELAY)  # fmt: skip
    elif result.claimed >= limit:
        enqueue(APPLY_JOB, unique_key=apply_job_key(lane), lane=lane, limit=limit)
    return result.claimed
