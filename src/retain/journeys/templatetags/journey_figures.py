"""Uplifts as the journey pages write them: signed, in the reader's language (Babel), with
their 95 % interval; an interval that cannot be computed (a group with nobody) shows as not
known."""

from __future__ import annotations

import math

from babel.numbers import format_currency, format_decimal
from django import template
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from retain.journeys.models import JourneyStatus
from retain.journeys.uplift import Interval
from retain.messaging.models import MessageStatus

register = template.Library()
#: Shown for a value not known (as the console's tables print it).
MISSING = "\u2013"
MINUS = "\u2212"


def _locale() -> str:
    return translation.to_locale(translation.get_language() or settings.LANGUAGE_CODE)


def _known(value: float | None) -> bool:
    return value is not None and not math.isnan(value)


@register.filter
def points(value: float | None) -> str:
    """A difference of two rates in percentage points, signed: ``+2.5 pp``."""
    if not _known(value):
        return MISSING
    number = format_decimal(abs(value) * 100, format="#,##0.0", locale=_locale())
    sign = "+" if value > 0 else MINUS if value < 0 else "±"
    return _("%(signed)s pp") % {"signed": f"{sign}{number}"}


@register.filter
def signed_money(value: float | None) -> str:
    """An amount of money with its sign: ``+$1.20``, ``−$0.40``."""
    if not _known(value):
        return MISSING
    amount = format_currency(abs(value), settings.RETAIN_CURRENCY, locale=_locale())
    sign = "+" if value > 0 else MINUS if value < 0 else "±"
    return f"{sign}{amount}"


@register.filter
def points_interval(interval: Interval | None) -> str:
    """``−0.4 pp to +5.1 pp``; not known without a holdout or a treatment."""
    if interval is None or not (_known(interval.low) and _known(interval.high)):
        return MISSING
    return _("%(low)s to %(high)s") % {"low": points(interval.low), "high": points(interval.high)}


@register.filter
def money_interval(interval: Interval | None) -> str:
    if interval is None or not (_known(interval.low) and _known(interval.high)):
        return MISSING
    return _("%(low)s to %(high)s") % {
        "low": signed_money(interval.low),
        "high": signed_money(interval.high),
    }


@register.filter
def known(value: float | None) -> bool:
    return _known(value)


@register.filter
def status_label(status: str) -> str:
    """A journey's status in the reader's language (``active``, ``paused``, ``archived``)."""
    try:
        return str(JourneyStatus(status).label)
    except ValueError:
        return status


@register.filter
def message_status(status: str) -> str:
    """A message's status in the reader's language (``sent``, ``held out``, ``suppressed``)."""
    try:
        return str(MessageStatus(status).label)
    except ValueError:
        return status
