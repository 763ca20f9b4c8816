"""Background entry points of the customers app: the rescoring, which schedules its own next
run (every ``RETAIN_RESCORE_EVERY_HOURS`` hours, default 24)."""

from __future__ import annotations

import datetime as dt
import logging
import os
from typing import TYPE_CHECKING

from django.utils import timezone

from retain.customers.rescoring import RescoreSummary, rescore_customers
from retain.errors import ConfigError, DataError
from retain.worker.queries import job_waiting
from retain.worker.registry import job
from retain.worker.services import enqueue

if TYPE_CHECKING:
    from retain.worker.models import Job

logger = logging.getLogger(__name__)
RESCORE_JOB = "customers.rescore"


def rescore_every() -> dt.timedelta:
    """The time between two rescorings, from ``RETAIN_RESCORE_EVERY_HOURS``."""
    text = os.environ.get("RETAIN_RESCORE_EVERY_HOURS", "24")
    try:
        hours = float(text)
    except ValueError:
        hours = -1.0
    if not hours > 0:
        raise ConfigError(
            f"RETAIN_RESCORE_EVERY_HOURS must be a positive number of hours, got {text!r}"
        )
    return dt.timedelta(hours=hours)


@job(RESCORE_JOB)
def rescore() -> RescoreSummary | None:
    """Rescore everyone, then schedule the next run.

    Orders that cannot be scored yet (less than 30 days of history) are not a failure to
    retry: the run is skipped with a warning and the next one scheduled all the same.
    """
    moment = timezone.now()
    try:
        summary = rescore_customers(now=moment)
    except DataError as error:
        logger.warning("rescoring skipped: %s", error)
        summary = None
    enqueue(RESCORE_JOB, unique_key=RESCORE_JOB, run_after=moment + rescore_every())
    return summary


def ensure_rescoring_scheduled(*, now: dt.datetime | None = None) -> Job | None:
    """Make sure a rescoring is waiting (a worker calls this as it starts): enqueue one due
    now unless one is already scheduled. Returns the new job, or ``None``."""
    if job_waiting(name=RESCORE_JOB):
        return None
    return enqueue(RESCORE_JOB, unique_key=RESCORE_JOB, run_after=now or timezone.now())
