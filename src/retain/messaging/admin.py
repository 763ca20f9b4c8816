"""The Django admin of the outbox: to look at messages and suppressions, and to lift a bounce
once an address works again (deleting its suppression)."""

from django.contrib import admin

from retain.messaging import models


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(models.Message)
class MessageAdmin(_ReadOnly):
    """Messages move through their statuses by the sender only: a status changed by hand
    could send a message twice or never."""

    list_display = ("idempotency_key", "to_address", "topic", "status", "send_after", "sent_at")
    list_filter = ("status", "transactional", "topic")
    search_fields = ("idempotency_key", "to_address")
    raw_id_fields = ("customer",)
    date_hierarchy = "created_at"


@admin.register(models.Suppression)
class SuppressionAdmin(admin.ModelAdmin):
    list_display = ("address", "topic", "reason", "source", "created_at")
    list_filter = ("reason",)
    search_fields = ("address",)
    raw_id_fields = ("message",)


@admin.register(models.Click)
class ClickAdmin(_ReadOnly):
    list_display = ("message", "url", "clicked_at")
    raw_id_fields = ("message",)
