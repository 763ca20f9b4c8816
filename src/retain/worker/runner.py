"""Claiming and running jobs: the job's transaction is opened here, around each job function.

A job function runs in the transaction that claimed its row, as a savepoint: what it writes
and its ``done`` mark commit together, and a job that raises is rolled back to the claim and
retried later. Job functions, like the services they call, never commit themselves.
"""

from __future__ import annotations

import datetime as dt
import logging
import traceback

from django.db import transaction
from django.utils import timezone

from retain.worker.models import Job, JobStatus
from retain.worker.registry import job_function, runs_outside_transactions
from retain.worker.services import _running

logger = logging.getLogger(__name__)
#: A job that failed this many times is left failed for a person to look at.
MAX_ATTEMPTS = 5


def run_next_job(*, now: dt.datetime | None = None) -> Job | None:
    """Claim the oldest ready job and run it in the same transaction; ``None`` if none is due.

    The job's own writes and its ``done`` mark commit together. A job that raises is rolled
    back to the claim and retried later with a growing delay, up to :data:`MAX_ATTEMPTS`.
    A job registered with ``own_transactions`` is marked done in its claim and runs once
    the claim has committed (:func:`retain.worker.registry.job`).
    """
    now = now or timezone.now()
    outside: tuple[Job, str | None] | None = None
    with transaction.atomic():
        job = (
            Job.objects.select_for_update(skip_locked=True)
            .filter(status=JobStatus.READY, run_after__lte=now)
            .order_by("run_after", "id")
            .first()
        )
        if job is None:
            return None
        if runs_outside_transactions(job.name):
            outside = _claim_for_outside(job, now)
        else:
            _run_in_claim(job, now)
    if outside is not None:  # its claim has committed: run it outside any transaction
        _run_outside(*outside)
    return job


def _run_in_claim(job: Job, now: dt.datetime) -> None:
    """Run a job in its claim's transaction, as a savepoint, and record how it went."""
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


def _claim_for_outside(job: Job, now: dt.datetime) -> tuple[Job, str | None]:
    """Mark a job that opens its own transactions done in its claim; the caller runs it
    once the claim has committed (:func:`_run_outside`)."""
    job.attempts += 1
    job.status, job.finished_at, key = JobStatus.DONE, now, job.unique_key
    job.unique_key = None
    job.save()
    return job, key


def _run_outside(job: Job, key: str | None) -> None:
    """Run a job outside any transaction; a failure is recorded on its row and a fresh
    attempt waits with the same payload and key, after a growing delay."""
    running = _running.set(job.pk)
    try:
        job_function(job.name)(**job.payload)
    except Exception:
        logger.warning("job %s failed (attempt %d)", job, job.attempts, exc_info=True)
        error = traceback.format_exc(limit=20)
        Job.objects.filter(pk=job.pk).update(status=JobStatus.FAILED, last_error=error)
        if job.attempts < MAX_ATTEMPTS:
            retry = timezone.now() + dt.timedelta(seconds=2**job.attempts)
            waiting = Job.objects.filter(status=JobStatus.READY, unique_key=key).exists()
            Job.objects.create(
                name=job.name, payload=job.payload, run_after=retry, attempts=job.attempts,
                unique_key=None if waiting else key,
            )  # fmt: skip
    finally:
        _running.reset(running)


def run_jobs_until_idle(*, limit: int | None = None) -> int:
    """Run due jobs until none is left (or ``limit`` ran); the number run."""
    count = 0
    while (limit is None or count < limit) and run_next_job() is not None:
        count += 1
    return count
