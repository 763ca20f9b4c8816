"""The units of time retain measures customer histories in, shared by analytics and stats."""

from __future__ import annotations

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
