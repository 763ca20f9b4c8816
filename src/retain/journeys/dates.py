"""Date triggers: a customer's birthday, the anniversary of their first order, and N days
after their first order or sign-up, each at a local time of day in the customer's own time
zone (their ``timezone`` trait, else the shop's ``RETAIN_TIME_ZONE``).

The store gives the candidates whose date falls within a day either side of today (a
customer in Auckland and one in Honolulu live on different days); the local check here
decides. A birthday on 29 February comes on 28 February in other years. The entry key
(``birthday:2026``, ``after_first_order:30``) makes each occasion enter a customer once.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from retain.customers.feeds import DatedCustomer, dated_customers
from retain.journeys.documents import DateTrigger

#: Where each trigger's date is kept, and whether it comes round every year.
_SOURCES = {
    "birthday": ("birthday", True),
    "first_order_anniversary": ("first_order", True),
    "after_first_order": ("first_order", False),
    "after_signup": ("signup", False),
}


@dataclass(frozen=True)
class Occasion:
    """A customer whose date has come, local time of day passed: what enters them."""

    customer_id: int
    entry_key: str
    properties: dict[str, int]
    local_day: dt.date


def occasions(
    trigger: DateTrigger,
    *,
    now: dt.datetime,
    shop_zone: str,
    find: Callable[..., list[DatedCustomer]] = dated_customers,
) -> list[Occasion]:
    """The customers whose occasion is today in their zone, at or after ``trigger.at``;
    ``find`` gives the candidates (``dated_customers``'s arguments: the simulator answers
    from memory)."""
    source, yearly = _SOURCES[trigger.date]
    today = now.astimezone(dt.UTC).date()
    around = [today + dt.timedelta(days=shift) for shift in (-1, 0, 1)]
    found: list[Occasion] = []
    for offset in trigger.days or (0,):
        days = [day - dt.timedelta(days=offset) for day in around]
        for candidate in find(source, days, yearly=yearly):
            occasion = _occasion(trigger, candidate, offset, now=now, shop_zone=shop_zone)
            if occasion is not None:
                found.append(occasion)
    return found


def _occasion(
    trigger: DateTrigger, candidate: DatedCustomer, offset: int, *, now: dt.datetime,
    shop_zone: str,
) -> Occasion | None:  # fmt: skip
    zone = _zone(candidate.time_zone, shop_zone)
    local_now = now.astimezone(zone)
    if local_now.time().replace(tzinfo=None) < trigger.at:
        return None
    local_today = local_now.date()
    moment = candidate.moment
    day = moment.astimezone(zone).date() if isinstance(moment, dt.datetime) else moment
    if trigger.date in ("birthday", "first_order_anniversary"):
        if day.year >= local_today.year or not _same_day_of_year(day, local_today):
            return None
        prefix = "birthday" if trigger.date == "birthday" else "anniversary"
        return Occasion(
            candidate.customer_id, f"{prefix}:{local_today.year}",
            {"years": local_today.year - day.year}, local_today,
        )  # fmt: skip
    if day + dt.timedelta(days=offset) != local_today:
        return None
    return Occasion(
        candidate.customer_id, f"{trigger.date}:{offset}", {"days": offset}, local_today
    )


def _same_day_of_year(date: dt.date, today: dt.date) -> bool:
    """Whether ``date`` comes round on ``today`` (29 February on the 28th in other years)."""
    if (date.month, date.day) == (today.month, today.day):
        return True
    leap_day = (date.month, date.day) == (2, 29)
    return leap_day and (today.month, today.day) == (2, 28) and not calendar.isleap(today.year)


def _zone(name: str | None, shop_zone: str) -> ZoneInfo:
    for candidate in (name, shop_zone):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ValueError, KeyError, OSError):
                continue
    return ZoneInfo("UTC")
