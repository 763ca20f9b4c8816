"""Enqueueing jobs, in the caller's transaction (a job waits for the commit of the change that
caused it). Claiming and running them is :mod:`retain.worker.runner`."""

from __future__ import annotations

import datetime as dt
from contextvars import ContextVar
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from retain.worker.models import Job, JobStatus

#: The job this thread is running (its row still says ready until it ends).
_running: ContextVar[int | None] = ContextVar("running_job", default=None)


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
        try:  # a savepoint: a key already waiting leaves the caller's transaction going on
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


def bring_forward(unique_key: str, *, to: dt.datetime | None = None) -> bool:
    """Make the ready job waiting under ``unique_key`` due at ``to`` (default: now), in the
    caller's transaction; whether one was waiting (if not, enqueue one)."""
    due = Job.objects.filter(unique_key=unique_key, status=JobStatus.READY)
    return bool(due.update(run_after=to or timezone.now()))
