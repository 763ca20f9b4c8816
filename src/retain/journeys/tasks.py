"""The journeys' background job: one runner pass after another while any journey is active.

The job opens its own short transactions (one per batch) so that on the embedded store the
tracking door never waits long behind it. It keeps its successor waiting before it works
(a worker killed mid-pass loses nothing: the successor runs after the pause), and brings it
forward when work is left.
"""

from __future__ import annotations

import datetime as dt
import time

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from retain.journeys.active import active_journeys
from retain.journeys.runner import (
    RUN_JOB,
    RunFigures,
    advance_due,
    enter_on_dates,
    enter_on_predictions,
    react,
    start_broadcasts,
)
from retain.worker.registry import job
from retain.worker.services import bring_forward, enqueue

#: The longest one job keeps passing before it hands over to its successor.
PASS_SECONDS = 5.0


@job(RUN_JOB, own_transactions=True)
def run_journeys() -> None:
    """Pass until no work is left (or for :data:`PASS_SECONDS`), successor kept waiting."""
    if not active_journeys():
        return  # applying or resuming a journey starts the job again
    keep_running()
    started = time.monotonic()
    while time.monotonic() - started < PASS_SECONDS:
        figures = run_once(now=timezone.now())
        if not figures.more:
            return
    bring_forward(RUN_JOB)


def keep_running(*, delay: float | None = None) -> None:
    """Make sure a run job waits (due after the poll interval, or ``delay`` seconds)."""
    seconds = settings.RETAIN_JOURNEY_POLL_SECONDS if delay is None else delay
    with transaction.atomic():
        enqueue(RUN_JOB, unique_key=RUN_JOB,
                run_after=timezone.now() + dt.timedelta(seconds=seconds))  # fmt: skip


def run_once(*, now: dt.datetime) -> RunFigures:
    """One pass, each part in a short transaction of its own: broadcasts due, one batch of
    happenings, one batch of due enrolments. ``more`` says whether work is left."""
    figures = RunFigures()
    with transaction.atomic():
        figures.entered += start_broadcasts(now=now)
    with transaction.atomic():
        figures.entered += enter_on_predictions(now=now)
    with transaction.atomic():
        figures.entered += enter_on_dates(now=now)
    with transaction.atomic():
        figures.add(react(now=now))
    with transaction.atomic():
        figures.add(advance_due(now=now))
    figures.more |= figures.entered > 0
    return figures


def ensure_running() -> None:
    """A run job waits if any journey is active (as a worker starts), in the caller's
    transaction."""
    if active_journeys():
        enqueue(RUN_JOB, unique_key=RUN_JOB)
