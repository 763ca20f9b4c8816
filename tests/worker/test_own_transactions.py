"""Jobs that open their own transactions (the email sender): they run after their claim has
committed, outside any transaction, and a failure leaves a fresh attempt waiting."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

import tests.worker.jobs  # noqa: F401  (registers the jobs)
from retain.customers.models import Customer
from retain.worker.models import Job, JobStatus
from retain.worker.runner import MAX_ATTEMPTS, run_next_job
from retain.worker.services import enqueue


@pytest.mark.django_db(transaction=True)
def test_a_job_with_its_own_transactions_runs_outside_any_transaction() -> None:
    job = enqueue("tests.outside", unique_key="outside", external_id="o")
    assert run_next_job().pk == job.pk
    assert Customer.objects.filter(external_id="o-atomic-False").exists()
    job.refresh_from_db()
    assert job.status == JobStatus.DONE and job.unique_key is None
    assert run_next_job() is None


@pytest.mark.django_db(transaction=True)
def test_a_failing_job_keeps_its_own_writes_and_waits_again_under_its_key() -> None:
    job = enqueue("tests.outside", unique_key="outside", external_id="f", fail=True)
    run_next_job()
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and "fails after its own write" in job.last_error
    assert Customer.objects.filter(external_id="f-atomic-False").exists()  # not rolled back
    retry = Job.objects.get(status=JobStatus.READY)
    assert retry.unique_key == "outside" and retry.attempts == 1
    assert retry.payload == job.payload and retry.run_after > timezone.now()


@pytest.mark.django_db(transaction=True)
def test_a_job_that_always_fails_stops_after_the_last_attempt() -> None:
    enqueue("tests.outside", external_id="x", fail=True)
    later = timezone.now()
    for _ in range(MAX_ATTEMPTS + 2):
        later += dt.timedelta(hours=1)
        run_next_job(now=later)
    assert Job.objects.filter(status=JobStatus.FAILED).count() == MAX_ATTEMPTS
    assert not Job.objects.filter(status=JobStatus.READY).exists()
