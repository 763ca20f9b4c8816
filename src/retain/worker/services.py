"""Enqueue a job; claim and run the next one."""

from __future__ import annotations

import datetime as dt
import json
import logging
import traceback
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from retain.worker.models import Job, JobStatus
from retain.worker.registry import job_function

logger = logging.getLogger(__name__)
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


def enqueue_many(name: str, payloads: dict[str, dict[str, Any]]) -> None:
    """Add one job ``name`` per unique key (``{key: payload}``) in one statement, in the
    caller's transaction; a key whose ready job already waits gets no second one.

    That waiting job is locked until the caller commits (a no-op update), so no worker can
    claim it and look for work before the caller's rows are there to see (otherwise a job
    claimed in between would miss them, and nothing would come back for them). The jobs are
    due in the order given (a microsecond apart) and written in the keys' order, so two
    callers adding overlapping keys wait for each other in one order, never crosswise.
    """
    if not payloads:
        return
    now = timezone.now()
    adapt = connection.ops.adapt_datetimefield_value
    payload = "%s::jsonb" if connection.vendor == "postgresql" else "%s"
    due = {key: now + dt.timedelta(microseconds=rank) for rank, key in enumerate(payloads)}
    rows, parameters = [], []
    for key in sorted(payloads):
        rows.append(f"(%s, {payload}, %s, %s, 0, %s, %s, '')")
        parameters += [name, json.dumps(payloads[key]), JobStatus.READY, adapt(due[key]), key,
                       adapt(now)]  # fmt: skip
    table = Job._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (name, payload, status, run_after, attempts, unique_key, "
            f"created_at, last_error) VALUES {', '.join(rows)} "
            f"ON CONFLICT (unique_key) WHERE status = '{JobStatus.READY}' "
            f"DO UPDATE SET unique_key = {table}.unique_key",
            parameters,
        )


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
        job.finished_at = timezone.now()
        job.save()
        return job


def run_jobs_until_idle(*, limit: int | None = None) -> int:
    """Run due jobs until none is left (or ``limit`` ran); the number run."""
    count = 0
    while (limit is None or count < limit) and run_next_job() is not None:
        count += 1
    return count
