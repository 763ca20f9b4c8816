"""Putting messages in the outbox, and the addresses we must not write to.

Each function runs in the caller's transaction and never commits: a journey that decides to
send writes its message in the same transaction as its own step, under an idempotency key,
so deciding twice stores one message. Queueing also makes sure a send job waits for it
(:func:`wake_sender`); sending is :mod:`retain.messaging.sender`'s.

Who may receive what:

- an address that **bounced** receives nothing, transactional messages included;
- an address **unsubscribed** from a topic receives no marketing of that topic; one
  unsubscribed from all marketing (or that **complained** of spam) receives no marketing;
- **transactional** messages (receipts, password resets) ignore marketing unsubscribes.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone

from retain.bulk_sql import insert_rows
from retain.errors import DataError
from retain.messaging.composing import UNSUBSCRIBE_URL_PLACEHOLDER
from retain.messaging.models import (
    KEY_LENGTH,
    LOCALE_LENGTH,
    REASON_STRENGTH,
    SOURCE_LENGTH,
    SUBJECT_LENGTH,
    TOPIC_LENGTH,
    Click,
    Message,
    MessageStatus,
    Open,
    Suppression,
    SuppressionReason,
)
from retain.messaging.webhooks import journey_step_payload, store_webhook
from retain.worker.services import ensure_ready

__all__ = [
    "SEND_JOB",
    "UNSUBSCRIBE_URL_PLACEHOLDER",
    "EmailDraft",
    "journey_step_payload",
    "queue_email",
    "queue_emails",
    "queue_webhook",
    "record_click",
    "record_complaint",
    "record_open",
    "resubscribe",
    "suppress_bounced",
    "suppressed_addresses",
    "suppression_reason",
    "suppression_reasons",
    "unsubscribe",
    "wake_sender",
]  # fmt: skip

#: The job that drains the outbox (``retain.messaging.tasks``).
SEND_JOB = "messaging.send"
#: A language tag (BCP 47's shape: "en", "pt-BR", "zh-Hant-TW"), written into a header.
_LOCALE = re.compile(r"[A-Za-z]{2,8}(?:[-_][A-Za-z0-9]{1,8})*")
#: Drafts checked and inserted per statement by :func:`queue_emails`.
QUEUE_CHUNK = 2_000
_EMAIL_LENGTH = Message._meta.get_field("to_address").max_length


@dataclass(frozen=True, slots=True)
class EmailDraft:
    """One email to queue, already rendered; the arguments of :func:`queue_email`."""

    key: str
    customer_id: int
    to: str
    subject: str
    html: str
    text: str
    topic: str = ""
    transactional: bool = False
    held_out: bool = False
    send_after: dt.datetime | None = None
    locale: str = "en"
    source: dict[str, Any] | None = None
    #: Why the caller decided not to send it (a budget reached, no consent, no address):
    #: recorded as ``suppressed`` with this reason.
    suppressed: str = ""


def queue_email(
    *,
    key: str,
    customer_id: int,
    to: str,
    subject: str,
    html: str,
    text: str,
    topic: str = "",
    transactional: bool = False,
    held_out: bool = False,
    send_after: dt.datetime | None = None,
    locale: str = "en",
    source: dict[str, Any] | None = None,
) -> Message | None:
    """Store one email under ``key``; ``None`` if a message with that key exists already
    (nothing changes then).

    The row's status says what becomes of it: ``queued`` (sent from ``send_after``, default
    now), ``held_out`` (the customer is in the holdout group: recorded, never sent),
    ``suppressed`` (the address may not receive it: ``reason`` says why) or ``failed`` (an
    address or a content no server could take: ``reason`` says which). Raises
    :class:`~retain.errors.DataError` for a key, topic, locale or source that cannot be
    stored (the caller's mistake, not the customer's data).
    """
    draft = EmailDraft(
        key=key, customer_id=customer_id, to=to, subject=subject, html=html, text=text,
        topic=topic, transactional=transactional, held_out=held_out, send_after=send_after,
        locale=locale, source=source,
    )  # fmt: skip
    inserted = _queue_chunk([draft], now=timezone.now())
    return Message.objects.get(pk=inserted[0]) if inserted else None


def queue_emails(
    drafts: Iterable[EmailDraft], *, chunk: int = QUEUE_CHUNK, now: dt.datetime | None = None
) -> int:
    """Store many emails at once (a broadcast): :func:`queue_email` for each draft, checked
    and inserted ``chunk`` at a time (one statement per chunk, keys already stored left as
    they are), so a million drafts given as a generator never sit in memory together. The
    number of messages stored (drafts whose key was new). ``now`` is the caller's clock (the
    journey runner's): the messages' creation time, and their ``send_after`` unless given."""
    stored = 0
    now = now or timezone.now()
    for part in _chunks(drafts, chunk):
        stored += len(_queue_chunk(part, now=now))
    return stored


def _chunks(drafts: Iterable[EmailDraft], size: int) -> Iterator[list[EmailDraft]]:
    iterator = iter(drafts)
    while part := list(itertools.islice(iterator, size)):
        yield part


_COLUMNS = (
    "idempotency_key", "customer_id", "to_address", "topic", "transactional", "subject",
    "html", "text", "locale", "source", "status", "reason", "send_after",
)  # fmt: skip
_TYPES = (
    "text", "bigint", "text", "text", "boolean", "text",
    "text", "text", "text", "jsonb", "text", "text", "timestamptz",
)  # fmt: skip


def _queue_chunk(drafts: list[EmailDraft], *, now: dt.datetime) -> list[int]:
    """Check, decide the status of, and insert ``drafts``; the ids of the rows inserted."""
    _refuse_unstorable(drafts)
    addresses = {_normal(draft.to) for draft in drafts}
    reasons = suppression_reasons(addresses)
    rows: list[tuple[Any, ...]] = []
    first_due: dt.datetime | None = None
    for draft in drafts:
        address = _normal(draft.to)
        send_after = draft.send_after or now
        status, reason = _status_of(draft, address, reasons.get(address, ()))
        if status == MessageStatus.QUEUED:
            first_due = send_after if first_due is None else min(first_due, send_after)
        storable = status != MessageStatus.FAILED
        rows.append((
            draft.key, draft.customer_id,
            address if storable or _storable_text(address, _EMAIL_LENGTH) else "",
            draft.topic, draft.transactional,
            draft.subject if storable or _storable_text(draft.subject, SUBJECT_LENGTH) else "",
            draft.html if storable or _storable_text(draft.html) else "",
            draft.text if storable or _storable_text(draft.text) else "",
            draft.locale, draft.source or {}, status, reason, send_after,
        ))  # fmt: skip
    inserted = insert_rows(
        Message._meta.db_table, _COLUMNS, _TYPES, rows,
        constants={"channel": "'email'", "attempts": "0", "last_error": "''"},
        shared={"created_at": now},
        conflict="ON CONFLICT (idempotency_key) DO NOTHING", returning="id",
    )  # fmt: skip
    if inserted and first_due is not None:
        wake_sender(at=first_due)
    return [row[0] for row in inserted]


def _refuse_unstorable(drafts: list[EmailDraft]) -> None:
    """Raise for the first field the caller filled wrongly in any draft (with the count of
    drafts it is wrong in and one of them): these come from code, not from customers."""
    checks: list[tuple[str, Any]] = [
        ("key", lambda d: isinstance(d.key, str) and d.key.strip()
         and _storable_text(d.key, KEY_LENGTH)),
        ("customer_id", lambda d: isinstance(d.customer_id, int)
         and not isinstance(d.customer_id, bool) and d.customer_id > 0),
        ("topic", lambda d: isinstance(d.topic, str) and _storable_text(d.topic, TOPIC_LENGTH)),
        ("locale", lambda d: isinstance(d.locale, str) and len(d.locale) <= LOCALE_LENGTH
         and _LOCALE.fullmatch(d.locale)),
        ("send_after", lambda d: d.send_after is None or (
            isinstance(d.send_after, dt.datetime) and d.send_after.tzinfo is not None)),
        ("source", lambda d: d.source is None or (
            isinstance(d.source, dict) and "\\u0000" not in _json(d.source))),
        ("to, subject, html, text", lambda d: all(
            isinstance(v, str) for v in (d.to, d.subject, d.html, d.text))),
    ]  # fmt: skip
    for name, good in checks:
        bad = [draft for draft in drafts if not good(draft)]
        if bad:
            example = {"key": bad[0].key, name: getattr(bad[0], name.split(",")[0])}
            raise DataError(_RULES[name], column=name, bad_rows=len(bad), example=example)


_RULES = {
    "key": f"an idempotency key is 1 to {KEY_LENGTH} characters, without NUL",
    "customer_id": "a customer id is the store's key of a customer (a positive integer)",
    "topic": f"a topic is at most {TOPIC_LENGTH} characters, without NUL",
    "locale": f"a locale is a language tag of at most {LOCALE_LENGTH} characters (en, pt-BR)",
    "send_after": "send_after is a datetime with its time zone",
    "source": "source is a JSON object without NUL characters",
    "to, subject, html, text": "the address, subject, HTML and text are strings",
}


def _json(value: Any) -> str:
    """``value`` as the JSON the store keeps; what it cannot keep (not JSON, NaN, a lone
    surrogate) comes back as a NUL, refused like one."""
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False)
        text.encode("utf-8")
    except (TypeError, ValueError):  # UnicodeEncodeError is a ValueError
        return "\\u0000"
    return text


def _status_of(
    draft: EmailDraft, address: str, suppressions: Iterable[tuple[str, str]]
) -> tuple[str, str]:
    """The status a new message starts in, and why if it is not queued."""
    if draft.suppressed and not draft.held_out:
        return MessageStatus.SUPPRESSED, draft.suppressed
    problem = _content_problem(draft, address)
    if problem and not (draft.held_out and _storable_row(draft, address)):
        return MessageStatus.FAILED, problem
    if draft.held_out:
        return MessageStatus.HELD_OUT, "in the holdout group"
    reason = suppression_reason(suppressions, topic=draft.topic, transactional=draft.transactional)
    if reason:
        return MessageStatus.SUPPRESSED, reason
    return MessageStatus.QUEUED, ""


def _content_problem(draft: EmailDraft, address: str) -> str:
    """What no SMTP server or mail client could take, in plain words ("" if nothing)."""
    if not _storable_text(address, _EMAIL_LENGTH):
        return f"invalid address: over {_EMAIL_LENGTH} characters, or a NUL or unwritable one"
    try:
        validate_email(address)
    except ValidationError:
        return f"invalid address: {_shown(draft.to)}"
    if not draft.subject.strip():
        return "no subject"
    if len(draft.subject) > SUBJECT_LENGTH:
        return f"the subject is longer than {SUBJECT_LENGTH} characters"
    if any(character in draft.subject for character in "\r\n"):
        return f"the subject has a line break: {_shown(draft.subject)}"
    if not draft.html.strip() and not draft.text.strip():
        return "neither text nor HTML to send"
    for name in ("subject", "html", "text"):
        value = getattr(draft, name)
        if "\0" in value:
            return f"the {name} has a NUL character"
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as error:
            return f"the {name} has a character that cannot be written ({error.reason})"
    return ""


def _storable_row(draft: EmailDraft, address: str) -> bool:
    return _storable_text(address, _EMAIL_LENGTH) and all(
        _storable_text(value) for value in (draft.subject[:SUBJECT_LENGTH], draft.html, draft.text)
    ) and len(draft.subject) <= SUBJECT_LENGTH  # fmt: skip


def _storable_text(value: str, limit: int | None = None) -> bool:
    """Whether the store can keep ``value``: no NUL, no lone surrogate, not too long."""
    if "\0" in value or (limit is not None and len(value) > limit):
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _shown(value: str, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _normal(address: str) -> str:
    return address.strip().lower() if isinstance(address, str) else ""


# Suppressions ---------------------------------------------------------------------------------


def suppression_reasons(addresses: Iterable[str]) -> dict[str, list[tuple[str, str]]]:
    """Lower-cased address -> its suppressions as ``(topic, reason)``, for ``addresses``
    (lower-cased), in one query."""
    found: dict[str, list[tuple[str, str]]] = {}
    listed = sorted(set(addresses))
    for start in range(0, len(listed), QUEUE_CHUNK):
        rows = Suppression.objects.filter(address__in=listed[start : start + QUEUE_CHUNK])
        for address, topic, reason in rows.values_list("address", "topic", "reason"):
            found.setdefault(address, []).append((topic, reason))
    return found


def suppression_reason(
    suppressions: Iterable[tuple[str, str]], *, topic: str, transactional: bool
) -> str:
    """Why a message of ``topic`` may not go to an address with these ``(topic, reason)``
    suppressions, in plain words ("" if it may)."""
    suppressions = list(suppressions)
    if any(reason == SuppressionReason.BOUNCED for _, reason in suppressions):
        return "the address bounced before"
    if transactional:
        return ""
    for suppressed_topic, reason in suppressions:
        if suppressed_topic == "":
            if reason == SuppressionReason.COMPLAINED:
                return "the recipient reported our mail as spam"
            return "unsubscribed from all marketing"
    if topic and any(suppressed_topic == topic for suppressed_topic, _ in suppressions):
        return f"unsubscribed from {topic!r}"
    return ""


def suppressed_addresses(
    addresses: Iterable[str], topic: str = "", *, transactional: bool = False
) -> set[str]:
    """Those of ``addresses`` (as given) that may not receive a message of ``topic``."""
    given = {address: _normal(address) for address in addresses}
    reasons = suppression_reasons(given.values())
    return {
        address for address, normal in given.items()
        if suppression_reason(reasons.get(normal, ()), topic=topic, transactional=transactional)
    }  # fmt: skip


def unsubscribe(
    address: str, topic: str | None = None, *, source: str, message_id: int | None = None
) -> Suppression:
    """Stop marketing of ``topic`` (``None``: all marketing) to ``address``; ``source`` says
    where the wish came from ("one-click unsubscribe", "preferences page", "operator")."""
    return _suppress(
        address, topic or "", SuppressionReason.UNSUBSCRIBED, source=source, message_id=message_id
    )


def record_complaint(address: str, *, source: str, message_id: int | None = None) -> Suppression:
    """A spam complaint (a feedback loop report): no more marketing to ``address``."""
    return _suppress(
        address, "", SuppressionReason.COMPLAINED, source=source, message_id=message_id
    )


def suppress_bounced(address: str, *, source: str, message_id: int | None = None) -> Suppression:
    """The server refused ``address`` for good: nothing more goes to it, not even receipts."""
    return _suppress(address, "", SuppressionReason.BOUNCED, source=source, message_id=message_id)


def _suppress(
    address: str, topic: str, reason: str, *, source: str, message_id: int | None
) -> Suppression:
    address = _normal(address)
    if not address or not _storable_text(address, _EMAIL_LENGTH):
        raise DataError(f"not an address that can be suppressed: {_shown(address)}")
    if not _storable_text(topic, TOPIC_LENGTH):
        raise DataError(f"a topic is at most {TOPIC_LENGTH} characters, without NUL")
    if message_id is not None and not Message.objects.filter(pk=message_id).exists():
        message_id = None  # a link of a message since deleted (with its customer) still works
    if len(source) > SOURCE_LENGTH:
        raise DataError(f"a suppression's source is at most {SOURCE_LENGTH} characters")
    fields = {"reason": reason, "source": source, "message_id": message_id}
    suppression, created = Suppression.objects.get_or_create(
        address=address, topic=topic, defaults=fields
    )
    if not created and REASON_STRENGTH[reason] > REASON_STRENGTH[suppression.reason]:
        for name, value in fields.items():
            setattr(suppression, name, value)
        suppression.save(update_fields=list(fields))
    return suppression


def resubscribe(address: str, topic: str | None = None) -> int:
    """Undo unsubscribes (and spam complaints) of ``address``: from ``topic``, or with
    ``None`` every one of them. A bounce stays: the address does not work. The number of
    suppressions lifted."""
    rows = Suppression.objects.filter(address=_normal(address)).exclude(
        reason=SuppressionReason.BOUNCED
    )
    if topic is not None:
        rows = rows.filter(topic=topic)
    deleted, _ = rows.delete()
    return deleted


# What recipients did -----------------------------------------------------------------------


def record_click(message_id: int, url: str, *, at: dt.datetime | None = None) -> Click | None:
    """A recipient followed ``url`` in message ``message_id``; ``None`` if the message is
    gone (its customer deleted): the redirect still leads where it was signed to."""
    if not Message.objects.filter(pk=message_id).exists():
        return None
    return Click.objects.create(message_id=message_id, url=url, clicked_at=at or timezone.now())


def record_open(message_id: int, *, at: dt.datetime | None = None) -> Open | None:
    if not Message.objects.filter(pk=message_id).exists():
        return None
    return Open.objects.create(message_id=message_id, opened_at=at or timezone.now())


# The send job -------------------------------------------------------------------------------


def wake_sender(*, at: dt.datetime) -> None:
    """Make sure a send job waits to run at ``at`` (or sooner), in the caller's transaction.
    Jobs run by the real time, whatever clock the caller was given.

    Jobs are kept one per minute of waking (one "now" for everything due): a broadcast or a
    journey queueing a thousand messages adds one job, and a message due at 09:00 gets a job
    of its own even when another waits for 10:00. A minute's job runs at the moment first
    asked for in it, so a message due earlier in the same minute, queued later, may wait up
    to that minute's end. A job found waiting is locked until the caller commits, so no
    worker runs it before the caller's messages are there to see
    (:func:`retain.worker.services.ensure_ready`).
    """
    now = timezone.now()
    if at <= now:
        ensure_ready(SEND_JOB, "wake", ["now"])
        return
    minute = at.astimezone(dt.UTC).replace(second=0, microsecond=0)
    ensure_ready(SEND_JOB, "wake", [minute.isoformat()], delay=at - now)


# Webhooks -----------------------------------------------------------------------------------


def queue_webhook(
    *,
    key: str,
    customer_id: int,
    url: str,
    payload: dict[str, Any],
    held_out: bool = False,
    source: dict[str, Any] | None = None,
) -> Message | None:
    """Store one webhook (a JSON ``payload`` to POST to ``url``, signed) under ``key``, in the
    caller's transaction; ``None`` if a message with that key exists already (nothing
    changes then).

    Its status says what becomes of it: ``queued`` (posted at once by the webhook job, which
    queueing wakes), ``held_out`` (recorded, never posted) or ``failed`` (an address that
    cannot be posted to, a payload that cannot be written as JSON or over 256 KB: ``reason``
    says which). Raises :class:`~retain.errors.DataError` for a ``url`` that is not http(s)
    or a key, customer id, payload or source of the wrong kind (the caller's mistake). No
    suppression applies: the shop's provider keeps its own opt-outs for SMS and chat.
    """
    return store_webhook(
        key=key, customer_id=customer_id, url=url, payload=payload, held_out=held_out,
        source=source,
    )  # fmt: skip
