"""The hot path of applying tracking calls: plain events (track, page, screen and group calls
that only become an event) applied set-based, their payloads never leaving the database.

A run claims its messages as :class:`Claim` rows (the few fields that decide how each is
applied, read in the claiming query), not as models: most of a busy store's calls are plain
events, and building a model and decoding a payload for each cost more than storing them.
The events go from the stored calls to the event table in one ``INSERT ... SELECT``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import DataError as DatabaseDataError
from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.db.models.fields.json import KT

from retain.customers.models import EventKind
from retain.customers.services import (
    anonymous_id_owners,
    insert_selected_events,
    resolve_customer_ids,
)
from retain.errors import RetainError
from retain.ingest.message_checks import CHECKS_VERSION, ORDER_COMPLETED, ORDER_REFUNDED
from retain.ingest.models import Message

#: A message's own fault when storing it (kept as its error); anything else is a bug.
APPLY_ERRORS = (RetainError, IntegrityError, DatabaseDataError)
#: The payload's fields a claim reads (``None`` when absent; strings under current checks).
_FIELDS = ("userId", "anonymousId", "previousId", "event", "groupId", "category", "name")


@dataclass(frozen=True, slots=True)
class Claim:
    """A claimed message as the apply run first sees it."""

    pk: int
    message_id: str
    type: str
    checks: int
    user_id: str | None
    anonymous_id: str | None
    previous_id: str | None
    event: str | None
    group_id: str | None
    category: str | None
    name: str | None

    @property
    def plain(self) -> bool:
        """Only becomes an event (not an identify, alias or order)."""
        if self.type == "track":
            return self.event not in (ORDER_COMPLETED, ORDER_REFUNDED)
        return self.type in EventKind.values

    @property
    def checked(self) -> bool:
        """Stored under the door's current checks (else checked again before applying)."""
        return self.checks >= CHECKS_VERSION

    def as_text(self) -> Claim:
        """The claim of a message stored under older checks, whose payload fields may be
        other JSON values: each as text, ``None`` when absent or empty (as the one-by-one
        path reads them)."""
        values = [getattr(self, field) for field in self.__slots__]
        return Claim(*values[:4], *(_text(value) for value in values[4:]))

    def event_name(self) -> str:
        if self.type == "track":
            return str(self.event)
        if self.type == "group":
            return self.group_id or ""
        return " ".join(part for part in (self.category, self.name) if part)


def claims(messages: QuerySet[Message], limit: int | None = None) -> list[Claim]:
    """The :class:`Claim` of each of ``messages`` (in their order, up to ``limit``); with a
    ``select_for_update`` queryset, the claiming query itself."""
    fields = {f"p_{name}": KT(f"payload__{name}") for name in _FIELDS}
    rows = messages.annotate(**fields).values_list(
        "pk", "message_id", "type", "checks", *fields
    )  # fmt: skip
    found = [Claim(*row) for row in (rows if limit is None else rows[:limit])]
    return [claim if claim.checked else claim.as_text() for claim in found]


def apply_plain_events(
    pending: list[Claim],
    applied: list[int],
    failed: dict[int, tuple[str, str]],
    reason: Callable[[Exception], str],
) -> list[Claim]:
    """Apply the plain events, checked under the current checks, of users with nothing else
    in this run, whose ``anonymousId`` (if any) is already theirs: the users resolved
    together (new ones created together), then one insert of the events; the claims left
    for the one-by-one path, in arrival order.

    A user's messages all go one way, so each customer's stay in order. If the users cannot
    be resolved together, every message is left to the one-by-one path; if the insert is
    refused, each event is inserted alone and only those refused fail (with ``reason``).
    """
    linked = {
        key for claim in pending if not (claim.plain and claim.checked)
        for key in (claim.user_id, claim.previous_id)
    }  # fmt: skip
    by_user: dict[str, list[Claim]] = {}
    for claim in pending:
        if claim.plain and claim.checked and claim.user_id and claim.user_id not in linked:
            by_user.setdefault(claim.user_id, []).append(claim)
    if not by_user:
        return pending
    try:
        with transaction.atomic():
            customers = resolve_customer_ids(set(by_user))
    except APPLY_ERRORS:
        return pending
    owners = anonymous_id_owners(
        {claim.anonymous_id for claims in by_user.values() for claim in claims
         if claim.anonymous_id}
    )  # fmt: skip
    rows: dict[int, tuple[Claim, list[Any]]] = {}
    for user_id, claims_of_user in by_user.items():
        customer = customers[user_id]
        if any(c.anonymous_id and owners.get(c.anonymous_id) != customer for c in claims_of_user):
            continue  # a new link: resolve_customer makes it, one message at a time
        for claim in claims_of_user:
            rows[claim.pk] = (claim, [claim.pk, customer, claim.event_name()[:200]])
    try:
        with transaction.atomic():
            _insert_events([row for _, row in rows.values()])
    except APPLY_ERRORS:
        for pk, (claim, row) in rows.items():
            try:
                with transaction.atomic():
                    _insert_events([row])
            except APPLY_ERRORS as error:
                failed[pk] = (claim.message_id, reason(error))
            else:
                applied.append(pk)
    else:
        applied.extend(rows)
    return [claim for claim in pending if claim.pk not in rows]


def _insert_events(rows: list[list[Any]]) -> None:
    """The events of the messages ``rows`` name (``[message key, customer key, name]``),
    read from the stored messages: properties (else traits, else none), time and ids.

    The properties are copied as stored, which is right only because the door refuses a
    call whose ``properties`` or ``traits`` is not an object (``services.message_problems``)
    and only messages under the current checks come this way (:attr:`Claim.checked`); a
    message stored under older checks goes the one-by-one path, which reads them in Python.
    """
    table = Message._meta.db_table
    if connection.vendor == "postgresql":
        rows_of = "json_to_recordset(%s::json) AS r(pk bigint, customer bigint, name text)"
        anonymous, properties, traits = (
            "m.payload->>'anonymousId'", "m.payload->'properties'", "m.payload->'traits'"
        )  # fmt: skip
        empty = ("'null'::jsonb", "'{}'::jsonb")
        document = json.dumps(
            [dict(zip(("pk", "customer", "name"), row, strict=True)) for row in rows]
        )
    else:
        rows_of = (
            "(SELECT json_extract(value, '$[0]') AS pk, json_extract(value, '$[1]') AS customer,"
            " json_extract(value, '$[2]') AS name FROM json_each(%s)) AS r"
        )
        anonymous, properties, traits = (
            "json_extract(m.payload, '$.anonymousId')", "json_extract(m.payload, '$.properties')",
            "json_extract(m.payload, '$.traits')",
        )  # fmt: skip
        empty = ("'null'", "'{}'")  # json_extract gives SQL NULL for null; '{}' for {}
        document = json.dumps(rows)
    given = [f"NULLIF(NULLIF({value}, {empty[0]}), {empty[1]})" for value in (properties, traits)]
    insert_selected_events(
        f"SELECT r.customer, COALESCE({anonymous}, ''), m.type, r.name, "
        f"COALESCE({given[0]}, {given[1]}, {empty[1]}), m.timestamp, m.message_id "
        f"FROM {rows_of} JOIN {table} AS m ON m.id = r.pk WHERE m.id IS NOT NULL",
        [document],
    )


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)
