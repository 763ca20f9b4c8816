"""Many rows in one ``INSERT``, written for the hot path of applying tracking calls, where
building a model per row and Django's per-value compiling cost more than the insert itself.

On PostgreSQL the rows travel as one array per column (``INSERT ... SELECT FROM unnest``), so
the statement's text stays a few lines whatever the number of rows (psycopg parses a query's
text for each execution, which costs tens of milliseconds for thousands of placeholders); on
SQLite as a ``VALUES`` list, in chunks under its limit of parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection

#: SQLite's limit of parameters in a statement (since 3.32).
_SQLITE_PARAMETERS = 32_766


def insert_rows(
    table: str,
    columns: Sequence[str],
    types: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    constants: dict[str, str] | None = None,
    conflict: str = "",
    returning: str = "",
) -> list[tuple[Any, ...]]:
    """Insert ``rows`` (values of ``columns``, of PostgreSQL ``types``; ``jsonb`` values as
    JSON text, datetimes as aware datetimes) with ``constants`` (column -> SQL literal) and the
    ``conflict`` clause (``ON CONFLICT ...``); the rows ``returning`` gives back, if asked."""
    if not rows:
        return []
    constants = constants or {}
    names = ", ".join([*columns, *constants])
    tail = f" {conflict}" + (f" RETURNING {returning}" if returning else "")
    found: list[tuple[Any, ...]] = []
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            arrays = ", ".join(f"%s::{'text' if kind == 'jsonb' else kind}[]" for kind in types)
            picked = [
                f"c{i}::jsonb" if kind == "jsonb" else f"c{i}" for i, kind in enumerate(types)
            ]
            aliases = ", ".join(f"c{i}" for i in range(len(columns)))
            cursor.execute(
                f"INSERT INTO {table} ({names}) SELECT {', '.join([*picked, *constants.values()])} "
                f"FROM unnest({arrays}) AS t({aliases}){tail}",
                [list(column) for column in zip(*rows, strict=True)],
            )
            return cursor.fetchall() if returning else []
        adapt = connection.ops.adapt_datetimefield_value
        shape = "(" + ", ".join(["%s"] * len(columns) + list(constants.values())) + ")"
        per_insert = _SQLITE_PARAMETERS // len(columns)
        for start in range(0, len(rows), per_insert):
            chunk = rows[start : start + per_insert]
            parameters = [
                adapt(value) if kind == "timestamptz" else value
                for row in chunk for value, kind in zip(row, types, strict=True)
            ]  # fmt: skip
            cursor.execute(
                f"INSERT INTO {table} ({names}) VALUES {', '.join([shape] * len(chunk))}{tail}",
                parameters,
            )
            if returning:
                found += cursor.fetchall()
    return found
