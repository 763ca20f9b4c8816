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
    count_running: bool = False,
    **payload: Any,
) -> None:
    """Make sure a ready job ``name`` waits for each of ``values`` of its payload's ``field``
    (one job per lane, say), in the caller's transaction, without ever waiting for a lock.

    A value without a ready job gets a new one (``payload`` added), due after ``delay``, in
    the order given (a microsecond apart). Which ready jobs count:

    - by default, only those no worker is running: each one found is locked until the
      caller commits (``SKIP LOCKED``), so no worker claims it before the caller's rows are
      there to see. For a few callers, such as a job making sure its successor waits.
    - with ``count_running``, running ones too, read without a lock: for callers at a high
      rate, which must not lock each other's rows (two callers each skipping the job the
      other locked would each add one, and the jobs pile up). The caller then has to make
      sure a running job sees its rows before it ends (ingest does it with lane locks:
      :mod:`retain.ingest.lanes`).

    Two callers at once may both add one: an extra run finds little to do. (A unique key
    would make the caller wait for the commit of a running job that freed the key.)
    """
    ready = Job.objects.filter(
        name=name, status=JobStatus.READY, **{f"payload__{field}__in": values}
    ).exclude(pk=_running.get())  # the job calling, if any: it is ending, not waiting
    if not count_running:
        ready = ready.select_for_update(skip_locked=True)
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
