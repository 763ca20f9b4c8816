"""Journeys and their versions: each apply of a changed document adds a version and makes it
current; a version is never changed afterwards, so an enrolment stays on the version it
entered (enrolments point at :class:`JourneyVersion`).
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

#: The longest journey key (``documents.KEY_PATTERN`` allows 64 characters).
KEY_LENGTH = 64


class JourneyStatus(models.TextChoices):
    #: Enrols customers and advances the enrolments.
    ACTIVE = "active", _("active")
    #: Enrols nobody and advances nothing until resumed; enrolments wait where they are.
    PAUSED = "paused", _("paused")
    #: Retired: enrols nobody; applying its document again revives it (see services).
    ARCHIVED = "archived", _("archived")


class Journey(models.Model):
    """A journey by its key; what it does is its current version's document."""

    key = models.CharField(max_length=KEY_LENGTH)
    #: The current version's ``name``, kept here for lists.
    name = models.CharField(max_length=200)
    status = models.CharField(
        max_length=10, choices=JourneyStatus.choices, default=JourneyStatus.ACTIVE
    )
    #: The version new enrolments enter; null only inside the apply that creates the journey.
    current = models.ForeignKey(
        "JourneyVersion",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        # Unique by a constraint rather than ``unique=True`` (no second LIKE index on
        # PostgreSQL).
        constraints = [models.UniqueConstraint(fields=["key"], name="one_journey_key")]

    def __str__(self) -> str:
        return self.key


class JourneyVersion(models.Model):
    """One applied document of a journey, as written and as checked."""

    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="versions")
    #: 1, 2, ... in the order applied.
    number = models.PositiveIntegerField()
    #: The checked document (``JourneyDocument.model_dump(mode="json", by_alias=True)``).
    document = models.JSONField()
    #: The document as given (YAML or JSON), shown back by ``retain journeys show``.
    source_text = models.TextField()
    #: sha256 of the checked document as canonical JSON: applying the same journey again
    #: (even reformatted or with comments changed) adds no version.
    content_hash = models.CharField(max_length=64)
    applied_at = models.DateTimeField(default=timezone.now)
    #: Who applied it: ``cli``, ``api key <prefix>``, ``user <name>``, ``builtin``.
    applied_by = models.CharField(max_length=200, blank=True)
    #: Where it came from: the file name, ``api``, ``builtin/welcome.yaml``.
    source = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["journey", "number"], name="one_journey_version")
        ]

    def __str__(self) -> str:
        return f"{self.journey.key} v{self.number}"


class Enrolment(models.Model):
    """A customer's way through one journey, on the version they entered.

    ``state`` is the engine's :class:`~retain.journeys.engine.EnrolmentState` as JSON;
    ``wake_at`` is when it is due (the runner claims due enrolments by it). The entry key
    says what entered the customer (the triggering event, order, domain event, date or
    broadcast): entering twice on the same key is impossible, so a replayed event enrols
    nobody twice.
    """

    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="enrolments")
    version = models.ForeignKey(JourneyVersion, on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    entry_key = models.CharField(max_length=200)
    held_out = models.BooleanField(default=False)
    active = models.BooleanField(default=True)
    wake_at = models.DateTimeField(null=True, blank=True)
    #: What entered the customer (the engine's ``Entry``: name, properties, moment, id).
    entry = models.JSONField(default=dict)
    #: The engine's state; ``{}`` until the runner has entered the customer (entering is
    #: set-based: a broadcast inserts its enrolments in the database, then runs them).
    state = models.JSONField(default=dict)
    #: How it ended: converted (reached the goal), completed, exited, error.
    outcome = models.CharField(max_length=16, blank=True)
    entered_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["journey", "customer", "entry_key"], name="one_enrolment_per_entry"
            )
        ]
        indexes = [
            models.Index(fields=["wake_at"], name="enrolment_due_idx",
                         condition=models.Q(active=True)),
            models.Index(fields=["customer", "journey"], name="enrolment_customer_idx"),
        ]  # fmt: skip

    def __str__(self) -> str:
        return f"enrolment {self.pk} of customer {self.customer_id} in journey {self.journey_id}"


class FeedCursor(models.Model):
    """How far the runner has read one of the store's feeds (events, orders, domain events):
    the last id it reacted to, moved in the transaction that reacted."""

    feed = models.CharField(max_length=64)
    position = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["feed"], name="one_cursor_per_feed")]

    def __str__(self) -> str:
        return f"{self.feed} at {self.position}"


class PredictionMatch(models.Model):
    """A customer inside a prediction trigger's condition after the last rescoring; one who
    was not before and is now has entered the condition (and the journey)."""

    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["journey", "customer"], name="one_prediction_match")
        ]

    def __str__(self) -> str:
        return f"customer {self.customer_id} in journey {self.journey_id}'s condition"
