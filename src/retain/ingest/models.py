"""Every tracking call received, kept as it came, with ``messageId`` as its durable key.

Accepting a call is one insert (so the door stays fast); applying it to the store (customer,
order, event) is the ``ingest.apply_messages`` job, which marks each message applied in the
same transaction as its effects.
"""

from __future__ import annotations

from django.db import models


class Message(models.Model):
    message_id = models.CharField(max_length=200, unique=True)
    type = models.CharField(max_length=10)
    payload = models.JSONField()
    #: When the call reached us, and the event's time corrected for the sender's clock skew.
    received_at = models.DateTimeField()
    timestamp = models.DateTimeField()
    source = models.ForeignKey("accounts.ApiKey", on_delete=models.SET_NULL, null=True)
    applied_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    #: Which apply job takes it: its customer's lane (``retain.ingest.services.lane_of``).
    lane = models.PositiveSmallIntegerField(db_default=0)

    class Meta:
        indexes = [
            models.Index(
                fields=["id"], condition=models.Q(applied_at__isnull=True), name="pending_idx"
            ),
            models.Index(
                fields=["lane", "id"],
                condition=models.Q(applied_at__isnull=True, error=""),
                name="pending_lane_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.message_id}"
