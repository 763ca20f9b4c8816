"""From what a customer does to an email in a real SMTP server: the built-in journeys, the
runner and the sender, with aiosmtpd on loopback."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator

import pytest
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from retain.customers.services import identify_customer, record_order
from retain.journeys.tasks import run_once
from retain.messaging.models import Message, MessageStatus
from retain.messaging.tasks import run_sender
from retain.server.commands import apply_journey_files
from tests.messaging.smtp_server import SmtpTestServer

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def smtp_server() -> Iterator[SmtpTestServer]:
    server = SmtpTestServer().start()
    try:
        with override_settings(
            RETAIN_SMTP_URL=server.url, RETAIN_EMAIL_FROM="Shop <news@shop.example>",
            RETAIN_QUIET_HOURS=(0, 0),
        ):  # fmt: skip
            yield server
    finally:
        server.stop()


def _pass(now: dt.datetime) -> None:
    for _ in range(3):
        run_once(now=now)


def test_the_welcome_sends_its_first_email_at_once_to_a_newly_identified_customer(
    smtp_server: SmtpTestServer,
) -> None:
    apply_journey_files([], builtin=True)
    now = timezone.now()
    with transaction.atomic():
        identify_customer(
            user_id="u-1", traits={"email": "Ann@Example.com", "name": "Ann Lee"}, at=now
        )
    _pass(now)
    run_sender(max_seconds=10)
    (received,) = smtp_server.received
    assert received.rcpt_tos == ["ann@example.com"]
    message = received.message
    assert message["Subject"] == "Welcome to our shop"
    assert "Ann" in message.get_body(("plain",)).get_content()
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    stored = Message.objects.get()
    assert stored.source["journey"] == "welcome" and stored.status == MessageStatus.SENT
    # Identified again: nobody enters twice, nothing more is sent.
    with transaction.atomic():
        identify_customer(user_id="u-1", traits={"email": "ann@example.com"}, at=now)
    _pass(now)
    run_sender(max_seconds=10)
    assert len(smtp_server.received) == 1


def test_a_demo_sized_run_sends_each_journey_its_customers_and_holds_out_some(
    smtp_server: SmtpTestServer,
) -> None:
    apply_journey_files([], builtin=True)
    now = timezone.now()
    with transaction.atomic():
        for number in range(120):
            customer = identify_customer(
                user_id=f"d-{number}", traits={"email": f"d{number}@example.com"}, at=now
            )
            assert customer is not None
            record_order(customer=customer, order_id=f"o-{number}", ordered_at=now,
                         amount=40 + number, currency="EUR")  # fmt: skip
    _pass(now)
    report = run_sender(max_seconds=60)
    sent = Message.objects.filter(status=MessageStatus.SENT)
    per_journey = Counter(m.source["journey"] for m in sent)
    held = Counter(
        m.source["journey"] for m in Message.objects.filter(status=MessageStatus.HELD_OUT)
    )
    assert len(smtp_server.received) == sent.count() == sum(per_journey.values())
    # Each new customer got the welcome and the thank-you for a first order, or was held out.
    assert per_journey["welcome"] + held["welcome"] == 120
    assert per_journey["thank-you"] + held["thank-you"] == 120
    assert 0 < held["welcome"] < 30 and 0 < held["thank-you"] < 30
    ids = [r.message_id for r in smtp_server.received]
    assert len(set(ids)) == len(ids)
    assert report is not None
