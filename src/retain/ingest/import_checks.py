"""Checking a whole file before anything is written: every bad column and rule, with the
count of bad rows and an example in the file's terms, in ONE :class:`DataError`.

The analytics library's own checks run first (so a file the store accepts is one the
analyses accept); they stop at the first bad column, so each flagged column is replaced by
valid stand-ins and the check runs again. Then each column is converted for the store
(:mod:`retain.ingest.import_values`) and what it adds is checked, then rules across
columns (an end before its start, keys repeated within the file).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import pyarrow as pa

from retain.analytics.rows import example_of
from retain.errors import DataError, describe_example
from retain.ingest.import_kinds import Kind, kind_of
from retain.ingest.import_values import is_missing
from retain.io import LINE, ROW

_PLACES = (LINE, ROW)  # where a row is in the file, carried through the checks into examples


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


def located(table: pa.Table) -> pa.Table:
    """A table handed in directly (not read from a file) numbers its rows from 1."""
    if LINE in table.column_names or ROW in table.column_names:
        return table
    return table.append_column(ROW, pa.array(range(1, table.num_rows + 1), pa.int64()))


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
            example = {
                _where(table): ", ".join(str(place_of(table, i)) for i in first[:5])
            } | example
            rule = (
                f"{len(repeated)} ({', '.join(kind.unique)}) appear(s) more than once, on "
                f"{rows} rows; each must be on one row"
            )
            problems.append(Problem(kind.unique[-1], rule, rows, example))
    return problems


def _where(table: pa.Table) -> str:
    return "lines" if LINE in table.column_names else "rows"


def place_of(table: pa.Table, index: int) -> int:
    name = LINE if LINE in table.column_names else ROW
    return table.column(name)[index].as_py()


def check_import(kind_name: str, table: pa.Table, *, source: str = "the file") -> dict:
    """The file's columns typed for the store, or one :class:`DataError` listing every
    problem (``details["problems"]``: column, rule, bad_rows, example)."""
    kind = kind_of(kind_name)
    table = located(table)
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
        {name: _json(values[i]) for name, values in columns.items() if not is_missing(values[i])}
        for i in range(table.num_rows)
    ]


def _json(value: Any) -> Any:
    if isinstance(value, str | int | float | bool):
        return value
    return value.isoformat() if hasattr(value, "isoformat") else str(value)
