"""One bad message never stops the queue: poison written straight into the store (as old data,
kept before the door checked it) is marked failed with its reason and messageId, every good
message around it is applied, and the count is reported. A bug is not bad data: it fails the
job, which the queue retries, and the message stays pending."""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

import pytest
from django.db import connection

from retain.customers.models import Customer, Event, Order
from retain.ingest.applying import apply_pending_messages
from retain.ingest.models import Message
from retain.ingest.services import APPLY_JOB, accept_calls, lane_of
from retain.worker.models import Job, JobStatus
from retain.worker.runner import run_jobs_until_idle
from retain.worker.services import enqueue
from tests.ingest.builders import make_identify, make_order_completed, make_track

pytestmark = pytest.mark.django_db
RECEIVED = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)


def store_directly(message: dict[str, Any], *, timestamp: str | None = None) -> None:
    """A row as an older version kept it: no door checks; ``timestamp`` as the raw SQL text;
    in its customer's lane, as migration ``ingest.0003_message_lane`` puts pending rows."""
    payload = "%s::jsonb" if connection.vendor == "postgresql" else "%s"
    moment = "%s::timestamptz" if connection.vendor == "postgresql" else "%s"
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Message._meta.db_table} (message_id, type, payload, received_at, "
            f"timestamp, error, lane) VALUES (%s, %s, {payload}, %s, {moment}, '', %s)",
            [message["messageId"], message["type"], json.dumps(message),
             connection.ops.adapt_datetimefield_value(RECEIVED),
             timestamp or connection.ops.adapt_datetimefield_value(RECEIVED),
             lane_of(message)],
        )  # fmt: skip


def good(number: int) -> list[dict[str, Any]]:
    user = f"good-{number}"
    return [
        make_identify(
            messageId=f"g{number}-id", userId=user, traits={"email": f"{user}@example.com"}
        ),
        make_track(messageId=f"g{number}-ev", userId=user),
        make_order_completed(messageId=f"g{number}-or", userId=user, order_id=f"o-{number}"),
    ]


def poison() -> dict[str, tuple[dict[str, Any], str | None, str]]:
    """messageId -> (stored payload, raw timestamp, words of the recorded reason)."""
    kinds = {
        "p-long-user": (make_track(messageId="p-long-user", userId="u" * 300), None,
                        "DataError: userId: userId is longer than 200 characters"),
        "p-negative": (make_order_completed(messageId="p-negative", total=-5, order_id="o-neg"),
                       None, "DataError: properties.total: properties.total is negative"),
        "p-oversized": (make_order_completed(messageId="p-oversized", order_id="o-big",
                                             total="123456789012345.67"),
                        None, "properties.total is 1,000,000,000,000 or more"),
        "p-created": (make_identify(messageId="p-created",
                                    traits={"createdAt": "9999-12-31T23:30:00-01:00"}),
                      None, "traits.createdAt falls outside years 1-9999"),
        "p-not-object": ({"messageId": "p-not-object", "type": "track"}, None,
                         "DataError: userId: userId or anonymousId is required"),
    }  # fmt: skip
    if connection.vendor == "postgresql":  # a time PostgreSQL keeps and Python cannot read
        kinds["p-year-10000"] = (make_track(messageId="p-year-10000"),
                                 "10000-01-01 00:00:00+00", "unreadable as stored")  # fmt: skip
    else:  # SQLite keeps what PostgreSQL's jsonb and timestamps refuse
        kinds["p-nul"] = (
            make_track(messageId="p-nul", properties={"note": "a\x00b"}),
            None,
            "DataError: properties.note: properties.note contains a NUL",
        )
        kinds["p-no-time"] = (
            make_track(messageId="p-no-time"), "yesterday-ish",
            "DataError: timestamp: the stored time of 'p-no-time' is not a time",
        )  # fmt: skip
    return kinds


def test_one_poison_record_of_each_kind_in_a_backlog_leaves_every_good_one_applied(
    caplog,
) -> None:
    kinds = poison()
    for number in range(3):
        accept_calls({"batch": good(number)}, kind=None, source=None, received_at=RECEIVED)
        if number == 1:  # the poison sits in the middle of the backlog
            for message, timestamp, _ in kinds.values():
                store_directly(message, timestamp=timestamp)
            enqueue(APPLY_JOB, unique_key=APPLY_JOB)  # as the migration does
    with caplog.at_level(logging.WARNING, logger="retain.ingest.applying"):
        run_jobs_until_idle()
    assert Job.objects.filter(status=JobStatus.DONE, name="ingest.apply_messages").exists()
    assert not Job.objects.exclude(status=JobStatus.DONE).filter(name="ingest.apply_messages")
    good_ids = [m["messageId"] for number in range(3) for m in good(number)]
    assert list(
        Message.objects.filter(message_id__in=good_ids, applied_at__isnull=False)
        .order_by("message_id").values_list("message_id", flat=True)
    ) == sorted(good_ids)  # fmt: skip
    assert sorted(Order.objects.values_list("external_id", flat=True)) == ["o-0", "o-1", "o-2"]
    assert Event.objects.filter(customer__external_id__startswith="good-").count() == 3
    failed = dict(Message.objects.exclude(error="").values_list("message_id", "error"))
    assert sorted(failed) == sorted(kinds)
    for message_id, (_, _, words) in kinds.items():
        assert words in failed[message_id], failed[message_id]
    assert not Message.objects.filter(message_id__in=kinds, applied_at__isnull=False).exists()
    lines = [r.getMessage() for r in caplog.records if r.name == "retain.ingest.applying"]
    counts = [line.split()[:3] for line in lines if line.endswith("tracking messages failed")]
    assert sum(int(failed) for failed, _, _ in counts) == len(kinds)  # counted by each run
    assert {line.split()[2] for line in lines if line.startswith("tracking message ")} == set(kinds)
    assert not Customer.objects.filter(external_id="u" * 300).exists()


def test_a_run_reports_how_many_it_applied_and_failed() -> None:
    accept_calls({"batch": good(0)}, kind=None, source=None, received_at=RECEIVED)
    store_directly(make_order_completed(messageId="p-negative", total=-1, order_id="o-neg"))
    result = apply_pending_messages()
    assert (result.claimed, result.applied, result.failed) == (4, 3, 1)


def test_a_bug_while_applying_fails_the_job_which_is_retried_and_marks_nothing(
    monkeypatch,
) -> None:
    accept_calls({"batch": good(0)}, kind=None, source=None, received_at=RECEIVED)

    def broken(**_: Any) -> None:
        raise TypeError("unsupported operand type(s) for +: 'int' and 'str'")

    monkeypatch.setattr("retain.ingest.applying.record_order", broken)  # a bug, not bad data
    run_jobs_until_idle()
    job = Job.objects.get(name="ingest.apply_messages")
    assert job.status == JobStatus.READY and job.attempts == 1  # waits to be retried
    assert "TypeError: unsupported operand" in job.last_error
    assert list(Message.objects.exclude(error="").values_list("message_id", flat=True)) == []
    assert Message.objects.filter(applied_at__isnull=True).count() == 3  # rolled back, pending
