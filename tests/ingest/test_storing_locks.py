"""Calls stored at once and the lanes' jobs: concurrent calls never multiply a lane's job,
and a job that counted for a call still uncommitted waits to see its messages before it
ends (the storing locks of :mod:`retain.ingest.lanes`). Real connections, one per thread; on
SQLite the file's single writer puts them one after the other instead."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connection, transaction

from retain.ingest.models import Message
from retain.ingest.services import APPLY_JOB, lane_of
from retain.worker.models import Job, JobStatus
from retain.worker.runner import run_jobs_until_idle, run_next_job
from tests.ingest.builders import make_track
from tests.ingest.test_apply_lanes import accept

pytestmark = pytest.mark.django_db(transaction=True)
#: How long the held call stays uncommitted when nothing releases it first.
HOLD_SECONDS = 1.0


@contextmanager
def call_held_open(messages: list[dict[str, Any]]) -> Iterator[threading.Event]:
    """A tracking call stored in another thread's transaction and left uncommitted until the
    event yielded is set (or :data:`HOLD_SECONDS` pass); committed when the block ends."""
    stored, release, failures = threading.Event(), threading.Event(), []

    def hold() -> None:
        try:
            with transaction.atomic():
                accept(messages)
                stored.set()
                release.wait(HOLD_SECONDS)
        except Exception as error:  # reported in the test's thread
            failures.append(error)
            stored.set()
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    assert stored.wait(30)
    try:
        yield release
    finally:
        release.set()
        holder.join(30)
    assert not failures, failures


def ready_jobs(lane: int) -> int:
    return Job.objects.filter(name=APPLY_JOB, status=JobStatus.READY, payload__lane=lane).count()


def test_a_call_stored_while_another_is_uncommitted_adds_no_second_job_for_the_lane() -> None:
    """Each call used to lock the lane's waiting job, and the next call, passing over the
    locked one, added another: under load the jobs piled up by hundreds per lane."""
    accept([make_track(userId="ann")])
    lane = lane_of({"userId": "ann"})
    with call_held_open([make_track(userId="ann")]) as release:
        accept([make_track(userId="ann")])  # SQLite: waits for the held call's commit
        release.set()
    assert ready_jobs(lane) == 1
    assert run_jobs_until_idle() >= 1
    assert not Message.objects.filter(applied_at__isnull=True).exists()


def test_a_job_ending_while_a_call_that_counted_on_it_is_uncommitted_sees_its_messages() -> None:
    """The call finds the lane's job waiting and adds none; the job runs, claims before the
    call commits, and must not end without a successor for the call's message."""
    accept([make_track(userId="ann", messageId="first")])
    lane = lane_of({"userId": "ann"})
    with call_held_open([make_track(userId="ann", messageId="second")]):
        assert ready_jobs(lane) == 1  # the call counted on the waiting job
        ran = run_next_job()  # waits for the call's commit before it looks for what is left
    assert ran is not None and ran.status == JobStatus.DONE
    run_jobs_until_idle()
    pending = Message.objects.filter(applied_at__isnull=True)
    assert list(pending.values_list("message_id", flat=True)) == []
    assert Message.objects.count() == 2
