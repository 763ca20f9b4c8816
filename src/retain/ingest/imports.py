"""Bulk imports of the shop's own files: customers, orders, subscriptions, complaints and
survey answers, from CSV or Parquet (a path or an uploaded file).

All of a file is checked before anything is written, with the analytics library's own input
checks (so a file the store accepts is one the analyses accept) plus what the store needs on
top (lengths, two-decimal amounts, keys unique within the file). A bad file raises ONE
:class:`DataError` whose ``details["problems"]`` lists every bad column and rule with the
count of bad rows and an example (``row`` is the data row, 1 for the first one under the
header), and the store is left as it was. A good file is loaded in one atomic block (a
savepoint inside the caller's transaction) by :mod:`retain.customers.bulk`, so importing the
same file again changes nothing.

CSV cells are read as text (``007`` stays ``007``); surrounding spaces are dropped and an
empty cell is missing. Timestamps are ISO 8601; one without an offset is taken as UTC, one
with an offset is converted to UTC. An order's ``status`` is kept whatever it is (refunded
and cancelled orders are data too; the analyses leave them out), lower-cased, ``completed``
when empty. Orders, subscriptions, complaints and answers for a customer id the store does
not know create a bare customer (orders often arrive before the customers file); extra
columns of a customers file are kept in ``traits``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any

import pandas as pd
import pyarrow as pa
from django.db import transaction

from retain.analytics import (
    check_complaints,
    check_customers,
    check_survey_answers,
    completed_orders,
)
from retain.analytics._tables import example_of
from retain.customers import bulk
from retain.errors import DataError, NotFound, describe_example
from retain.io import LINE, ROW, FileOptions, read_file

SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
_PLACES = (LINE, ROW)  # where a row is in the file, carried through the checks into examples

Mask = list[bool]
Converted = tuple[list[Any], list[tuple[str, Mask]]]  # values, and (rule, bad rows) pairs


@dataclass(frozen=True)
class Problem:
    """One rule broken in one column: how many rows and one of them."""

    column: str
    rule: str
    bad_rows: int
    example: dict[str, Any] | None

    def describe(self) -> str:
        where = f", e.g. {describe_example(self.example)}" if self.example else ""
        return f"column {self.column!r}: {self.rule} ({self.bad_rows} row(s){where})"


@dataclass(frozen=True)
class ImportResult:
    """What an import did, counted in rows of its kind (plus bare customers it created)."""

    kind: str
    rows: int
    created: int
    updated: int
    unchanged: int
    customers_created: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- reading ------------------------------------------------------------------------------


def read_import(
    source: str | Path | IO[bytes],
    *,
    name: str | None = None,
    kind: str | None = None,
    options: FileOptions | None = None,
) -> pa.Table:
    """A CSV (every cell as text) or Parquet file as Arrow, through the same reader as the
    analyses (:func:`retain.io.read_file`): text trimmed, empty cells missing, each row with
    its line in the file, times with the shop's offset."""
    return read_file(
        source, name=name, kind=kind, options=options, keep_offsets=True, allow_empty=True
    )


def _located(table: pa.Table) -> pa.Table:
    """A table handed in directly (not read from a file) numbers its rows from 1."""
    if LINE in table.column_names or ROW in table.column_names:
        return table
    return table.append_column(ROW, pa.array(range(1, table.num_rows + 1), pa.int64()))


# -- converting one column ----------------------------------------------------------------


def _mask(values: Sequence[Any], bad: Callable[[Any], bool]) -> Mask:
    return [bad(value) for value in values]


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _id_text(value: Any) -> str | None:
    if _is_missing(value):
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
        values = [default if _is_missing(v) else normal(str(v)) for v in column.to_pylist()]
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
        if _is_missing(value):
            return None
        try:
            number = Decimal(repr(value) if isinstance(value, float) else str(value))
        except InvalidOperation:
            return None
        return number if number.is_finite() else None

    def convert(column: pa.ChunkedArray) -> Converted:
        numbers = [exact(value) for value in column.to_pylist()]
        rounded = [None if n is None else n.quantize(cent) for n in numbers]
        pairs = zip(numbers, rounded, strict=True)
        return rounded, [
            ("is missing or not a number", _mask(numbers, lambda n: n is None)),
            ("is negative", _mask(numbers, lambda n: n is not None and n < 0)),
            (
                "has more than 2 decimal places",
                [n is not None and abs(n - r) > slack for n, r in pairs],
            ),
            (f"is {limit:,} or more", _mask(numbers, lambda n: n is not None and abs(n) >= limit)),
        ]

    return convert


def whole_numbers(*, low: int, high: int) -> Callable[[pa.ChunkedArray], Converted]:
    def number(value: Any) -> int | float | None:
        if _is_missing(value):
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


# -- the kinds ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    name: str  # in the file
    field: str  # in the store
    convert: Callable[[pa.ChunkedArray], Converted]
    required: bool = False


@dataclass(frozen=True)
class Kind:
    columns: tuple[Column, ...]
    upsert: Callable[..., bulk.UpsertCounts]
    #: the library's check, with what stands in for a column it flagged so it can go on
    check: Callable[[pa.Table], Any] | None = None
    stand_in: dict[str, Callable[[int], pa.Array]] | None = None
    unique: tuple[str, ...] = ()  # store fields that together must not repeat in the file
    traits: bool = False  # extra columns go to Customer.traits


def _serial(n: int) -> pa.Array:
    return pa.array([f"_{i}" for i in range(n)])


def _constant(text: str | None) -> Callable[[int], pa.Array]:
    return lambda n: pa.array([text] * n, type=pa.string())


_EPOCH = _constant("1970-01-01")
_CUSTOMER = Column("customer_id", "customer", ids(), required=True)

KINDS: dict[str, Kind] = {
    "customers": Kind(
        columns=(
            Column("customer_id", "external_id", ids(), required=True),
            Column("signed_up_at", "signed_up_at", times(required=False)),
            Column("email", "email", emails),
            Column("name", "name", texts(max_length=200)),
            Column("acquisition_channel", "acquisition_channel", texts(max_length=100)),
            Column("birthday", "birthday", dates),
            Column("segment", "segment", texts(max_length=100)),
        ),
        upsert=bulk.upsert_customers,
        check=check_customers,
        stand_in={
            "customer_id": _serial,
            "signed_up_at": _constant(None),
            "birthday": _constant(None),
        },
        traits=True,
    ),
    "orders": Kind(
        columns=(
            _CUSTOMER,
            Column("order_id", "external_id", ids(), required=True),
            Column("ordered_at", "ordered_at", times(required=True), required=True),
            Column("amount", "amount", money(max_digits=14), required=True),
            Column("currency", "currency", texts(max_length=3, normal=str.upper)),
            Column("channel", "channel", texts(max_length=100)),
            Column("status", "status", texts(max_length=20, default="completed", normal=str.lower)),
        ),
        upsert=bulk.upsert_orders,
        # every order is kept, whatever its status: the checks without the status filter
        check=lambda table: completed_orders(table, status=None, currency=None),
        stand_in={
            "customer_id": _serial,
            "order_id": _serial,
            "ordered_at": _EPOCH,
            "amount": _constant("0"),
        },
    ),
    "subscriptions": Kind(
        columns=(
            _CUSTOMER,
            Column("plan", "plan", ids(max_length=100), required=True),
            Column("started_at", "started_at", times(required=True), required=True),
            Column("ended_at", "ended_at", times(required=False)),
            Column("mrr", "mrr", money(max_digits=12), required=True),
        ),
        upsert=bulk.upsert_subscriptions,
        unique=("customer", "plan", "started_at"),
    ),
    "complaints": Kind(
        columns=(
            _CUSTOMER,
            Column("complaint_id", "external_id", ids(), required=True),
            Column("opened_at", "opened_at", times(required=True), required=True),
            Column("category", "category", texts(max_length=100)),
            Column("severity", "severity", whole_numbers(low=1, high=5)),
            Column("resolved_at", "resolved_at", times(required=False)),
            Column("description", "description", texts()),
        ),
        upsert=bulk.upsert_complaints,
        check=check_complaints,
        stand_in={
            "customer_id": _serial,
            "complaint_id": _serial,
            "opened_at": _EPOCH,
            "resolved_at": _constant(None),
            "severity": _constant(None),
        },
    ),
    "survey-answers": Kind(
        columns=(
            _CUSTOMER,
            Column("survey", "survey", texts(max_length=100, normal=str.lower), required=True),
            Column("answered_at", "answered_at", times(required=True), required=True),
            Column("score", "score", whole_numbers(low=-32768, high=32767), required=True),
            Column("comment", "comment", texts()),
        ),
        upsert=bulk.upsert_survey_answers,
        check=check_survey_answers,
        stand_in={
            "customer_id": _serial,
            "survey": _constant("other"),
            "answered_at": _EPOCH,
            "score": _constant("1"),
        },
        unique=("customer", "survey", "answered_at"),
    ),
}


def kind_of(name: str) -> Kind:
    try:
        return KINDS[name]
    except KeyError:
        raise NotFound(f"unknown import kind {name!r}; use one of {', '.join(KINDS)}") from None


# -- checking a whole file ----------------------------------------------------------------


def _example(table: pa.Table, index: int, column: str | None = None) -> dict[str, Any]:
    """One bad row: its line (or row) in the file, its ids and the bad value."""
    row = table.slice(index, 1).to_pylist()[0]
    example = example_of(row, column) if column else dict(row)
    for place in _PLACES:
        example.pop(place, None)
    return {k: _plain(v) for k, v in example.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _library_problems(kind: Kind, table: pa.Table) -> list[Problem]:
    """Every column the library's check refuses: it stops at the first, so each flagged
    column is replaced by valid stand-ins and the check runs again, until it passes."""
    if kind.check is None:
        return []
    stand_in = kind.stand_in or {}
    problems: list[Problem] = []
    original = table
    while True:
        try:
            kind.check(table)
            return problems
        except DataError as error:
            column = error.column
            if column is None:  # not about a column (not a table at all): as it is
                raise
            if column in {problem.column for problem in problems}:
                return problems  # the stand-in did not help: report what was found
            problems.append(_with_original_ids(_from_library(error, table.num_rows), original))
            if column not in stand_in:
                return problems
            replacement = stand_in[column](table.num_rows)
            if column in table.column_names:
                table = table.set_column(table.column_names.index(column), column, replacement)
            else:
                table = table.append_column(column, replacement)


def _from_library(error: DataError, n_rows: int) -> Problem:
    if error.bad_rows is None:  # a missing column
        return Problem(error.column, "missing column", n_rows, None)
    return Problem(error.column, error.rule, error.bad_rows, dict(error.example or {}))


def _with_original_ids(problem: Problem, table: pa.Table) -> Problem:
    """An example's ids as the file has them (not the stand-ins of a column flagged before)."""
    example = problem.example
    if not example or not ({"line", "row"} & example.keys()):
        return problem
    place, name = ("line", LINE) if "line" in example else ("row", ROW)
    places = table.column(name).to_pylist()
    if example[place] not in places:
        return problem
    row = table.slice(places.index(example[place]), 1).to_pylist()[0]
    ids = {key: row[key] for key in example if key in row and key not in (place, problem.column)}
    return Problem(problem.column, problem.rule, problem.bad_rows, {**example, **ids})


def _converted(kind: Kind, table: pa.Table, flagged: set[str]) -> tuple[dict, list[Problem]]:
    """Each column of the kind that the file has, typed; and the problems found on the way
    (in columns the library did not already refuse)."""
    values: dict[str, list[Any]] = {}
    problems: list[Problem] = []
    for column in kind.columns:
        if column.name not in table.column_names:
            if column.required and column.name not in flagged:
                problems.append(Problem(column.name, "missing column", table.num_rows, None))
            continue
        converted, rules = column.convert(table.column(column.name))
        values[column.field] = converted
        if column.name in flagged:
            continue
        for rule, bad in rules:
            if count := sum(bad):
                example = _example(table, bad.index(True), column.name)
                problems.append(Problem(column.name, rule, count, example))
    return values, problems


def _cross_problems(kind: Kind, table: pa.Table, values: dict[str, list]) -> list[Problem]:
    problems = []
    if "ended_at" in values and "started_at" in values:
        spans = zip(values["started_at"], values["ended_at"], strict=True)
        bad = [start is not None and end is not None and end < start for start, end in spans]
        if count := sum(bad):
            example = _example(table, bad.index(True), "ended_at")
            problems.append(Problem("ended_at", "ended before it started", count, example))
    if kind.unique and all(name in values for name in kind.unique):
        rows_of: dict[tuple, list[int]] = {}
        for index, key in enumerate(zip(*(values[name] for name in kind.unique), strict=True)):
            if None not in key:  # a missing part is reported as missing
                rows_of.setdefault(key, []).append(index)
        repeated = [indexes for indexes in rows_of.values() if len(indexes) > 1]
        if repeated:
            rows = sum(len(indexes) for indexes in repeated)
            first = min(repeated)
            example = _example(table, first[0], kind.unique[-1])
            example.pop("line", None)
            example.pop("row", None)
            example = {_where(table): ", ".join(str(_place(table, i)) for i in first[:5])} | example
            rule = (
                f"{len(repeated)} ({', '.join(kind.unique)}) appear(s) more than once, on "
                f"{rows} rows; each must be on one row"
            )
            problems.append(Problem(kind.unique[-1], rule, rows, example))
    return problems


def _where(table: pa.Table) -> str:
    return "lines" if LINE in table.column_names else "rows"


def _place(table: pa.Table, index: int) -> int:
    name = LINE if LINE in table.column_names else ROW
    return table.column(name)[index].as_py()


def check_import(kind_name: str, table: pa.Table, *, source: str = "the file") -> dict:
    """The file's columns typed for the store, or one :class:`DataError` listing every
    problem (``details["problems"]``: column, rule, bad_rows, example)."""
    kind = kind_of(kind_name)
    table = _located(table)
    problems = _library_problems(kind, table)
    flagged = {problem.column for problem in problems}
    values, found = _converted(kind, table, flagged)
    problems += found
    problems += _cross_problems(kind, table, values)
    if problems:
        listed = "; ".join(problem.describe() for problem in problems)
        raise DataError(
            f"{source}: {len(problems)} problem(s), nothing was imported: {listed}",
            problems=[asdict(problem) for problem in problems],
            rows=table.num_rows,
        )
    if kind.traits:
        values["traits"] = _traits(kind, table)
    return values


def _traits(kind: Kind, table: pa.Table) -> list[dict[str, Any]]:
    known = {column.name for column in kind.columns}
    extra = [name for name in table.column_names if name not in known and name not in _PLACES]
    columns = {name: table.column(name).to_pylist() for name in extra}
    return [
        {name: _json(values[i]) for name, values in columns.items() if not _is_missing(values[i])}
        for i in range(table.num_rows)
    ]


def _json(value: Any) -> Any:
    if isinstance(value, str | int | float | bool):
        return value
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


# -- loading ------------------------------------------------------------------------------


_MOVABLE = ("orders", "complaints")  # rows keyed by their own id that name a customer


def import_table(
    kind_name: str, table: pa.Table, *, source: str = "the file", allow_moves: bool = False
) -> ImportResult:
    """Check all of ``table`` and load it in one atomic block; see the module docstring.

    ``allow_moves`` lets an order (or complaint) already stored under one customer id move
    to the one the file gives; without it such a file is refused with the ids.
    """
    kind = kind_of(kind_name)
    table = _located(table)
    values = check_import(kind_name, table, source=source)
    fields = tuple(values)
    rows = [dict(zip(fields, row, strict=True)) for row in zip(*values.values(), strict=True)]
    options = {"allow_moves": allow_moves} if kind_name in _MOVABLE else {}
    try:
        with transaction.atomic():
            counts = kind.upsert(rows, fields=fields, **options)
    except bulk.MovedRows as moved:
        raise _moves_in_file_terms(moved, table, source) from None
    return ImportResult(
        kind=kind_name,
        rows=len(rows),
        created=counts.created,
        updated=counts.updated,
        unchanged=counts.unchanged,
        customers_created=counts.customers_created,
    )


def _moves_in_file_terms(moved: bulk.MovedRows, table: pa.Table, source: str) -> DataError:
    where = "line" if LINE in table.column_names else "row"
    shown = "; ".join(
        f'{where} {_place(table, m.index)}: "{m.key}" is stored under customer '
        f'"{m.stored_customer}", the file gives "{m.given_customer}"'
        for m in moved.moves[:5]
    )
    more = "; ..." if len(moved.moves) > 5 else ""
    return DataError(
        f"{len(moved.moves)} row(s) are already stored under another customer id; "
        f"importing would move them to another customer, so nothing was imported: "
        f"{shown}{more}. If they really changed hands, import with --allow-moves",
        file=source,
        column="customer_id",
        moves=[{**m.__dict__, where: _place(table, m.index)} for m in moved.moves],
    )


def import_file(
    kind_name: str,
    path: str | Path,
    *,
    options: FileOptions | None = None,
    allow_moves: bool = False,
) -> ImportResult:
    """Import a CSV or Parquet file (by its suffix), read with ``options``."""
    kind_of(kind_name)
    table = read_import(path, kind=kind_name, options=options)
    return import_table(kind_name, table, source=str(path), allow_moves=allow_moves)


def import_upload(
    kind_name: str,
    upload: IO[bytes],
    *,
    name: str,
    options: FileOptions | None = None,
    allow_moves: bool = False,
) -> ImportResult:
    """Import an uploaded file; ``name`` (the client's file name) tells CSV from Parquet."""
    kind_of(kind_name)
    table = read_import(upload, name=name, kind=kind_name, options=options)
    return import_table(kind_name, table, source=name, allow_moves=allow_moves)
