"""Converters from a checked file's Arrow columns to the values the store keeps.

Each converter takes one column and returns its values typed for the store and, for each
rule it checks, which rows break it (the checks turn those into problems with an example).
The analytics library has already refused what the analyses cannot use; these add what the
store needs on top: lengths, two-decimal amounts, whole numbers in range, UTC timestamps.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import pandas as pd
import pyarrow as pa

from retain.ingest.amounts import MORE_DECIMALS, NEGATIVE, kept_to_cents, number_of, too_large

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
    """Exact amounts kept to the cent by the rule the tracking door applies too
    (:mod:`retain.ingest.amounts`): float noise is taken as its cent value, any other third
    decimal is refused, never rounded. Each bad row is counted under one rule."""
    limit = Decimal(10) ** (max_digits - 2)
    large = too_large(limit)
    order = ("is missing or not a number", NEGATIVE, MORE_DECIMALS, large)

    def convert(column: pa.ChunkedArray) -> Converted:
        values: list[Decimal | None] = []
        broken: list[str | None] = []
        for value in column.to_pylist():
            number = None if is_missing(value) else number_of(value)
            if number is None:
                values.append(None)
                broken.append(order[0])
                continue
            cents, rule = kept_to_cents(number, limit=limit)
            values.append(cents)
            broken.append(rule)
        if not any(broken):
            return values, [(rule, [False] * len(values)) for rule in order]
        return values, [(rule, [found == rule for found in broken]) for rule in order]

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
