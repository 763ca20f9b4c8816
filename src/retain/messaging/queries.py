"""Read-side getters of the outbox and the suppressions: for the preference page, the
journeys (was this message stored, sent?) and the health probe."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Min
from django.utils import timezone

from retain.messaging.models import Channel, Message, MessageStatus, Suppression, SuppressionReason


def find_message(key: str) -> Message | None:
    """The message stored under the idempotency key ``key``, if any."""
    return Message.objects.filter(idempotency_key=key).first()


def message_exists(message_id: int) -> bool:
    return Message.objects.filter(pk=message_id).exists()


def status_counts() -> dict[str, int]:
    """Messages per status (every status listed, 0 if none)."""
    counts = dict.fromkeys(MessageStatus.values, 0)
    for row in Message.objects.values("status").annotate(n=Count("id")):
        counts[row["status"]] = row["n"]
    return counts


@dataclass(frozen=True)
class OutboxHealth:
    """Messages due and not yet sent, and how long the oldest has waited (seconds)."""

    due: int
    oldest_due_seconds: float
    failed: int


def outbox_health(*, now: dt.datetime | None = None) -> OutboxHealth:
    now = now or timezone.now()
    due = Message.objects.filter(status=MessageStatus.QUEUED, send_after__lte=now)
    oldest = due.aggregate(at=Min("send_after"))["at"]
    return OutboxHealth(
        due=due.count(),
        oldest_due_seconds=(now - oldest).total_seconds() if oldest else 0.0,
        failed=Message.objects.filter(status=MessageStatus.FAILED).count(),
    )


@dataclass(frozen=True)
class TopicChoice:
    topic: str
    subscribed: bool


@dataclass(frozen=True)
class Preferences:
    """What an address receives: the preference page's content."""

    address: str
    #: Unsubscribed (or complained) from all marketing.
    unsubscribed_from_all: bool
    #: The address bounced: nothing reaches it, whatever it chooses.
    bounced: bool
    #: The marketing topics it was written to or unsubscribed from, by name.
    topics: list[TopicChoice]


def preferences(address: str) -> Preferences:
    address = address.strip().lower()
    suppressions = dict(Suppression.objects.filter(address=address).values_list("topic", "reason"))
    written = set(
        Message.objects.filter(to_address=address, transactional=False)
        .exclude(topic="")
        .values_list("topic", flat=True)
        .distinct()
    )
    topics = sorted(written | (set(suppressions) - {""}))
    everything = suppressions.get("")
    return Preferences(
        address=address,
        unsubscribed_from_all=everything is not None,
        bounced=SuppressionReason.BOUNCED in suppressions.values(),
        topics=[TopicChoice(topic, topic not in suppressions) for topic in topics],
    )


def clicks_of(message_id: int) -> list[tuple[str, dt.datetime]]:
    """The links followed in a message, first click first."""
    return list(
        Message.objects.get(pk=message_id)
        .clicks.order_by("clicked_at", "id")
        .values_list("url", "clicked_at")
    )


def marketing_counts_since(customer_ids: list[int], *, since: dt.datetime) -> dict[int, int]:
    """How many marketing emails each customer was sent or has coming since ``since``
    (queued, being sent or sent; held out and suppressed ones reached nobody): what the one
    pressure budget across journeys counts."""
    rows = (
        Message.objects.filter(
            customer_id__in=customer_ids, transactional=False, created_at__gte=since,
            channel=Channel.EMAIL,
            status__in=(MessageStatus.QUEUED, MessageStatus.SENDING, MessageStatus.SENT),
        )
        .values("customer_id")
        .annotate(count=Count("pk"))
        .values_list("customer_id", "count")
    )  # fmt: skip
    return dict(rows)


@dataclass(frozen=True)
class CustomerMessage:
    """One message (an email or a webhook call) of a customer as their history shows it (no
    body: the 360 lists them)."""

    id: int
    created_at: dt.datetime
    #: ``email`` or ``webhook``.
    channel: str
    status: str
    #: Why it was suppressed, failed or bounced, in plain words ("no consent to email").
    reason: str
    subject: str
    topic: str
    transactional: bool
    send_after: dt.datetime
    sent_at: dt.datetime | None
    #: Who decided to send it: ``{"journey", "version", "step", "enrolment"}`` for a journey.
    source: dict


def customer_messages(customer_id: int, *, limit: int = 100) -> list[CustomerMessage]:
    """The customer's ``limit`` newest messages of any status, newest first: what a journey
    sent them, held out, suppressed or keeps waiting (one query, on the customer's index)."""
    rows = (
        Message.objects.filter(customer_id=customer_id)
        .order_by("-created_at", "-id")
        .values_list(
            "id", "created_at", "channel", "status", "reason", "subject", "topic", "transactional",
            "send_after", "sent_at", "source",
        )[:limit]
    )  # fmt: skip
    return [CustomerMessage(*row) for row in rows]
