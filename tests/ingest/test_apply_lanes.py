"""Applying in lanes: the door enqueues one job per customer lane it stored messages in, a
lane's job applies only that lane, a customer's messages stay in arrival order, and the
set-based path for plain events keeps poison isolation."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import IntegrityError, connection
from django.test import Client
from django.utils import timezone

from retain.customers.models import Customer, Event, Order
from retain.ingest import applying, plain_events
from retain.ingest.applying import apply_pending_messages
from retain.ingest.models import Message
from retain.ingest.services import APPLY_JOB, LANES, accept_calls, lane_of
from retain.ingest.tasks import apply_messages
from retain.worker.models import Job, JobStatus
from retain.worker.runner import run_jobs_until_idle
from tests.ingest.builders import make_identify, make_order_completed, make_track
from tests.ingest.test_poison_backlog import store_directly

pytestmark = pytest.mark.django_db
RECEIVED = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)


def accept(messages: list[dict[str, Any]], *, received_at: dt.datetime = RECEIVED) -> None:
    accept_calls({"batch": messages}, kind=None, source=None, received_at=received_at)


def users_in_two_lanes() -> tuple[str, str]:
    """Two user ids whose messages land in different lanes."""
    first = "user-0"
    second = next(f"user-{n}" for n in range(1, 100) if lane_of({"userId": f"user-{n}"})
                  != lane_of({"userId": first}))  # fmt: skip
    return first, second


def test_the_door_enqueues_one_job_per_lane_and_each_applies_only_its_lane() -> None:
    ann, bob = users_in_two_lanes()
    accept([make_track(userId=ann), make_track(userId=bob), make_track(userId=ann)])
    lanes = {ann: lane_of({"userId": ann}), bob: lane_of({"userId": bob})}
    assert dict(Message.objects.values_list("payload__userId", "lane").distinct()) == lanes
    jobs = Job.objects.filter(name=APPLY_JOB, status=JobStatus.READY).order_by("run_after")
    assert list(jobs.values_list("payload", flat=True)) == [{"lane": lanes[ann]},
                                                            {"lane": lanes[bob]}]  # fmt: skip
    accept([make_track(userId=ann)])  # the lane's job already waits: no second one
    assert jobs.count() == 2

    assert apply_messages(lane=lanes[ann]) == 3
    applied = Message.objects.filter(applied_at__isnull=False)
    assert set(applied.values_list("payload__userId", flat=True)) == {ann}
    assert not Event.objects.filter(customer__external_id=bob).exists()
    assert apply_messages(lane=lanes[bob]) == 1
    assert not Message.objects.filter(applied_at__isnull=True).exists()
    assert min(lanes.values()) >= 0 and max(lanes.values()) < LANES


def test_a_lane_another_worker_holds_is_tried_again_a_little_later(monkeypatch) -> None:
    accept([make_track(userId="ann")])
    lane = lane_of({"userId": "ann"})
    Job.objects.all().delete()
    monkeypatch.setattr(applying, "lock_lanes", lambda lanes, wait: False)
    assert apply_messages(lane=lane) == 0
    again = Job.objects.get(status=JobStatus.READY)
    assert again.payload["lane"] == lane
    assert again.run_after > timezone.now()
    assert Message.objects.get().applied_at is None


def test_a_busy_lane_adds_no_job_when_one_already_waits_for_it(monkeypatch) -> None:
    accept([make_track(userId="ann")])  # the door's job for ann's lane waits
    monkeypatch.setattr(applying, "lock_lanes", lambda lanes, wait: False)
    assert apply_messages(lane=lane_of({"userId": "ann"})) == 0
    assert Job.objects.filter(status=JobStatus.READY).count() == 1


def test_a_full_lane_run_enqueues_the_lanes_continuation() -> None:
    accept([make_track(userId="ann") for _ in range(5)])
    lane = lane_of({"userId": "ann"})
    Job.objects.all().delete()
    assert apply_messages(lane=lane, limit=2) == 2
    assert Job.objects.get(status=JobStatus.READY).payload == {"lane": lane, "limit": 2}
    run_jobs_until_idle()
    assert Event.objects.count() == 5


def test_a_customers_messages_stay_in_arrival_order_among_many_others(client: Client) -> None:
    """An order, its refund and identifies of one customer, among plain events of others,
    across several runs of its lane: applied in the order they came."""
    others = [make_track(userId=f"other-{n}") for n in range(40)]
    ann = [
        make_identify(userId="ann", traits={"email": "a@example.com"}),
        make_track(userId="ann", event="Product Viewed"),
        make_order_completed(userId="ann", order_id="o-ann"),
        make_track(userId="ann", event="Order Refunded", properties={"order_id": "o-ann"}),
        make_identify(userId="ann", timestamp="2026-03-02T00:00:00+00:00",
                      traits={"email": "b@example.com"}),
    ]  # fmt: skip
    mixed = [message for pair in zip(others, ann + [None] * 35, strict=True) for message in pair]
    accept([m for m in mixed if m is not None])
    lane = lane_of({"userId": "ann"})
    while apply_pending_messages(lane=lane, limit=3).claimed:  # small runs: order across runs
        pass
    run_jobs_until_idle()
    assert not Message.objects.exclude(error="").exists()
    assert Order.objects.get(external_id="o-ann").status == "refunded"
    assert Customer.objects.get(external_id="ann").email == "b@example.com"
    assert Event.objects.filter(customer__external_id__startswith="other-").count() == 40


def test_the_set_based_path_with_a_poison_message_still_applies_the_good_ones(
    monkeypatch,
) -> None:
    """A message the checks refuse, and one whose event the store refuses, among plain events:
    both failed with their reason, every other event applied."""
    good = [make_track(userId=f"u-{n}", messageId=f"good-{n}") for n in range(30)]
    refused = make_track(userId="u-3", messageId="refused")
    accept([*good[:15], refused, *good[15:]])
    store_directly(make_track(userId="u" * 300, messageId="too-long"))  # kept by older code
    original = plain_events._insert_events
    refused_key = Message.objects.get(message_id="refused").pk

    def refusing(rows: list[list[Any]]) -> None:  # rows of [message key, customer, name]
        if any(row[0] == refused_key for row in rows):
            raise IntegrityError("the store refuses this row")
        original(rows)

    monkeypatch.setattr(plain_events, "_insert_events", refusing)
    result = apply_pending_messages()
    assert (result.claimed, result.applied, result.failed) == (32, 30, 2)
    failed = dict(Message.objects.exclude(error="").values_list("message_id", "error"))
    assert failed == {
        "refused": "IntegrityError: the store refuses this row",
        "too-long": "DataError: userId: userId is longer than 200 characters",
    }
    assert set(Event.objects.values_list("message_id", flat=True)) == {m["messageId"] for m in good}


def test_plain_events_of_many_users_are_applied_in_a_few_statements(
    django_assert_max_num_queries,
) -> None:
    accept([make_track(userId=f"u-{n % 300}") for n in range(1000)])
    with django_assert_max_num_queries(30):  # a fixed number, not a few per message
        result = apply_pending_messages(limit=1000)  # one run on either store
    assert result.applied == 1000
    assert Customer.objects.count() == 300
    assert Event.objects.count() == 1000


def test_healthz_reports_the_pending_messages_and_the_age_of_the_oldest(client: Client) -> None:
    shown = client.get("/healthz").json()
    assert (shown["pending_messages"], shown["apply_lag_seconds"]) == (0, 0)
    accept([make_track(userId="ann")], received_at=timezone.now() - dt.timedelta(seconds=90))
    accept([make_track(userId="bob"), make_track(userId="cy")], received_at=timezone.now())
    store_directly(make_track(userId="u" * 300, messageId="too-long"))  # will fail
    shown = client.get("/healthz").json()
    assert shown["pending_messages"] == 4
    assert shown["apply_lag_seconds"] >= 90
    run_jobs_until_idle()
    apply_pending_messages()  # every lane, as an older job (the row has no job of its own)
    shown = client.get("/healthz").json()
    assert (shown["pending_messages"], shown["apply_lag_seconds"]) == (0, 0)
    assert shown["failed_messages"] == 1


def test_the_migration_puts_pending_messages_in_their_lanes_and_enqueues_a_job() -> None:
    from django.apps import apps
    from django.db import connection

    migration = __import__(
        "retain.ingest.migrations.0003_message_lane", fromlist=["lanes_of_pending"]
    )
    accept([make_track(userId=f"u-{n}") for n in range(20)])
    accept([make_track(userId="done")])
    Message.objects.filter(payload__userId="done").update(applied_at=timezone.now())
    Message.objects.update(lane=0)  # as stored before lanes
    Job.objects.all().delete()
    migration.lanes_of_pending(apps, connection.schema_editor())
    for user_id, lane in Message.objects.filter(applied_at__isnull=True).values_list(
        "payload__userId", "lane"
    ):
        assert lane == lane_of({"userId": user_id})
    assert Message.objects.get(payload__userId="done").lane == 0  # applied: left alone
    assert Job.objects.get().unique_key == APPLY_JOB
    run_jobs_until_idle()
    assert Event.objects.count() == 20


def test_a_run_holds_the_store_for_a_bounded_batch_smaller_on_sqlite() -> None:
    """On SQLite a run holds the file's only write lock, which the tracking door waits for:
    a run applies at most SQLITE_APPLY_BATCH messages and leaves a job for the rest."""
    batch = applying.SQLITE_APPLY_BATCH if connection.vendor == "sqlite" else applying.APPLY_BATCH
    assert applying.apply_batch() == batch < applying.APPLY_BATCH or connection.vendor != "sqlite"
    accept([make_track(userId="ann") for _ in range(applying.SQLITE_APPLY_BATCH + 1)])
    lane = lane_of({"userId": "ann"})
    Job.objects.all().delete()

    claimed = apply_messages(lane=lane)

    if connection.vendor == "sqlite":
        assert claimed == applying.SQLITE_APPLY_BATCH
        assert Job.objects.filter(name=APPLY_JOB, status=JobStatus.READY,
                                  payload__lane=lane).exists()  # fmt: skip
        assert apply_messages(lane=lane) == 1
    else:
        assert claimed == applying.SQLITE_APPLY_BATCH + 1
    assert not Message.objects.filter(applied_at__isnull=True).exists()
