"""Read-side getters of the outbox and the suppressions: for the preference page, the
journeys (was this message stored, sent?) and the health probe."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import BooleanField, Case, Count, F, Max, Min, Value, When
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


def marketing_counts_since(
    customer_ids: list[int], *, since: dt.datetime, until: dt.datetime | None = None
) -> dict[int, int]:
    """How many marketing emails each customer was sent or has coming since ``since``
    (queued, being sent or sent; held out and suppressed ones reached nobody): what the one
    pressure budget across journeys counts. ``until`` leaves out messages created after it
    (a runner on a virtual clock, replaying the past, counts its window only)."""
    # The statuses are counted apart, not filtered: on SQLite (no statistics) a filter on
    # them makes the planner read every sent message by the status index instead of the
    # customers' few by theirs.
    messages = Message.objects.filter(
        customer_id__in=customer_ids,
        transactional=False,
        created_at__gte=since,
        channel=Channel.EMAIL,
    )
    if until is not None:
        messages = messages.filter(created_at__lte=until)
    counted = (MessageStatus.QUEUED, MessageStatus.SENDING, MessageStatus.SENT)
    counts: dict[int, int] = {}
    for customer, status, count in (
        messages.values("customer_id", "status").annotate(count=Count("pk"))
        .values_list("customer_id", "status", "count")
    ):  # fmt: skip
        if status in counted:
            counts[customer] = counts.get(customer, 0) + count
    return counts


def last_message_id() -> int:
    """The newest message's id (0 for an empty outbox): where a reader of new ones starts."""
    return Message.objects.aggregate(newest=Max("pk"))["newest"] or 0


@dataclass(frozen=True)
class OutboxTally:
    """Messages of one journey step alike in their status and reason, counted."""

    journey: str
    step: str
    status: str
    reason: str
    #: Queued to wait past the moment it was queued (a marketing message due in quiet hours).
    deferred: bool
    count: int


def outbox_tally(*, after: int) -> list[OutboxTally]:
    """The messages stored after the message id ``after``, counted by the journey and step
    that made them (their ``source``), status, reason, and whether they wait."""
    waits = Case(
        When(status=MessageStatus.QUEUED, send_after__gt=F("created_at"), then=Value(True)),
        default=Value(False),
        output_field=BooleanField(),
    )
    rows = (
        Message.objects.filter(pk__gt=after)
        .annotate(waits=waits)
        .values("source__journey", "source__step", "status", "reason", "waits")
        .annotate(count=Count("pk"))
        .order_by()
    )
    return [
        OutboxTally(
            journey=str(row["source__journey"] or ""),
            step=str(row["source__step"] or ""),
            status=row["status"],
            reason=row["reason"],
            deferred=row["waits"],
            count=row["count"],
        )
        for row in rows
    ]


def queued_after(after: int, *, journey: str | None = None, limit: int = 1) -> list[Message]:
    """The first ``limit`` queued messages stored after the message id ``after`` (of the
    journey ``journey`` only, if given), oldest first."""
    messages = Message.objects.filter(pk__gt=after, status=MessageStatus.QUEUED)
    if journey is not None:
        messages = messages.filter(source__journey=journey)
    return list(messages.order_by("pk")[:limit])


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
