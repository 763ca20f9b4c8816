"""Local time for waits: the next moment a customer's wall clock shows a time of day on an
allowed weekday, in their time zone, right across daylight-saving changes.

Two days a year a wall time is not one instant:

- on a spring-forward day a wall time in the gap (03:30 in Athens on the last Sunday of
  March) never happens: it becomes the first instant after it, the moment the clocks jump
  (04:00 local);
- on a fall-back day a wall time in the overlap (01:30 in New York on the first Sunday of
  November) happens twice: it is the first occurrence (01:30 EDT). A local day has one 01:30,
  so once that has passed the next is the following day's.

Instants go in and come out as aware datetimes in UTC; the zone is a ``tzinfo`` (from
:func:`zone_named`). Nothing here reads the clock.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Collection

UTC = dt.UTC
#: The days a search for the next allowed day looks through: a week and the start day again.
_DAYS_SEARCHED = 8


class UnknownTimeZone(ValueError):
    """A time zone name the IANA database does not hold."""


def zone_named(name: str | None) -> dt.tzinfo:
    """The zone an IANA name (``Asia/Bangkok``) names; ``None`` is UTC."""
    if name is None:
        return UTC
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        raise UnknownTimeZone(
            f"unknown time zone {name!r} (expected an IANA name such as Asia/Bangkok)"
        ) from None


def to_instant(wall: dt.datetime, zone: dt.tzinfo) -> dt.datetime:
    """The instant (UTC) at which the clocks of ``zone`` show ``wall`` (naive): the first
    occurrence of an ambiguous wall time, the first valid instant after a nonexistent one."""
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if _wall_at(first, zone) == wall:
        return first
    # In a gap: the two readings of the wall time bracket the jump; find its instant.
    second = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    low, high = min(first, second), max(first, second)
    return _first_instant_after(wall, zone, low, high)


def _wall_at(instant: dt.datetime, zone: dt.tzinfo) -> dt.datetime:
    return instant.astimezone(zone).replace(tzinfo=None, fold=0)


def _first_instant_after(
    wall: dt.datetime, zone: dt.tzinfo, low: dt.datetime, high: dt.datetime
) -> dt.datetime:
    """The earliest whole second in ``(low, high]`` whose wall time is later than ``wall``
    (zone transitions fall on whole seconds)."""
    below, above = 0, int((high - low).total_seconds())
    while above - below > 1:
        middle = (below + above) // 2
        if _wall_at(low + dt.timedelta(seconds=middle), zone) > wall:
            above = middle
        else:
            below = middle
    return low + dt.timedelta(seconds=above)


def next_allowed(
    start: dt.datetime,
    zone: dt.tzinfo,
    *,
    at: dt.time | None = None,
    weekdays: Collection[int] | None = None,
) -> dt.datetime:
    """The first instant at or after ``start`` whose local time in ``zone`` is ``at`` on one
    of ``weekdays`` (Monday 0 to Sunday 6; ``None``: any day).

    Without ``at`` the local time of day of ``start`` is kept and only the day moves: a wait
    that ends on a Saturday at 14:30 with weekdays Monday to Friday ends on Monday at 14:30.
    """
    if start.tzinfo is None:
        raise ValueError("start must be an aware datetime")
    if weekdays is not None and not weekdays:
        raise ValueError("weekdays needs at least one day")
    start = start.astimezone(UTC)
    local = start.astimezone(zone)
    for offset in range(_DAYS_SEARCHED):
        day = local.date() + dt.timedelta(days=offset)
        if weekdays is not None and day.weekday() not in weekdays:
            continue
        if at is None:
            if offset == 0:
                return start
            candidate = to_instant(dt.datetime.combine(day, local.time()), zone)
        else:
            candidate = to_instant(dt.datetime.combine(day, at.replace(tzinfo=None)), zone)
        if candidate >= start:
            return candidate
    raise AssertionError("a week always holds an allowed day")  # pragma: no cover
