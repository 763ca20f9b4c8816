"""Every tracking call received, kept as it came, with ``messageId`` as its durable key.

Accepting a call is one insert (so the door stays fast); applying it to the store (customer,
order, event) is the ``ingest.apply_messages`` job, which marks each message applied in the
same transaction as its effects.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Message(models.Model):
    #: Unique by a constraint rather than ``unique=True``, which on PostgreSQL adds a second
    #: index for ``LIKE`` that no query uses and every insert and update pays for.
    message_id = models.CharField(max_length=200)
    type = models.CharField(max_length=10)
    payload = models.JSONField()
    #: When the call reached us, and the event's time corrected for the sender's clock skew.
    received_at = models.DateTimeField()
    timestamp = models.DateTimeField()
    #: Not indexed: every call stored and every message applied would pay for an index that
    #: only deleting an API key reads (keys are revoked, not deleted, in the console).
    source = models.ForeignKey(
        "accounts.ApiKey", on_delete=models.SET_NULL, null=True, db_index=False
    )
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


class ImportKind(models.TextChoices):
    """The kinds of file an import takes (:mod:`retain.ingest.import_kinds`)."""

    CUSTOMERS = "customers", _("Customers")
    ORDERS = "orders", _("Orders")
    SUBSCRIPTIONS = "subscriptions", _("Subscriptions")
    COMPLAINTS = "complaints", _("Complaints")
    SURVEY_ANSWERS = "survey-answers", _("Survey answers")


class ImportOutcome(models.TextChoices):
    RUNNING = "running", pgettext_lazy("import outcome", "running")
    IMPORTED = "imported", pgettext_lazy("import outcome", "imported")
    REFUSED = "refused", pgettext_lazy("import outcome", "refused")
    FAILED = "failed", pgettext_lazy("import outcome", "failed")


class ImportVia(models.TextChoices):
    COMMAND = "cli", _("command line")
    API = "api", _("REST API")
    CONSOLE = "console", _("console")


class ImportRun(models.Model):
    """One bulk import, whichever door it came through (``retain import``, the REST API, the
    console's page): who, what file, when, and what came of it. ``running`` until it ends;
    the row of an import that stored its file says ``imported`` in the same transaction as
    its rows (:mod:`retain.ingest.import_runs`)."""

    kind = models.CharField(max_length=20, choices=ImportKind.choices)
    file_name = models.CharField(max_length=255)
    via = models.CharField(max_length=10, choices=ImportVia.choices)
    user = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    api_key = models.ForeignKey(
        "accounts.ApiKey", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    #: Who, as named when it ran (the user's name, the key's, the system account's for the
    #: command line): kept when the user or key is gone.
    actor = models.CharField(max_length=150, blank=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(
        max_length=10, choices=ImportOutcome.choices, default=ImportOutcome.RUNNING
    )
    #: Data rows read from the file (``None``: refused before it was read whole).
    rows_read = models.PositiveIntegerField(null=True, blank=True)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    customers_created = models.PositiveIntegerField(default=0)
    #: Every problem found, counted; the first ones (:data:`KEPT_PROBLEMS`) kept in
    #: ``problems`` as ``{column, rule, bad_rows, example}``.
    problem_count = models.PositiveIntegerField(default=0)
    problems = models.JSONField(default=list, blank=True)
    #: What the refusal or failure said, as the door said it.
    detail = models.TextField(blank=True)

    class Meta:
        indexes = [models.Index(fields=["-started_at"], name="import_run_started_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.file_name} ({self.outcome})"

    @property
    def seconds(self) -> float | None:
        """How long it took (``None`` while it runs)."""
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()
