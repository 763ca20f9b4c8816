"""The values a message template reads: a customer's, built from plain mappings by the
caller (:func:`customer_context`), and a sample customer's for checks and previews
(:func:`sample_context`), in the same shape, so a template that renders against the sample
reads only fields a real customer has."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from retain.errors import DataError
from retain.messaging._locales import DEFAULT_LOCALE, message_locale, parse_or_default

#: The parts of a context and the fields of each; ``unsubscribe_url`` and
#: ``preferences_url`` are plain text.
CONTEXT_FIELDS: Mapping[str, tuple[str, ...]] = {
    "customer": ("external_id", "email", "name", "first_name", "traits",
                 "acquisition_channel", "segment", "signed_up_at", "birthday"),
    "scores": ("p_alive", "clv_12m", "value_decile", "churn_risk", "rfm_segment",
               "lifecycle_stage", "next_order_date", "expected_purchases_90d"),
    "event": ("name", "properties", "occurred_at"),
    "order": ("id", "total", "currency", "placed_at", "item_count"),
    "journey": ("key", "name"),
    "shop": ("name", "url", "currency"),
}  # fmt: skip
_URLS = ("unsubscribe_url", "preferences_url")
#: Languages that write the family name first: the first name is the last word.
_FAMILY_NAME_FIRST = frozenset({"vi", "zh", "ja", "ko", "hu"})


def _part(name: str, value: Any) -> dict[str, Any] | None:
    """One part of a context from a mapping (or an object with those attributes): every
    field present (``None`` when not given), nothing else."""
    if value is None:
        return None
    fields = CONTEXT_FIELDS[name]
    if isinstance(value, Mapping):
        unknown = sorted(str(key) for key in value if key not in fields)
        if unknown:
            raise DataError(
                f"{name}: unknown field(s) {', '.join(map(repr, unknown))}; "
                f"{name} has {', '.join(fields)}"
            )
        return {field: value.get(field) for field in fields}
    return {field: getattr(value, field, None) for field in fields}


def first_name_of(name: str | None, locale: str | None = None) -> str | None:
    """The name a message greets a customer by: the first word of their name, or the
    last in languages that write the family name first (Vietnamese: Nguyễn Thị Lan -> Lan)."""
    words = (name or "").split()
    if not words:
        return None
    language = parse_or_default(locale).language
    return words[-1] if language in _FAMILY_NAME_FIRST else words[0]


def customer_context(
    customer: Mapping[str, Any] | Any,
    *,
    scores: Mapping[str, Any] | Any | None = None,
    event: Mapping[str, Any] | Any | None = None,
    order: Mapping[str, Any] | Any | None = None,
    journey: Mapping[str, Any] | Any | None = None,
    shop: Mapping[str, Any] | Any | None = None,
    unsubscribe_url: str | None = None,
    preferences_url: str | None = None,
    locale: str | None = None,
) -> dict[str, Any]:
    """A rendering context for one customer, in the shape of :func:`sample_context`.

    Each part is a mapping with the fields of :data:`CONTEXT_FIELDS` (or an object with
    those attributes); a field not given is ``None``, a part not given is ``None`` (a
    template reading from it fails naming it), and a mapping with another field is refused
    so the caller's shape and the sample's never drift. ``customer.first_name``, when not
    given, is the ``first_name`` or ``firstName`` trait or else read from the name in the
    customer's ``locale`` (:func:`first_name_of`)."""
    person = _part("customer", customer)
    if person is None:
        raise DataError("customer: a message is for a customer; none was given")
    person["traits"] = dict(person["traits"] or {})
    if not person["first_name"]:
        traits = person["traits"]
        given = traits.get("first_name") or traits.get("firstName")
        person["first_name"] = (
            given if isinstance(given, str) and given else first_name_of(person["name"], locale)
        )
    happened = _part("event", event)
    if happened is not None:
        happened["properties"] = dict(happened["properties"] or {})
    context: dict[str, Any] = {
        "customer": person,
        "scores": _part("scores", scores),
        "event": happened,
        "order": _part("order", order),
        "journey": _part("journey", journey),
        "shop": _part("shop", shop),
    }
    for name, url in zip(_URLS, (unsubscribe_url, preferences_url), strict=True):
        if url is not None and not isinstance(url, str):
            raise DataError(f"{name}: expected an address (text), got {type(url).__name__}")
        context[name] = url
    return context


@dataclass(frozen=True)
class _Sample:
    name: str
    email: str
    city: str
    currency: str
    total: Decimal
    clv: float


_SAMPLES = {
    "en": _Sample("Alex Morgan", "alex.morgan@example.com", "Portland", "USD",
                  Decimal("128.40"), 412.75),
    "th": _Sample("สมหญิง ใจดี", "somying.j@example.com", "เชียงใหม่", "THB",
                  Decimal("1234.00"), 8650.0),
    "vi": _Sample("Nguyễn Thị Lan", "lan.nguyen@example.com", "Đà Nẵng", "VND",
                  Decimal("1250000"), 7_800_000.0),
    "el": _Sample("Ελένη Παπαδοπούλου", "eleni.p@example.com", "Θεσσαλονίκη", "EUR",
                  Decimal("86.50"), 310.2),
    "id": _Sample("Siti Rahayu", "siti.rahayu@example.com", "Bandung", "IDR",
                  Decimal("350000"), 2_450_000.0),
}  # fmt: skip


def sample_context(locale: str | None = DEFAULT_LOCALE) -> dict[str, Any]:
    """A realistic customer to check templates and preview messages with: named, scored
    (at risk, in the 8th value decile), with an order and the event that started the
    journey, in the currency and script of ``locale``'s language (English for others).
    Every field is filled, so a template that renders against it uses only fields that
    exist; times are fixed, so a preview is the same every day."""
    tag = message_locale(locale)
    sample = _SAMPLES.get(tag.split("-")[0], _SAMPLES[DEFAULT_LOCALE])
    placed_at = dt.datetime(2024, 3, 9, 14, 5, tzinfo=dt.UTC)
    shop_url = "https://shop.example.com"
    return customer_context(
        {
            "external_id": "C-10042",
            "email": sample.email,
            "name": sample.name,
            "traits": {"plan": "gold", "city": sample.city, "newsletter": True},
            "acquisition_channel": "instagram",
            "segment": "vip",
            "signed_up_at": dt.datetime(2022, 11, 2, 8, 30, tzinfo=dt.UTC),
            "birthday": dt.date(1991, 7, 21),
        },
        scores={
            "p_alive": 0.42,
            "clv_12m": sample.clv,
            "value_decile": 8,
            "churn_risk": "high",
            "rfm_segment": "at risk",
            "lifecycle_stage": "at risk",
            "next_order_date": dt.date(2024, 4, 18),
            "expected_purchases_90d": 0.8,
        },
        event={
            "name": "Order Completed",
            "properties": {
                "order_id": "A-1042",
                "total": str(sample.total),
                "currency": sample.currency,
                "coupon": "WELCOME10",
            },
            "occurred_at": placed_at,
        },
        order={
            "id": "A-1042",
            "total": sample.total,
            "currency": sample.currency,
            "placed_at": placed_at,
            "item_count": 3,
        },
        journey={"key": "win-back", "name": "Win back customers at risk"},
        shop={"name": "Example Shop", "url": shop_url, "currency": sample.currency},
        unsubscribe_url=f"{shop_url}/email/unsubscribe/sample-token",
        preferences_url=f"{shop_url}/email/preferences/sample-token",
        locale=tag,
    )
