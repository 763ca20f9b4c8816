"""Time as retain takes it: the units customer histories are measured in, and a day given
as an argument (``observation_end``, ``as_of``), shared by stats, analytics, scoring and the
report."""

from __future__ import annotations

import datetime as dt
from typing import Any

from retain.errors import DataError

#: Days in one unit. Months and years are calendar averages, so a summary in months is exact
#: in days and only the unit is averaged.
DAYS_PER_UNIT: dict[str, float] = {"D": 1.0, "W": 7.0, "M": 365.2425 / 12, "Y": 365.2425}


def days_per_unit(time_unit: str) -> float:
    """Days in one ``time_unit`` (``"D"``, ``"W"``, ``"M"`` or ``"Y"``); DataError otherwise."""
    try:
        return DAYS_PER_UNIT[time_unit]
    except (KeyError, TypeError):
        raise DataError(
            f"time_unit must be one of {list(DAYS_PER_UNIT)}, got {time_unit!r}"
        ) from None


def as_date(value: Any, name: str) -> dt.date:
    """``value`` as a day: a date, a datetime (its date), a pandas ``Timestamp`` or text
    starting ``YYYY-MM-DD``; :class:`DataError` naming the argument ``name`` otherwise."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if hasattr(value, "date") and callable(value.date):  # pandas.Timestamp, numpy via pandas
        return value.date()
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            pass
    raise DataError(f"{name} must be a date (or 'YYYY-MM-DD'), got {value!r}")
