"""The outbox (one row per message a journey or a person decided to send), the addresses we
must not write to, and what recipients did with what they received.

A message row is written once, already rendered, under an idempotency key with a unique
constraint: deciding to send the same message twice stores it once. The sender only moves it
through its statuses (:class:`MessageStatus`).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from retain.customers.models import EMAIL_LENGTH

#: The longest idempotency key (a journey's key, version, step and enrolment fit well within).
KEY_LENGTH = 200
#: The longest subject kept; a header line may not pass 998 characters (RFC 5322), and no
#: client shows more than a fraction of this.
SUBJECT_LENGTH = 500
#: The longest marketing topic ("newsletter", "winback", "product-news").
TOPIC_LENGTH = 100
#: The longest locale tag ("en", "pt-BR", "zh-Hant-TW").
LOCALE_LENGTH = 35
#: The longest note of where a suppression came from.
SOURCE_LENGTH = 100
#: The longest webhook address (as a journey's webhook step allows).
URL_LENGTH = 2000


class Channel(models.TextChoices):
    EMAIL = "email", _("email")
    #: A signed JSON document posted to the shop's endpoint (``webhooks``, ``webhook_sender``).
    WEBHOOK = "webhook", _("webhook")


class MessageStatus(models.TextChoices):
    """Where a message stands. Only ``queued`` and ``sending`` move on; the rest are final.

    - ``queued``: waits to be sent from ``send_after`` on (again after a temporary failure).
    - ``sending``: a sender claimed it until ``lease_until``; a sender killed mid-send leaves
      it so, and once the lease has passed another claims it and sends it again.
    - ``sent``: the SMTP server accepted it, or the webhook's endpoint answered 2xx
      (``sent_at``).
    - ``held_out``: the customer is in the holdout group; recorded to measure uplift, never
      sent.
    - ``suppressed``: the address bounced before, or unsubscribed from this marketing topic
      or from all marketing (``reason`` says which); never sent.
    - ``failed``: given up (``reason``): an address no server could take, a message that
      cannot be written, or temporary failures for too many attempts.
    - ``bounced``: the server refused the recipient for good (a 5xx answer); the address is
      suppressed for everything from then on.
    """

    QUEUED = "queued", _("queued")
    SENDING = "sending", _("sending")
    SENT = "sent", _("sent")
    HELD_OUT = "held_out", _("held out")
    SUPPRESSED = "suppressed", _("suppressed")
    FAILED = "failed", _("failed")
    BOUNCED = "bounced", _("bounced")


class Message(models.Model):
    #: Unique by a constraint rather than ``unique=True``, which on PostgreSQL adds a second
    #: index for ``LIKE`` that no query uses and every insert pays for.
    idempotency_key = models.CharField(max_length=KEY_LENGTH)
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="messages"
    )
    channel = models.CharField(max_length=8, choices=Channel.choices, default=Channel.EMAIL)
    #: Lower-cased, as suppressions are (no provider tells case apart in a mailbox's name).
    #: Blank for a webhook.
    to_address = models.CharField(max_length=EMAIL_LENGTH)
    #: A webhook's endpoint (blank for an email).
    #: A default in the database too: the email queue inserts rows without this column.
    url = models.CharField(max_length=URL_LENGTH, blank=True, default="", db_default="")
    #: The JSON document a webhook posts (``None`` for an email).
    payload = models.JSONField(null=True, blank=True, default=None)
    #: The marketing topic one may unsubscribe from; blank for transactional messages.
    topic = models.CharField(max_length=TOPIC_LENGTH, blank=True)
    #: Receipts, password resets, answers to a complaint: sent despite marketing
    #: unsubscribes, never to an address that bounced.
    transactional = models.BooleanField(default=False)
    subject = models.CharField(max_length=SUBJECT_LENGTH)
    html = models.TextField(blank=True)
    text = models.TextField(blank=True)
    locale = models.CharField(max_length=LOCALE_LENGTH, default="en")
    #: Who decided to send it (journey key, version, step, enrolment id): not read here.
    source = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=12, choices=MessageStatus.choices, default=MessageStatus.QUEUED
    )
    #: Why a message was suppressed, failed or bounced, in plain words.
    reason = models.TextField(blank=True)
    send_after = models.DateTimeField()
    #: While ``sending``: the moment the claim lapses and another sender may take it.
    lease_until = models.DateTimeField(null=True, blank=True)
    #: Deliveries begun (claims); a sender killed mid-send counts too.
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        indexes = [
            # The sender's claim: due queued messages in order (the id breaks ties, so a
            # broadcast queued in one moment is read in index order, never sorted).
            models.Index(fields=["status", "send_after", "id"], name="message_due_idx"),
            # Leases that lapsed (a sender killed mid-send).
            models.Index(fields=["status", "lease_until"], name="message_lease_idx"),
            models.Index(fields=["to_address"], name="message_address_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["idempotency_key"], name="one_message_per_key")
        ]

    def __str__(self) -> str:
        return f"{self.idempotency_key} ({self.status})"


class SuppressionReason(models.TextChoices):
    """Why an address is suppressed, strongest last: a stronger reason replaces a weaker one
    on the same address and topic, never the other way round."""

    UNSUBSCRIBED = "unsubscribed", _("unsubscribed")
    #: A spam complaint: no more marketing at all.
    COMPLAINED = "complained", _("complained")
    #: The server refused the address for good: nothing at all, transactional included.
    BOUNCED = "bounced", _("bounced")


#: The order of strength of :class:`SuppressionReason`.
REASON_STRENGTH = {
    SuppressionReason.UNSUBSCRIBED: 1,
    SuppressionReason.COMPLAINED: 2,
    SuppressionReason.BOUNCED: 3,
}


class Suppression(models.Model):
    """An address we must not write to: for one marketing topic, for all marketing (topic
    ``""``), or, once it bounced, for anything."""

    #: Lower-cased.
    address = models.CharField(max_length=EMAIL_LENGTH)
    #: ``""``: all marketing (and, for a bounce, transactional messages too).
    topic = models.CharField(max_length=TOPIC_LENGTH, blank=True)
    reason = models.CharField(max_length=12, choices=SuppressionReason.choices)
    #: Where it came from in plain words: "one-click unsubscribe", "preferences page",
    #: "smtp 550", "operator".
    source = models.CharField(max_length=SOURCE_LENGTH, blank=True)
    #: The message whose link or bounce caused it, if any (for unsubscribe rates per journey).
    message = models.ForeignKey(
        Message, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["address", "topic"], name="one_suppression_per_topic")
        ]

    def __str__(self) -> str:
        return f"{self.address} {self.topic or '(all)'}: {self.reason}"


class Click(models.Model):
    """A recipient followed a link of a message (link checkers of mail servers count too)."""

    #: Indexed with the time (Meta), which serves the foreign key too.
    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="clicks", db_index=False
    )
    url = models.TextField()
    clicked_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["message", "clicked_at"], name="click_message_idx")]


class Open(models.Model):
    """The tracking pixel was loaded (off by default: ``RETAIN_EMAIL_OPEN_TRACKING``). Mail
    clients that load images ahead of the reader make this a weak signal."""

    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="opens", db_index=False
    )
    opened_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["message", "opened_at"], name="open_message_idx")]
