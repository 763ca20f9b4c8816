"""Jobs the worker tests enqueue (registered on import, as an app's tasks.py would be)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from retain.customers.models import Customer
from retain.worker.registry import job


@job("tests.create_customers")
def create_customers(*, prefix: str, count: int, pause_flag: str = "") -> None:
    """Create customers, then (with ``pause_flag``) say so in a file and wait to be killed."""
    Customer.objects.bulk_create(Customer(external_id=f"{prefix}{i}") for i in range(count))
    if pause_flag:
        Path(pause_flag).write_text(str(os.getpid()))
        time.sleep(60)


@job("tests.fail")
def fail(*, prefix: str) -> None:
    Customer.objects.create(external_id=f"{prefix}-written-before-the-failure")
    raise RuntimeError("this job always fails")


@job("tests.chain")
def chain(*, remaining: int) -> None:
    """Enqueue its own successor under its own key, as a schedule does."""
    from retain.worker.services import enqueue

    Customer.objects.create(external_id=f"chain-{remaining}")
    if remaining > 0:
        enqueue("tests.chain", unique_key="chain", remaining=remaining - 1)


@job("tests.signed")
def signed(*, external_id: str, pause: float = 0.0) -> None:
    """One customer named after the worker process that ran the job."""
    time.sleep(pause)
    Customer.objects.create(external_id=external_id, name=str(os.getpid()))


@job("tests.outside", own_transactions=True)
def outside(*, external_id: str, fail: bool = False) -> None:
    """Record whether it ran inside a transaction (in the customer's name), then maybe fail."""
    from django.db import connection

    Customer.objects.create(external_id=f"{external_id}-atomic-{connection.in_atomic_block}")
    if fail:
        raise RuntimeError("this job fails after its own write")
