"""Many rows in one ``INSERT``, written for the hot path of applying tracking calls, where
building a model per row and Django's per-value compiling cost more than the insert itself.

On PostgreSQL the rows travel as one JSON document (``INSERT ... SELECT FROM
json_to_recordset``): the statement's text stays a few lines whatever the number of rows
(psycopg parses a query's text at each execution, tens of milliseconds for thousands of
placeholders, and dumps a list parameter value by value in Python), and ``json.dumps`` is
fast. On SQLite, whose driver binds parameters cheaply, as a ``VALUES`` list in chunks under
its limit of parameters. Lookups by many keys take the keys as one JSON list too
(:func:`in_json_list`).
"""

from __future__ import annotations

import datetime as dt
import json
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
    JSON-ready objects, datetimes as aware datetimes) with ``constants`` (column -> SQL
    literal) and the ``conflict`` clause (``ON CONFLICT ...``); the rows ``returning`` gives
    back, if asked."""
    if not rows:
        return []
    constants = constants or {}
    names = ", ".join([*columns, *constants])
    tail = f" {conflict}" + (f" RETURNING {returning}" if returning else "")
    found: list[tuple[Any, ...]] = []
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            aliases = [f"c{i}" for i in range(len(columns))]
            record = ", ".join(
                f"{alias} {kind}" for alias, kind in zip(aliases, types, strict=True)
            )
            document = [dict(zip(aliases, row, strict=True)) for row in rows]
            picked = ", ".join([*aliases, *constants.values()])
            cursor.execute(
                f"INSERT INTO {table} ({names}) SELECT {picked} "
                f"FROM json_to_recordset(%s::json) AS t({record}){tail}",
                [json.dumps(document, default=_json_default)],
            )
            return cursor.fetchall() if returning else []
        adapt = connection.ops.adapt_datetimefield_value
        shape = "(" + ", ".join(["%s"] * len(columns) + list(constants.values())) + ")"
        per_insert = _SQLITE_PARAMETERS // len(columns)
        for start in range(0, len(rows), per_insert):
            chunk = rows[start : start + per_insert]
            parameters = [
                adapt(value) if kind == "timestamptz"
                else json.dumps(value) if kind == "jsonb" else value
                for row in chunk for value, kind in zip(row, types, strict=True)
            ]  # fmt: skip
            cursor.execute(
                f"INSERT INTO {table} ({names}) VALUES {', '.join([shape] * len(chunk))}{tail}",
                parameters,
            )
            if returning:
                found += cursor.fetchall()
    return found


def in_json_list() -> str:
    """``IN (...)`` over the values of one JSON list parameter (``json.dumps(values)``)."""
    if connection.vendor == "postgresql":
        return "IN (SELECT json_array_elements_text(%s::json))"
    return "IN (SELECT value FROM json_each(%s))"


def _json_default(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
