"""Tracking calls that wait for what they need: a call with only an ``anonymousId`` (an
identify, an order) waits until a later call links that id to a customer, and a refund waits
for its order, each for a stated time, instead of being dropped or failing.

A waiting message is unapplied, not failed, with ``waiting_for`` (``anonymous_id:<id>`` or
``order:<id>``) and ``wait_until`` (its receipt plus :data:`ANONYMOUS_WAIT` or
:data:`REFUND_WAIT`). The normal claim skips it; it is woken (claimed again, in arrival order)
when its key resolves: by the apply run that linked the id or recorded the order, and by the
sweep job (:data:`SWEEP_JOB`, every :data:`SWEEP_EVERY` while anything waits, and at once
after an orders file while a refund waits) for what those did not see.
Past its deadline it fails with its reason, for ``retain ingest retry``. The applying itself
is in :mod:`retain.ingest.applying`; this module keeps the keys, the queries and the rules.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.functions import Substr

from retain.customers.queries import linked_anonymous_ids, orders_by_shop_id
from retain.ingest.message_checks import ORDER_COMPLETED, ORDER_REFUNDED
from retain.ingest.models import Message, TraitTimes
from retain.worker.queries import job_waiting
from retain.worker.services import bring_forward, enqueue

logger = logging.getLogger(__name__)
#: How long a call with only an ``anonymousId`` waits for the id to be linked to a customer.
ANONYMOUS_WAIT = dt.timedelta(days=30)
#: How long a refund waits for its order.
REFUND_WAIT = dt.timedelta(days=7)
#: The job that wakes what the apply runs missed and fails what waited too long.
SWEEP_JOB = "ingest.sweep_waiting"
SWEEP_EVERY = dt.timedelta(seconds=60)
ANONYMOUS = "anonymous_id:"
ORDER = "order:"
#: Messages woken per claim (a wake run repeats while keys resolve).
WAKE_BATCH = 500


class MustWait(Exception):
    """Raised while applying a message that needs what has not arrived yet: ``key`` names it."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key

    @property
    def period(self) -> dt.timedelta:
        return REFUND_WAIT if self.key.startswith(ORDER) else ANONYMOUS_WAIT

    def deadline(self, message: Message) -> dt.datetime:
        return message.received_at + self.period


def anonymous_key(anonymous_id: str) -> str:
    return f"{ANONYMOUS}{anonymous_id}"


def order_key(order_id: str) -> str:
    return f"{ORDER}{order_id}"


def expired_reason(key: str) -> str:
    """Why a message that waited for ``key`` until its deadline failed."""
    if key.startswith(ORDER):
        days = REFUND_WAIT.days
        return f"NotFound: no order {key.removeprefix(ORDER)!r} arrived within {days} days"
    return (
        f"NotFound: anonymousId {key.removeprefix(ANONYMOUS)!r} was never linked to a "
        f"customer within {ANONYMOUS_WAIT.days} days"
    )


def keys_resolved_by(message: Message) -> set[str]:
    """The keys an applied message made resolvable: the ``anonymousId`` it linked to a
    ``userId`` (every call but a refund links them; an alias its ``previousId``) and the
    order it recorded."""
    payload: dict[str, Any] = message.payload
    keys = set()
    refund = message.type == "track" and payload.get("event") == ORDER_REFUNDED
    if not refund and payload.get("userId") and (anonymous_id := payload.get("anonymousId")):
        keys.add(anonymous_key(str(anonymous_id)))
    if message.type == "alias" and (previous_id := payload.get("previousId")):
        keys.add(anonymous_key(str(previous_id)))
    if message.type == "track" and payload.get("event") == ORDER_COMPLETED:
        properties = payload.get("properties") or {}
        if order_id := properties.get("order_id") or properties.get("orderId"):
            keys.add(order_key(str(order_id)))
    return keys


def waiting() -> QuerySet[Message]:
    """Every waiting message (served by the partial index ``waiting_idx``)."""
    return Message.objects.filter(applied_at__isnull=True, error="").exclude(waiting_for="")


def anything_waits() -> bool:
    return waiting().exists()


def orders_awaited() -> bool:
    """Whether a refund waits for an order."""
    return waiting().filter(waiting_for__startswith=ORDER).exists()


def sweep_soon() -> None:
    """Have the sweep job run now (after an orders file that may bring awaited orders)."""
    if not bring_forward(SWEEP_JOB):
        enqueue(SWEEP_JOB, unique_key=SWEEP_JOB)


def resolved_keys() -> set[str]:
    """The keys of waiting messages that now resolve: an order with that id exists, or an
    ``anonymous_id`` identity with that value (one query over every waiting message)."""
    orders = orders_by_shop_id(Substr(OuterRef("waiting_for"), len(ORDER) + 1))
    identities = linked_anonymous_ids(Substr(OuterRef("waiting_for"), len(ANONYMOUS) + 1))
    found = (Q(waiting_for__startswith=ORDER) & Exists(orders)) | (
        Q(waiting_for__startswith=ANONYMOUS) & Exists(identities)
    )
    return set(waiting().filter(found).values_list("waiting_for", flat=True).distinct())


def claim_woken(keys: set[str]) -> list[int]:
    """Waiting messages for ``keys``, in arrival order, claimed (``SKIP LOCKED``: a message
    another worker is waking is left to it)."""
    claimed: list[int] = []
    ordered = sorted(keys)
    for start in range(0, len(ordered), WAKE_BATCH):
        chunk = ordered[start : start + WAKE_BATCH]
        claimed += (
            waiting()
            .select_for_update(skip_locked=True)
            .filter(waiting_for__in=chunk)
            .values_list("pk", flat=True)
        )
    return sorted(claimed)


def mark_waiting(waits: dict[int, tuple[str, dt.datetime]]) -> None:
    """Record what each message waits for (``pk -> (key, deadline)``)."""
    for pk, (key, until) in waits.items():
        Message.objects.filter(pk=pk).update(waiting_for=key, wait_until=until)


def expire(now: dt.datetime) -> int:
    """Fail the waiting messages past their deadline, each with its reason and a warning."""
    expired = list(waiting().filter(wait_until__lt=now).values_list("pk", "message_id",
                                                                    "waiting_for"))  # fmt: skip
    for pk, message_id, key in expired:
        reason = expired_reason(key)
        Message.objects.filter(pk=pk).update(error=reason)
        logger.warning("tracking message %s not applied: %s", message_id, reason)
    return len(expired)


def schedule_sweep(now: dt.datetime) -> None:
    """Enqueue the sweep job for :data:`SWEEP_EVERY` from now if anything waits and no
    sweep is due yet."""
    if job_waiting(unique_key=SWEEP_JOB):
        return  # (a running sweep has given up its key, so it schedules its successor)
    if anything_waits():
        enqueue(SWEEP_JOB, unique_key=SWEEP_JOB, run_after=now + SWEEP_EVERY)


#: Traits stamped together: the trait names that set one customer column.
_TRAIT_GROUPS = {
    "name": "name", "firstName": "name", "first_name": "name", "lastName": "name",
    "last_name": "name", "createdAt": "signed_up_at", "created_at": "signed_up_at",
    "signed_up_at": "signed_up_at", "acquisition_channel": "acquisition_channel",
    "acquisitionChannel": "acquisition_channel",
}  # fmt: skip


def newer_traits_dropped(
    customer_pk: int, traits: dict[str, Any], at: dt.datetime, *, consent: set[str]
) -> dict[str, Any]:
    """``traits`` without those a call later than ``at`` already set on the customer (by
    trait group: ``firstName`` and ``name`` both set the name), and the times of the rest
    recorded. Consent traits (``consent``) pass: consent keeps its own times."""
    stamps, _ = TraitTimes.objects.get_or_create(customer_id=customer_pk)
    kept, moment = {}, at.isoformat()
    for name, value in traits.items():
        if name in consent:
            kept[name] = value
            continue
        group = _TRAIT_GROUPS.get(name, name)
        stamped = stamps.times.get(group)
        if stamped is not None and dt.datetime.fromisoformat(stamped) > at:
            continue
        kept[name] = value
        stamps.times[group] = moment
    if kept.keys() - consent:
        stamps.save(update_fields=["times"])
    return kept
