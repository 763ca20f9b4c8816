"""Accepting Segment tracking calls: the door.

Accepting is cheap on purpose: check every message, insert them all in one statement with
``messageId`` as the durable key (a replayed message is skipped by the database), each in its
customer's lane (:func:`lane_of`), and make sure an ``ingest.apply_messages`` job waits for
each lane stored in, in the caller's transaction. A bad message refuses the whole call,
so a call is stored completely or not at all. Applying them is :mod:`retain.ingest.applying`.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import zlib
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from retain.bulk_sql import JSON_TEXT, insert_rows
from retain.errors import DataError
from retain.ingest.lanes import hold_for_storing
from retain.ingest.message_checks import (
    CHECKS_VERSION,
    MESSAGE_ID_LENGTH,
    parse_time,
    time_problem,
    value_problems,
)
from retain.ingest.models import Message
from retain.worker.services import ensure_ready

if TYPE_CHECKING:
    from retain.accounts.models import ApiKey

logger = logging.getLogger(__name__)
#: The roles that may check and import files in the console (agents may not).
IMPORTERS = frozenset({"admin", "analyst"})
#: Segment's limits: a call (one message) and a batch, in bytes of JSON after decompression.
CALL_LIMIT = 32 * 1024
BATCH_LIMIT = 500 * 1024
MESSAGE_TYPES = ("identify", "track", "page", "screen", "group", "alias")
APPLY_JOB = "ingest.apply_messages"
#: Messages are applied in this many lanes, by customer (:func:`lane_of`): one job per lane,
#: so several workers share the backlog and never apply one customer's messages at once.
LANES = 8
_OBJECT_FIELDS = ("properties", "traits", "context", "integrations")
#: The ids a call may carry: strings (Segment's spec), never blank when given.
_ID_FIELDS = ("userId", "anonymousId", "previousId", "groupId")
_SHOWN_PROBLEMS = 20
#: A checked message as stored: messageId, type, payload JSON, corrected time, lane.
MessageRow = tuple[str, str, str, dt.datetime, int]


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
    stored_before = insert_messages(rows, source=source, received_at=received_at)
    if stored_before:
        report_changed_repeats(rows, stored_before)
    # One job per lane, new ones due in the order of each lane's first message. A job found
    # running may have claimed before these rows commit: the storing locks make it wait for
    # them before it ends (retain.ingest.lanes).
    lanes = list(dict.fromkeys(row[4] for row in rows))
    hold_for_storing(lanes)
    ensure_ready(APPLY_JOB, "lane", lanes, count_running=True)
    return len(messages)


def lane_of(message: Any) -> int:
    """The lane of a message: a stable hash of its customer key (``userId``, else
    ``anonymousId``), so a customer's messages are applied one after another, in order."""
    key = None
    if isinstance(message, dict):
        key = message.get("userId") or message.get("anonymousId")
    text = key if isinstance(key, str) else json.dumps(key)
    return zlib.crc32(text.encode("utf-8", "surrogatepass")) % LANES


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


def insert_messages(
    rows: list[MessageRow], *, source: ApiKey | None, received_at: dt.datetime
) -> set[str]:
    """One ``INSERT ... ON CONFLICT (message_id) DO NOTHING`` for the rows (more on SQLite
    beyond its limit of parameters): a message already stored, or repeated in ``rows``, is
    skipped. Returns the ids that were already stored (before this call).

    Written with :func:`~retain.bulk_sql.insert_rows` rather than ``bulk_create`` because the
    door's time goes here: the payloads are serialised once (by :func:`check_messages`), no
    model is built, and the statement's text stays short (psycopg parses a long one at each
    call: a third of the door's time with a placeholder per value).
    """
    inserted = insert_rows(
        Message._meta.db_table,
        ["message_id", "type", "payload", "timestamp", "lane"],
        ["text", "text", JSON_TEXT, "timestamptz", "smallint"],
        rows,
        constants={"error": "''", "checks": str(CHECKS_VERSION)},
        shared={"received_at": received_at, "source_id": source.pk if source else None},
        conflict="ON CONFLICT (message_id) DO NOTHING",
        returning="message_id",
    )  # fmt: skip
    return {row[0] for row in rows} - {message_id for (message_id,) in inserted}


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
        found = message_problems(message)
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


def message_problems(message: Any) -> list[tuple[str, str]]:
    """The door's checks on one message: ``(field, problem)`` pairs, empty when it is good."""
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
    return message["messageId"], message["type"], text, timestamp, lane_of(message)


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
