"""The tracking calls in the Django admin, filterable by what became of them."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest

from retain.ingest.applying import retry_failed_messages
from retain.ingest.models import Message


class MessageStatusFilter(admin.SimpleListFilter):
    """Pending, waiting, applied or failed (``?status=failed``): a failed message keeps its
    error and is never applied, so this is where someone looks for events that did not
    arrive; a waiting one waits for its anonymousId's customer or its order."""

    title = "status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("pending", "pending"), ("waiting", "waiting"), ("applied", "applied"),
                ("failed", "failed")]  # fmt: skip

    def queryset(self, request: HttpRequest, queryset: QuerySet[Message]) -> QuerySet[Message]:
        value = self.value()
        if value == "failed":
            return queryset.exclude(error="")
        if value == "applied":
            return queryset.filter(applied_at__isnull=False)
        if value == "pending":
            return queryset.filter(applied_at__isnull=True, error="", waiting_for="")
        if value == "waiting":
            return queryset.filter(applied_at__isnull=True, error="").exclude(waiting_for="")
        return queryset


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ("message_id", "type", "timestamp", "received_at", "applied_at",
                    "waiting_for", "failure")  # fmt: skip
    list_filter = (MessageStatusFilter, "type")
    search_fields = ("message_id",)
    readonly_fields = ("payload", "received_at", "timestamp", "applied_at", "error",
                       "waiting_for", "wait_until")  # fmt: skip
    actions = ("retry",)

    @admin.action(description="Apply the selected failed messages again")
    def retry(self, request: HttpRequest, queryset: QuerySet[Message]) -> None:
        """``retain ingest retry`` for the failed messages selected (others are left alone)."""
        failed = list(
            queryset.exclude(error="").filter(applied_at__isnull=True)
            .values_list("message_id", flat=True)
        )  # fmt: skip
        with transaction.atomic():
            result = retry_failed_messages(failed)
        self.message_user(
            request,
            result.retried(),
            messages.SUCCESS if not result.failed else messages.WARNING,
        )

    @admin.display(description="error")
    def failure(self, message: Message) -> str:
        return message.error[:120]
