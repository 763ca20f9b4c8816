"""Many rows in one ``INSERT`` (or one prepared ``UPDATE``), written for the hot paths of
storing and applying tracking calls and of moving journeys' enrolments, where building a
model per row and Django's per-value compiling cost more than the statement itself.

On PostgreSQL the rows travel as one JSON document (``INSERT ... SELECT FROM
json_to_recordset``): the statement's text stays a few lines whatever the number of rows
(psycopg parses a query's text at each execution, tens of milliseconds for thousands of
placeholders, and dumps a list parameter value by value in Python), and ``json.dumps`` is
fast. On SQLite, whose driver binds parameters cheaply, as a ``VALUES`` list in chunks under
its limit of parameters. Lookups by many keys take the keys as one JSON list too
(:func:`keys_by_value`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from django.db import connection

#: SQLite's limit of parameters in a statement (since 3.32).
_SQLITE_PARAMETERS = 32_766
#: The type of a ``jsonb`` column whose values are given as JSON text, already serialised
#: (stored as it is on SQLite, parsed by PostgreSQL).
JSON_TEXT = "json text"


def insert_rows(
    table: str,
    columns: Sequence[str],
    types: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    constants: dict[str, str] | None = None,
    shared: dict[str, Any] | None = None,
    conflict: str = "",
    returning: str = "",
) -> list[tuple[Any, ...]]:
    """Insert ``rows`` (values of ``columns``, of PostgreSQL ``types``; ``jsonb`` values as
    JSON-ready objects, :data:`JSON_TEXT` ones as JSON text, datetimes as aware datetimes)
    with ``constants`` (column -> SQL literal), ``shared`` values (column -> one value for
    every row, sent once: a time written into each row costs more to serialise than the rest
    of it) and the ``conflict`` clause (``ON CONFLICT ...``); the rows ``returning`` gives
    back, if asked."""
    if not rows:
        return []
    shared = shared or {}
    constants = {**(constants or {}), **dict.fromkeys(shared, "%s")}
    names = ", ".join([*columns, *constants])
    tail = f" {conflict}" + (f" RETURNING {returning}" if returning else "")
    found: list[tuple[Any, ...]] = []
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            aliases = [f"c{i}" for i in range(len(columns))]
            record = ", ".join(
                f"{alias} {'text' if kind == JSON_TEXT else kind}"
                for alias, kind in zip(aliases, types, strict=True)
            )
            document = [dict(zip(aliases, row, strict=True)) for row in rows]
            selected = [
                f"{alias}::jsonb" if kind == JSON_TEXT else alias
                for alias, kind in zip(aliases, types, strict=True)
            ]
            picked = ", ".join([*selected, *constants.values()])
            cursor.execute(
                f"INSERT INTO {table} ({names}) SELECT {picked} "
                f"FROM json_to_recordset(%s::json) AS t({record}){tail}",
                [*shared.values(), json.dumps(document, default=_json_default)],
            )
            return cursor.fetchall() if returning else []
        adapt = connection.ops.adapt_datetimefield_value
        shape = "(" + ", ".join(["%s"] * len(columns) + list(constants.values())) + ")"
        once = [adapt(v) if isinstance(v, dt.datetime) else v for v in shared.values()]
        per_insert = _SQLITE_PARAMETERS // (len(columns) + len(once))
        for start in range(0, len(rows), per_insert):
            chunk = rows[start : start + per_insert]
            parameters = [
                value
                for row in chunk
                for value in (
                    *(adapt(value) if kind == "timestamptz"
                      else json.dumps(value) if kind == "jsonb" else value
                      for value, kind in zip(row, types, strict=True)),
                    *once,
                )
            ]  # fmt: skip
            cursor.execute(
                f"INSERT INTO {table} ({names}) VALUES {', '.join([shape] * len(chunk))}{tail}",
                parameters,
            )
            if returning:
                found += cursor.fetchall()
    return found


def update_rows(
    table: str,
    key: str,
    columns: Sequence[str],
    types: Sequence[str],
    rows: Sequence[Sequence[Any]],
) -> int:
    """Set ``columns`` (of PostgreSQL ``types``) of many rows in one ``UPDATE``: each row
    is its ``key`` value, then the new values (``jsonb`` values as JSON-ready objects,
    datetimes aware or ``None``). The rows travel as one JSON document on both engines, so
    500 rows cost one short statement, where Django's ``bulk_update`` compiles a ``CASE``
    per row and column (seconds for a runner's batch). The number of rows updated."""
    if not rows:
        return 0
    aliases = [f"c{i}" for i in range(len(columns))]
    assignments = ", ".join(
        f"{column} = v.{alias}" for column, alias in zip(columns, aliases, strict=True)
    )
    if connection.vendor == "postgresql":
        record = ", ".join(f"{alias} {kind}" for alias, kind in zip(aliases, types, strict=True))
        document = [{"k": row[0], **dict(zip(aliases, row[1:], strict=True))} for row in rows]
        sql = (
            f"UPDATE {table} SET {assignments} FROM json_to_recordset(%s::json) "
            f"AS v(k bigint, {record}) WHERE {table}.{key} = v.k"
        )
    else:
        adapt = connection.ops.adapt_datetimefield_value
        document = [
            {"k": row[0], **{alias: adapt(value) if kind == "timestamptz" else value
                             for alias, value, kind in zip(aliases, row[1:], types, strict=True)}}
            for row in rows
        ]  # fmt: skip
        picked = ", ".join(f"json_extract(value, '$.{alias}') AS {alias}" for alias in aliases)
        sql = (
            f"UPDATE {table} SET {assignments} FROM (SELECT json_extract(value, '$.k') AS k, "
            f"{picked} FROM json_each(%s)) AS v WHERE {table}.{key} = v.k"
        )
    with connection.cursor() as cursor:
        cursor.execute(sql, [json.dumps(document, default=_json_default)])
        return cursor.rowcount


def keys_by_value(
    table: str,
    column: str,
    key: str,
    values: set[str],
    *,
    where: str = "",
    parameters: Sequence[Any] = (),
) -> dict[str, Any]:
    """``column`` value -> ``key`` of the rows of ``table`` (and ``where``, an SQL condition
    with its ``parameters``) whose ``column`` is one of ``values``, sent as one JSON list.

    One indexed lookup per value (a correlated subquery on the equality), whatever the
    planner believes of the table's size: a fresh table filled within seconds by the apply
    job has statistics that make ``IN (...)`` scan it whole for every value.
    """
    if not values:
        return {}
    listed = (
        "json_array_elements_text(%s::json) AS v(value)"
        if connection.vendor == "postgresql" else "json_each(%s) AS v"
    )  # fmt: skip
    condition = f"{where} AND " if where else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT v.value, (SELECT t.{key} FROM {table} AS t "
            f"WHERE {condition}t.{column} = v.value LIMIT 1) FROM {listed}",
            [*parameters, json.dumps(sorted(values))],
        )
        return {value: found for value, found in cursor.fetchall() if found is not None}


def _json_default(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
