"""Applying accepted tracking calls to the customer store: the ``ingest.apply_messages`` job.

Pending messages in arrival order, lane by lane (:mod:`retain.ingest.lanes`): the plain events
of users with nothing else in a run set-based, every other message in a savepoint of its own,
marked applied in the same transaction as its effects. A message that cannot be applied keeps
its reason, is logged (a warning with its ``messageId``) and waits for ``retain ingest
retry``. A message that needs what has not arrived yet (its anonymousId's customer, a refund's
order) waits for it (:mod:`retain.ingest.waiting`) and is applied when a later one brings it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import DataError as DatabaseDataError
from django.db import connection, transaction
from django.utils import timezone

from retain.customers.models import EventKind, IdentityKind
from retain.customers.queries import orders_by_shop_id
from retain.customers.services import (
    CONSENT_TRAITS,
    find_customer_by_identity,
    identify_customer,
    link_alias,
    record_event,
    record_events,
    record_order,
    refund_order,
    resolve_customer,
    resolve_customers,
)
from retain.errors import DataError, NotFound
from retain.ingest import waiting
from retain.ingest.amounts import number_of, to_cents
from retain.ingest.lanes import lock_anonymous_ids, lock_lanes
from retain.ingest.message_checks import (
    AMOUNT_PROPERTIES,
    CHECKS_VERSION,
    ORDER_COMPLETED,
    ORDER_REFUNDED,
    amount_problems,
)
from retain.ingest.models import Message
from retain.ingest.plain_events import APPLY_ERRORS, Claim, apply_plain_events, claims
from retain.ingest.services import LANES, message_problems
from retain.ingest.waiting import MustWait

if TYPE_CHECKING:
    from retain.customers.models import Customer

logger = logging.getLogger(__name__)
#: Messages applied per job run (one transaction); a full run enqueues the next.
APPLY_BATCH = 2000
#: On SQLite a run holds the file's only write lock for its whole transaction, and the
#: tracking door waits for it (then answers 503: retain.ingest.tracking.DOOR_WAIT_SECONDS):
#: smaller runs keep that wait short.
SQLITE_APPLY_BATCH = 500


def apply_batch() -> int:
    """Messages one run applies on this store (:data:`APPLY_BATCH`, or
    :data:`SQLITE_APPLY_BATCH` on SQLite)."""
    return SQLITE_APPLY_BATCH if connection.vendor == "sqlite" else APPLY_BATCH


#: Reading a stored row fails on values Python cannot hold (a time beyond year 9999).
_READ_ERRORS = (DatabaseDataError, ValueError, OverflowError)


@dataclass(frozen=True)
class ApplyResult:
    """What one run of :func:`apply_pending_messages` did: messages claimed, applied, failed
    (each failed one keeps its reason in ``Message.error``), set waiting, and woken."""

    claimed: int
    applied: int
    failed: int
    waiting: int = 0
    woken: int = 0
    #: The lane was being applied by another transaction; nothing was claimed.
    busy: bool = False

    def __add__(self, other: ApplyResult) -> ApplyResult:
        return ApplyResult(*(getattr(self, f.name) + getattr(other, f.name)
                             for f in fields(self) if f.name != "busy"),
                           busy=self.busy or other.busy)  # fmt: skip

    def retried(self) -> str:
        """What a retry did, in words (the CLI's and the admin's line)."""
        woken = f" (and {self.woken:,} waiting message(s) they resolved)" if self.woken else ""
        waiting = f", {self.waiting:,} waiting" if self.waiting else ""
        return (
            f"{self.claimed:,} failed message(s) retried{woken}: {self.applied:,} applied, "
            f"{self.failed:,} failed again{waiting}"
        )


def apply_pending_messages(
    *, lane: int | None = None, limit: int | None = None, now: dt.datetime | None = None
) -> ApplyResult:
    """Apply up to ``limit`` pending messages of ``lane`` (``None``: of every lane) in arrival
    order.

    A message that is at fault (the door's checks fail on what is stored, a row it cannot be
    read as, a :class:`RetainError` or a database refusal while applying it) is marked failed
    with its reason and logged, and the others go on; any other exception is a bug and fails
    the whole run, which the queue retries. Run inside the job's transaction, so the effects
    and the applied marks commit together. On PostgreSQL the lane is locked for the
    transaction (a lane's run does not wait: ``busy`` when another has it; a run of every lane
    waits for each) and messages are claimed with ``SKIP LOCKED``, so two workers never apply
    the same message nor one customer's messages at once. Waiting messages are not claimed;
    those whose key this run resolved are woken after it (:func:`wake`).
    """
    limit = limit or apply_batch()
    lanes = range(LANES) if lane is None else [lane]
    if not lock_lanes(lanes, wait=lane is None):
        return ApplyResult(claimed=0, applied=0, failed=0, busy=True)
    pending = Message.objects.filter(applied_at__isnull=True, error="", waiting_for="")
    if lane is not None:
        pending = pending.filter(lane=lane)
    pending = pending.select_for_update(skip_locked=True).order_by("id")
    claimed = claims(pending, limit)
    now = now or timezone.now()
    linked: set[str] = set()
    result = _apply(claimed, now=now, linked=linked)
    return result + wake(linked, now=now)


def lanes_left(lanes: Iterable[int]) -> list[int]:
    """The ``lanes`` with messages left to claim (none waiting for a key, none failed)."""
    claimable = Message.objects.filter(applied_at__isnull=True, error="", waiting_for="")
    return [lane for lane in lanes if claimable.filter(lane=lane).exists()]


def wake(keys: set[str], *, now: dt.datetime, sweep: bool = False) -> ApplyResult:
    """Apply the waiting messages whose key resolved: those for ``keys`` (what a run just
    linked or recorded) and, with ``sweep``, every one that resolves; then again for what
    those resolved (a woken order may wake its refund). Leaves the sweep job scheduled
    while anything waits."""
    result = ApplyResult(0, 0, 0)
    if not waiting.anything_waits():
        return result
    if sweep:
        keys = keys | waiting.resolved_keys()
    while keys and (woken := waiting.claim_woken(keys)):
        keys = set()  # only applied messages give keys, so each round applies one at least
        woke = _apply(_claims_of(woken), now=now, linked=keys)
        result += ApplyResult(0, woke.applied, woke.failed, woke.waiting, woken=len(woken))
    waiting.schedule_sweep(now)
    return result


def sweep_waiting(*, now: dt.datetime | None = None) -> ApplyResult:
    """The sweep job's work: wake every waiting message whose key resolves (those the apply
    runs missed: a link committed while another worker decided to wait), then fail those
    past their deadline (counted in ``failed``)."""
    now = now or timezone.now()
    result = wake(set(), now=now, sweep=True)
    return result + ApplyResult(0, 0, waiting.expire(now))


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
    total, linked = ApplyResult(0, 0, 0), set[str]()
    for start in range(0, len(pks), APPLY_BATCH):
        total += _apply(_claims_of(pks[start : start + APPLY_BATCH]), now=now, linked=linked)
    return total + wake(linked, now=now)


def _apply(claimed: list[Claim], *, now: dt.datetime, linked: set[str]) -> ApplyResult:
    """Apply the messages ``claimed`` (in arrival order): the plain events of users who have
    nothing else in this run together (:func:`apply_plain_events`), then every other message
    one by one in arrival order (:func:`_apply_each`), checked again first if stored under
    older checks; add to ``linked`` the keys of waiting messages they may have resolved."""
    failed: dict[int, tuple[str, str]] = {}  # pk -> (messageId, reason)
    waits: dict[int, tuple[str, dt.datetime]] = {}  # pk -> (what it waits for, until when)
    lock_anonymous_ids(
        value for claim in claimed for value in (claim.anonymous_id, claim.previous_id) if value
    )  # fmt: skip
    applied: list[int] = []
    rest = apply_plain_events(claimed, applied, failed, _reason)
    pending = []
    for message in _load([claim.pk for claim in rest], failed):
        if message.checks < CHECKS_VERSION and (problems := _stored_problems(message)):
            field, problem = problems[0]
            failed[message.pk] = (message.message_id, f"DataError: {field}: {problem}")
        else:
            pending.append(message)
    _apply_each(pending, applied, failed, waits, now=now)
    _mark_applied(applied, now)
    waiting.mark_waiting(waits)
    done = set(applied)
    linked.update(key for m in pending if m.pk in done for key in waiting.keys_resolved_by(m))
    one_by_one = {claim.pk for claim in rest}
    linked.update(
        waiting.anonymous_key(claim.anonymous_id) for claim in claimed
        if claim.pk not in one_by_one and claim.pk in done and claim.anonymous_id
    )  # fmt: skip
    for pk, (message_id, reason) in failed.items():
        Message.objects.filter(pk=pk).update(error=reason)
        # One line per message, so a failed event is seen where the worker's output goes.
        logger.warning("tracking message %s not applied: %s", message_id, reason)
    if failed:
        logger.warning("%d of %d tracking messages failed", len(failed), len(claimed))
    return ApplyResult(
        claimed=len(claimed), applied=len(applied), failed=len(failed), waiting=len(waits)
    )


def _claims_of(pks: list[int]) -> list[Claim]:
    return claims(Message.objects.filter(pk__in=pks).order_by("id"))


def _apply_each(
    pending: list[Message],
    applied: list[int],
    failed: dict[int, tuple[str, str]],
    waits: dict[int, tuple[str, dt.datetime]],
    *,
    now: dt.datetime,
) -> None:
    """The per-message path, in arrival order, each in a savepoint: identify, alias and
    orders (:func:`apply_message`), and plain events whose customer one of them may change;
    runs of plain events between them are still inserted together. A message that must wait
    is recorded in ``waits`` (or failed, when it arrived longer ago than it may wait)."""
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
        except APPLY_ERRORS as error:
            failed[message.pk] = (message.message_id, _reason(error))
            continue
        except MustWait as wait:
            if (until := wait.deadline(message)) > now:
                waits[message.pk] = (wait.key, until)
            else:  # received longer ago than it may wait (a late retry, a stale backlog)
                failed[message.pk] = (message.message_id, waiting.expired_reason(wait.key))
            continue
        if plain:
            events.append((message, _event_of(message, customer)))
            if user_id and customer is not None:
                customers[user_id] = customer
        else:
            applied.append(message.pk)
    _record_events(events, applied, failed)


def _mark_applied(pks: list[int], now: dt.datetime) -> None:
    """One ``UPDATE`` for the run's applied messages (on PostgreSQL the keys as one array:
    a list of thousands of placeholders costs more to send than the update to run)."""
    if connection.vendor != "postgresql":
        Message.objects.filter(pk__in=pks).update(applied_at=now)
    elif pks:
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {Message._meta.db_table} SET applied_at = %s WHERE id = ANY(%s)",
                [now, pks],
            )


def _stored_problems(message: Message) -> list[tuple[str, str]]:
    """The door's checks on a stored message (kept before a check existed, or written by
    hand), and a stored time that reads as none (SQLite keeps any text)."""
    if message.timestamp is None:
        return [("timestamp", f"the stored time of {message.message_id!r} is not a time")]
    return message_problems(message.payload)


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
    except APPLY_ERRORS:
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
    except APPLY_ERRORS:
        for message, event in events:
            try:
                with transaction.atomic():
                    record_events([event])
            except APPLY_ERRORS as error:
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
    """Apply one message's effects to the customer store (see ``docs/store.md``).

    :class:`MustWait` when it needs what has not arrived: an identify or an order with only
    an ``anonymousId`` nobody has linked yet, a refund of an unknown order.
    """
    payload = message.payload
    user_id, anonymous_id = _text(payload.get("userId")), _text(payload.get("anonymousId"))
    kind = message.type
    if kind == "identify":
        _identify(message, user_id=user_id, anonymous_id=anonymous_id)
    elif kind == "alias":
        link_alias(previous_id=_text(payload["previousId"]), user_id=user_id)
    elif kind == "track" and payload.get("event") == ORDER_COMPLETED:
        _complete_order(message, user_id=user_id, anonymous_id=anonymous_id)
    elif kind == "track" and payload.get("event") == ORDER_REFUNDED:
        order_id = _order_id(payload.get("properties") or {})
        if not orders_by_shop_id(order_id).exists():
            raise MustWait(waiting.order_key(order_id))
        refund_order(order_id=order_id)
    elif kind in EventKind.values:
        customer = resolve_customer(user_id=user_id, anonymous_id=anonymous_id)
        record_event(**_event_of(message, customer))
    else:
        raise DataError(f"unknown message type {kind!r}", field="type", example=kind)


def _identify(message: Message, *, user_id: str | None, anonymous_id: str | None) -> None:
    """An identify; traits a later call already set are left as they are (one applied late,
    after waiting for its anonymousId, must not undo newer ones)."""
    _must_have_customer(user_id, anonymous_id)
    customer = resolve_customer(user_id=user_id, anonymous_id=anonymous_id)
    if customer is None:
        raise DataError("an identify needs a userId or an anonymousId", field="userId")
    traits = waiting.newer_traits_dropped(
        customer.pk, message.payload.get("traits") or {}, message.timestamp,
        consent=set(CONSENT_TRAITS),
    )  # fmt: skip
    identify_customer(
        user_id=user_id, anonymous_id=anonymous_id, traits=traits, at=message.timestamp
    )


def _must_have_customer(user_id: str | None, anonymous_id: str | None) -> None:
    """:class:`MustWait` for a call with only an ``anonymousId`` nobody has linked yet."""
    if user_id or not anonymous_id:
        return
    if find_customer_by_identity(kind=IdentityKind.ANONYMOUS_ID, value=anonymous_id) is None:
        raise MustWait(waiting.anonymous_key(anonymous_id))


def _complete_order(message: Message, *, user_id: str | None, anonymous_id: str | None) -> None:
    properties = message.payload.get("properties") or {}
    _must_have_customer(user_id, anonymous_id)
    customer = resolve_customer(user_id=user_id, anonymous_id=anonymous_id)
    if customer is None:
        raise DataError("an order needs a userId or an anonymousId", field="userId")
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
    return to_cents(number_of(value))  # type: ignore[arg-type]  # checked just above


def _event_name(payload: dict[str, Any]) -> str:
    if payload["type"] == "track":
        return payload["event"]
    if payload["type"] == "group":
        return str(payload.get("groupId") or "")
    parts = (payload.get("category"), payload.get("name"))
    return " ".join(str(part) for part in parts if part)


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)
