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
