"""Read-side getters of ingest: is applying keeping up with the door, what waits for a person
(failed messages) or for what has not arrived yet (waiting messages), and the imports'
history, newest first."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Min
from django.utils import timezone

from retain.errors import NotFound
from retain.ingest.models import ImportRun, Message
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


@dataclass(frozen=True)
class HistoryPage:
    """One page of the imports' history, and whether pages come before or after it."""

    runs: list[ImportRun]
    page: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.page > 1


def import_history(*, page: int = 1, page_size: int = 20) -> HistoryPage:
    """The imports on ``page`` (from 1), newest first; one row more is read to tell whether
    another page follows (no count of the whole history)."""
    start = (page - 1) * page_size
    runs = list(ImportRun.objects.order_by("-started_at", "-pk")[start : start + page_size + 1])
    return HistoryPage(runs=runs[:page_size], page=page, has_next=len(runs) > page_size)


def last_import() -> ImportRun | None:
    """The latest import begun (``None`` before the first): the home's health shows it."""
    return ImportRun.objects.order_by("-started_at", "-pk").first()


def get_import_run(run_id: int) -> ImportRun:
    try:
        return ImportRun.objects.get(pk=run_id)
    except ImportRun.DoesNotExist:
        raise NotFound(f"no import {run_id}") from None
