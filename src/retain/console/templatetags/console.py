"""Numbers, money and times in the reader's own language (Babel's locale data)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from babel.dates import format_timedelta
from babel.numbers import format_currency, format_decimal, format_percent
from django import template
from django.conf import settings
from django.utils import timezone, translation

register = template.Library()
#: Shown for a value not known (an en dash, as tables print it).
MISSING = "\u2013"


def _locale() -> str:
    return translation.to_locale(translation.get_language() or settings.LANGUAGE_CODE)


@register.filter
def number(value: float | int | Decimal | None, digits: int = 0) -> str:
    """``1234567`` as ``1,234,567`` (English), ``1.234.567`` (Greek, Indonesian, Vietnamese)."""
    if value is None:
        return MISSING
    pattern = "#,##0" + ("." + "0" * int(digits) if int(digits) > 0 else "")
    return format_decimal(value, format=pattern, locale=_locale())


@register.filter
def money(value: float | Decimal | None, currency: str = "") -> str:
    """An amount in the shop's currency (``RETAIN_CURRENCY``), as the reader writes money."""
    if value is None:
        return MISSING
    return format_currency(value, currency or settings.RETAIN_CURRENCY, locale=_locale())


@register.filter
def percent(value: float | None) -> str:
    if value is None:
        return MISSING
    return format_percent(value, locale=_locale())


@register.filter
def ago(moment: dt.datetime | None) -> str:
    """How long ago, in words of the reader's language (``3 minutes``)."""
    if moment is None:
        return MISSING
    return format_timedelta(timezone.now() - moment, locale=_locale())


@register.filter
def seconds(value: float | None) -> str:
    if value is None:
        return MISSING
    return format_timedelta(dt.timedelta(seconds=value), locale=_locale())
