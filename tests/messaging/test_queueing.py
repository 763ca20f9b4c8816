"""Queueing: one message per key, the status a message starts in, what is refused, and a
broadcast written set-based."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from retain.errors import DataError
from retain.messaging.models import Message, MessageStatus, Suppression, SuppressionReason
from retain.messaging.services import (
    SEND_JOB,
    EmailDraft,
    queue_email,
    queue_emails,
    record_complaint,
    resubscribe,
    suppress_bounced,
    suppressed_addresses,
    unsubscribe,
)
from retain.worker.models import Job, JobStatus
from tests.customers.builders import make_customer
from tests.messaging.builders import HTML, TEXT, queue

pytestmark = pytest.mark.django_db


def test_the_same_key_twice_stores_one_message_and_changes_nothing() -> None:
    first = queue(key="welcome:1", subject="Welcome")
    again = queue_email(
        key="welcome:1", customer_id=first.customer_id, to="other@example.com",
        subject="Changed", html="<p>x</p>", text="x",
    )  # fmt: skip
    assert again is None
    first.refresh_from_db()
    assert first.subject == "Welcome" and Message.objects.count() == 1


def test_a_queued_message_starts_queued_due_now_and_lower_cased() -> None:
    message = queue(to="  Ann.Smith@Example.COM ", source={"journey": "welcome", "step": 2})
    assert message.status == MessageStatus.QUEUED and message.reason == ""
    assert message.to_address == "ann.smith@example.com"
    assert message.send_after <= timezone.now() and message.attempts == 0
    assert message.source == {"journey": "welcome", "step": 2}


def test_a_held_out_message_is_recorded_and_never_queued() -> None:
    message = queue(held_out=True)
    assert message.status == MessageStatus.HELD_OUT
    assert not Job.objects.filter(name=SEND_JOB).exists()


@pytest.mark.parametrize(
    ("suppress", "topic", "transactional", "reason"),
    [
        (lambda a: unsubscribe(a, "newsletter", source="t"), "newsletter", False,
         "unsubscribed from 'newsletter'"),
        (lambda a: unsubscribe(a, None, source="t"), "newsletter", False,
         "unsubscribed from all marketing"),
        (lambda a: unsubscribe(a, None, source="t"), "", False, "unsubscribed from all marketing"),
        (lambda a: record_complaint(a, source="t"), "winback", False,
         "the recipient reported our mail as spam"),
        (lambda a: suppress_bounced(a, source="t"), "newsletter", False,
         "the address bounced before"),
        (lambda a: suppress_bounced(a, source="t"), "", True, "the address bounced before"),
    ],
)  # fmt: skip
def test_a_suppressed_address_gets_its_message_recorded_suppressed_with_the_reason(
    suppress, topic, transactional, reason
) -> None:
    suppress("Kim@Example.com")
    message = queue(to="kim@example.com", topic=topic, transactional=transactional)
    assert message.status == MessageStatus.SUPPRESSED and message.reason == reason
    assert not Job.objects.filter(name=SEND_JOB).exists()


def test_transactional_mail_ignores_marketing_unsubscribes_and_other_topics_go_on() -> None:
    unsubscribe("lee@example.com", None, source="t")
    unsubscribe("max@example.com", "newsletter", source="t")
    assert queue(to="lee@example.com", topic="", transactional=True).status == "queued"
    assert queue(to="max@example.com", topic="winback").status == "queued"
    assert queue(to="max@example.com", topic="newsletter").status == "suppressed"


def test_suppressed_addresses_answers_for_a_set() -> None:
    unsubscribe("a@example.com", "newsletter", source="t")
    unsubscribe("b@example.com", None, source="t")
    suppress_bounced("c@example.com", source="t")
    given = ["A@example.com", "b@example.com", "c@example.com", "d@example.com"]
    assert suppressed_addresses(given, "newsletter") == {"A@example.com", "b@example.com",
                                                          "c@example.com"}  # fmt: skip
    assert suppressed_addresses(given, "winback") == {"b@example.com", "c@example.com"}
    assert suppressed_addresses(given, transactional=True) == {"c@example.com"}


def test_a_bounce_is_never_weakened_and_resubscribing_keeps_it() -> None:
    suppress_bounced("zed@example.com", source="smtp bounce")
    unsubscribe("zed@example.com", None, source="preferences page")
    assert Suppression.objects.get(address="zed@example.com").reason == SuppressionReason.BOUNCED
    assert resubscribe("zed@example.com") == 0
    assert suppressed_addresses(["zed@example.com"], transactional=True) == {"zed@example.com"}


def test_resubscribing_lifts_one_topic_or_every_unsubscribe() -> None:
    unsubscribe("ivy@example.com", "newsletter", source="t")
    unsubscribe("ivy@example.com", "winback", source="t")
    record_complaint("ivy@example.com", source="t")
    assert resubscribe("ivy@example.com", "newsletter") == 1
    assert suppressed_addresses(["ivy@example.com"], "newsletter") == {"ivy@example.com"}
    assert resubscribe("ivy@example.com") == 2
    assert suppressed_addresses(["ivy@example.com"], "winback") == set()


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"to": "not-an-address"}, "invalid address: 'not-an-address'"),
        ({"to": "x" * 250 + "@example.com"}, "invalid address: over 254 characters"),
        ({"subject": "Hi\r\nBcc: everyone@example.com"}, "the subject has a line break"),
        ({"subject": "  "}, "no subject"),
        ({"subject": "s" * 501}, "the subject is longer than 500 characters"),
        ({"html": "<p>\0</p>"}, "the html has a NUL character"),
        ({"text": "broken \ud800 pair"}, "the text has a character that cannot be written"),
        ({"html": "", "text": ""}, "neither text nor HTML to send"),
    ],
)
def test_a_message_no_server_could_take_is_stored_failed_with_the_reason(overrides, reason) -> None:
    message = queue(**overrides)
    assert message.status == MessageStatus.FAILED and message.reason.startswith(reason)
    message.refresh_from_db()  # stored, with what could be stored (never a NUL)
    assert "\0" not in message.html + message.to_address
    assert not Job.objects.filter(name=SEND_JOB).exists()


@pytest.mark.parametrize(
    ("overrides", "column"),
    [
        ({"key": ""}, "key"),
        ({"key": "k" * 201}, "key"),
        ({"customer_id": "12"}, "customer_id"),
        ({"topic": "t" * 101}, "topic"),
        ({"locale": ""}, "locale"),
        ({"locale": "en\r\nBcc: all@example.com"}, "locale"),
        ({"send_after": dt.datetime(2030, 1, 1)}, "send_after"),
        ({"source": {"bad": "\0"}}, "source"),
        ({"source": {"when": dt.date(2030, 1, 1)}}, "source"),
        ({"source": {"score": float("nan")}}, "source"),
        ({"source": {"name": "\udc80"}}, "source"),
    ],
)
def test_a_draft_the_caller_got_wrong_is_refused_naming_the_field(overrides, column) -> None:
    fields = {"customer_id": make_customer().pk, **overrides}
    with pytest.raises(DataError) as refused:
        queue(**fields)
    assert refused.value.column == column and refused.value.bad_rows == 1
    assert not Message.objects.exists()


def test_queueing_makes_sure_a_send_job_waits_for_the_message_time() -> None:
    queue()
    queue()
    [now_job] = Job.objects.filter(name=SEND_JOB, status=JobStatus.READY)
    assert now_job.payload == {"wake": "now"} and now_job.run_after <= timezone.now()
    later = timezone.now() + dt.timedelta(hours=3)
    queue(send_after=later)
    queue(send_after=later + dt.timedelta(seconds=5))  # the same minute: the same job
    [later_job] = Job.objects.filter(name=SEND_JOB, status=JobStatus.READY).exclude(pk=now_job.pk)
    assert abs(later_job.run_after - later) < dt.timedelta(seconds=1)


def _drafts(customer_id: int, count: int, *, prefix: str = "b", drawn: list[int] | None = None):
    for number in range(count):
        if drawn is not None:
            drawn[0] += 1
        yield EmailDraft(
            key=f"{prefix}:{number}", customer_id=customer_id, to=f"r{number}@example.com",
            subject="Our spring news", html=HTML, text=TEXT, topic="newsletter",
        )  # fmt: skip


def test_a_broadcast_is_written_a_chunk_at_a_time_from_a_generator() -> None:
    customer = make_customer()
    unsubscribe("r7@example.com", None, source="t")
    drawn = [0]
    seen_at_inserts: list[int] = []

    def watch(execute, sql, params, many, context):
        if sql.startswith("INSERT INTO messaging_message"):
            seen_at_inserts.append(drawn[0])
        return execute(sql, params, many, context)

    with connection.execute_wrapper(watch), CaptureQueriesContext(connection) as queries:
        stored = queue_emails(_drafts(customer.pk, 2_500, drawn=drawn), chunk=1_000)
    assert stored == 2_500
    assert seen_at_inserts[0] <= 1_000  # the first chunk written before the rest was drawn
    per_chunk = [q for q in queries.captured_queries if "messaging_" in q["sql"]]
    assert len(per_chunk) <= 3 * 2  # a suppression lookup and an insert per chunk
    statuses = dict(Message.objects.values_list("status").annotate(n=Count("id")))
    assert statuses == {"queued": 2_499, "suppressed": 1}
    assert Job.objects.filter(name=SEND_JOB, status=JobStatus.READY).count() == 1


def test_a_broadcast_again_stores_nothing_new() -> None:
    customer = make_customer()
    assert queue_emails(_drafts(customer.pk, 300)) == 300
    assert queue_emails(_drafts(customer.pk, 350)) == 50
    assert Message.objects.count() == 350


def test_a_broadcast_with_one_bad_address_stores_the_rest() -> None:
    customer = make_customer()
    drafts = list(_drafts(customer.pk, 3))
    drafts[1] = dataclasses.replace(drafts[1], key="bad", to="nobody at example")
    assert queue_emails(drafts) == 3
    assert Message.objects.get(idempotency_key="bad").status == MessageStatus.FAILED
