"""Accepting Segment tracking calls, and applying them to the customer store.

Accepting is cheap on purpose: check every message, insert them all in one statement with
``messageId`` as the durable key (a replayed message is skipped by the database), and enqueue
``ingest.apply_messages``, in the caller's transaction. A bad message refuses the whole call,
so a call is stored completely or not at all.

Applying runs in the job: pending messages in arrival order, each in a savepoint, marked
applied in the same transaction as its effects; a message that cannot be applied keeps its
error, is logged (a warning with its ``messageId`` and the reason) and is not retried.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import DataError as DatabaseDataError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from retain.accounts.models import ApiKey
from retain.customers.models import Customer, EventKind
from retain.customers.services import (
    identify_customer,
    link_alias,
    record_event,
    record_events,
    record_order,
    refund_order,
    resolve_customer,
    resolve_customers,
)
from retain.errors import DataError, NotFound, RetainError
from retain.ingest.message_checks import (
    AMOUNT_PROPERTIES,
    MESSAGE_ID_LENGTH,
    ORDER_COMPLETED,
    ORDER_REFUNDED,
    amount_problems,
    parse_time,
    time_problem,
    value_problems,
)
from retain.ingest.models import Message
from retain.worker.services import enqueue

logger = logging.getLogger(__name__)
#: Segment's limits: a call (one message) and a batch, in bytes of JSON after decompression.
CALL_LIMIT = 32 * 1024
BATCH_LIMIT = 500 * 1024
MESSAGE_TYPES = ("identify", "track", "page", "screen", "group", "alias")
APPLY_JOB = "ingest.apply_messages"
#: Messages applied per job run (one transaction); a full run enqueues the next.
APPLY_BATCH = 500
_OBJECT_FIELDS = ("properties", "traits", "context", "integrations")
#: The ids a call may carry: strings (Segment's spec), never blank when given.
_ID_FIELDS = ("userId", "anonymousId", "previousId", "groupId")
_SHOWN_PROBLEMS = 20
#: A message's own fault (kept as its error); any other exception is a bug and fails the
#: whole job, which the queue retries.
_APPLY_ERRORS = (RetainError, IntegrityError, DatabaseDataError)
#: Reading a stored row fails on values Python cannot hold (a time beyond year 9999).
_READ_ERRORS = (DatabaseDataError, ValueError, OverflowError)
#: Rows per INSERT: 6 parameters each stays under SQLite's 32,766 and PostgreSQL's 65,535.
_ROWS_PER_INSERT = 4000
#: A checked message as stored: messageId, type, payload JSON, receivedAt, corrected time.
MessageRow = tuple[str, str, str, dt.datetime, dt.datetime]


def accept_calls(
    document: Any, *, kind: str | None, source: ApiKey | None, received_at: dt.datetime
) -> int:
    """Check and store the messages of one request; the number of messages in it.

    ``kind`` is the endpoint's call type (``"track"`` for ``/v1/track``), or ``None`` for
    ``/v1/batch``. :class:`DataError` (nothing stored) names the field, the count of bad
    messages and an example.
    """
    messages, sent_at = messages_of(document, kind=kind)
    rows = check_messages(messages, sent_at=sent_at, received_at=received_at)
    stored_before = insert_messages(rows, source=source)
    if stored_before:
        report_changed_repeats(rows, stored_before)
    enqueue(APPLY_JOB, unique_key=APPLY_JOB)
    return len(messages)


def report_changed_repeats(rows: list[MessageRow], stored_before: set[str]) -> list[str]:
    """The ids of ``rows`` stored before with other content, each logged as a warning.

    A replay (the same id, the same call) is how a client retries and changes nothing; the same
    id with other content is a client's bug (reused ids) whose second call is not kept: the
    operator is told, with the id and the source's first difference.
    """
    given = {row[0]: json.loads(row[2]) for row in rows if row[0] in stored_before}
    stored = dict(
        Message.objects.filter(message_id__in=list(given)).values_list("message_id", "payload")
    )
    changed = [message_id for message_id, payload in given.items()
               if stored.get(message_id, payload) != payload]  # fmt: skip
    for message_id in changed:
        differing = sorted(
            key for key in set(given[message_id]) | set(stored[message_id])
            if given[message_id].get(key) != stored[message_id].get(key)
        )  # fmt: skip
        logger.warning(
            "tracking message %s was received before with other content (%s differ); the "
            "first is kept, this one is not",
            message_id, ", ".join(differing),
        )  # fmt: skip
    return changed


def insert_messages(rows: list[MessageRow], *, source: ApiKey | None) -> set[str]:
    """One ``INSERT ... ON CONFLICT (message_id) DO NOTHING`` for the rows (more only beyond
    :data:`_ROWS_PER_INSERT`): a message already stored, or repeated in ``rows``, is skipped.
    Returns the ids that were already stored (before this call).

    Written in SQL rather than ``bulk_create`` because the door's time goes here: the payloads
    are serialised once (by :func:`check_messages`) and no model instances are built.
    """
    adapt = connection.ops.adapt_datetimefield_value
    payload = "%s::jsonb" if connection.vendor == "postgresql" else "%s"
    source_id = source.pk if source is not None else None
    table = Message._meta.db_table
    inserted: set[str] = set()
    for start in range(0, len(rows), _ROWS_PER_INSERT):
        chunk = rows[start : start + _ROWS_PER_INSERT]
        values = ",".join([f"(%s, %s, {payload}, %s, %s, %s, '')"] * len(chunk))
        parameters = []
        for message_id, kind, text, received_at, timestamp in chunk:
            # In UTC: PostgreSQL refuses offsets beyond +-15:59, which ISO 8601 allows.
            when = timestamp.astimezone(dt.UTC) if timestamp.tzinfo else timestamp
            parameters += [message_id, kind, text, adapt(received_at), adapt(when), source_id]
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (message_id, type, payload, received_at, timestamp, "
                f"source_id, error) VALUES {values} ON CONFLICT (message_id) DO NOTHING "
                "RETURNING message_id",
                parameters,
            )
            inserted.update(message_id for (message_id,) in cursor.fetchall())
    return {row[0] for row in rows} - inserted


def messages_of(document: Any, *, kind: str | None) -> tuple[list[Any], Any]:
    """The messages of a request body and its ``sentAt`` (the batch's, or the call's)."""
    if not isinstance(document, dict):
        raise DataError("the body must be a JSON object", field="(body)", example=_short(document))
    if kind is not None:
        if document.get("type", kind) != kind:
            raise DataError(
                f"/v1/{kind} takes {kind} calls; this one says type {document['type']!r}",
                field="type", example=_short(document),
            )  # fmt: skip
        return [{**document, "type": kind}], document.get("sentAt")
    batch = document.get("batch")
    if not isinstance(batch, list) or not batch:
        raise DataError("'batch' must be a non-empty list of messages", field="batch",
                        example=_short(batch))  # fmt: skip
    return batch, document.get("sentAt")


def check_messages(
    messages: list[Any], *, sent_at: Any, received_at: dt.datetime
) -> list[MessageRow]:
    """The rows to store for ``messages`` (payloads serialised), or :class:`DataError` for
    all the problems found (grouped by field, the first field named in the message)."""
    problems: dict[str, list[dict[str, Any]]] = defaultdict(list)
    rows = []
    for index, message in enumerate(messages):
        found = _problems_of(message)
        if not found:
            try:
                rows.append(_row(message, batch_sent_at=sent_at, received_at=received_at))
            except DataError as error:
                found = [(error.details["field"], error.message)]
            else:
                if len(rows[-1][2]) > CALL_LIMIT:
                    found = [("(message)", f"a message must be at most {CALL_LIMIT // 1024} KB")]
        for field, problem in found:
            problems[field].append(
                {"index": index, "messageId": _message_id_of(message), "problem": problem}
            )
    if problems:
        raise _refusal(problems, total=len(messages))
    return rows


def _problems_of(message: Any) -> list[tuple[str, str]]:
    if not isinstance(message, dict):
        return [("(message)", "a message must be a JSON object")]
    found = []
    kind = message.get("type")
    if kind not in MESSAGE_TYPES:
        found.append(("type", f"type must be one of {', '.join(MESSAGE_TYPES)}"))
    message_id = message.get("messageId")
    if not isinstance(message_id, str) or not message_id.strip():
        found.append(("messageId", "messageId is required (a non-empty string)"))
    elif len(message_id) > MESSAGE_ID_LENGTH:
        found.append(("messageId", f"messageId is longer than {MESSAGE_ID_LENGTH} characters"))
    for field in _ID_FIELDS:  # Segment's spec: ids are strings; a blank one names no one
        value = message.get(field)
        if value is not None and not isinstance(value, str):
            found.append((field, f"{field} must be a string, not {_json_type(value)}"))
        elif value is not None and not value.strip():
            found.append((field, f"{field} is blank; leave it out or give an id"))
    if found:
        return found
    if kind == "alias":
        for field in ("userId", "previousId"):
            if not _is_id(message.get(field)):
                found.append((field, f"alias needs {field}"))
    elif not (_is_id(message.get("userId")) or _is_id(message.get("anonymousId"))):
        found.append(("userId", "userId or anonymousId is required"))
    if kind == "track" and not (isinstance(message.get("event"), str) and message["event"]):
        found.append(("event", "track needs an event name"))
    if kind == "group" and not _is_id(message.get("groupId")):
        found.append(("groupId", "group needs a groupId"))
    for field in _OBJECT_FIELDS:
        if message.get(field) is not None and not isinstance(message[field], dict):
            found.append((field, f"{field} must be an object"))
    return found or value_problems(message)


def _row(message: dict[str, Any], *, batch_sent_at: Any, received_at: dt.datetime) -> MessageRow:
    """The row for a checked message: its time corrected for the sender's clock skew as
    Segment does it, ``timestamp + (receivedAt - sentAt)``, when ``sentAt`` is given."""
    sent_at = message.get("sentAt", batch_sent_at)
    original = message.get("timestamp")
    timestamp = _time(original, "timestamp") if original is not None else received_at
    if sent_at is not None and original is not None:
        try:
            timestamp += received_at - _time(sent_at, "sentAt")
        except OverflowError:
            raise DataError("timestamp corrected by sentAt falls outside years 1-9999",
                            field="timestamp", example=original) from None  # fmt: skip
    if problem := time_problem(timestamp, "timestamp (corrected by sentAt)"):
        raise DataError(problem, field="timestamp", example=original)
    text = json.dumps(message, ensure_ascii=False, separators=(",", ":"))
    return message["messageId"], message["type"], text, received_at, timestamp


def _time(value: Any, field: str) -> dt.datetime:
    if not isinstance(value, str):
        raise DataError(f"{field} must be an ISO 8601 string", field=field, example=value)
    moment = parse_time(value)
    if moment is None:
        raise DataError(f"{field} is not an ISO 8601 time", field=field, example=value)
    if problem := time_problem(moment, field):
        raise DataError(problem, field=field, example=value)
    return moment.astimezone(dt.UTC)  # PostgreSQL refuses offsets beyond +-15:59


def _refusal(problems: dict[str, list[dict[str, Any]]], *, total: int) -> DataError:
    field, bad = next(iter(problems.items()))
    count = len({entry["index"] for entries in problems.values() for entry in entries})
    example = bad[0]
    shown = [{"field": name, **entry} for name, entries in problems.items() for entry in entries]
    return DataError(
        f"{field}: {example['problem']} ({len(bad)} bad message(s), e.g. message "
        f"{example['index']} with messageId {example['messageId']!r}); nothing was stored",
        field=field, bad_rows=count, total=total, example=example,
        errors=shown[:_SHOWN_PROBLEMS],
    )  # fmt: skip


def _is_id(value: Any) -> bool:
    return isinstance(value, str) and value.strip() != ""


def _json_type(value: Any) -> str:
    """The JSON name of a parsed value's type, as the sender wrote it."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return {dict: "an object", list: "a list"}.get(type(value), type(value).__name__)


def _message_id_of(message: Any) -> Any:
    return message.get("messageId") if isinstance(message, dict) else None


def _short(value: Any) -> str:
    return repr(value)[:80]


@dataclass(frozen=True)
class ApplyResult:
    """What one run of :func:`apply_pending_messages` did: messages claimed, applied and
    failed (each failed one keeps its reason in ``Message.error``)."""

    claimed: int
    applied: int
    failed: int


def apply_pending_messages(
    *, limit: int = APPLY_BATCH, now: dt.datetime | None = None
) -> ApplyResult:
    """Apply up to ``limit`` pending messages in arrival order.

    A message that is at fault (the door's checks fail on what is stored, a row it cannot be
    read as, a :class:`RetainError` or a database refusal while applying it) is marked failed
    with its reason and logged, and the others go on; any other exception is a bug and fails
    the whole run, which the queue retries. Plain events are inserted together, and a
    customer already resolved in this run is not looked up again. Run inside the job's
    transaction, so the effects and the applied marks commit together. Claimed with ``SKIP
    LOCKED`` on PostgreSQL, so two workers never apply the same message.
    """
    claimed = list(
        Message.objects.select_for_update(skip_locked=True)
        .filter(applied_at__isnull=True, error="")
        .order_by("id")
        .values_list("pk", flat=True)[:limit]
    )
    return _apply(claimed, now=now or timezone.now())


def count_failed_messages() -> int:
    """How many tracking messages failed and wait for a fix (``retain ingest retry``)."""
    return Message.objects.exclude(error="").filter(applied_at__isnull=True).count()


def retry_failed_messages(
    message_ids: list[str] | None = None, *, now: dt.datetime | None = None
) -> ApplyResult:
    """Apply failed messages again, after a fix: those with the given ``messageId``s, or
    every failed one (``None``), in arrival order; one that fails again keeps its new reason.

    :class:`NotFound` names the ids that are not stored; :class:`DataError` those that did
    not fail (applied, or still pending). Nothing is retried then.
    """
    failed = Message.objects.select_for_update().exclude(error="").filter(applied_at__isnull=True)
    if message_ids is not None:
        wanted = set(message_ids)
        found = dict(
            Message.objects.filter(message_id__in=wanted).values_list("message_id", "error")
        )
        if unknown := sorted(wanted - found.keys()):
            raise NotFound(f"no tracking message {', '.join(map(repr, unknown))}",
                           message_ids=unknown)  # fmt: skip
        if not_failed := sorted(m for m, error in found.items() if not error):
            raise DataError(
                f"{len(not_failed)} message(s) did not fail, e.g. {not_failed[0]!r}; only "
                "failed messages are retried",
                field="messageId", bad_rows=len(not_failed), example=not_failed[0],
            )  # fmt: skip
        failed = failed.filter(message_id__in=wanted)
    pks = list(failed.order_by("id").values_list("pk", flat=True))
    Message.objects.filter(pk__in=pks).update(error="")
    now = now or timezone.now()
    totals = [0, 0, 0]
    for start in range(0, len(pks), APPLY_BATCH):
        result = _apply(pks[start : start + APPLY_BATCH], now=now)
        totals = [totals[0] + result.claimed, totals[1] + result.applied,
                  totals[2] + result.failed]  # fmt: skip
    return ApplyResult(*totals)


def _apply(claimed: list[int], *, now: dt.datetime) -> ApplyResult:
    """Apply the messages ``claimed`` (their keys, in arrival order)."""
    failed: dict[int, tuple[str, str]] = {}  # pk -> (messageId, reason)
    pending = []
    for message in _load(claimed, failed):
        if problems := _stored_problems(message):
            field, problem = problems[0]
            failed[message.pk] = (message.message_id, f"DataError: {field}: {problem}")
        else:
            pending.append(message)
    applied: list[int] = []
    events: list[tuple[Message, dict[str, Any]]] = []  # plain events, inserted together
    customers = _resolve_plain_users(pending)
    for message in pending:
        plain = _is_plain_event(message)
        if not plain:  # what it does may depend on the events before it (an alias links them)
            _record_events(events, applied, failed)
            events = []
        user_id = _text(message.payload.get("userId"))
        if plain and user_id in customers and not message.payload.get("anonymousId"):
            events.append((message, _event_of(message, customers[user_id])))
            continue
        try:
            with transaction.atomic():
                if plain:
                    customer = resolve_customer(
                        user_id=user_id, anonymous_id=_text(message.payload.get("anonymousId"))
                    )
                else:
                    apply_message(message)
        except _APPLY_ERRORS as error:
            failed[message.pk] = (message.message_id, _reason(error))
            continue
        if plain:
            events.append((message, _event_of(message, customer)))
            if user_id and customer is not None:
                customers[user_id] = customer
        else:
            applied.append(message.pk)
    _record_events(events, applied, failed)
    Message.objects.filter(pk__in=applied).update(applied_at=now)
    for pk, (message_id, reason) in failed.items():
        Message.objects.filter(pk=pk).update(error=reason)
        # One line per message, so a failed event is seen where the worker's output goes.
        logger.warning("tracking message %s not applied: %s", message_id, reason)
    if failed:
        logger.warning("%d of %d tracking messages failed", len(failed), len(claimed))
    return ApplyResult(claimed=len(claimed), applied=len(applied), failed=len(failed))


def _stored_problems(message: Message) -> list[tuple[str, str]]:
    """The door's checks on a stored message (kept before a check existed, or written by
    hand), and a stored time that reads as none (SQLite keeps any text)."""
    if message.timestamp is None:
        return [("timestamp", f"the stored time of {message.message_id!r} is not a time")]
    return _problems_of(message.payload)


def _reason(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"[:2000] or type(error).__name__


def _load(pks: list[int], failed: dict[int, tuple[str, str]]) -> list[Message]:
    """The claimed messages; when one cannot be read (a stored time beyond year 9999), each
    is read alone and the unreadable ones are recorded in ``failed``."""
    try:
        with transaction.atomic():
            return list(Message.objects.filter(pk__in=pks).order_by("id"))
    except _READ_ERRORS:
        pass
    loaded = []
    for pk in pks:
        try:
            with transaction.atomic():
                loaded.append(Message.objects.get(pk=pk))
        except _READ_ERRORS as error:
            message_id = Message.objects.filter(pk=pk).values_list("message_id", flat=True)[0]
            failed[pk] = (message_id, f"unreadable as stored: {_reason(error)}")
    return loaded


def _resolve_plain_users(pending: list[Message]) -> dict[str, Customer]:
    """The users of plain events resolved together up front (a new user costs one insert, not
    six queries), except those another kind of call in this run may link or alias first. If
    one of them cannot be stored, none is resolved here (each is then resolved alone)."""
    linked = {
        _text(m.payload.get(key)) for m in pending if not _is_plain_event(m)
        for key in ("userId", "previousId")
    }  # fmt: skip
    users = {
        user_id
        for m in pending
        if _is_plain_event(m) and not m.payload.get("anonymousId")
        and (user_id := _text(m.payload.get("userId"))) and user_id not in linked
    }  # fmt: skip
    try:
        with transaction.atomic():
            return resolve_customers(users)
    except _APPLY_ERRORS:
        return {}


def _record_events(
    events: list[tuple[Message, dict[str, Any]]],
    applied: list[int],
    failed: dict[int, tuple[str, str]],
) -> None:
    """Insert the plain events together; if the insert is refused, each alone, so only the
    messages whose event the store refuses are failed."""
    try:
        with transaction.atomic():
            record_events([event for _, event in events])
    except _APPLY_ERRORS:
        for message, event in events:
            try:
                with transaction.atomic():
                    record_events([event])
            except _APPLY_ERRORS as error:
                failed[message.pk] = (message.message_id, _reason(error))
            else:
                applied.append(message.pk)
    else:
        applied.extend(message.pk for message, _ in events)


def _is_plain_event(message: Message) -> bool:
    """A call that only becomes an :class:`Event` (not an identify, alias or order)."""
    if message.type == "track":
        return message.payload.get("event") not in (ORDER_COMPLETED, ORDER_REFUNDED)
    return message.type in EventKind.values


def _event_of(message: Message, customer: Customer | None) -> dict[str, Any]:
    payload = message.payload
    return {
        "customer": customer, "kind": message.type, "name": _event_name(payload),
        "occurred_at": message.timestamp, "message_id": message.message_id,
        "anonymous_id": _text(payload.get("anonymousId")) or "",
        "properties": payload.get("properties") or payload.get("traits") or {},
    }  # fmt: skip


def apply_message(message: Message) -> None:
    """Apply one message's effects to the customer store (see ``docs/store.md``)."""
    payload = message.payload
    user_id, anonymous_id = _text(payload.get("userId")), _text(payload.get("anonymousId"))
    kind = message.type
    if kind == "identify":
        identify_customer(
            user_id=user_id, anonymous_id=anonymous_id, traits=payload.get("traits") or {},
            at=message.timestamp,
        )  # fmt: skip
    elif kind == "alias":
        link_alias(previous_id=_text(payload["previousId"]), user_id=user_id)
    elif kind == "track" and payload.get("event") == ORDER_COMPLETED:
        _complete_order(message, user_id=user_id, anonymous_id=anonymous_id)
    elif kind == "track" and payload.get("event") == ORDER_REFUNDED:
        refund_order(order_id=_order_id(payload.get("properties") or {}))
    elif kind in EventKind.values:
        customer = resolve_customer(user_id=user_id, anonymous_id=anonymous_id)
        record_event(**_event_of(message, customer))
    else:
        raise DataError(f"unknown message type {kind!r}", field="type", example=kind)


def _complete_order(message: Message, *, user_id: str | None, anonymous_id: str | None) -> None:
    properties = message.payload.get("properties") or {}
    customer = resolve_customer(user_id=user_id, anonymous_id=anonymous_id)
    if customer is None:
        raise DataError("an order needs a userId (or an anonymousId already identified)",
                        field="userId", example=anonymous_id)  # fmt: skip
    record_order(
        customer=customer, order_id=_order_id(properties), ordered_at=message.timestamp,
        amount=_amount(properties), currency=str(properties.get("currency") or ""),
        channel=str(properties.get("channel") or ""),
    )  # fmt: skip


def _order_id(properties: dict[str, Any]) -> str:
    order_id = _text(properties.get("order_id") or properties.get("orderId"))
    if not order_id:
        raise DataError("properties.order_id is required", field="properties.order_id")
    return order_id


def _amount(properties: dict[str, Any]) -> Decimal:
    if problems := amount_problems(properties):
        field, problem = problems[0]
        raise DataError(problem, field=field)
    value = next(properties[name] for name in AMOUNT_PROPERTIES if properties.get(name) is not None)
    return Decimal(str(value).strip()).quantize(Decimal("0.01"))


def _event_name(payload: dict[str, Any]) -> str:
    if payload["type"] == "track":
        return payload["event"]
    if payload["type"] == "group":
        return str(payload.get("groupId") or "")
    parts = (payload.get("category"), payload.get("name"))
    return " ".join(str(part) for part in parts if part)


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)
