"""Bring any table into Ibis, check it, and hand results back in the caller's kind.

An ibis Table stays lazy on its own backend (DuckDB, PostgreSQL, PySpark, a warehouse);
anything local (pandas, polars, pyarrow) runs on an in-process DuckDB and comes back as a
pandas DataFrame.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa

from retain.analytics.rows import LINE, ROW, example_of
from retain.errors import DataError


def to_ibis(table: Any) -> tuple[ir.Table, bool]:
    """The table as an ibis expression, and whether the caller gave one (stay lazy)."""
    if isinstance(table, ir.Table):
        return table, True
    if isinstance(table, str):
        raise DataError("expected a table, got a string; read the file first (CSV, Parquet)")
    try:
        return ibis.memtable(_to_arrow(table)), False
    except Exception as exc:  # ibis raises several kinds for what it cannot wrap
        raise DataError(
            f"expected a table (pandas/polars DataFrame, pyarrow or ibis Table), "
            f"got {type(table).__name__}: {exc}"
        ) from None


def _to_arrow(table: Any) -> pa.Table:
    """Local tables go through Arrow (ibis's own pandas path warns on pandas 3)."""
    if isinstance(table, pa.Table):
        return table
    if isinstance(table, pd.DataFrame):
        return pa.Table.from_pandas(table, preserve_index=False)
    if hasattr(table, "to_arrow"):  # polars
        return table.to_arrow()
    return pa.table(table)


def fetch(expression: ir.Table) -> pa.Table:
    """Execute a table expression and return its rows as Arrow, on any backend.

    ibis 12 fetches PySpark results through ``toPandas()``, which warns on pandas 3 (and
    converts row by row); there the compiled query runs on the session and comes back
    through Spark's own ``toArrow()``, cast to the expression's schema.
    """
    backend = ibis.get_backend(expression)
    if backend.name != "pyspark":
        return expression.to_pyarrow()
    frame = backend.raw_sql(backend.compile(expression))
    if not hasattr(frame, "toArrow"):  # PySpark 3.5
        return expression.to_pyarrow()
    return frame.toArrow().cast(expression.schema().to_pyarrow())


def deliver(result: ir.Table, *, lazy: bool) -> Any:
    """An ibis expression for ibis input, else the executed pandas DataFrame."""
    return result if lazy else fetch(result).to_pandas()


def require_columns(table: ir.Table, names: dict[str, str]) -> None:
    """``names`` maps a role (``customer_id``) to the caller's column name.

    The error names only the column, as the caller gave it: the role is a function's
    keyword (``rfm_summary``'s ``datetime``), a word the user never wrote.
    """
    for name in names.values():
        if name not in table.columns:
            present = [column for column in table.columns if column not in (LINE, ROW)]
            raise DataError(f"missing column; the table has {present}", column=name)


def scalar(expression: ir.Scalar) -> Any:
    """Execute a scalar expression through Arrow.

    ibis 12's ``execute`` goes through a pandas option that pandas 3 deprecates (a warning
    on every call), so results are always fetched as Arrow.
    """
    return fetch(expression.as_table()).column(0)[0].as_py()


def reject_any(table: ir.Table, rules: list[tuple[str, ir.BooleanValue, str]]) -> None:
    """Check several ``(column, bad, rule)`` at once: one pass over the table counts every
    rule's bad rows; the first rule with any raises as :func:`reject_rows` would."""
    if not rules:
        return
    counts = fetch(
        table.aggregate(
            **{
                f"rule_{i}": ibis.ifelse(bad.fill_null(False), 1, 0).sum()
                for i, (_, bad, _) in enumerate(rules)
            }
        )
    ).to_pylist()[0]
    for i, (column, bad, rule) in enumerate(rules):
        if counts[f"rule_{i}"]:
            reject_rows(table, column, bad, rule)


def reject_rows(table: ir.Table, column: str, bad: ir.BooleanValue, rule: str) -> None:
    """Raise a DataError when any row matches ``bad``: its count and the first bad row (by
    line in the file, when known)."""
    flagged = table.filter(bad)
    count = scalar(flagged.count())
    if count:
        where = [name for name in (LINE, ROW) if name in table.columns]
        first = flagged.order_by(where[0]) if where else flagged
        row = fetch(first.limit(1)).to_pylist()[0]
        raise DataError(rule, column=column, bad_rows=count, example=example_of(row, column))


def reject_repeats(table: ir.Table, column: str, noun: str) -> None:
    """Refuse ids that must be unique and are not: how many ids repeat, on how many rows,
    and the lines (or rows) of one of them."""
    counts = table.group_by(table[column].name("key")).aggregate(n=lambda t: t.count())
    repeated = counts.filter((counts.n > 1) & counts.key.notnull())
    totals = fetch(repeated.aggregate(ids=repeated.count(), rows=repeated.n.sum())).to_pylist()[0]
    if not totals["ids"]:
        return
    key = fetch(repeated.order_by("key").limit(1)).to_pylist()[0]["key"]
    example: dict[str, Any] = {}
    where = [name for name in (LINE, ROW) if name in table.columns]
    if where:
        rows = table.filter(table[column] == ibis.literal(key)).select(where[0])
        places = fetch(rows.order_by(where[0]).limit(6)).column(0).to_pylist()
        shown = ", ".join(str(place) for place in places[:5])
        more = ", ..." if len(places) > 5 else ""
        example["lines" if where[0] == LINE else "rows"] = f"{shown}{more}"
    example[column] = key
    ids, rows = totals["ids"], totals["rows"]
    raise DataError(
        f"{ids} {noun} id{'s' if ids > 1 else ''} appear{'' if ids > 1 else 's'} more than "
        f"once, on {rows} rows; each {noun} must be on one row",
        column=column,
        bad_rows=rows,
        example=example,
    )


def epoch_days(day: dt.date) -> int:
    return (day - dt.date(1970, 1, 1)).days
