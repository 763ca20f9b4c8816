"""Carrying out the engine's actions for a batch of enrolments, in the runner's transaction:
emails rendered and put in the outbox (or recorded as held out, capped or suppressed, with
the reason), traits and tags set. Nothing here talks to the network: the sender does.

One pressure budget holds across every journey: a customer gets at most
``RETAIN_PRESSURE_MESSAGES`` marketing messages in any ``RETAIN_PRESSURE_DAYS`` (3 in 7 by
default); when several compete in one batch the journey with the higher priority goes
first. A marketing message due in the customer's quiet hours (``RETAIN_QUIET_HOURS``, local
time) waits for their end instead of being dropped. Transactional messages are exempt from
both, and from marketing consent, but never sent to an address that bounced.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings

from retain.customers.queries import Contact, contacts
from retain.customers.services import add_tags, remove_tags, set_trait
from retain.journeys.documents import LOCALES, MessageContent
from retain.journeys.engine import (
    Action,
    AddTags,
    CallWebhook,
    Custom,
    Ended,
    RemoveTags,
    SendEmail,
    SetTraits,
)
from retain.messaging.queries import marketing_counts_since
from retain.messaging.rendering import RenderedMessage, customer_context, render_message
from retain.messaging.services import (
    UNSUBSCRIBE_URL_PLACEHOLDER,
    EmailDraft,
    journey_step_payload,
    queue_emails,
    queue_webhook,
)


@dataclass(frozen=True)
class Acting:
    """One enrolment's actions, with what rendering and the budget need to know."""

    enrolment_id: int
    customer_id: int
    journey_key: str
    journey_name: str
    version: int
    priority: int
    entry: dict[str, Any]
    actions: list[Action]


#: Handlers for step kinds other domains register (``documents.register_step``): called
#: with the action and the customer's id, in the runner's transaction.
CUSTOM_ACTIONS: dict[str, Callable[[Custom, int], None]] = {}


def carry_out(batch: list[Acting], *, now: dt.datetime) -> None:
    """Carry out every action of ``batch`` (the enrolments of one runner transaction)."""
    emails = [
        (item, action)
        for item in sorted(batch, key=lambda item: -item.priority)
        for action in item.actions
        if isinstance(action, SendEmail)
    ]
    if emails:
        _queue(emails, now=now)
    for item in batch:
        for action in item.actions:
            _carry_out_other(action, item, now=now)


def _carry_out_other(action: Action, item: Acting, *, now: dt.datetime) -> None:
    if isinstance(action, SendEmail | Ended):
        return  # emails were queued together
    if getattr(action, "held_out", False) and not isinstance(action, CallWebhook):
        return  # a held-out customer gets no trait or tag (a webhook is recorded held out)
    if isinstance(action, SetTraits):
        for name, value in action.traits.items():
            set_trait(item.customer_id, name, value, at=now)
    elif isinstance(action, AddTags):
        add_tags([item.customer_id], action.tags, at=now)
    elif isinstance(action, RemoveTags):
        remove_tags([item.customer_id], action.tags)
    elif isinstance(action, CallWebhook):
        contact = contacts([item.customer_id]).get(item.customer_id)
        if contact is None:
            return  # the customer was erased since
        customer = {"id": contact.external_id, "email": contact.email,
                    "name": contact.profile.get("name", ""),
                    "traits": contact.profile.get("traits") or {}}  # fmt: skip
        queue_webhook(
            key=action.idempotency_key, customer_id=item.customer_id, url=action.url,
            payload=journey_step_payload(
                key=action.idempotency_key, journey=item.journey_key, step=action.step_id,
                occurred_at=now, customer=customer, entry=item.entry, data=dict(action.data),
            ),
            held_out=action.held_out,
            source={"journey": item.journey_key, "version": item.version,
                    "step": action.step_id, "enrolment": item.enrolment_id},
        )  # fmt: skip
    elif isinstance(action, Custom):
        handler = CUSTOM_ACTIONS.get(action.kind)
        if handler is None:
            raise LookupError(f"no handler for the step kind {action.kind!r}")
        handler(action, item.customer_id)


def _queue(emails: list[tuple[Acting, SendEmail]], *, now: dt.datetime) -> None:
    """Queue a batch's emails: held out, suppressed for want of an address or consent,
    capped by the budget, deferred out of quiet hours, or queued."""
    customers = sorted({item.customer_id for item, _ in emails})
    found = contacts(customers)
    window = dt.timedelta(days=settings.RETAIN_PRESSURE_DAYS)
    sent = Counter(marketing_counts_since(customers, since=now - window, until=now))
    drafts = []
    for item, action in emails:
        contact = found.get(item.customer_id)
        if contact is None:
            continue  # the customer was erased since
        drafts.append(_draft(item, action, contact, sent, now=now))
    queue_emails(drafts, now=now)


def _draft(
    item: Acting, action: SendEmail, contact: Contact, sent: Counter[int], *, now: dt.datetime
) -> EmailDraft:
    locale = _locale(contact.locale)
    common: dict[str, Any] = {
        "key": action.idempotency_key, "customer_id": contact.customer_id,
        "to": contact.email, "topic": action.topic or "",
        "transactional": action.transactional, "locale": locale,
        "source": {"journey": item.journey_key, "version": item.version,
                   "step": action.step_id, "enrolment": item.enrolment_id},
    }  # fmt: skip
    marketing = not action.transactional
    why_not = None
    if action.held_out:
        return EmailDraft(**common, subject="", html="", text="", held_out=True)
    if not contact.email:
        why_not = "no email address"
    elif marketing and contact.email_consent is False:
        why_not = "no consent to email"
    elif marketing and sent[contact.customer_id] >= settings.RETAIN_PRESSURE_MESSAGES:
        why_not = (
            f"capped: {settings.RETAIN_PRESSURE_MESSAGES} marketing messages in "
            f"{settings.RETAIN_PRESSURE_DAYS} days"
        )
    if why_not is not None:
        return EmailDraft(**common, subject="", html="", text="", suppressed=why_not)
    if marketing:
        sent[contact.customer_id] += 1
    rendered = render_for(
        contact, action.contents, entry=item.entry, journey_key=item.journey_key,
        journey_name=item.journey_name, marketing=marketing,
    )  # fmt: skip
    send_after = _after_quiet_hours(contact.time_zone, now) if marketing else None
    return EmailDraft(
        **common, subject=rendered.subject, html=rendered.html or "", text=rendered.text,
        send_after=send_after,
    )  # fmt: skip


def render_for(
    contact: Contact,
    contents: Mapping[str, MessageContent],
    *,
    entry: Mapping[str, Any],
    journey_key: str,
    journey_name: str,
    marketing: bool,
) -> RenderedMessage:
    """An email step's contents rendered for one customer, in their language and time zone,
    about what entered them (an order entry gives ``order``)."""
    locale = _locale(contact.locale)
    context = customer_context(
        contact.profile, scores=contact.scores,
        event={"name": entry.get("name"), "properties": entry.get("properties") or {},
               "occurred_at": entry.get("occurred_at")},
        order=_order_of(entry), journey={"key": journey_key, "name": journey_name},
        shop={"name": settings.RETAIN_SHOP_NAME, "url": settings.RETAIN_SHOP_URL,
              "currency": settings.RETAIN_CURRENCY},
        unsubscribe_url=UNSUBSCRIBE_URL_PLACEHOLDER if marketing else None,
        locale=locale,
    )  # fmt: skip
    plain = {name: content.model_dump() for name, content in contents.items()}
    return render_message(plain, context, locale=locale, time_zone=str(_zone(contact.time_zone)))


def _locale(wanted: str | None) -> str:
    """The customer's language among those retain writes in (``th-TH`` is ``th``)."""
    if wanted:
        language = wanted.replace("_", "-").split("-")[0].lower()
        if language in LOCALES:
            return language
    return "en"


def _order_of(entry: dict[str, Any]) -> dict[str, Any] | None:
    """The entry's order, when an order entered the customer."""
    properties = entry.get("properties") or {}
    if "order_id" not in properties:
        return None
    return {"id": properties["order_id"], "total": properties.get("total"),
            "currency": properties.get("currency") or settings.RETAIN_CURRENCY,
            "placed_at": entry.get("occurred_at"),
            "item_count": properties.get("item_count")}  # fmt: skip


def _after_quiet_hours(time_zone: str | None, now: dt.datetime) -> dt.datetime | None:
    """The end of the customer's quiet hours if ``now`` falls in them, else ``None``."""
    start, end = settings.RETAIN_QUIET_HOURS
    if start == end:
        return None
    zone = _zone(time_zone)
    local = now.astimezone(zone)
    hour = local.hour + local.minute / 60
    quiet = (start <= hour or hour < end) if start > end else (start <= hour < end)
    if not quiet:
        return None
    day = local.date() if hour < end else local.date() + dt.timedelta(days=1)
    wall = dt.datetime.combine(day, dt.time(end), tzinfo=zone)
    # A wall time that does not exist (a spring-forward gap) is taken as the instant after.
    return wall.astimezone(dt.UTC)


def _zone(name: str | None) -> ZoneInfo:
    for candidate in (name, settings.RETAIN_TIME_ZONE):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ValueError, KeyError, OSError):
                continue
    return ZoneInfo("UTC")
