"""Amounts as the store keeps them, to the cent: one rule for both doors.

The tracking door (``properties.total`` of an ``Order Completed``) and the file door (an
orders file's ``amount``, a subscriptions file's ``mrr``) read a number with :func:`number_of`
and keep it with :func:`to_cents` after :func:`amount_rule` found nothing wrong, so the same
value is taken, or refused for the same reason, whichever door it comes through.

A value within :data:`FLOAT_NOISE` of a cent value is that cent value: binary floats carry
noise (a spreadsheet's ``19.990000000000002``, ``0.1 + 0.2``), and it is not what the shop
charged. Any other third decimal (``19.999``, ``19.995``) is refused, never rounded: the store
cannot tell a price in tenths of a cent from a wrong column, and rounding would change the
sums silently.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

CENT = Decimal("0.01")
#: A value this close to a cent value is float noise and is taken as that value.
FLOAT_NOISE = Decimal("0.000001")
#: The rules, worded the same at both doors (each door adds the field and an example).
NEGATIVE = "is negative"
MORE_DECIMALS = "has more than 2 decimal places"


def number_of(value: Any) -> Decimal | None:
    """``value`` (a number, or its text) as an exact :class:`Decimal`, or ``None`` when it is
    not a finite number. A float goes through its shortest repr, so ``19.99`` stays ``19.99``."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        number = value
    else:
        text = repr(value) if isinstance(value, float) else str(value).strip()
        try:
            number = Decimal(text)
        except InvalidOperation:
            return None
    return number if number.is_finite() else None


def too_large(limit: Decimal) -> str:
    """The rule an amount of ``limit`` or more breaks (``limit``: the column's bound)."""
    return f"is {limit:,} or more"


def amount_rule(number: Decimal, *, limit: Decimal) -> str | None:
    """The rule ``number`` breaks as an amount the store keeps under ``limit`` (negative,
    more than two decimals beyond float noise, ``limit`` or more once kept to the cent), or
    ``None`` when :func:`to_cents` may keep it."""
    return kept_to_cents(number, limit=limit)[1]


def kept_to_cents(number: Decimal, *, limit: Decimal) -> tuple[Decimal, str | None]:
    """``number`` to the cent and ``None``, or ``number`` as it is and the rule it breaks
    (see :func:`amount_rule`): one pass for a file's column."""
    if number < 0:
        return number, NEGATIVE
    if number >= limit:  # before quantize, which overflows on huge numbers
        return number, too_large(limit)
    cents = number.quantize(CENT)
    if abs(number - cents) > FLOAT_NOISE:
        return number, MORE_DECIMALS
    if cents >= limit:
        return number, too_large(limit)
    return cents, None


def to_cents(number: Decimal) -> Decimal:
    """``number`` to the cent; give it only numbers :func:`amount_rule` found nothing in."""
    return number.quantize(CENT)
