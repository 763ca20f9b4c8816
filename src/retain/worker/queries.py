"""Read-side getters of the job queue: is the worker keeping up, is a job waiting?"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Min
from django.utils import timezone

from retain.worker.models import Job, JobStatus


@dataclass(frozen=True)
class QueueHealth:
    """Jobs due and not yet run, the age of the oldest (seconds), jobs failed for good, and
    when the worker last finished a job."""

    due: int
    oldest_due_seconds: float
    failed: int
    last_finished_at: dt.datetime | None


def queue_health(*, now: dt.datetime | None = None) -> QueueHealth:
    now = now or timezone.now()
    due = Job.objects.filter(status=JobStatus.READY, run_after__lte=now)
    oldest = due.aggregate(oldest=Min("run_after"))["oldest"]
    last = (
        Job.objects.exclude(finished_at=None)
        .order_by("-finished_at")
        .values_list("finished_at", flat=True)
        .first()
    )
    return QueueHealth(
        due=due.count(),
        oldest_due_seconds=(now - oldest).total_seconds() if oldest else 0.0,
        failed=Job.objects.filter(status=JobStatus.FAILED).count(),
        last_finished_at=last,
    )


def job_waiting(*, name: str | None = None, unique_key: str | None = None) -> bool:
    """Whether a ready job (due or not yet) waits under ``name`` and/or ``unique_key``."""
    ready = Job.objects.filter(status=JobStatus.READY)
    if name is not None:
        ready = ready.filter(name=name)
    if unique_key is not None:
        ready = ready.filter(unique_key=unique_key)
    return ready.exists()
