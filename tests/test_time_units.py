"""A day given as an argument: every kind of date the analyses accept, and a clear refusal."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from retain.errors import DataError
from retain.time_units import as_date


@pytest.mark.parametrize(
    "value",
    [dt.date(2024, 3, 1), dt.datetime(2024, 3, 1, 23, 59), pd.Timestamp("2024-03-01 08:00"),
     "2024-03-01", "2024-03-01T08:00:00+02:00"],
    ids=["date", "datetime", "timestamp", "text", "text with a time"],
)  # fmt: skip
def test_a_day_is_read_from_every_kind(value: object) -> None:
    assert as_date(value, "as_of") == dt.date(2024, 3, 1)


@pytest.mark.parametrize("value", ["March 1st", 20240301, None])
def test_anything_else_is_refused_naming_the_argument(value: object) -> None:
    with pytest.raises(DataError, match=r"^observation_end must be a date \(or 'YYYY-MM-DD'\)"):
        as_date(value, "observation_end")
