"""The durable queue: a job runs once, its writes commit with its done mark, failures retry
with backoff, and a worker killed mid-job loses nothing and repeats nothing."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time

import pytest
from django.db import connection
from django.utils import timezone

import tests.worker.jobs  # noqa: F401  (registers the jobs)
from retain.customers.models import Customer
from retain.worker.models import Job, JobStatus
from retain.worker.queries import job_waiting
from retain.worker.runner import MAX_ATTEMPTS, run_jobs_until_idle, run_next_job
from retain.worker.services import bring_forward, enqueue
from tests.store import child_environment


@pytest.mark.django_db
def test_a_job_runs_once_and_is_marked_done() -> None:
    job = enqueue("tests.create_customers", prefix="a", count=3)
    assert run_next_job().pk == job.pk
    assert run_next_job() is None
    job.refresh_from_db()
    assert job.status == JobStatus.DONE and job.attempts == 1
    assert Customer.objects.filter(external_id__startswith="a").count() == 3


@pytest.mark.django_db
def test_a_failing_job_is_rolled_back_and_retried_later() -> None:
    job = enqueue("tests.fail", prefix="f")
    run_next_job()
    job.refresh_from_db()
    assert job.status == JobStatus.READY and job.attempts == 1
    assert "this job always fails" in job.last_error
    assert not Customer.objects.filter(external_id__startswith="f").exists()  # rolled back
    assert run_next_job() is None  # not due before its backoff
    for hours in range(1, MAX_ATTEMPTS):  # each retry waits longer; an hour is long enough
        run_next_job(now=timezone.now() + dt.timedelta(hours=hours))
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.attempts == MAX_ATTEMPTS


@pytest.mark.django_db
def test_a_unique_key_keeps_one_waiting_job() -> None:
    assert enqueue("tests.create_customers", unique_key="k", prefix="u", count=1) is not None
    assert enqueue("tests.create_customers", unique_key="k", prefix="u", count=1) is None
    assert run_jobs_until_idle() == 1
    assert enqueue("tests.create_customers", unique_key="k", prefix="v", count=1) is not None


@pytest.mark.django_db
def test_a_waiting_job_is_seen_and_brought_forward() -> None:
    later = timezone.now() + dt.timedelta(days=1)
    assert not job_waiting(unique_key="sweep") and not bring_forward("sweep")
    enqueue("tests.create_customers", unique_key="sweep", run_after=later, prefix="s", count=1)
    assert job_waiting(unique_key="sweep") and job_waiting(name="tests.create_customers")
    assert not job_waiting(name="tests.fail")
    assert run_jobs_until_idle() == 0  # not due for a day
    assert bring_forward("sweep")
    assert run_jobs_until_idle() == 1
    assert not job_waiting(unique_key="sweep")  # done, no longer waiting


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_job_loses_nothing_and_repeats_nothing(tmp_path) -> None:
    flag = tmp_path / "started"
    job = enqueue("tests.create_customers", prefix="k", count=50, pause_flag=str(flag))
    child = subprocess.Popen(
        [sys.executable, "-c",
         "from retain.server import setup; setup(); import tests.worker.jobs; "
         "from retain.worker.loop import run_worker; run_worker(max_jobs=1)"],
        env=child_environment(),
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not flag.exists():
        assert child.poll() is None and time.monotonic() < deadline, "the worker did not start"
        time.sleep(0.05)
    os.kill(child.pid, signal.SIGKILL)  # mid-job: the customers are written, not committed
    child.wait(timeout=10)
    job.refresh_from_db()
    assert job.status == JobStatus.READY and job.attempts == 0
    assert not Customer.objects.filter(external_id__startswith="k").exists()

    job.payload = {"prefix": "k", "count": 50}  # the next run finishes instead of pausing
    job.save(update_fields=["payload"])
    assert run_next_job().pk == job.pk
    assert Customer.objects.filter(external_id__startswith="k").count() == 50
    assert run_next_job() is None


@pytest.mark.django_db
def test_a_running_job_can_enqueue_its_successor_under_its_own_key() -> None:
    enqueue("tests.chain", unique_key="chain", remaining=2)
    assert run_jobs_until_idle() == 3
    assert Customer.objects.filter(external_id__startswith="chain-").count() == 3


@pytest.mark.django_db
def test_a_failed_attempt_waits_again_under_its_key() -> None:
    job = enqueue("tests.fail", unique_key="flaky", prefix="g")
    run_next_job()
    job.refresh_from_db()
    assert job.status == JobStatus.READY and job.unique_key == "flaky"
    assert enqueue("tests.fail", unique_key="flaky", prefix="g") is None


@pytest.mark.django_db(transaction=True)
def test_two_workers_on_one_queue_run_each_job_exactly_once() -> None:
    jobs = [enqueue("tests.signed", external_id=f"w{i}", pause=0.2) for i in range(30)]
    program = (
        "from retain.server import setup; setup(); import tests.worker.jobs; "
        "from retain.worker.runner import run_jobs_until_idle; run_jobs_until_idle()"
    )
    workers = [
        subprocess.Popen([sys.executable, "-c", program], env=child_environment()) for _ in range(2)
    ]
    for worker in workers:
        assert worker.wait(timeout=120) == 0
    done = Job.objects.filter(pk__in=[job.pk for job in jobs])
    assert sorted(done.values_list("status", "attempts")) == [(JobStatus.DONE, 1)] * 30
    created = Customer.objects.filter(external_id__startswith="w").values_list("external_id")
    assert sorted(created) == sorted((f"w{i}",) for i in range(30))
    if connection.vendor == "postgresql":  # SKIP LOCKED: both took jobs side by side
        runners = Customer.objects.filter(external_id__startswith="w").values("name")
        assert len({runner["name"] for runner in runners}) == 2
