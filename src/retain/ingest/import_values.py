"""Converters from a checked file's Arrow columns to the values the store keeps.

Each converter takes one column and returns its values typed for the store and, for each
rule it checks, which rows break it (the checks turn those into problems with an example).
The analytics library has already refused what the analyses cannot use; these add what the
store needs on top: lengths, two-decimal amounts, whole numbers in range, UTC timestamps.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

import pandas as pd
import pyarrow as pa

Mask = list[bool]
Converted = tuple[list[Any], list[tuple[str, Mask]]]  # values, and (rule, bad rows) pairs


def _mask(values: Sequence[Any], bad: Callable[[Any], bool]) -> Mask:
    return [bad(value) for value in values]


def is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _id_text(value: Any) -> str | None:
    if is_missing(value):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def ids(*, max_length: int = 200) -> Callable[[pa.ChunkedArray], Converted]:
    def convert(column: pa.ChunkedArray) -> Converted:
        values = [_id_text(value) for value in column.to_pylist()]
        too_long = _mask(values, lambda v: len(v or "") > max_length)
        missing = _mask(values, lambda v: v is None)
        return values, [("is missing", missing), (f"longer than {max_length} characters", too_long)]

    return convert


def texts(
    *, max_length: int | None = None, default: str = "", normal: Callable[[str], str] = str
) -> Callable[[pa.ChunkedArray], Converted]:
    def convert(column: pa.ChunkedArray) -> Converted:
        values = [default if is_missing(v) else normal(str(v)) for v in column.to_pylist()]
        if max_length is None:
            return values, []
        too_long = _mask(values, lambda v: len(v) > max_length)
        return values, [(f"longer than {max_length} characters", too_long)]

    return convert


def emails(column: pa.ChunkedArray) -> Converted:
    values, problems = texts(max_length=254)(column)
    bad = _mask(values, lambda v: bool(v) and ("@" not in v.strip("@") or " " in v))
    return values, [*problems, ("not an email address", bad)]


def times(*, required: bool) -> Callable[[pa.ChunkedArray], Converted]:
    """Timezone-aware UTC datetimes (to the microsecond the store keeps)."""

    def convert(column: pa.ChunkedArray) -> Converted:
        parsed = _utc(column)
        missing = parsed.isna().tolist()
        given = column.is_valid().to_pylist()
        values = pa.array(parsed, type=pa.timestamp("us", "UTC")).to_pylist()
        unreadable = [gone and there for gone, there in zip(missing, given, strict=True)]
        problems = [("not an ISO 8601 date or timestamp", unreadable)]
        if required:
            problems.append(("is missing", [not there for there in given]))
        return values, problems

    return convert


def _utc(column: pa.ChunkedArray) -> pd.Series:
    if pa.types.is_timestamp(column.type) or pa.types.is_date(column.type):
        unit = pa.timestamp("us", getattr(column.type, "tz", None))
        series = column.cast(unit, safe=False).to_pandas()
        series = series.dt.tz_localize("UTC") if series.dt.tz is None else series
        return series.dt.tz_convert("UTC")
    text = pd.Series(column.cast(pa.string()).to_pylist(), dtype=object)
    parsed = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")
    return parsed.dt.floor("us")


def dates(column: pa.ChunkedArray) -> Converted:
    values, problems = times(required=False)(column)
    return [None if v is None else v.date() for v in values], problems


def money(*, max_digits: int) -> Callable[[pa.ChunkedArray], Converted]:
    """Exact amounts with two decimals (a float's shortest repr, so 19.99 stays 19.99)."""
    limit = Decimal(10) ** (max_digits - 2)
    cent, slack = Decimal("0.01"), Decimal("0.000001")

    def exact(value: Any) -> Decimal | None:
        if is_missing(value):
            return None
        try:
            number = Decimal(repr(value) if isinstance(value, float) else str(value))
        except InvalidOperation:
            return None
        return number if number.is_finite() else None

    def convert(column: pa.ChunkedArray) -> Converted:
        numbers = [exact(value) for value in column.to_pylist()]
        # Out-of-range numbers are not rounded (quantize would overflow); the check names them.
        rounded = [None if n is None or abs(n) >= limit else n.quantize(cent) for n in numbers]
        pairs = zip(numbers, rounded, strict=True)
        return rounded, [
            ("is missing or not a number", _mask(numbers, lambda n: n is None)),
            ("is negative", _mask(numbers, lambda n: n is not None and n < 0)),
            (
                "has more than 2 decimal places",
                [r is not None and abs(n - r) > slack for n, r in pairs],
            ),
            (f"is {limit:,} or more", _mask(numbers, lambda n: n is not None and abs(n) >= limit)),
        ]

    return convert


def whole_numbers(*, low: int, high: int) -> Callable[[pa.ChunkedArray], Converted]:
    def number(value: Any) -> int | float | None:
        if is_missing(value):
            return None
        try:
            parsed = float(value)
        except (TypeError, ValueError):
            return math.nan
        return int(parsed) if parsed.is_integer() else math.nan

    def convert(column: pa.ChunkedArray) -> Converted:
        values = [number(value) for value in column.to_pylist()]
        bad = _mask(values, lambda v: v is not None and (math.isnan(v) or not low <= v <= high))
        return values, [(f"must be a whole number from {low} to {high}", bad)]

    return convert
