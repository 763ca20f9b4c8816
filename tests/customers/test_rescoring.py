"""Living scores: the stored scores are the library's on the store's orders, stage and segment
changes become one event each in the same transaction, a failure leaves the store as it was,
and the job keeps itself scheduled."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd
import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from retain.analytics import lifecycle_stages, rfm_segments
from retain.cli import main
from retain.customers.models import DomainEvent, Order, RescoringRun, Score
from retain.customers.rescoring import rescore_customers
from retain.customers.tasks import RESCORE_JOB, ensure_rescoring_scheduled
from retain.errors import DataError
from retain.scoring import score_customers
from retain.worker.models import Job, JobStatus
from retain.worker.runner import run_jobs_until_idle
from retain.worker.services import enqueue
from tests.customers.builders import load_business, make_customer, make_order

END = dt.date(2024, 12, 31)
NOW = dt.datetime(2025, 1, 1, 3, tzinfo=dt.UTC)


def stored_scores() -> pd.DataFrame:
    rows = Score.objects.values()
    return pd.DataFrame.from_records(rows).sort_values("customer_id").reset_index(drop=True)


@pytest.mark.django_db
def test_stored_scores_are_the_librarys_on_the_same_orders() -> None:
    orders = load_business(300, seed=3)
    summary = rescore_customers(as_of=END, now=NOW)

    expected = score_customers(orders, observation_end=END)
    library = expected.customers.sort_values("customer_id").reset_index(drop=True)
    stored = stored_scores()
    assert summary.model == expected.model and set(stored.model) == {expected.model}
    assert summary.customers_scored == len(library) == len(stored)
    assert stored.customer_id.tolist() == library.customer_id.tolist()
    for column in ("p_alive", "expected_purchases_30d", "expected_purchases_90d"):
        np.testing.assert_allclose(stored[column], library[column], atol=1e-6)
    np.testing.assert_allclose(
        stored.expected_purchases_365d, library.expected_purchases_365d, atol=1e-6
    )
    np.testing.assert_allclose(stored.clv_12m, library.clv_12m, atol=0.006)
    assert stored.churn_risk.tolist() == library.churn_risk.tolist()
    assert stored.value_decile.tolist() == library.value_decile.tolist()
    assert stored.next_order_date.tolist() == [
        None if pd.isna(day) else day for day in library.next_order_date
    ]
    segments = rfm_segments(orders, observation_end=END).sort_values("customer_id")
    assert stored.rfm_segment.tolist() == segments.segment.tolist()
    assert stored.rfm_score.tolist() == segments.rfm_score.tolist()
    stages = lifecycle_stages(orders, as_of=END).sort_values("customer_id")
    assert stored.lifecycle_stage.tolist() == stages.stage.tolist()
    assert set(stored.scored_at) == {NOW}


@pytest.mark.django_db
def test_the_first_scoring_records_no_events_and_a_rerun_rewrites_nothing() -> None:
    load_business(200, seed=4)
    first = rescore_customers(as_of=END, now=NOW)
    assert (first.stage_changes, first.segment_changes) == (0, 0)
    assert first.scores_written == first.customers_scored
    assert not DomainEvent.objects.exists()

    again = rescore_customers(as_of=END, now=NOW + dt.timedelta(hours=1))
    assert (again.stage_changes, again.segment_changes, again.scores_written) == (0, 0, 0)
    assert not DomainEvent.objects.exists()
    assert set(stored_scores().scored_at) == {NOW}  # unchanged rows are not rewritten


@pytest.mark.django_db
def test_a_stage_change_records_exactly_one_event_with_from_and_to() -> None:
    load_business(200, seed=5)
    rescore_customers(as_of=END, now=NOW)
    lapsed = Score.objects.filter(lifecycle_stage__in=["at risk", "dormant"]).first()
    before = lapsed.lifecycle_stage
    make_order(lapsed.customer, ordered_at=dt.datetime(2024, 12, 30, 9, tzinfo=dt.UTC))

    later = NOW + dt.timedelta(days=1)
    summary = rescore_customers(as_of=END, now=later)

    events = list(DomainEvent.objects.filter(name="lifecycle.changed"))
    assert summary.stage_changes == len(events) == 1
    (event,) = events
    after = Score.objects.get(pk=lapsed.pk).lifecycle_stage
    assert after in ("returning", "reactivated") and after != before
    assert (event.customer_id, event.data) == (lapsed.pk, {"from": before, "to": after})
    assert event.occurred_at == later
    segment_events = DomainEvent.objects.filter(name="segment.changed")
    assert summary.segment_changes == segment_events.count()
    for moved in segment_events:
        assert moved.data["to"] == Score.objects.get(pk=moved.customer_id).rfm_segment
        assert moved.data["from"] != moved.data["to"]


@pytest.mark.django_db
def test_every_changed_stage_gets_its_event_when_time_passes() -> None:
    load_business(200, seed=6)
    rescore_customers(as_of=END, now=NOW)
    old = dict(Score.objects.values_list("customer_id", "lifecycle_stage"))
    summary = rescore_customers(as_of=END + dt.timedelta(days=75), now=NOW)
    new = dict(Score.objects.values_list("customer_id", "lifecycle_stage"))
    moved = {key: (old[key], new[key]) for key in new if old[key] != new[key]}
    assert moved and summary.stage_changes == len(moved)
    events = DomainEvent.objects.filter(name="lifecycle.changed")
    assert {e.customer_id: (e.data["from"], e.data["to"]) for e in events} == moved


@pytest.mark.django_db
def test_each_run_keeps_its_stage_moves_counted_as_its_events() -> None:
    load_business(200, seed=6)
    rescore_customers(as_of=END, now=NOW)
    summary = rescore_customers(as_of=END + dt.timedelta(days=75), now=NOW + dt.timedelta(1))
    first, second = RescoringRun.objects.order_by("id")
    assert first.stage_moves == []  # first scores: nobody moved
    events: dict[tuple[str, str], int] = {}
    for event in DomainEvent.objects.filter(name="lifecycle.changed"):
        pair = (event.data["from"], event.data["to"])
        events[pair] = events.get(pair, 0) + 1
    kept = {(move["from"], move["to"]): move["customers"] for move in second.stage_moves}
    assert kept == events and sum(kept.values()) == summary.stage_changes > 0


@pytest.mark.django_db
def test_a_failure_midway_leaves_the_old_scores_and_no_events() -> None:
    load_business(200, seed=7)
    rescore_customers(as_of=END, now=NOW)
    before = stored_scores()
    _fail_score_updates()  # a real failure inside the write, after the events are inserted

    with pytest.raises(DatabaseError, match="injected failure"), transaction.atomic():
        # the caller's transaction (the job's, the command's), rolled back by the failure
        rescore_customers(as_of=END + dt.timedelta(days=75), now=NOW + dt.timedelta(days=75))

    pd.testing.assert_frame_equal(stored_scores(), before)
    assert not DomainEvent.objects.exists()


def _fail_score_updates() -> None:
    table = Score._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE FUNCTION fail_score_update() RETURNS trigger AS $$ BEGIN "
                "RAISE EXCEPTION 'injected failure'; END $$ LANGUAGE plpgsql"
            )
            cursor.execute(
                f"CREATE TRIGGER fail_score_update BEFORE UPDATE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION fail_score_update()"
            )
        else:
            cursor.execute(
                f"CREATE TRIGGER fail_score_update BEFORE UPDATE ON {table} "
                "BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
            )


@pytest.mark.django_db
def test_refunded_orders_do_not_count() -> None:
    load_business(200, seed=8)
    only_refunds = make_customer()
    make_order(only_refunds, status="refunded")
    make_order(only_refunds, status="Cancelled", ordered_at=dt.datetime(2024, 7, 1, tzinfo=dt.UTC))
    rescore_customers(as_of=END, now=NOW)
    assert not Score.objects.filter(pk=only_refunds.pk).exists()

    big = Score.objects.order_by("-clv_12m").first()
    clv_before = big.clv_12m
    make_order(big.customer, amount=5000, status="refunded", ordered_at=NOW - dt.timedelta(days=2))
    rescore_customers(as_of=END, now=NOW)
    assert Score.objects.get(pk=big.pk).clv_12m == clv_before  # the refund changed nothing

    Order.objects.filter(customer=big.customer).update(status="refunded")
    summary = rescore_customers(as_of=END, now=NOW)
    assert summary.scores_removed == 1 and not Score.objects.filter(pk=big.pk).exists()


@pytest.mark.django_db
def test_too_short_a_history_writes_nothing() -> None:
    customer = make_customer()
    make_order(customer, ordered_at=dt.datetime(2024, 12, 20, tzinfo=dt.UTC))
    with pytest.raises(DataError, match="at least 30"):
        rescore_customers(as_of=END, now=NOW)
    assert not Score.objects.exists()


@pytest.mark.django_db
def test_no_orders_at_all_scores_nobody() -> None:
    summary = rescore_customers(now=NOW)
    assert (summary.customers_scored, summary.model, summary.as_of) == (0, None, NOW.date())


@pytest.mark.django_db
def test_the_job_rescores_and_schedules_its_next_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RETAIN_RESCORE_EVERY_HOURS", "6")
    load_business(150, seed=9)
    first = ensure_rescoring_scheduled()
    assert first is not None and ensure_rescoring_scheduled() is None  # one is enough

    started = timezone.now()
    assert run_jobs_until_idle() == 1  # the next run is not due yet
    assert Score.objects.exists()
    waiting = Job.objects.get(name=RESCORE_JOB, status=JobStatus.READY)
    assert waiting.pk != first.pk and waiting.unique_key == RESCORE_JOB
    assert started + dt.timedelta(hours=6) <= waiting.run_after
    assert waiting.run_after <= timezone.now() + dt.timedelta(hours=6)
    assert enqueue(RESCORE_JOB, unique_key=RESCORE_JOB) is None  # still one schedule
    assert ensure_rescoring_scheduled() is None


@pytest.mark.django_db
def test_the_job_keeps_its_schedule_when_there_is_too_little_to_score() -> None:
    make_order(make_customer(), ordered_at=timezone.now() - dt.timedelta(days=3))
    ensure_rescoring_scheduled()
    assert run_jobs_until_idle() == 1
    done = Job.objects.get(name=RESCORE_JOB, status=JobStatus.DONE)
    assert done.attempts == 1 and not Score.objects.exists()
    assert Job.objects.filter(name=RESCORE_JOB, status=JobStatus.READY).count() == 1


@pytest.mark.django_db
def test_a_rescore_command_refused_is_recorded(capsys: pytest.CaptureFixture[str]) -> None:
    make_order(make_customer(), ordered_at=timezone.now() - dt.timedelta(days=3))
    assert main(["rescore"]) != 0
    assert "at least 30" in capsys.readouterr().err
    run = RescoringRun.objects.get()
    assert not run.succeeded and "at least 30" in run.reason


@pytest.mark.django_db
def test_retain_rescore_prints_the_summary(capsys: pytest.CaptureFixture[str]) -> None:
    load_business(150, seed=10)
    assert main(["rescore", "--as-of", "2024-12-31"]) == 0
    out = capsys.readouterr().out
    scored = Score.objects.count()
    assert scored > 0
    first, changes, written = out.splitlines()
    assert first.startswith(f"{scored:,} customers scored as of 2024-12-31 with ")
    assert " with no model " not in first
    assert re.fullmatch(r"[\d,]+ lifecycle stage changes, [\d,]+ segment changes", changes)
    assert written == f"{scored:,} scores written, 0 removed"


def poison_orders() -> dict[str, str]:
    """Customers with an order stored before the doors checked amounts (written directly):
    the shop's customer id -> the reason the rescoring must give."""
    amounts = {"poison-negative": ("-5", "its amount is negative (-5.00)")}
    if connection.vendor == "postgresql":  # numeric keeps NaN; SQLite turns NaN into NULL
        amounts["poison-nan"] = ("NaN", "its amount is missing or not a number")
    else:  # PostgreSQL's numeric(14, 2) refuses it; SQLite keeps it
        amounts["poison-huge"] = (
            "123456789012345.67",
            "its amount is 1,000,000,000,000 or more (123,456,789,012,345.67)",
        )
    reasons = {}
    for external_id, (text, why) in amounts.items():
        customer = make_customer(external_id=external_id)
        make_order(customer, external_id=f"{external_id}-good", amount=20)
        bad = make_order(customer, external_id=f"{external_id}-bad", amount=1)
        cast = "::numeric" if connection.vendor == "postgresql" else ""
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {Order._meta.db_table} SET amount = %s{cast} WHERE id = %s",
                [text if cast else float(text), bad.pk],
            )
        reasons[external_id] = f"order '{external_id}-bad': {why}"
    return reasons


@pytest.mark.django_db
def test_a_customer_with_an_unusable_order_is_set_aside_and_the_rest_are_scored() -> None:
    load_business(200, seed=11)
    rescore_customers(as_of=END, now=NOW)
    before = stored_scores()
    reasons = poison_orders()
    summary = rescore_customers(as_of=END, now=NOW)
    assert {s.customer: s.reason for s in summary.skipped} == reasons
    after = stored_scores()
    assert after.customer_id.tolist() == before.customer_id.tolist()  # every good one scored
    np.testing.assert_allclose(after.clv_12m, before.clv_12m, atol=0.006)
    assert summary.customers_scored == len(before)
    first = min(reasons)  # listed by the shop's customer id
    assert summary.lines()[-1] == (
        f"{len(reasons)} customers not scored (their orders cannot be used), e.g. customer "
        f"{first!r}: {reasons[first]}"
    )


@pytest.mark.django_db
def test_a_failed_rescoring_shows_on_healthz_until_one_succeeds(client) -> None:
    assert client.get("/healthz").json()["last_rescoring"] is None
    make_order(make_customer(), ordered_at=timezone.now() - dt.timedelta(days=3))
    ensure_rescoring_scheduled()
    assert run_jobs_until_idle() == 1  # the job keeps its schedule
    shown = client.get("/healthz").json()["last_rescoring"]
    assert shown["failed"] is True
    assert "at least 30" in shown["reason"]
    load_business(150, seed=12)
    summary = rescore_customers(as_of=END, now=NOW + dt.timedelta(days=1))
    shown = client.get("/healthz").json()["last_rescoring"]
    assert (shown["failed"], shown["reason"]) == (False, "")
    assert shown["customers_scored"] == summary.customers_scored > 0


@pytest.mark.django_db
def test_customers_set_aside_are_logged_and_counted_on_healthz(client, caplog) -> None:
    load_business(150, seed=13)
    reasons = poison_orders()
    with caplog.at_level("WARNING", logger="retain.customers.rescoring"):
        rescore_customers(as_of=END, now=NOW)
    assert sorted(r.getMessage() for r in caplog.records) == sorted(
        f"customer {customer} not scored: {reason}" for customer, reason in reasons.items()
    )
    shown = client.get("/healthz").json()["last_rescoring"]
    assert (shown["failed"], shown["customers_skipped"]) == (False, len(reasons))
