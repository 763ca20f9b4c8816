"""Enqueue a job; claim and run the next one."""

from __future__ import annotations

import datetime as dt
import logging
import traceback
from contextvars import ContextVar
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from retain.worker.models import Job, JobStatus
from retain.worker.registry import job_function

logger = logging.getLogger(__name__)
#: The job this thread is running (its row still says ready until it ends).
_running: ContextVar[int | None] = ContextVar("running_job", default=None)
#: A job that failed this many times is left failed for a person to look at.
MAX_ATTEMPTS = 5


def enqueue(
    name: str,
    *,
    unique_key: str | None = None,
    run_after: dt.datetime | None = None,
    **payload: Any,
) -> Job | None:
    """Add a job in the caller's transaction, due now or at ``run_after``. With
    ``unique_key``, a ready job with the same key already waiting makes this a no-op
    (returns ``None``)."""
    when = {"run_after": run_after} if run_after is not None else {}
    if unique_key is not None:
        try:
            with transaction.atomic():
                return Job.objects.create(name=name, payload=payload, unique_key=unique_key, **when)
        except IntegrityError:
            return None
    return Job.objects.create(name=name, payload=payload, **when)


def ensure_ready(
    name: str,
    field: str,
    values: list[Any],
    *,
    delay: dt.timedelta | None = None,
    **payload: Any,
) -> None:
    """Make sure a ready job ``name`` waits for each of ``values`` of its payload's ``field``
    (one job per lane, say), in the caller's transaction, without ever waiting for a lock.

    A waiting job found is locked until the caller commits (``SKIP LOCKED``: one being
    claimed, or locked by another caller, is passed over), so no worker claims it before the
    caller's rows are there to see; a value without one gets a new job (``payload`` added),
    due after ``delay``, in the order given (a microsecond apart). Two callers at once may
    both add one: an extra run finds little to do. (A unique key would make the caller wait
    for the commit of a running job that freed the key.)
    """
    ready = (
        Job.objects.select_for_update(skip_locked=True)
        .filter(name=name, status=JobStatus.READY, **{f"payload__{field}__in": values})
        .exclude(pk=_running.get())  # the job calling, if any: it is ending, not waiting
    )
    waiting = set(ready.values_list(f"payload__{field}", flat=True))
    due = timezone.now() + (delay or dt.timedelta())
    missing = [value for value in values if value not in waiting]
    Job.objects.bulk_create(
        [Job(name=name, payload={field: value, **payload},
             run_after=due + dt.timedelta(microseconds=rank))
         for rank, value in enumerate(missing)]
    )  # fmt: skip


def run_next_job(*, now: dt.datetime | None = None) -> Job | None:
    """Claim the oldest ready job and run it in the same transaction; ``None`` if none is due.

    The job's own writes and its ``done`` mark commit together. A job that raises is rolled
    back to the claim and retried later with a growing delay, up to :data:`MAX_ATTEMPTS`.
    """
    now = now or timezone.now()
    with transaction.atomic():
        job = (
            Job.objects.select_for_update(skip_locked=True)
            .filter(status=JobStatus.READY, run_after__lte=now)
            .order_by("run_after", "id")
            .first()
        )
        if job is None:
            return None
        job.attempts += 1
        # A running job no longer waits: its key is free (inside this transaction, so a
        # crash restores it) and the job may enqueue its own successor under the same key.
        key, job.unique_key = job.unique_key, None
        if key is not None:
            Job.objects.filter(pk=job.pk).update(unique_key=None)
        running = _running.set(job.pk)
        try:
            with transaction.atomic():
                job_function(job.name)(**job.payload)
        except Exception:
            job.last_error = traceback.format_exc(limit=20)
            logger.warning("job %s failed (attempt %d)", job, job.attempts)
            if job.attempts >= MAX_ATTEMPTS:
                job.status = JobStatus.FAILED
            else:
                job.run_after = now + dt.timedelta(seconds=2**job.attempts)
                waiting = Job.objects.filter(status=JobStatus.READY, unique_key=key).exists()
                job.unique_key = None if waiting else key  # waits again, keyed as before
        else:
            job.status = JobStatus.DONE
        finally:
            _running.reset(running)
        job.finished_at = timezone.now()
        job.save()
        return job


def run_jobs_until_idle(*, limit: int | None = None) -> int:
    """Run due jobs until none is left (or ``limit`` ran); the number run."""
    count = 0
    while (limit is None or count < limit) and run_next_job() is not None:
        count += 1
    return count
