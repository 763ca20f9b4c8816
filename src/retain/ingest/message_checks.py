"""What a tracking message must be for every later step to store and use it.

The door (:func:`retain.ingest.services.check_messages`) refuses a message these checks find
fault with, and applying runs them again on what is stored (a message kept before a check
existed is marked failed with the same reason instead of stopping the queue). The limits are
the store's own, the constants its columns are declared with, so the door and the database
never disagree (SQLite enforces none of them; PostgreSQL refuses a too-long id with "value too
long").
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal, InvalidOperation
from typing import Any

from retain.customers.models import AMOUNT_DIGITS, AMOUNT_PLACES, EMAIL_LENGTH, ID_LENGTH
from retain.ingest.amounts import MORE_DECIMALS, NEGATIVE, amount_rule, number_of
from retain.ingest.models import Message

#: The version of these checks and of the door's (``services.message_problems``): raise it
#: when a check is added or tightened, so applying checks again what was stored before.
CHECKS_VERSION = 1
#: The longest id of each kind, as the store keeps it.
MESSAGE_ID_LENGTH: int = Message._meta.get_field("message_id").max_length  # type: ignore[assignment]
USER_ID_LENGTH = ID_LENGTH
ANONYMOUS_ID_LENGTH = min(ID_LENGTH, EMAIL_LENGTH)  # kept on events and as an identity's value
ORDER_ID_LENGTH = ID_LENGTH
#: Amounts the store keeps: ``DecimalField(max_digits=14, decimal_places=2)``, under 10^12
#: (the analytics' ``MAX_AMOUNT`` is the same bound).
MAX_AMOUNT = Decimal(10) ** (AMOUNT_DIGITS - AMOUNT_PLACES)
#: The deepest nesting of objects and lists in a message (the message itself is level 1).
MAX_DEPTH = 32
#: The properties an order's amount is read from, first present wins.
AMOUNT_PROPERTIES = ("total", "revenue", "value")
ORDER_COMPLETED = "Order Completed"
ORDER_REFUNDED = "Order Refunded"
#: Traits kept as a date or a time on the customer.
TIME_TRAITS = ("createdAt", "created_at", "signed_up_at")

_ID_LENGTHS = {
    "userId": USER_ID_LENGTH,
    "previousId": USER_ID_LENGTH,
    "anonymousId": ANONYMOUS_ID_LENGTH,
    "groupId": USER_ID_LENGTH,
}

Problem = tuple[str, str]


def value_problems(message: Any) -> list[Problem]:
    """What in ``message`` (a JSON object as parsed) no step after the door can store or use:
    over-long ids, NaN or infinite numbers, lone surrogates or NUL characters in any string or
    key, nesting deeper than :data:`MAX_DEPTH`, an order's missing, negative or oversized
    amount, times out of years 1-9999. Each problem is ``(field, what is wrong)``."""
    if not isinstance(message, dict):
        return []
    found = [] if _sound(message, 1) else _walk(message, "", 1)
    if found:  # the specific checks below read the values; they need sound ones
        return found
    for field, limit in _ID_LENGTHS.items():
        value = message.get(field)
        if value is not None and len(str(value)) > limit:
            found.append((field, f"{field} is longer than {limit} characters"))
    properties = message.get("properties")
    properties = properties if isinstance(properties, dict) else {}
    if message.get("type") == "track" and message.get("event") in (ORDER_COMPLETED, ORDER_REFUNDED):
        found += _order_id_problems(properties)
    if message.get("type") == "track" and message.get("event") == ORDER_COMPLETED:
        found += amount_problems(properties)
    traits = message.get("traits")
    if message.get("type") == "identify" and isinstance(traits, dict):
        found += _trait_problems(traits)
    return found


def amount_problems(properties: dict[str, Any]) -> list[Problem]:
    """An order's amount: present, a finite number, and one the store keeps by the rule of
    both doors (:mod:`retain.ingest.amounts`): at least 0, at most two decimals beyond float
    noise, under :data:`MAX_AMOUNT` once kept to the cent."""
    name = next((n for n in AMOUNT_PROPERTIES if properties.get(n) is not None), None)
    if name is None:
        return [("properties.total", "an order needs properties.total (or revenue)")]
    field, value = f"properties.{name}", properties[name]
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return [(field, f"{field} must be a number, got {value!r}")]
    amount = number_of(value)
    if amount is None:
        try:
            Decimal(str(value).strip())
        except InvalidOperation:
            return [(field, f"{field} is not a number: {value!r}")]
        return [(field, f"{field} must be a finite number, got {value!r}")]
    rule = amount_rule(amount, limit=MAX_AMOUNT)
    if rule == NEGATIVE:
        return [(field, f"{field} is negative ({value}); send a refund as Order Refunded")]
    if rule == MORE_DECIMALS:
        return [(field, f"{field} {rule} ({value}); amounts are kept to the cent, not rounded")]
    if rule is not None:
        return [(field, f"{field} {rule} ({value}); no order is that large")]
    return []


def time_problem(moment: dt.datetime, field: str) -> str | None:
    """Why ``moment`` cannot be stored (its UTC time falls outside years 1-9999), or ``None``."""
    try:
        moment.astimezone(dt.UTC)
    except OverflowError:
        return f"{field} falls outside years 1-9999 once converted to UTC"
    return None


def parse_time(value: str) -> dt.datetime | None:
    """An ISO 8601 time (UTC when it names no offset), or ``None`` if it is not one."""
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _order_id_problems(properties: dict[str, Any]) -> list[Problem]:
    order_id = properties.get("order_id") or properties.get("orderId")
    if order_id is None or order_id == "":
        return [("properties.order_id", "an order needs properties.order_id")]
    if isinstance(order_id, bool) or not isinstance(order_id, str | int):
        return [("properties.order_id", "properties.order_id must be a string")]
    if len(str(order_id)) > ORDER_ID_LENGTH:
        return [("properties.order_id",
                 f"properties.order_id is longer than {ORDER_ID_LENGTH} characters")]  # fmt: skip
    return []


def _trait_problems(traits: dict[str, Any]) -> list[Problem]:
    found = []
    email = traits.get("email")
    if email is not None and len(str(email).strip()) > EMAIL_LENGTH:
        found.append(("traits.email", f"traits.email is longer than {EMAIL_LENGTH} characters"))
    for name in TIME_TRAITS:
        value = traits.get(name)
        if value is None:
            continue
        moment = parse_time(value) if isinstance(value, str) else None
        if moment is None:
            found.append((f"traits.{name}", f"traits.{name} is not an ISO 8601 time"))
        elif problem := time_problem(moment, f"traits.{name}"):
            found.append((f"traits.{name}", problem))
    return found


def _sound(value: Any, depth: int) -> bool:
    """A quick pass of :func:`_walk` that builds no field names (the door's time goes here)."""
    if isinstance(value, str):
        return "\x00" not in value and (value.isascii() or _encodes(value))
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return depth <= MAX_DEPTH and all(
            _sound(key, depth) and _sound(item, depth + 1) for key, item in value.items()
        )
    if isinstance(value, list):
        return depth <= MAX_DEPTH and all(_sound(item, depth + 1) for item in value)
    return True


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _walk(value: Any, path: str, depth: int) -> list[Problem]:
    """Problems of any value at any depth: NaN/Infinity, bad strings, too deep."""
    if isinstance(value, str):
        problem = _string_problem(value)
        return [(path or "(message)", f"{path or 'a value'} {problem}")] if problem else []
    if isinstance(value, float) and not math.isfinite(value):
        return [(path, f"{path} is {value}; JSON numbers must be finite")]
    if not isinstance(value, dict | list):
        return []
    if depth > MAX_DEPTH:
        return [(path, f"{path} is nested deeper than {MAX_DEPTH} levels")]
    items = (
        value.items() if isinstance(value, dict) else ((f"[{i}]", v) for i, v in enumerate(value))
    )
    for key, item in items:
        key_problem = _string_problem(key) if isinstance(value, dict) else None
        name = f"{path}.{key}" if isinstance(value, dict) and path else f"{path}{key}"
        if key_problem:
            return [(path or "(message)", f"a key in {path or 'the message'} {key_problem}")]
        found = _walk(item, name, depth + 1)
        if found:
            return found  # the first problem is enough to refuse the message
    return []


def _string_problem(text: str) -> str | None:
    if "\x00" in text:
        return "contains a NUL character (\\u0000)"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone surrogate (not valid Unicode)"
    return None
