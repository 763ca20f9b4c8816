"""Customers and what is known of them: identities, consent, orders, subscriptions,
behavioural events, complaints and survey answers (as data), their scores, and the domain
events other apps react to.

Every row that comes from outside carries the shop's own key (``external_id``) or a natural
key with a unique constraint, so importing or replaying the same input changes nothing.
"""

from __future__ import annotations

from django.db import models

# The limits of the columns the doors fill, declared once: the tracking door checks what it
# accepts against them (retain.ingest.message_checks), as SQLite enforces no length and
# PostgreSQL refuses a value too long.
#: The longest id the tables keep: a shop's customer, order or complaint id, an anonymous id.
ID_LENGTH = 200
#: The longest email, and an identity's value (an email, an anonymous id or a user id).
EMAIL_LENGTH = 254
#: An order's amount: digits in all and after the point (under 10^12).
AMOUNT_DIGITS, AMOUNT_PLACES = 14, 2
#: The longest tag name (``retain.customers.labels`` holds the rest of a tag name's rule).
TAG_LENGTH = 64


class Customer(models.Model):
    # Unique by constraints and indexed by Meta.indexes rather than ``unique=True`` and
    # ``db_index=True``, which on PostgreSQL add a second index for ``LIKE`` that no query
    # uses (search goes through the trigram indexes) and every insert pays for.
    external_id = models.CharField("customer id", max_length=ID_LENGTH)
    email = models.EmailField(max_length=EMAIL_LENGTH, blank=True)
    name = models.CharField(max_length=200, blank=True)
    signed_up_at = models.DateTimeField(null=True, blank=True)
    acquisition_channel = models.CharField(max_length=100, blank=True)
    birthday = models.DateField(null=True, blank=True)
    segment = models.CharField("own segment", max_length=100, blank=True)
    traits = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        # The customers list filters on these (and reads their distinct values for its form).
        indexes = [
            models.Index(fields=["acquisition_channel"], name="customer_channel_idx"),
            models.Index(fields=["segment"], name="customer_segment_idx"),
            models.Index(fields=["email"], name="customer_email_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["external_id"], name="one_customer_id",
                violation_error_message="A customer with this customer id exists already.",
            )
        ]  # fmt: skip

    def __str__(self) -> str:
        return self.external_id


class IdentityKind(models.TextChoices):
    USER_ID = "user_id"
    ANONYMOUS_ID = "anonymous_id"
    EMAIL = "email"


class Identity(models.Model):
    """Another id under which the same customer reaches us (a device, an alias, an email)."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="identities")
    kind = models.CharField(max_length=16, choices=IdentityKind.choices)
    value = models.CharField(max_length=EMAIL_LENGTH)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "identities"
        constraints = [models.UniqueConstraint(fields=["kind", "value"], name="one_identity")]

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


class ConsentChannel(models.TextChoices):
    EMAIL = "email"
    SMS = "sms"
    PUSH = "push"
    PHONE = "phone"


class Consent(models.Model):
    """Whether a customer agreed to hear from us on a channel, and since when."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="consents")
    channel = models.CharField(max_length=8, choices=ConsentChannel.choices)
    granted = models.BooleanField()
    source = models.CharField(max_length=50, blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer", "channel"], name="one_consent_per_channel")
        ]

    def __str__(self) -> str:
        return f"{self.customer} {self.channel}: {'yes' if self.granted else 'no'}"


class Order(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="orders")
    external_id = models.CharField("order id", max_length=ID_LENGTH)  # unique: Meta (see Customer)
    ordered_at = models.DateTimeField(db_index=True)
    amount = models.DecimalField(max_digits=AMOUNT_DIGITS, decimal_places=AMOUNT_PLACES)
    currency = models.CharField(max_length=3, blank=True)
    channel = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=20, default="completed")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["external_id"], name="one_order_id",
                violation_error_message="An order with this order id exists already.",
            )
        ]  # fmt: skip

    def __str__(self) -> str:
        return self.external_id


class Subscription(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="subscriptions")
    plan = models.CharField(max_length=100)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    mrr = models.DecimalField("monthly recurring revenue", max_digits=12, decimal_places=2)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "plan", "started_at"], name="one_subscription_start"
            )
        ]

    def __str__(self) -> str:
        return f"{self.customer} {self.plan} from {self.started_at:%Y-%m-%d}"


class EventKind(models.TextChoices):
    TRACK = "track"
    PAGE = "page"
    SCREEN = "screen"
    GROUP = "group"


class Event(models.Model):
    """A behavioural event (a Segment ``track``, ``page``, ``screen`` or ``group`` call)."""

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, null=True, blank=True, related_name="events"
    )
    anonymous_id = models.CharField(max_length=ID_LENGTH, blank=True)
    kind = models.CharField(max_length=8, choices=EventKind.choices)
    name = models.CharField(max_length=200, blank=True)
    properties = models.JSONField(default=dict, blank=True)
    occurred_at = models.DateTimeField(db_index=True)
    message_id = models.CharField(max_length=200)  # unique: Meta (see Customer)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["message_id"], name="one_event_message")]

    def __str__(self) -> str:
        return f"{self.kind} {self.name}"


class Complaint(models.Model):
    """A complaint as data (handling, routing and SLAs belong to ``support``)."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="complaints")
    external_id = models.CharField("complaint id", max_length=ID_LENGTH, unique=True)
    opened_at = models.DateTimeField()
    category = models.CharField(max_length=100, blank=True)
    severity = models.PositiveSmallIntegerField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    description = models.TextField(blank=True)

    def __str__(self) -> str:
        return self.external_id


class SurveyAnswer(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="survey_answers")
    survey = models.CharField(max_length=100)
    answered_at = models.DateTimeField()
    score = models.SmallIntegerField()
    comment = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "survey", "answered_at"], name="one_answer_per_moment"
            )
        ]

    def __str__(self) -> str:
        return f"{self.customer} {self.survey}={self.score}"


class Score(models.Model):
    """The latest scores of a customer, written by the rescoring job."""

    customer = models.OneToOneField(
        Customer, on_delete=models.CASCADE, primary_key=True, related_name="score"
    )
    p_alive = models.FloatField()
    expected_purchases_30d = models.FloatField()
    expected_purchases_90d = models.FloatField()
    expected_purchases_365d = models.FloatField()
    clv_12m = models.FloatField()
    churn_risk = models.CharField(max_length=8)
    next_order_date = models.DateField(null=True, blank=True)
    value_decile = models.PositiveSmallIntegerField()
    rfm_segment = models.CharField(max_length=32, blank=True)
    rfm_score = models.CharField(max_length=3, blank=True)
    lifecycle_stage = models.CharField(max_length=16, blank=True)
    model = models.CharField(max_length=16)
    scored_at = models.DateTimeField()

    class Meta:
        # The customers list filters and sorts on these at a million customers (issue 11).
        indexes = [
            models.Index(fields=["lifecycle_stage"], name="score_stage_idx"),
            models.Index(fields=["churn_risk"], name="score_risk_idx"),
            models.Index(fields=["rfm_segment"], name="score_rfm_idx"),
            models.Index(fields=["value_decile"], name="score_decile_idx"),
            models.Index(fields=["clv_12m"], name="score_clv_idx"),
            models.Index(fields=["p_alive"], name="score_p_alive_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.customer}: {self.lifecycle_stage}, P(alive) {self.p_alive:.2f}"


class CustomerTag(models.Model):
    """A label on a customer ("vip", "welcome-done"), set by a journey or the operator, that
    audiences filter on (``{field: tags, eq: vip}``). A name is kept exactly as given, case
    included (``retain.customers.labels.check_tag_name`` says what a name may be)."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(max_length=TAG_LENGTH)
    created_at = models.DateTimeField()

    class Meta:
        # The unique pair answers "has this customer the tag?"; the name index answers "who
        # has the tag?", a broadcast's question over a million customers.
        constraints = [
            models.UniqueConstraint(fields=["customer", "name"], name="one_tag_per_customer")
        ]
        indexes = [models.Index(fields=["name"], name="customer_tag_name_idx")]

    def __str__(self) -> str:
        return f"{self.customer} #{self.name}"


class DomainEvent(models.Model):
    """A fact other apps react to (``lifecycle.changed``, ``segment.changed``), recorded in
    the transaction that made it true."""

    name = models.CharField(max_length=64)
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, null=True, blank=True, related_name="domain_events"
    )
    data = models.JSONField(default=dict)
    occurred_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["name", "id"], name="domain_event_name_idx")]

    def __str__(self) -> str:
        return f"{self.name} #{self.pk}"


class RescoringRun(models.Model):
    """The outcome of one rescoring, so a failure is seen (``/healthz``) rather than only
    logged: whether it succeeded, why not, and the customers it set aside."""

    finished_at = models.DateTimeField(db_index=True)
    succeeded = models.BooleanField()
    reason = models.TextField(blank=True)
    customers_scored = models.PositiveIntegerField(default=0)
    customers_skipped = models.PositiveIntegerField(default=0)
    #: The first customers set aside: ``[{"customer": shop id, "reason": ...}]``.
    skipped = models.JSONField(default=list, blank=True)
    #: The day the scores are for (``None``: a run recorded before this was kept).
    as_of = models.DateField(null=True, blank=True)
    #: The purchase model that scored (``BG/NBD``, ...; blank: none) and its fitted
    #: parameters (``{"r": ..., "alpha": ...}``, ages in days), so a customer's P(alive) can
    #: be traced back over their history without refitting.
    model = models.CharField(max_length=16, blank=True)
    model_params = models.JSONField(default=dict, blank=True)
    #: The store's figures as this run left them (``queries.store_figures``): aggregates over
    #: every order and score, kept here because the run reads them all anyway and a page
    #: that summed four million orders per view would take seconds.
    figures = models.JSONField(default=dict, blank=True)
    #: How many customers this run moved from one lifecycle stage to another, per pair:
    #: ``[{"from": "active", "to": "at risk", "customers": 12}, ...]`` (the sums of its
    #: ``lifecycle.changed`` events, kept so the segments page reads a run's moves in one row
    #: rather than grouping a million events). ``None``: recorded before this was kept.
    stage_moves = models.JSONField(null=True, blank=True)

    def __str__(self) -> str:
        outcome = "ok" if self.succeeded else "failed"
        return f"rescoring {outcome} at {self.finished_at:%Y-%m-%d %H:%M}"
