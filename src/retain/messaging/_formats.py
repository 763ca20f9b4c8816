"""Money, numbers and times as the reader of a message writes them (Babel's CLDR data).

These are plain functions with the locale and time zone passed in; ``_sandbox`` makes them
the templates' filters. They take the values a context really holds (``Decimal`` amounts
from the store, floats from the scores, ISO strings from an event's properties) and refuse
anything else with a :class:`FormatProblem` that says what they got, because an email that
prints ``None`` or ``[1, 2]`` where money belongs is worse than one not sent.

``None`` (a value the store does not have, such as a customer's birthday) formats as an
empty string, as Jinja prints it (``_sandbox`` prints ``None`` as nothing too).
"""

from __future__ import annotations

import copy
import datetime as dt
import math
from decimal import Decimal, InvalidOperation
from typing import Any

from babel import Locale
from babel.dates import format_date as babel_format_date
from babel.dates import format_datetime as babel_format_datetime
from babel.numbers import format_currency, format_decimal, is_currency
from babel.numbers import format_percent as babel_format_percent

#: The named lengths of a date or time; anything else is a CLDR pattern (``d MMM y``).
NAMED_FORMATS = ("short", "medium", "long", "full")
#: More decimals than this is a mistake in a template, not a wish.
MAX_DIGITS = 10
_UTC = dt.UTC


class FormatProblem(ValueError):
    """A value a filter cannot format; ``_sandbox``'s caller adds where in the template."""


def describe(value: Any) -> str:
    """A value as a template author would recognise it: ``'abc' (text)``, ``a list``."""
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"{shown!r} (text)"
    if isinstance(value, bool):
        return f"{'true' if value else 'false'} (a yes/no value)"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict) or hasattr(value, "keys"):
        return "a mapping"
    return f"{type(value).__name__} {value!r}"[:60]


def as_decimal(value: Any, *, filter_name: str) -> Decimal | None:
    """A number from what a context holds: ``Decimal``, ``int``, ``float`` or a numeric
    string (``"1234.50"``); ``None`` stays ``None``. Booleans, NaN, infinities and text
    that is not a number are refused."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise FormatProblem(f"{filter_name}: expected a number, got {describe(value)}")
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise FormatProblem(f"{filter_name}: expected a number, got {value}")
        number = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise FormatProblem(
                f"{filter_name}: expected a number, got {describe(value)} "
                f"(write numbers like 1234.50, without separators)"
            ) from None
    else:
        raise FormatProblem(f"{filter_name}: expected a number, got {describe(value)}")
    if not number.is_finite():
        raise FormatProblem(f"{filter_name}: expected a number, got {describe(value)}")
    return number


def _digits(digits: Any, *, filter_name: str) -> int:
    if isinstance(digits, bool) or not isinstance(digits, int) or not 0 <= digits <= MAX_DIGITS:
        raise FormatProblem(
            f"{filter_name}: digits must be a whole number from 0 to {MAX_DIGITS}, "
            f"got {describe(digits)}"
        )
    return digits


def format_money(amount: Any, currency: Any, *, locale: Locale) -> str:
    """``1234.5`` in ``THB`` as ``฿1,234.50`` (th), ``1.234,50 ฿`` (el); the currency's own
    number of decimals (none for ``VND``)."""
    number = as_decimal(amount, filter_name="money")
    if number is None:
        return ""
    code = currency.strip().upper() if isinstance(currency, str) else currency
    if not isinstance(code, str) or not is_currency(code):
        raise FormatProblem(
            f"money: unknown currency {describe(currency)}: give a three-letter ISO 4217 "
            f"code such as THB, VND, EUR or IDR"
        )
    return format_currency(number, code, locale=locale)


def format_number(value: Any, digits: Any = None, *, locale: Locale) -> str:
    """``1234567.891`` as ``1,234,567.891`` (en), ``1.234.567,891`` (vi, el, id); with
    ``digits``, exactly that many decimals."""
    number = as_decimal(value, filter_name="number")
    if number is None:
        return ""
    if digits is None:
        return format_decimal(number, locale=locale)
    pattern = copy.copy(locale.decimal_formats[None])
    count = _digits(digits, filter_name="number")
    pattern.frac_prec = (count, count)
    return format_decimal(number, format=pattern, locale=locale)


def format_percent(value: Any, digits: Any = 0, *, locale: Locale) -> str:
    """A fraction as a percentage in the locale's pattern: ``0.256`` as ``26%``; a
    probability like ``scores.p_alive`` is a fraction already."""
    number = as_decimal(value, filter_name="percent")
    if number is None:
        return ""
    pattern = copy.copy(locale.percent_formats[None])
    count = _digits(digits, filter_name="percent")
    pattern.frac_prec = (count, count)
    return babel_format_percent(number, format=pattern, locale=locale)


def _moment(value: Any, *, filter_name: str) -> dt.date | None:
    """A date or datetime from what a context holds; ISO 8601 text is read (``2024-03-09``,
    ``2024-03-09T14:05:00Z``)."""
    if value is None or isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            if len(text) == 10:
                return dt.date.fromisoformat(text)
            return dt.datetime.fromisoformat(text)
        except ValueError:
            pass
    raise FormatProblem(
        f"{filter_name}: expected a date or a date and time (such as 2024-03-09 or "
        f"2024-03-09T14:05:00Z), got {describe(value)}"
    )


def _in_zone(moment: dt.datetime, zone: dt.tzinfo) -> dt.datetime:
    """A datetime in the reader's zone; a naive one is UTC, as the store keeps times."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_UTC)
    return moment.astimezone(zone)


def _pattern(format: Any, *, filter_name: str) -> str:
    if not isinstance(format, str) or not format.strip():
        raise FormatProblem(
            f"{filter_name}: the format must be one of {', '.join(NAMED_FORMATS)} or a "
            f"pattern such as 'd MMM y', got {describe(format)}"
        )
    return format


def format_date(value: Any, format: Any = "medium", *, locale: Locale, zone: dt.tzinfo) -> str:
    """A day as the locale writes it: ``Mar 9, 2024`` (en), ``9 มี.ค. 2024`` (th). A
    datetime is first moved to the reader's zone, so an order at 23:30 UTC is on the next
    day in Bangkok."""
    moment = _moment(value, filter_name="date")
    if moment is None:
        return ""
    pattern = _pattern(format, filter_name="date")
    if isinstance(moment, dt.datetime):
        moment = _in_zone(moment, zone).date()
    try:
        return babel_format_date(moment, pattern, locale=locale)
    except (ValueError, KeyError) as error:
        raise FormatProblem(f"date: cannot use the format {pattern!r}: {error}") from None


def format_datetime(value: Any, format: Any = "medium", *, locale: Locale, zone: dt.tzinfo) -> str:
    """A moment in the reader's zone as the locale writes it: ``Mar 9, 2024, 9:05:00 PM``."""
    moment = _moment(value, filter_name="datetime")
    if moment is None:
        return ""
    if not isinstance(moment, dt.datetime):
        raise FormatProblem(
            f"datetime: {moment.isoformat()} is a day without a time: use the date filter"
        )
    pattern = _pattern(format, filter_name="datetime")
    try:
        return babel_format_datetime(_in_zone(moment, zone), pattern, locale=locale)
    except (ValueError, KeyError) as error:
        raise FormatProblem(f"datetime: cannot use the format {pattern!r}: {error}") from None
