"""Delivery over a real SMTP server on loopback: what arrives, and what becomes of the
messages the server refuses, for a while or for good."""

from __future__ import annotations

import pytest
from django.db import transaction

from retain.messaging.composing import message_id_for
from retain.messaging.models import MessageStatus, Suppression, SuppressionReason
from retain.messaging.sender import LEASE, MAX_ATTEMPTS, Mailer, backoff, claim_batch, deliver
from retain.messaging.services import unsubscribe
from retain.messaging.smtp import SmtpServer, open_connection
from retain.messaging.tasks import run_sender
from tests.messaging.builders import queue, send

pytestmark = pytest.mark.django_db


def test_a_queued_email_arrives_with_its_text_and_html(smtp_server, clock, options) -> None:
    message = queue(to="Ann@Example.com", subject="Spring offers, ünïcode")
    report = send(smtp_server, clock, options)
    assert report.counts == {"sent": 1}
    [received] = smtp_server.received
    assert received.rcpt_tos == ["ann@example.com"]
    assert received.mail_from == "news@shop.example"
    email = received.message
    assert email["Subject"] == "Spring offers, ünïcode"
    assert email["From"] == "Shop <news@shop.example>"
    assert email.get_content_type() == "multipart/alternative"
    text = email.get_body(("plain",)).get_content()
    html = email.get_body(("html",)).get_content()
    assert text.startswith("Hello Ann,")
    assert 'style="color: #224466;"' in html
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT and message.sent_at == clock.now
    assert received.message_id == message_id_for(message.idempotency_key, "shop.example")


def test_a_marketing_email_carries_one_click_unsubscribe_headers(
    smtp_server, clock, options
) -> None:
    queue(topic="newsletter")
    send(smtp_server, clock, options)
    email = smtp_server.received[0].message
    assert email["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    header = str(email["List-Unsubscribe"])
    assert header.startswith("<https://retain.shop.example/m/unsubscribe/") and header.endswith(">")
    link = header[1:-1]
    assert link in email.get_body(("plain",)).get_content()  # the placeholder, replaced
    assert f'href="{link}"' in email.get_body(("html",)).get_content()


def test_a_transactional_email_has_no_unsubscribe_headers(smtp_server, clock, options) -> None:
    queue(topic="", transactional=True)
    send(smtp_server, clock, options)
    email = smtp_server.received[0].message
    assert "List-Unsubscribe" not in email and "List-Unsubscribe-Post" not in email


def test_links_go_through_the_click_redirect_and_mailto_stays(smtp_server, clock, options) -> None:
    queue()
    send(smtp_server, clock, options)
    html = smtp_server.received[0].message.get_body(("html",)).get_content()
    assert "https://shop.example/offer" not in html
    assert 'href="https://retain.shop.example/m/click/' in html
    assert 'href="mailto:help@shop.example"' in html


def test_a_resent_message_keeps_its_message_id(smtp_server, clock, options) -> None:
    message = queue()
    smtp_server.refuse(message.to_address, "451 4.7.1 greylisted, try again later", times=1)
    send(smtp_server, clock, options)
    assert smtp_server.received == []
    clock.advance(seconds=backoff(1).total_seconds())
    send(smtp_server, clock, options)
    [received] = smtp_server.received
    assert received.message_id == message_id_for(message.idempotency_key, "shop.example")


def test_a_4xx_is_retried_with_growing_backoff_then_delivered(smtp_server, clock, options) -> None:
    message = queue()
    smtp_server.refuse(message.to_address, "451 4.3.0 mailbox busy", times=3)
    for attempt in (1, 2, 3):
        report = send(smtp_server, clock, options)
        assert report.counts == {"retry": 1}
        message.refresh_from_db()
        assert message.status == MessageStatus.QUEUED and message.attempts == attempt
        assert message.send_after == clock.now + backoff(attempt)
        assert "451" in message.last_error
        assert send(smtp_server, clock, options).batches == 0  # not due before its backoff
        clock.advance(seconds=backoff(attempt).total_seconds())
    assert backoff(1) < backoff(2) < backoff(3)
    send(smtp_server, clock, options)
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert len(smtp_server.received_by(message.to_address)) == 1


def test_a_message_failing_for_good_fails_after_the_last_attempt(
    smtp_server, clock, options
) -> None:
    message = queue()
    smtp_server.refuse(message.to_address, "452 4.2.2 mailbox full")
    for _ in range(MAX_ATTEMPTS):
        send(smtp_server, clock, options)
        clock.advance(hours=2)
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED and message.attempts == MAX_ATTEMPTS
    assert f"gave up after {MAX_ATTEMPTS} attempts" in message.reason and "452" in message.reason
    assert send(smtp_server, clock, options).batches == 0


def test_a_5xx_bounces_and_suppresses_the_address_for_everything(
    smtp_server, clock, options
) -> None:
    message = queue(to="gone@example.com")
    smtp_server.refuse("gone@example.com", "550 5.1.1 no such user")
    report = send(smtp_server, clock, options)
    assert report.counts == {"bounced": 1}
    message.refresh_from_db()
    assert message.status == MessageStatus.BOUNCED and "550" in message.reason
    suppression = Suppression.objects.get(address="gone@example.com")
    assert suppression.reason == SuppressionReason.BOUNCED and suppression.topic == ""
    assert suppression.message_id == message.pk
    receipt = queue(to="gone@example.com", topic="", transactional=True)
    assert receipt.status == MessageStatus.SUPPRESSED and "bounced" in receipt.reason


def test_an_address_that_unsubscribes_after_queueing_is_not_written_to(
    smtp_server, clock, options
) -> None:
    message = queue(to="late@example.com", topic="newsletter")
    receipt = queue(to="late@example.com", topic="", transactional=True)
    unsubscribe("late@example.com", None, source="test")
    report = send(smtp_server, clock, options)
    assert report.counts == {"suppressed": 1, "sent": 1}
    message.refresh_from_db()
    assert message.status == MessageStatus.SUPPRESSED
    assert message.reason == "unsubscribed from all marketing"
    assert [r.message_id for r in smtp_server.received] == [
        message_id_for(receipt.idempotency_key, "shop.example")
    ]


def test_a_server_down_then_up_gets_everything_once(smtp_server, clock, options) -> None:
    messages = [queue() for _ in range(5)]
    smtp_server.stop()
    report = send(smtp_server, clock, options)
    assert report.counts == {"retry": 5} and "refused" in report.stopped_because
    for message in messages:
        message.refresh_from_db()
        assert message.status == MessageStatus.QUEUED and message.attempts == 1
    smtp_server.start()
    assert send(smtp_server, clock, options).batches == 0  # waits for its backoff
    clock.advance(seconds=backoff(1).total_seconds())
    send(smtp_server, clock, options)
    ids = sorted(r.message_id for r in smtp_server.received)
    assert ids == sorted(message_id_for(m.idempotency_key, "shop.example") for m in messages)


def test_a_lapsed_lease_is_sent_again_with_the_same_message_id(smtp_server, clock, options) -> None:
    """A sender killed after claiming (and perhaps after the server accepted) leaves its
    batch sending; once the lease lapses, another run sends it again, nothing lost."""
    messages = [queue() for _ in range(3)]
    with transaction.atomic():
        claim = claim_batch(now=clock(), limit=2)
    mailer = Mailer(smtp_server.connect)
    deliver(claim, mailer=mailer, options=options, clock=clock)
    mailer.close()  # ...and the sender dies here, before recording anything

    assert len(smtp_server.received) == 2
    report = send(smtp_server, clock, options)
    assert report.counts == {"sent": 1}  # the batch in flight is not taken before its lease ends
    clock.advance(seconds=LEASE.total_seconds())
    report = send(smtp_server, clock, options)
    assert report.counts == {"sent": 2}
    expected = {message_id_for(m.idempotency_key, "shop.example") for m in messages}
    received = [r.message_id for r in smtp_server.received]
    assert set(received) == expected and len(received) == 5  # two twice, under one id each
    for message in messages:
        message.refresh_from_db()
        assert message.status == MessageStatus.SENT


def test_settings_the_server_refuses_cost_no_attempt(smtp_server, clock, options) -> None:
    """A sign-in the server does not offer (a wrong password would be the same): the
    messages wait for the settings to be fixed, none loses an attempt."""
    messages = [queue() for _ in range(3)]
    signing_in = SmtpServer("127.0.0.1", smtp_server.port, "user", "password", timeout=5)
    report = run_sender(clock=clock, connect=lambda: open_connection(signing_in), options=options)
    assert report.counts == {"release": 3} and "AUTH" in report.stopped_because
    for message in messages:
        message.refresh_from_db()
        assert message.status == MessageStatus.QUEUED and message.attempts == 0
        assert "AUTH" in message.last_error
    assert smtp_server.received == []
    send(smtp_server, clock, options)  # fixed
    assert len(smtp_server.received) == 3


def test_a_message_whose_sender_dies_every_time_fails_in_the_end(
    smtp_server, clock, options
) -> None:
    message = queue()
    for _ in range(MAX_ATTEMPTS):
        with transaction.atomic():
            assert claim_batch(now=clock()).messages == [message]  # ...and the sender dies
        clock.advance(seconds=LEASE.total_seconds())
    assert send(smtp_server, clock, options).batches == 0
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED and "stopped while sending" in message.reason
    assert smtp_server.received == []
