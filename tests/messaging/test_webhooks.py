"""Webhooks against a real HTTP server on loopback: queued once under their key, posted as
signed JSON, retried for passing failures with the same key and body, failed for good ones,
held out never posted, sent again after a sender dies with them; and a journey's webhook step
reaching the endpoint with the documented payload."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import itertools
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

import retain
from retain.customers.services import record_order
from retain.errors import DataError
from retain.journeys.tasks import run_once
from retain.messaging.models import Channel, Message, MessageStatus
from retain.messaging.sender import backoff, claim_batch
from retain.messaging.services import queue_webhook
from retain.messaging.tasks import CONFIG_RETRY, SendReport, run_sender, run_webhook_sender
from retain.messaging.webhook_sender import LEASE, MAX_ATTEMPTS, claim_webhooks, post_json
from retain.messaging.webhooks import BODY_LIMIT, WEBHOOK_JOB, verify_signature
from retain.worker.models import Job, JobStatus
from retain.worker.runner import run_next_job
from tests.customers.builders import make_customer
from tests.journeys.builders import apply_journey
from tests.messaging.http_server import HttpTestServer, Reply, refusing_url
from tests.store import child_environment

SECRET = "whsec-test-0123456789abcdef"
_numbers = itertools.count(1)


@pytest.fixture
def endpoint() -> Iterator[HttpTestServer]:
    server = HttpTestServer().start()
    try:
        yield server
    finally:
        server.stop()


def hook(url: str, **overrides: Any) -> Message:
    """Queue one webhook to ``url`` (a small payload unless told otherwise)."""
    number = next(_numbers)
    fields: dict[str, Any] = {
        "key": f"test-hook-{number}",
        "url": url,
        "payload": {"id": f"test-hook-{number}", "text": "Your coupon: BACK10 ✓"},
    }
    fields.update(overrides)
    if "customer_id" not in fields:
        fields["customer_id"] = make_customer().pk
    message = queue_webhook(**fields)
    assert message is not None, "the key was queued before"
    return message


def post(clock: Any, **kwargs: Any) -> SendReport:
    return run_webhook_sender(clock=clock, secret=SECRET, **kwargs)


def expected_signature(timestamp: str, body: bytes, secret: str = SECRET) -> str:
    """The signature as a receiver computes it, from the documentation alone."""
    signed = timestamp.encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def _status(message: Message) -> str:
    message.refresh_from_db()
    return message.status


# Posting ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_queued_webhook_is_posted_as_json_signed_with_the_secret(endpoint, clock) -> None:
    message = hook(endpoint.url + "/hooks/sms?shop=1")
    report = post(clock)
    assert report.counts == {"sent": 1}
    [request] = endpoint.requests
    assert request.method == "POST" and request.path == "/hooks/sms?shop=1"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"] == f"retain/{retain.__version__}"
    assert request.headers["Idempotency-Key"] == message.idempotency_key
    timestamp = request.headers["X-Retain-Timestamp"]
    assert timestamp == str(int(clock.now.timestamp()))
    assert request.headers["X-Retain-Signature"] == expected_signature(timestamp, request.body)
    assert request.headers["X-Retain-Signature"] != expected_signature(
        timestamp, request.body, secret="another secret, not ours"
    )
    assert json.loads(request.body) == message.payload
    assert "✓" in request.body.decode("utf-8")  # UTF-8, not escaped
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT and message.sent_at == clock.now
    assert message.attempts == 1


@pytest.mark.django_db
def test_the_reference_verification_accepts_ours_and_refuses_a_change_or_an_old_one(
    endpoint, clock
) -> None:
    hook(endpoint.url)
    post(clock)
    [request] = endpoint.requests
    timestamp = request.headers["X-Retain-Timestamp"]
    signature = request.headers["X-Retain-Signature"]
    sent = clock.now
    check = {"timestamp": timestamp, "signature": signature}
    assert verify_signature(SECRET, **check, body=request.body, now=sent)
    assert verify_signature(SECRET, **check, body=request.body, now=sent + dt.timedelta(minutes=4))
    assert not verify_signature(
        SECRET, **check, body=request.body, now=sent + dt.timedelta(minutes=6)
    )  # a replay, too late
    assert not verify_signature(SECRET, **check, body=request.body + b" ", now=sent)
    assert not verify_signature("not-the-secret-at-all", **check, body=request.body, now=sent)


@pytest.mark.django_db
def test_a_500_then_200_is_delivered_after_the_backoff_with_the_same_key_and_body(
    endpoint, clock
) -> None:
    endpoint.answer(Reply(500, body=b"database down"))
    message = hook(endpoint.url)
    assert post(clock).counts == {"retry": 1}
    message.refresh_from_db()
    assert message.status == MessageStatus.QUEUED and message.attempts == 1
    assert message.send_after == clock.now + backoff(1)
    assert "500" in message.last_error and "database down" in message.last_error
    assert post(clock).counts == {}  # not due yet
    clock.advance(seconds=backoff(1).total_seconds())
    assert post(clock).counts == {"sent": 1}
    first, second = endpoint.requests
    assert first.body == second.body
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"]
    assert first.headers["Idempotency-Key"] == message.idempotency_key
    assert second.headers["X-Retain-Signature"] == expected_signature(
        second.headers["X-Retain-Timestamp"], second.body
    )
    assert int(second.headers["X-Retain-Timestamp"]) > int(first.headers["X-Retain-Timestamp"])
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT and message.attempts == 2


@pytest.mark.parametrize("status", [408, 429, 502, 503])
@pytest.mark.django_db
def test_timeouts_throttling_and_server_errors_are_retried(endpoint, clock, status) -> None:
    endpoint.answer(Reply(status))
    message = hook(endpoint.url)
    assert post(clock).counts == {"retry": 1}
    assert _status(message) == MessageStatus.QUEUED


@pytest.mark.django_db
def test_retry_after_in_seconds_is_waited_for(endpoint, clock) -> None:
    endpoint.answer(Reply(429, headers={"Retry-After": "600"}))
    message = hook(endpoint.url)
    post(clock)
    message.refresh_from_db()
    assert message.send_after == clock.now + dt.timedelta(seconds=600)
    clock.advance(seconds=599)
    assert post(clock).counts == {}
    clock.advance(seconds=1)
    assert post(clock).counts == {"sent": 1}


@pytest.mark.django_db
def test_retry_after_as_an_http_date_is_waited_for(endpoint, clock) -> None:
    later = (clock.now + dt.timedelta(hours=2)).replace(microsecond=0)
    http_date = later.strftime("%a, %d %b %Y %H:%M:%S GMT")
    endpoint.answer(Reply(503, headers={"Retry-After": http_date}))
    message = hook(endpoint.url)
    post(clock)
    message.refresh_from_db()
    assert message.send_after == later


@pytest.mark.django_db
def test_a_400_fails_at_once_with_the_status_in_its_reason(endpoint, clock) -> None:
    endpoint.answer(Reply(400, body=b'{"error": "unknown template \\"thanks\\""}'))
    message = hook(endpoint.url)
    assert post(clock).counts == {"failed": 1}
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED and message.attempts == 1
    assert message.reason.startswith("the endpoint answered 400 Bad Request")
    assert "unknown template" in message.reason
    clock.advance(hours=2)
    post(clock)
    assert len(endpoint.requests) == 1  # never posted again


@pytest.mark.django_db
def test_a_redirect_is_not_followed_and_says_where_it_led(endpoint, clock) -> None:
    endpoint.answer(Reply(301, headers={"Location": "https://hooks.shop.example/sms"}))
    message = hook(endpoint.url)
    post(clock)
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED
    assert "301" in message.reason and "https://hooks.shop.example/sms" in message.reason
    assert len(endpoint.requests) == 1


@pytest.mark.django_db
def test_a_refused_connection_is_retried_and_posted_once_the_endpoint_is_back(
    endpoint, clock
) -> None:
    endpoint.stop()  # the port refuses connections now
    message = hook(endpoint.url)
    assert post(clock).counts == {"retry": 1}
    message.refresh_from_db()
    assert message.status == MessageStatus.QUEUED and message.attempts == 1
    assert message.last_error == "the endpoint refused the connection"
    assert message.send_after == clock.now + backoff(1)
    endpoint.start()  # the same port
    clock.advance(seconds=backoff(1).total_seconds())
    assert post(clock).counts == {"sent": 1}
    assert [r.headers["Idempotency-Key"] for r in endpoint.requests] == [message.idempotency_key]


@pytest.mark.django_db
def test_an_endpoint_that_cannot_be_reached_is_tried_once_a_batch(endpoint, clock) -> None:
    """Three webhooks to an endpoint that hangs up: one request, all three retried; the
    webhook to another endpoint in the same batch is posted."""
    other = HttpTestServer().start()
    try:
        endpoint.answer(Reply(hang_up=True))
        dead = [hook(endpoint.url + f"/n{n}") for n in range(3)]
        alive = hook(other.url)
        assert post(clock).counts == {"retry": 3, "sent": 1}
        assert len(endpoint.requests) == 1 and len(other.requests) == 1
        assert {_status(message) for message in dead} == {MessageStatus.QUEUED}
        assert _status(alive) == MessageStatus.SENT
    finally:
        other.stop()


@pytest.mark.django_db
def test_a_webhook_failing_for_a_passing_reason_fails_after_the_last_attempt(clock) -> None:
    message = hook(refusing_url())
    for attempt in range(1, MAX_ATTEMPTS + 1):
        assert post(clock).counts == {"retry": 1}, f"attempt {attempt}"
        clock.advance(seconds=backoff(attempt).total_seconds())
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED and message.attempts == MAX_ATTEMPTS
    assert message.reason == (
        f"gave up after {MAX_ATTEMPTS} attempts; the last: the endpoint refused the connection"
    )


@pytest.mark.parametrize("path", ["/a b", "/caf\u00e9"])
@pytest.mark.django_db
def test_a_webhook_that_cannot_be_posted_fails_and_the_rest_of_its_batch_goes_on(
    endpoint, clock, path
) -> None:
    """An address stored past the queue's checks (by hand) fails with the reason; the next
    webhook of the batch is posted."""
    broken = hook(endpoint.url)
    Message.objects.filter(pk=broken.pk).update(url=endpoint.url + path)
    fine = hook(endpoint.url + "/fine")
    assert post(clock).counts == {"failed": 1, "sent": 1}
    broken.refresh_from_db()
    assert broken.status == MessageStatus.FAILED
    assert broken.reason.startswith("could not be posted")
    assert _status(fine) == MessageStatus.SENT
    assert [request.path for request in endpoint.requests] == ["/fine"]


# Queueing ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_held_out_webhook_is_recorded_and_never_posted(endpoint, clock) -> None:
    message = hook(endpoint.url, held_out=True)
    assert message.status == MessageStatus.HELD_OUT and message.reason == "in the holdout group"
    assert message.channel == Channel.WEBHOOK
    clock.advance(days=1)
    assert post(clock).counts == {}
    assert endpoint.requests == []


@pytest.mark.django_db
def test_queueing_the_same_key_twice_stores_one_webhook_unchanged(endpoint) -> None:
    customer = make_customer()
    first = queue_webhook(key="k-1", customer_id=customer.pk, url=endpoint.url, payload={"a": 1})
    again = queue_webhook(
        key="k-1", customer_id=customer.pk, url=endpoint.url + "/other", payload={"a": 2}
    )
    assert first is not None and again is None
    [stored] = Message.objects.filter(idempotency_key="k-1")
    assert stored.payload == {"a": 1} and stored.url == endpoint.url


@pytest.mark.parametrize(
    "url",
    ["ftp://files.shop.example/hook", "file:///etc/passwd", "javascript:alert(1)",
     "mailto:hooks@shop.example", "hooks.shop.example/sms", "", "http://[::1"],
)  # fmt: skip
@pytest.mark.django_db
def test_a_url_that_is_not_http_or_https_is_refused(url) -> None:
    customer = make_customer()
    with pytest.raises(DataError) as raised:
        queue_webhook(key="k-url", customer_id=customer.pk, url=url, payload={})
    assert raised.value.column == "url"
    assert "http:// or https://" in str(raised.value)
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [("key", ""), ("key", "a key with spaces"), ("key", "k" * 201), ("customer_id", 0),
     ("payload", ["not", "an", "object"]), ("source", {"bad": float("nan")})],
)  # fmt: skip
@pytest.mark.django_db
def test_arguments_of_the_wrong_kind_are_refused_naming_the_field(endpoint, field, value) -> None:
    arguments: dict[str, Any] = {
        "key": "k-ok", "customer_id": make_customer().pk, "url": endpoint.url, "payload": {},
    }  # fmt: skip
    arguments[field] = value
    with pytest.raises(DataError) as raised:
        queue_webhook(**arguments)
    assert raised.value.column == field
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    ("url_path", "reason"),
    [("http:///no-host", "no host"), ("http://shop example.com/x", "space"),
     ("https://shöp.example/x", "not ASCII"), ("http://user:pw@shop.example/x", "password"),
     ("http://shop.example:99999/x", "cannot be read")],
)  # fmt: skip
@pytest.mark.django_db
def test_an_address_that_cannot_be_posted_to_is_stored_failed_with_the_reason(
    clock, url_path, reason
) -> None:
    message = hook(url_path)
    assert message.status == MessageStatus.FAILED and reason in message.reason
    assert post(clock).counts == {}


@pytest.mark.parametrize(
    ("payload", "reason"),
    [({"amount": float("nan")}, "cannot be written as JSON"),
     ({"text": "a\0b"}, "NUL"),
     ({"text": "\ud800"}, "cannot be written"),
     ({"blob": "x" * BODY_LIMIT}, "over the limit")],
)  # fmt: skip
@pytest.mark.django_db
def test_a_payload_that_cannot_be_posted_is_stored_failed_with_the_reason(
    endpoint, clock, payload, reason
) -> None:
    message = hook(endpoint.url, payload=payload)
    assert message.status == MessageStatus.FAILED and reason in message.reason
    post(clock)
    assert endpoint.requests == []


# Leases, the email sender, the job ---------------------------------------------------------


@pytest.mark.django_db
def test_a_webhook_whose_lease_lapsed_is_posted_again_with_the_same_key(endpoint, clock) -> None:
    message = hook(endpoint.url)
    with transaction.atomic():  # a sender claims it and dies before posting or recording
        claim = claim_webhooks(now=clock())
    assert [m.pk for m in claim.messages] == [message.pk]
    assert post(clock).counts == {}  # still leased
    clock.advance(seconds=LEASE.total_seconds())
    assert post(clock).counts == {"sent": 1}
    [request] = endpoint.requests
    assert request.headers["Idempotency-Key"] == message.idempotency_key
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT and message.attempts == 2


@pytest.mark.django_db
def test_a_slow_endpoint_makes_the_sender_release_what_it_has_no_time_for(endpoint, clock) -> None:
    """Each request takes three minutes of a five-minute lease: after the first, half the
    lease is gone, and the other two are queued again at once, their claim not counted."""

    def slow(*request: Any) -> Any:
        clock.advance(minutes=3)
        return post_json(*request)

    messages = [hook(endpoint.url) for _ in range(3)]
    assert post(clock, post=slow, max_batches=1).counts == {"sent": 1, "release": 2}
    first, *rest = messages
    assert _status(first) == MessageStatus.SENT
    for message in rest:
        message.refresh_from_db()
        assert message.status == MessageStatus.QUEUED and message.attempts == 0
        assert message.send_after == clock.now
    assert post(clock).counts == {"sent": 2}


@pytest.mark.django_db
def test_the_email_sender_leaves_webhooks_to_theirs(endpoint, clock, smtp_server, options) -> None:
    message = hook(endpoint.url)
    with transaction.atomic():
        claim_webhooks(now=clock())
    clock.advance(seconds=LEASE.total_seconds() * 2)  # its lease lapsed
    with transaction.atomic():
        assert claim_batch(now=clock()).messages == []
    run_sender(clock=clock, connect=smtp_server.connect, options=options)
    assert smtp_server.received == [] and _status(message) == MessageStatus.SENDING
    assert post(clock).counts == {"sent": 1}


@pytest.mark.django_db
def test_queueing_wakes_the_webhook_job_and_the_worker_posts_it(endpoint, settings) -> None:
    settings.RETAIN_WEBHOOK_SECRET = SECRET
    message = hook(endpoint.url)
    [waiting] = Job.objects.filter(name=WEBHOOK_JOB, status=JobStatus.READY)
    assert waiting.payload == {"wake": "now"}
    job = run_next_job()
    assert job is not None and job.name == WEBHOOK_JOB and job.status == JobStatus.DONE
    assert len(endpoint.requests) == 1 and _status(message) == MessageStatus.SENT


@pytest.mark.django_db
def test_without_a_secret_nothing_is_posted_and_the_error_names_the_setting(
    endpoint, clock, settings
) -> None:
    settings.RETAIN_WEBHOOK_SECRET = ""
    message = hook(endpoint.url)
    Job.objects.all().delete()
    report = run_webhook_sender(clock=clock)
    assert "RETAIN_WEBHOOK_SECRET is not set" in report.stopped_because
    assert endpoint.requests == []
    message.refresh_from_db()
    assert message.status == MessageStatus.QUEUED and message.attempts == 0
    [job] = Job.objects.filter(name=WEBHOOK_JOB, status=JobStatus.READY)
    assert job.run_after >= timezone.now() + CONFIG_RETRY - dt.timedelta(minutes=2)


_CHILD = (
    "from retain.server import setup; setup()\n"
    "from retain.messaging.tasks import run_webhook_sender\n"
    "run_webhook_sender(max_seconds=120)\n"
)


@pytest.mark.django_db(transaction=True)
def test_a_sender_killed_mid_request_loses_nothing_and_posts_again_with_the_same_key(
    endpoint,
) -> None:
    """A real sender process is killed while the endpoint holds its second request; a later
    run posts the held one again (same key, same body) and the third for the first time."""
    with transaction.atomic():
        messages = [hook(endpoint.url + f"/n{n}") for n in range(3)]
    endpoint.hold_at = 2
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD],
        env=child_environment(RETAIN_WEBHOOK_SECRET=SECRET),
    )
    try:
        assert endpoint.holding.wait(60), "the sender did not reach the second webhook"
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(30)
    endpoint.release.set()
    statuses = dict(Message.objects.values_list("pk", "status"))
    assert [statuses[m.pk] for m in messages] == ["sending"] * 3  # nothing recorded
    report = run_webhook_sender(
        clock=lambda: timezone.now() + LEASE + dt.timedelta(seconds=1), secret=SECRET
    )
    assert report.counts == {"sent": 3}
    keys = [r.headers["Idempotency-Key"] for r in endpoint.requests]
    first, second, third = (m.idempotency_key for m in messages)
    assert keys == [first, second, first, second, third]
    bodies = {r.path: [] for r in endpoint.requests}
    for request in endpoint.requests:
        bodies[request.path].append(request.body)
    assert all(len(set(seen)) == 1 for seen in bodies.values())  # the same bytes each time
    assert set(Message.objects.values_list("status", flat=True)) == {"sent"}


# A journey's webhook step -----------------------------------------------------------------

NOON = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)


@pytest.mark.django_db
def test_a_journeys_webhook_step_queues_the_documented_payload_and_reaches_the_endpoint(
    endpoint, clock
) -> None:
    apply_journey(
        "thanks-sms", trigger={"event": "Order Completed", "first_order": True},
        topic="orders", holdout=0,
        steps=[{"id": "sms", "webhook": {"url": endpoint.url + "/sms",
                                         "data": {"template": "thanks", "coupon": "BACK10"}}}],
    )  # fmt: skip
    customer = make_customer(
        external_id="shop-0042", email="somchai@example.com", name="Somchai Jaidee",
        traits={"locale": "th-TH", "phone": "+66812345678"},
    )  # fmt: skip
    record_order(
        customer=customer, order_id="A-1", ordered_at=NOON, amount=Decimal("1234.5"),
        currency="THB",
    )  # fmt: skip
    for _ in range(3):
        run_once(now=NOON)
    message = Message.objects.get(customer=customer)
    assert message.channel == Channel.WEBHOOK and message.status == MessageStatus.QUEUED
    assert message.url == endpoint.url + "/sms"
    key = message.idempotency_key
    assert key.startswith("thanks-sms:1:") and key.endswith(":sms:1")
    entry = message.payload["entry"]
    assert entry["name"] == "Order Completed"
    assert entry["properties"]["order_id"] == "A-1"
    assert dt.datetime.fromisoformat(entry["occurred_at"]) == NOON
    assert message.payload == {
        "id": key,
        "type": "journey.step",
        "journey": "thanks-sms",
        "step": "sms",
        "occurred_at": "2026-12-03T12:00:00Z",
        "customer": {
            "id": "shop-0042", "email": "somchai@example.com", "name": "Somchai Jaidee",
            "traits": {"locale": "th-TH", "phone": "+66812345678"},
        },
        "entry": entry,
        "data": {"template": "thanks", "coupon": "BACK10"},
    }  # fmt: skip
    assert message.source["journey"] == "thanks-sms" and message.source["step"] == "sms"
    for _ in range(2):
        run_once(now=NOON + dt.timedelta(minutes=1))  # running again queues nothing more
    assert Message.objects.filter(customer=customer).count() == 1
    assert post(clock).counts == {"sent": 1}
    [request] = endpoint.requests
    assert request.path == "/sms" and request.headers["Idempotency-Key"] == key
    assert json.loads(request.body) == message.payload
    assert request.headers["X-Retain-Signature"] == expected_signature(
        request.headers["X-Retain-Timestamp"], request.body
    )
