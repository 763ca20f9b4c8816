"""Read-side getters of ingest: is applying keeping up with the door, and what waits for a
person (failed messages) or for what has not arrived yet (waiting messages)?"""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Min
from django.utils import timezone

from retain.ingest.models import Message
from retain.ingest.waiting import waiting


def pending_lag(*, now: dt.datetime | None = None) -> tuple[int, float]:
    """How many messages wait to be applied (failed ones excluded) and the age in seconds of
    the oldest (0 when none waits): whether applying keeps up with the door."""
    found = Message.objects.filter(applied_at__isnull=True, error="", waiting_for="").aggregate(
        count=Count("pk"), oldest=Min("received_at")
    )
    oldest = found["oldest"]
    age = 0.0 if oldest is None else max(((now or timezone.now()) - oldest).total_seconds(), 0.0)
    return found["count"], age


def count_failed_messages() -> int:
    """How many tracking messages failed and wait for a fix (``retain ingest retry``)."""
    return Message.objects.exclude(error="").filter(applied_at__isnull=True).count()


def count_waiting_messages() -> int:
    """How many tracking messages wait for their anonymousId or their order."""
    return waiting().count()
