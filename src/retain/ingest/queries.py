"""Read-side getters of the ingest app: the imports' history, newest first."""

from __future__ import annotations

from dataclasses import dataclass

from retain.errors import NotFound
from retain.ingest.models import ImportRun


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


def get_import_run(run_id: int) -> ImportRun:
    try:
        return ImportRun.objects.get(pk=run_id)
    except ImportRun.DoesNotExist:
        raise NotFound(f"no import {run_id}") from None
