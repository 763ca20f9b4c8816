from django.contrib import admin

from retain.ingest.models import Message


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ("message_id", "type", "timestamp", "received_at", "applied_at")
    list_filter = ("type",)
    search_fields = ("message_id",)
    readonly_fields = ("payload", "received_at", "timestamp", "applied_at", "error")
