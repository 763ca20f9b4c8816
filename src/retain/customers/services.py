"""Single-record operations on customers: who someone is, what they ordered, what they did.

Each runs in the caller's transaction and never commits. Every one is idempotent on the
input's own key (the shop's customer id, the order id, the message id), so applying the same
input twice changes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection
from django.utils import timezone

from retain.bulk_sql import insert_rows, keys_by_value
from retain.customers.labels import check_customer_keys, check_tag_names, check_trait
from retain.customers.models import (
    Consent,
    ConsentChannel,
    Customer,
    CustomerTag,
    DomainEvent,
    Event,
    EventKind,
    Identity,
    IdentityKind,
    Order,
)
from retain.errors import Conflict, DataError, NotFound

logger = logging.getLogger(__name__)
ORDER_REFUNDED = "refunded"
#: The domain event recorded when a customer's email changes (``data``: ``from``, ``to``).
EMAIL_CHANGED = "customer.email_changed"
#: Recorded when a customer gets their first email address (the welcome journey's cue).
EMAIL_ADDED = "customer.email_added"


def find_customer_by_identity(*, kind: str, value: str) -> Customer | None:
    """The customer known under ``kind:value`` (a user id, an anonymous id, an email)."""
    if kind == IdentityKind.USER_ID:
        found = Customer.objects.filter(external_id=value).first()
        if found is not None:
            return found
    identity = Identity.objects.select_related("customer").filter(kind=kind, value=value).first()
    return identity.customer if identity is not None else None


def get_or_create_customer(*, external_id: str) -> Customer:
    """The customer with the shop's id ``external_id``, created (with its identity) if new."""
    customer, created = Customer.objects.get_or_create(external_id=external_id)
    if created:
        Identity.objects.get_or_create(
            kind=IdentityKind.USER_ID, value=external_id, defaults={"customer": customer}
        )
    return customer


def resolve_customers(user_ids: set[str]) -> dict[str, Customer]:
    """:func:`resolve_customer` for many user ids at once, in a fixed number of queries: the
    customer each id's identity names, else the one with that shop id, else a new one."""
    found = {
        identity.value: identity.customer
        for identity in Identity.objects.select_related("customer").filter(
            kind=IdentityKind.USER_ID, value__in=user_ids
        )
    }
    missing = user_ids - found.keys()
    found |= {c.external_id: c for c in Customer.objects.filter(external_id__in=missing)}
    new = sorted(missing - found.keys())
    if new:
        Customer.objects.bulk_create([Customer(external_id=i) for i in new], ignore_conflicts=True)
        created = list(Customer.objects.filter(external_id__in=new))
        Identity.objects.bulk_create(
            [Identity(customer=c, kind=IdentityKind.USER_ID, value=c.external_id) for c in created],
            ignore_conflicts=True,
        )
        found |= {customer.external_id: customer for customer in created}
    return found


def resolve_customer_ids(user_ids: set[str]) -> dict[str, int]:
    """:func:`resolve_customers` as keys, for set-based writers: three to five statements
    whatever the number of ids, no model built. New customers (with their user id identity)
    are inserted together, skipping any that another transaction created meanwhile."""
    found = _identity_owners(IdentityKind.USER_ID, user_ids)
    if missing := user_ids - found.keys():
        found |= keys_by_value(Customer._meta.db_table, "external_id", "id", missing)
    if new := sorted(user_ids - found.keys()):
        now = timezone.now()
        created = {external_id: pk for pk, external_id in insert_rows(
            Customer._meta.db_table, ["external_id"], ["text"], [(i,) for i in new],
            constants={"email": "''", "name": "''", "acquisition_channel": "''",
                       "segment": "''", "traits": "'{}'"},
            shared={"created_at": now, "updated_at": now},
            conflict="ON CONFLICT (external_id) DO NOTHING", returning="id, external_id",
        )}  # fmt: skip
        if raced := [i for i in new if i not in created]:  # created by another meanwhile
            created |= dict(
                Customer.objects.filter(external_id__in=raced).values_list("external_id", "pk")
            )
        insert_rows(
            Identity._meta.db_table, ["customer_id", "value"], ["bigint", "text"],
            [(pk, user_id) for user_id, pk in created.items()],
            constants={"kind": f"'{IdentityKind.USER_ID}'"}, shared={"created_at": now},
            conflict="ON CONFLICT DO NOTHING",
        )  # fmt: skip
        found |= created
    return found


def anonymous_id_owners(values: set[str]) -> dict[str, int]:
    """The customer (key) each of these anonymous ids is linked to, for those linked."""
    return _identity_owners(IdentityKind.ANONYMOUS_ID, values)


def _identity_owners(kind: str, values: set[str]) -> dict[str, int]:
    return keys_by_value(
        Identity._meta.db_table, "value", "customer_id", values, where="t.kind = %s",
        parameters=[kind],
    )  # fmt: skip


def resolve_customer(*, user_id: str | None, anonymous_id: str | None) -> Customer | None:
    """The customer a call is about: by ``user_id`` (created if new), else the one an
    ``anonymous_id`` was linked to; ``None`` for a visitor nobody has identified yet."""
    if user_id:
        customer = find_customer_by_identity(kind=IdentityKind.USER_ID, value=user_id)
        customer = customer or get_or_create_customer(external_id=user_id)
        if anonymous_id:
            link_identity(customer=customer, kind=IdentityKind.ANONYMOUS_ID, value=anonymous_id)
        return customer
    if anonymous_id:
        return find_customer_by_identity(kind=IdentityKind.ANONYMOUS_ID, value=anonymous_id)
    return None


def link_identity(*, customer: Customer, kind: str, value: str) -> Identity:
    """Record that ``kind:value`` is ``customer``; events recorded under an anonymous id
    before anyone knew whose it was become that customer's.

    :class:`Conflict` if the identity already belongs to another customer (merging two known
    customers is a person's decision, not a side effect of tracking).
    """
    identity, created = Identity.objects.get_or_create(
        kind=kind, value=value, defaults={"customer": customer}
    )
    if identity.customer_id != customer.pk:
        owner = identity.customer.external_id  # the id the user knows, not the row's key
        raise Conflict(
            f"{kind} {value!r} already belongs to customer {owner!r}, not {customer.external_id!r}",
            kind=kind, value=value, customer=owner,
        )  # fmt: skip
    if created and kind == IdentityKind.ANONYMOUS_ID:
        Event.objects.filter(customer__isnull=True, anonymous_id=value).update(customer=customer)
    return identity


#: Traits that are columns of the customer (Segment's reserved trait names first).
_NAME_TRAITS = ("name",)
_CHANNEL_TRAITS = ("acquisition_channel", "acquisitionChannel")
_SIGNUP_TRAITS = ("createdAt", "created_at", "signed_up_at")
#: Consent traits: trait name -> (channel, whether a true value grants consent).
CONSENT_TRAITS = {
    "email_consent": (ConsentChannel.EMAIL, True),
    "emailConsent": (ConsentChannel.EMAIL, True),
    "unsubscribed": (ConsentChannel.EMAIL, False),
    "sms_consent": (ConsentChannel.SMS, True),
    "smsConsent": (ConsentChannel.SMS, True),
    "push_consent": (ConsentChannel.PUSH, True),
    "phone_consent": (ConsentChannel.PHONE, True),
}


def identify_customer(
    *,
    user_id: str | None,
    anonymous_id: str | None = None,
    traits: dict[str, Any] | None = None,
    at: dt.datetime,
) -> Customer | None:
    """Apply an ``identify`` call: the customer (created if new) takes the known traits into
    its columns (email, name, birthday, sign-up time, acquisition channel), consent traits
    into :class:`Consent`, and keeps every trait in ``traits``.

    An anonymous call (no ``user_id``) updates the customer its anonymous id was linked to,
    and does nothing for a visitor nobody has identified yet (returns ``None``).
    """
    traits = traits or {}
    customer = resolve_customer(user_id=user_id, anonymous_id=anonymous_id)
    if customer is None:
        return None
    if (email := traits.get("email")) is not None:
        change_email(customer=customer, email=_email(email), at=at, source="identify")
    if name := _first(traits, _NAME_TRAITS) or _full_name(traits):
        customer.name = str(name)[:200]
    if (birthday := traits.get("birthday")) is not None:
        customer.birthday = _date(birthday, "traits.birthday")
    if (channel := _first(traits, _CHANNEL_TRAITS)) is not None:
        customer.acquisition_channel = str(channel)[:100]
    if (signed_up := _first(traits, _SIGNUP_TRAITS)) is not None:
        customer.signed_up_at = _datetime(signed_up, "traits.createdAt")
    customer.traits = {**customer.traits, **traits}
    customer.save()
    for trait, (channel_name, true_grants) in CONSENT_TRAITS.items():
        if trait in traits:
            granted = _boolean(traits[trait], f"traits.{trait}")
            set_consent(
                customer=customer, channel=channel_name, granted=granted == true_grants,
                source="identify", at=at,
            )  # fmt: skip
    return customer


def change_email(*, customer: Customer, email: str, at: dt.datetime, source: str) -> None:
    """Give ``customer`` the address ``email`` (normalised; ``""`` clears it); the caller saves.

    An address belongs to at most one customer at a time: the one whose current email it is.
    Changing it frees the old address for another customer (its identity goes) and keeps
    the history as a ``customer.email_changed`` domain event (``from``, ``to``, ``source``).
    :class:`Conflict` if another customer's current email is ``email``. An email identity
    left on a customer whose email has since changed (stored before this rule) is released
    to the new holder, recorded on the old one as ``customer.email_changed`` too.
    """
    old = customer.email
    if email:
        holder = Customer.objects.filter(email__iexact=email).exclude(pk=customer.pk).first()
        if holder is not None:
            raise Conflict(
                f"email {email!r} is customer {holder.external_id!r}'s current address, "
                f"not {customer.external_id!r}'s",
                kind=IdentityKind.EMAIL, value=email, customer=holder.external_id,
            )  # fmt: skip
        _release_stale_email(email, claimed_by=customer, at=at, source=source)
        link_identity(customer=customer, kind=IdentityKind.EMAIL, value=email)
    customer.email = email
    if not old and email:  # a first address: the customer can now be written to
        DomainEvent.objects.create(
            name=EMAIL_ADDED, customer=customer, occurred_at=at,
            data={"to": email, "source": source},
        )  # fmt: skip
    if not old or old.lower() == email:
        return  # a first address is not a change
    Identity.objects.filter(customer=customer, kind=IdentityKind.EMAIL, value=old.lower()).delete()
    DomainEvent.objects.create(
        name=EMAIL_CHANGED, customer=customer, occurred_at=at,
        data={"from": old, "to": email, "source": source},
    )  # fmt: skip


def _release_stale_email(email: str, *, claimed_by: Customer, at: dt.datetime, source: str) -> None:
    stale = (
        Identity.objects.select_related("customer")
        .filter(kind=IdentityKind.EMAIL, value=email)
        .exclude(customer=claimed_by)
        .first()
    )
    if stale is None:
        return
    DomainEvent.objects.create(
        name=EMAIL_CHANGED, customer=stale.customer, occurred_at=at,
        data={"from": email, "to": stale.customer.email, "source": source,
              "released_to": claimed_by.external_id},
    )  # fmt: skip
    stale.delete()


def set_consent(
    *, customer: Customer, channel: str, granted: bool, source: str, at: dt.datetime
) -> Consent:
    """Record the customer's latest answer on ``channel`` (an older answer never wins)."""
    consent, created = Consent.objects.get_or_create(
        customer=customer, channel=channel,
        defaults={"granted": granted, "source": source, "updated_at": at},
    )  # fmt: skip
    if not created and consent.updated_at <= at:
        consent.granted, consent.source, consent.updated_at = granted, source, at
        consent.save(update_fields=["granted", "source", "updated_at"])
    return consent


def record_order(
    *,
    customer: Customer,
    order_id: str,
    ordered_at: dt.datetime,
    amount: Decimal,
    currency: str = "",
    channel: str = "",
) -> Order:
    """A tracked ``Order Completed``: the order ``order_id``, created if the store does not
    know it. A stored order keeps its fields and status (the one rule for both doors,
    docs/store.md "One order, two doors"): a shop's file states an order's fields, a tracked
    event only fills in an order no one stated yet, and a refund is never undone. Stated
    again with another amount or currency, the order is kept as stored and a warning says so.

    :class:`Conflict` when the order is another customer's (both customers named).
    """
    currency = currency.upper()[:3]
    order, created = Order.objects.get_or_create(
        external_id=order_id,
        defaults={
            "customer": customer, "ordered_at": ordered_at, "amount": amount,
            "currency": currency, "channel": channel[:100],
        },
    )  # fmt: skip
    if order.customer_id != customer.pk:
        owner = order.customer.external_id  # the id the user knows, not the row's key
        raise Conflict(
            f"order {order_id!r} belongs to customer {owner!r}, not {customer.external_id!r}",
            order_id=order_id, customer=owner, given_customer=customer.external_id,
        )  # fmt: skip
    if not created and (order.amount, order.currency) != (amount, currency or order.currency):
        logger.warning(
            "order %r is stored with amount %s %s; a tracked Order Completed states %s %s: "
            "the stored order is kept (a file corrects an order, tracking does not)",
            order_id, order.amount, order.currency, amount, currency,
        )  # fmt: skip
    return order


def refund_order(*, order_id: str) -> Order:
    """Mark the order refunded; :class:`NotFound` if it is not known. A refund is a fact of
    its own: stating the order again, by tracking or in a file, never undoes it."""
    order = Order.objects.filter(external_id=order_id).first()
    if order is None:
        raise NotFound(f"no order {order_id!r} to refund", order_id=order_id)
    if order.status != ORDER_REFUNDED:
        order.status = ORDER_REFUNDED
        order.save(update_fields=["status"])
    return order


def record_event(
    *,
    customer: Customer | None,
    kind: str,
    name: str,
    occurred_at: dt.datetime,
    message_id: str,
    anonymous_id: str = "",
    properties: dict[str, Any] | None = None,
) -> Event:
    """A behavioural event, recorded once per ``message_id``."""
    if kind not in EventKind.values:
        raise DataError(f"event kind must be one of {', '.join(EventKind.values)}", kind=kind)
    event, _ = Event.objects.get_or_create(
        message_id=message_id,
        defaults={
            "customer": customer, "kind": kind, "name": name[:200],
            "anonymous_id": anonymous_id[:200], "properties": properties or {},
            "occurred_at": occurred_at,
        },
    )  # fmt: skip
    return event


def record_events(events: list[dict[str, Any]]) -> None:
    """Many behavioural events in one insert (each a dict of :func:`record_event`'s
    arguments); one whose ``message_id`` is already recorded is skipped."""
    Event.objects.bulk_create(
        [
            Event(
                customer=event["customer"], kind=event["kind"], name=event["name"][:200],
                anonymous_id=(event.get("anonymous_id") or "")[:200],
                properties=event.get("properties") or {}, occurred_at=event["occurred_at"],
                message_id=event["message_id"],
            )
            for event in events
        ],
        ignore_conflicts=True,
    )  # fmt: skip


#: The columns of an event row, as :func:`insert_events` takes them.
EVENT_COLUMNS = (
    "customer_id", "anonymous_id", "kind", "name", "properties", "occurred_at", "message_id"
)  # fmt: skip


def insert_events(rows: list[tuple[int | None, str, str, str, dict[str, Any], dt.datetime, str]]
                  ) -> None:  # fmt: skip
    """:func:`record_events` in one statement for the hot path of applying tracking calls:
    rows of (customer key, anonymous id, kind, name, properties, occurred at, message id),
    already checked; one whose message id is recorded is skipped. No model is built."""
    insert_rows(
        Event._meta.db_table,
        EVENT_COLUMNS,
        ["bigint", "text", "text", "text", "jsonb", "timestamptz", "text"],
        [(customer, anonymous_id[:200], kind, name[:200], properties, at, message_id)
         for customer, anonymous_id, kind, name, properties, at, message_id in rows],
        conflict="ON CONFLICT (message_id) DO NOTHING",
    )  # fmt: skip


def insert_selected_events(select: str, parameters: Sequence[Any]) -> None:
    """:func:`insert_events` from a ``select`` (with its ``parameters``) that gives the rows'
    columns in that order, for a caller whose events are already in the database (applying
    tracking calls reads them from the calls it stored, never through Python); one whose
    message id is recorded is skipped. ``select`` must end in a ``WHERE`` clause (SQLite
    reads the ``ON`` of a join before ``ON CONFLICT`` otherwise)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Event._meta.db_table} ({', '.join(EVENT_COLUMNS)}) {select} "
            "ON CONFLICT (message_id) DO NOTHING",
            parameters,
        )


def link_alias(*, previous_id: str, user_id: str) -> Customer:
    """Apply an ``alias`` call: ``previous_id`` (an anonymous id, or an old user id) is now
    known as ``user_id``; the customer ``user_id`` is created if new.

    :class:`Conflict` when ``previous_id`` is another known customer (no silent merges).
    """
    customer = get_or_create_customer(external_id=user_id)
    if previous_id == user_id:
        return customer
    other = find_customer_by_identity(kind=IdentityKind.USER_ID, value=previous_id)
    if other is not None and other.pk != customer.pk:
        raise Conflict(
            f"alias: {previous_id!r} and {user_id!r} are two known customers; merge them by hand",
            previous_id=previous_id, user_id=user_id,
        )  # fmt: skip
    link_identity(customer=customer, kind=IdentityKind.ANONYMOUS_ID, value=previous_id)
    return customer


def _first(traits: dict[str, Any], names: tuple[str, ...]) -> Any:
    return next((traits[name] for name in names if traits.get(name) is not None), None)


def _full_name(traits: dict[str, Any]) -> str:
    parts = [traits.get("firstName") or traits.get("first_name"),
             traits.get("lastName") or traits.get("last_name")]  # fmt: skip
    return " ".join(str(part) for part in parts if part)


def _email(value: Any) -> str:
    text = str(value).strip().lower()
    if not text:
        return ""
    try:
        validate_email(text)
    except ValidationError:
        raise DataError("traits.email is not an email address", example=value) from None
    return text


def _date(value: Any, field: str) -> dt.date:
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        raise DataError(f"{field} is not a date (YYYY-MM-DD)", example=value) from None


def _datetime(value: Any, field: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(str(value))
    except ValueError:
        raise DataError(f"{field} is not an ISO 8601 time", example=value) from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    try:  # in UTC: PostgreSQL refuses offsets beyond +-15:59, which ISO 8601 allows
        return moment.astimezone(dt.UTC)
    except OverflowError:
        raise DataError(f"{field} falls outside years 1-9999 in UTC", example=value) from None


def _boolean(value: Any, field: str) -> bool:
    if isinstance(value, bool):
        return value
    if str(value).strip().lower() in ("true", "yes", "1"):
        return True
    if str(value).strip().lower() in ("false", "no", "0"):
        return False
    raise DataError(f"{field} must be true or false", example=value)


# Tags and traits a journey or the operator sets (the rules for names and values:
# retain.customers.labels).

#: The domain event of a tag a customer did not have (``data``: ``tag``).
TAG_ADDED = "tag.added"
#: The domain event of a trait given a new value (``data``: ``trait``, ``from``, ``to``;
#: ``from`` is null for a trait the customer did not have).
TRAIT_CHANGED = "trait.changed"
#: Traits ``identify`` files into the customer's own fields or consents: set as a trait, one
#: would change the copy in ``traits`` only, so :func:`set_trait` refuses them.
IDENTIFY_TRAITS = frozenset(
    {"email", "birthday", "firstName", "first_name", "lastName", "last_name", *_NAME_TRAITS,
     *_CHANNEL_TRAITS, *_SIGNUP_TRAITS, *CONSENT_TRAITS}
)  # fmt: skip


def add_tags(customer_ids: Iterable[int], names: Iterable[str], *, at: dt.datetime) -> int:
    """Give each customer of ``customer_ids`` (keys) each tag of ``names``; a tag a customer
    has already is left as it was. Returns how many tags were added, each recorded as a
    :data:`TAG_ADDED` domain event, so journeys can react to it.

    Set-based for a broadcast's 100,000 customers: the keys and names travel as two JSON
    lists and three statements do the work whatever their number (check the keys, insert the
    tags, insert the events; SQLite inserts the events in chunks of about 11,000): about a
    second for 100,000 on SQLite, three on PostgreSQL. :class:`DataError` naming a bad tag
    name or key, :class:`NotFound` naming a key of no customer (nothing is added then).
    """
    tags, keys = check_tag_names(names), check_customer_keys(customer_ids)
    if not tags or not keys:
        return 0
    ids, listed = _listed("bigint"), _listed("text")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*), MIN(ids.value) FROM {ids} ids WHERE NOT EXISTS "
            f"(SELECT 1 FROM {Customer._meta.db_table} c WHERE c.id = ids.value)",
            [json.dumps(keys)],
        )
        missing, example = cursor.fetchone()
        if missing:
            raise NotFound(
                f"{missing} of the {len(keys)} customer keys given are no customer's, "
                f"e.g. {example}: no tag was added",
                field="customer_ids", bad_rows=missing, example=example,
            )  # fmt: skip
        # SQLite reads an ON after FROM as a join's unless a WHERE comes first.
        cursor.execute(
            f"INSERT INTO {CustomerTag._meta.db_table} (customer_id, name, created_at) "
            f"SELECT ids.value, tags.value, %s FROM {ids} ids, {listed} tags WHERE TRUE "
            "ON CONFLICT (customer_id, name) DO NOTHING RETURNING customer_id, name",
            [connection.ops.adapt_datetimefield_value(at), json.dumps(keys), json.dumps(tags)],
        )
        added = sorted(cursor.fetchall())
    insert_rows(
        DomainEvent._meta.db_table, ["customer_id", "data"], ["bigint", "jsonb"],
        [(customer, {"tag": tag}) for customer, tag in added],
        constants={"name": f"'{TAG_ADDED}'"}, shared={"occurred_at": at},
    )  # fmt: skip
    return len(added)


def remove_tags(customer_ids: Iterable[int], names: Iterable[str]) -> int:
    """Take each tag of ``names`` off each customer of ``customer_ids`` (keys) that has it;
    returns how many were taken off. One statement whatever the number of customers; a key
    of no customer has no tag to take off. :class:`DataError` naming a bad tag name or key
    (a name no tag can have is a mistake worth hearing of, not nothing to do)."""
    tags, keys = check_tag_names(names), check_customer_keys(customer_ids)
    if not tags or not keys:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {CustomerTag._meta.db_table} "
            f"WHERE customer_id IN (SELECT ids.value FROM {_listed('bigint')} ids) "
            f"AND name IN (SELECT tags.value FROM {_listed('text')} tags)",
            [json.dumps(keys), json.dumps(tags)],
        )
        return cursor.rowcount


def set_trait(customer_id: int, name: str, value: Any, *, at: dt.datetime) -> bool:
    """Set the trait ``name`` of the customer with key ``customer_id`` to ``value``, beside
    the traits it has; whether it changed (a :data:`TRAIT_CHANGED` domain event says so).

    The customer's row is locked until the caller's transaction ends (PostgreSQL), so two
    journeys setting two traits at once both keep theirs. :class:`DataError` naming the trait
    for a bad name or value (:func:`retain.customers.labels.check_trait`) or one of
    :data:`IDENTIFY_TRAITS`; :class:`NotFound` for a key of no customer.
    """
    check_customer_keys([customer_id])
    check_trait(name, value)
    if name in IDENTIFY_TRAITS:
        raise DataError(
            f"trait {name!r} refused: identify files it into the customer's own fields or "
            "consent, which a trait set here would not change; pick another name",
            field=f"traits.{name}", example=name,
        )  # fmt: skip
    customer = Customer.objects.select_for_update().filter(pk=customer_id).first()
    if customer is None:
        raise NotFound(f"no customer with key {customer_id!r}", customer=customer_id)
    old = customer.traits.get(name)
    if name in customer.traits and type(old) is type(value) and old == value:
        return False
    customer.traits = {**customer.traits, name: value}
    customer.save(update_fields=["traits", "updated_at"])
    DomainEvent.objects.create(
        name=TRAIT_CHANGED, customer=customer, occurred_at=at,
        data={"trait": name, "from": old, "to": value},
    )  # fmt: skip
    return True


def _listed(kind: str) -> str:
    """A JSON list given as one parameter, as a table of its values (``value``, of the
    PostgreSQL type ``kind``) to alias in a ``FROM``: one short statement for any length."""
    if connection.vendor == "postgresql":
        return f"(SELECT value::{kind} AS value FROM json_array_elements_text(%s::json) AS v)"
    return "json_each(%s)"
