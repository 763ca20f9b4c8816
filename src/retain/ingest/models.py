"""Every tracking call received, kept as it came, with ``messageId`` as its durable key.

Accepting a call is one insert (so the door stays fast); applying it to the store (customer,
order, event) is the ``ingest.apply_messages`` job, which marks each message applied in the
same transaction as its effects.
"""

from __future__ import annotations

from django.db import models


class Message(models.Model):
    #: Unique by a constraint rather than ``unique=True``, which on PostgreSQL adds a second
    #: index for ``LIKE`` that no query uses and every insert and update pays for.
    message_id = models.CharField(max_length=200)
    type = models.CharField(max_length=10)
    payload = models.JSONField()
    #: When the call reached us, and the event's time corrected for the sender's clock skew.
    received_at = models.DateTimeField()
    timestamp = models.DateTimeField()
    source = models.ForeignKey("accounts.ApiKey", on_delete=models.SET_NULL, null=True)
    applied_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    #: What an unapplied message waits for (``anonymous_id:<id>``, ``order:<id>``), blank for
    #: one that does not; kept once applied or failed, as a record. See ``waiting.py``.
    waiting_for = models.CharField(max_length=220, blank=True, default="", db_default="")
    #: Past this moment a message still waiting fails with its reason.
    wait_until = models.DateTimeField(null=True, blank=True)
    #: Which apply job takes it: its customer's lane (``retain.ingest.services.lane_of``).
    lane = models.PositiveSmallIntegerField(db_default=0)
    #: The version of the door's checks it passed (``message_checks.CHECKS_VERSION``); 0 for
    #: one stored before versions were kept or written by hand. Applying checks again only a
    #: message stored under older checks.
    checks = models.PositiveSmallIntegerField(db_default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["message_id"], name="one_message")]
        indexes = [
            models.Index(
                fields=["id"], condition=models.Q(applied_at__isnull=True), name="pending_idx"
            ),
            # What the apply runs claim: not applied, not failed, not waiting (pending_idx
            # also holds those, which a claim would otherwise step over one by one).
            models.Index(
                fields=["id"],
                condition=models.Q(applied_at__isnull=True, error="", waiting_for=""),
                name="claimable_idx",
            ),
            models.Index(
                fields=["waiting_for"],
                condition=models.Q(applied_at__isnull=True, error="") & ~models.Q(waiting_for=""),
                name="waiting_idx",
            ),
            models.Index(
                fields=["wait_until"],
                condition=models.Q(applied_at__isnull=True, error="") & ~models.Q(waiting_for=""),
                name="wait_until_idx",
            ),
            # What a lane's job claims: its lane's messages not applied, failed or waiting.
            models.Index(
                fields=["lane", "id"],
                condition=models.Q(applied_at__isnull=True, error="", waiting_for=""),
                name="claimable_lane_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.message_id}"


class TraitTimes(models.Model):
    """When a tracking call last set each of a customer's traits (the call's time, ISO 8601,
    by trait group: ``email``, ``name``, ... or the trait's own name), so a call applied late
    (one that waited for its ``anonymousId``) never overwrites a value a later call set."""

    customer = models.OneToOneField(
        "customers.Customer", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    times = models.JSONField(default=dict)

    class Meta:
        verbose_name_plural = "trait times"

    def __str__(self) -> str:
        return f"trait times of {self.customer_id}"
