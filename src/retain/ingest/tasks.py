"""Background entry points of ingest: applying accepted tracking calls, and the sweep of
those that wait."""

from __future__ import annotations

from retain.ingest.applying import APPLY_BATCH, apply_pending_messages, sweep_waiting
from retain.ingest.services import APPLY_JOB
from retain.ingest.waiting import SWEEP_JOB
from retain.worker.registry import job
from retain.worker.services import enqueue


@job(APPLY_JOB)
def apply_messages(*, limit: int = APPLY_BATCH) -> int:
    """Apply up to ``limit`` pending messages in one transaction (the job's).

    A full run leaves more behind, so it enqueues its continuation (without the unique key:
    this run still holds it while its transaction lasts), keeping each transaction short.
    """
    claimed = apply_pending_messages(limit=limit).claimed
    if claimed >= limit:
        enqueue(APPLY_JOB, limit=limit)
    return claimed


@job(SWEEP_JOB)
def sweep_waiting_messages() -> int:
    """Wake the waiting messages whose key resolved and fail those past their deadline;
    scheduled again (:data:`~retain.ingest.waiting.SWEEP_EVERY`) while anything waits."""
    result = sweep_waiting()
    return result.woken + result.failed
