"""The send job: queueing wakes it, it sends over SMTP outside the worker's transaction, it
waits again for what is left, and a sender killed mid-send loses nothing."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time

import pytest
from django.db import transaction
from django.utils import timezone

from retain.messaging.composing import message_id_for
from retain.messaging.models import Message, MessageStatus
from retain.messaging.sender import LEASE
from retain.messaging.services import SEND_JOB
from retain.messaging.tasks import CONFIG_RETRY, run_sender
from retain.worker.models import Job, JobStatus
from retain.worker.runner import run_next_job
from tests.messaging.builders import queue, send
from tests.store import child_environment


def _waiting() -> list[Job]:
    return list(Job.objects.filter(name=SEND_JOB, status=JobStatus.READY).order_by("run_after"))


@pytest.fixture
def email_settings(settings, smtp_server):
    settings.RETAIN_SMTP_URL = smtp_server.url
    settings.RETAIN_EMAIL_FROM = "Shop <news@shop.example>"
    settings.RETAIN_PUBLIC_URL = "https://retain.shop.example"
    return settings


@pytest.mark.django_db
def test_the_worker_runs_the_send_job_and_smtp_happens_after_its_commit(
    email_settings, smtp_server, django_capture_on_commit_callbacks
) -> None:
    messages = [queue() for _ in range(3)]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = run_next_job()
    assert job.name == SEND_JOB and job.status == JobStatus.DONE
    assert smtp_server.received == []  # nothing sent inside the job's transaction
    for callback in callbacks:
        callback()
    assert len(smtp_server.received) == 3
    assert {m.status for m in Message.objects.filter(pk__in=[m.pk for m in messages])} == {"sent"}
    # Nothing left: only the claim's safety net waits, for its lease's end (had the worker
    # died mid-send, that job would send the batch again).
    [safety] = _waiting()
    assert safety.run_after > timezone.now() + LEASE - dt.timedelta(minutes=1)


@pytest.mark.django_db
def test_a_run_that_leaves_messages_makes_sure_a_job_waits_for_them(
    smtp_server, clock, options
) -> None:
    for _ in range(5):
        queue()
    Job.objects.all().delete()
    report = send(smtp_server, clock, options, batch_size=2, max_batches=1)
    assert report.counts == {"sent": 2}
    first = _waiting()[0]  # then the claim's safety net, at its lease's end
    assert first.payload == {"wake": "now"} and first.run_after <= timezone.now()


@pytest.mark.django_db
def test_a_message_due_later_gets_a_job_at_its_time(smtp_server, clock, options) -> None:
    later = timezone.now() + dt.timedelta(days=2)
    queue(send_after=later)
    Job.objects.all().delete()
    assert send(smtp_server, clock, options).batches == 0
    [job] = _waiting()
    assert abs(job.run_after - later) < dt.timedelta(seconds=1)


@pytest.mark.django_db
def test_a_server_down_is_asked_again_after_the_backoff_not_at_once(
    smtp_server, clock, options
) -> None:
    for _ in range(3):
        queue()
    smtp_server.stop()
    Job.objects.all().delete()
    report = send(smtp_server, clock, options, batch_size=2)
    assert report.batches == 1 and report.counts == {"retry": 2}  # the run stopped there
    assert _waiting()[0].run_after > timezone.now() + dt.timedelta(seconds=30)


@pytest.mark.django_db
def test_missing_settings_send_nothing_and_say_which(settings, clock) -> None:
    settings.RETAIN_SMTP_URL = ""
    settings.RETAIN_EMAIL_FROM = "Shop <news@shop.example>"
    message = queue()
    Job.objects.all().delete()
    report = run_sender(clock=clock)
    assert "RETAIN_SMTP_URL is not set" in report.stopped_because
    message.refresh_from_db()
    assert message.status == MessageStatus.QUEUED and message.attempts == 0
    [job] = _waiting()
    assert job.run_after >= timezone.now() + CONFIG_RETRY - dt.timedelta(minutes=2)


@pytest.mark.django_db(transaction=True)
def test_a_worker_process_sends_what_was_queued(smtp_server) -> None:
    """The whole way: queueing commits a send job, a real worker runs it, and the sending
    (started once the job's transaction committed) reaches the server."""
    with transaction.atomic():
        messages = [queue() for _ in range(4)]
    worker = subprocess.run(
        [sys.executable, "-c", "from retain.server import setup; setup()\n"
         "from retain.worker.loop import run_worker; run_worker(max_jobs=1)"],
        env=_sender_environment(smtp_server), timeout=120, check=True,
    )  # fmt: skip
    assert worker.returncode == 0
    expected = {message_id_for(m.idempotency_key, "shop.example") for m in messages}
    assert {r.message_id for r in smtp_server.received} == expected
    assert set(Message.objects.values_list("status", flat=True)) == {"sent"}


def _sender_environment(smtp_server) -> dict[str, str]:
    return child_environment(
        RETAIN_SMTP_URL=smtp_server.url, RETAIN_EMAIL_FROM="Shop <news@shop.example>",
        RETAIN_PUBLIC_URL="https://retain.shop.example",
    )  # fmt: skip


_CHILD = (
    "from retain.server import setup; setup()\n"
    "from retain.messaging.tasks import run_sender\n"
    "run_sender(batch_size=5, max_seconds=120)\n"
)


@pytest.mark.django_db(transaction=True)
def test_a_sender_killed_mid_send_loses_nothing_and_repeats_at_most_its_batch(
    smtp_server, options
) -> None:
    """A real sender process is killed while the server holds the 8th message of 12 (its
    second batch of 5 in flight); a later run sends what was left, and only that batch's
    accepted messages arrive twice, under their own Message-IDs."""
    with transaction.atomic():
        messages = [queue() for _ in range(12)]
    smtp_server.handler.hold_at = 8
    child = subprocess.Popen([sys.executable, "-c", _CHILD], env=_sender_environment(smtp_server))
    try:
        assert smtp_server.handler.holding.wait(60), "the sender did not reach the 8th message"
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
    smtp_server.handler.hold_at = None
    smtp_server.handler.release.set()
    before = [r.message_id for r in smtp_server.received]
    assert len(before) == 7
    statuses = sorted(Message.objects.values_list("status", flat=True))
    assert statuses == ["queued"] * 2 + ["sending"] * 5 + ["sent"] * 5

    later = timezone.now() + LEASE + dt.timedelta(seconds=1)
    run_sender(clock=lambda: later, connect=smtp_server.connect, options=options)
    time.sleep(0.1)
    received = [r.message_id for r in smtp_server.received]
    expected = {message_id_for(m.idempotency_key, "shop.example") for m in messages}
    assert set(received) == expected  # every message arrived
    repeated = sorted(set(id_ for id_ in received if received.count(id_) > 1))
    assert repeated == sorted(before[5:7])  # only the batch in flight, accepted before the kill
    assert len(received) == 12 + 2
    assert set(Message.objects.values_list("status", flat=True)) == {"sent"}
