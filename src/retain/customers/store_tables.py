"""The store's orders and customers as Arrow tables, read fast, for the analytics library.

The ORM would build a Python object per row (a million customers have about four million
orders); instead the rows come through Django's own connection in bulk: on PostgreSQL as
``COPY (SELECT ...) TO STDOUT`` CSV streamed into pyarrow's multi-threaded CSV reader, on
SQLite through a cursor in large batches. Times come back as naive UTC timestamps (the store
keeps UTC), amounts as float64 (what the analytics compute in), ids as the store's keys.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from django.db import connection

from retain.customers.models import Customer, Order

#: Rows fetched per round trip on SQLite.
_BATCH = 200_000

ORDER_SCHEMA = pa.schema(
    [
        ("customer_id", pa.int64()),
        ("order_id", pa.int64()),
        ("ordered_at", pa.timestamp("us")),
        ("amount", pa.float64()),
        ("status", pa.string()),
    ]
)
CUSTOMER_SCHEMA = pa.schema(
    [
        ("customer_id", pa.int64()),
        ("external_id", pa.string()),
        ("signed_up_at", pa.timestamp("us")),
        ("acquisition_channel", pa.string()),
    ]
)


def read_orders_table(*, before: dt.datetime | None = None) -> pa.Table:
    """Every order in the store (placed before ``before``, when given), whatever its status:
    which orders count is the analytics' rule (:func:`retain.analytics.completed_orders`).

    ``customer_id`` is the store's customer key (``Customer.pk``), ``order_id`` the order's.
    """
    columns = Order._meta
    names = {
        "customer_id": columns.get_field("customer").column,
        "order_id": columns.pk.column,
        "ordered_at": columns.get_field("ordered_at").column,
        "amount": columns.get_field("amount").column,
        "status": columns.get_field("status").column,
    }
    where, params = "", []
    if before is not None:
        moment = connection.ops.adapt_datetimefield_value(before)
        where, params = f" WHERE {names['ordered_at']} < %s", [moment]
    return _read(columns.db_table, names, ORDER_SCHEMA, where, params)


def read_customers_table() -> pa.Table:
    """Every customer: the store's key, the shop's id, signup time and acquisition channel
    (the columns :func:`retain.analytics.check_customers` reads)."""
    columns = Customer._meta
    names = {
        "customer_id": columns.pk.column,
        "external_id": columns.get_field("external_id").column,
        "signed_up_at": columns.get_field("signed_up_at").column,
        "acquisition_channel": columns.get_field("acquisition_channel").column,
    }
    return _read(columns.db_table, names, CUSTOMER_SCHEMA, "", [])


def _read(
    table: str, names: dict[str, str], schema: pa.Schema, where: str, params: list
) -> pa.Table:
    if connection.vendor == "postgresql":
        return _read_postgresql(table, names, schema, where, params)
    return _read_cursor(table, names, schema, where, params)


def _select_list(names: dict[str, str], schema: pa.Schema, *, vendor: str) -> str:
    """Column expressions that hand back plain text or numbers (no per-row conversion)."""
    parts = []
    for field in schema:
        column = connection.ops.quote_name(names[field.name])
        if pa.types.is_timestamp(field.type):
            column = f"{column} AT TIME ZONE 'UTC'" if vendor == "postgresql" else f"{column} || ''"
        elif pa.types.is_floating(field.type) and vendor != "postgresql":
            column = f"CAST({column} AS REAL)"
        parts.append(column)
    return ", ".join(parts)


def _read_postgresql(
    table: str, names: dict[str, str], schema: pa.Schema, where: str, params: list
) -> pa.Table:
    select = (
        f"SELECT {_select_list(names, schema, vendor='postgresql')} "
        f"FROM {connection.ops.quote_name(table)}{where}"
    )
    with connection.cursor() as cursor:
        # psycopg does not bind parameters in COPY: render them client-side, safely quoted.
        query = cursor.cursor.mogrify(select, params) if params else select
        with cursor.cursor.copy(f"COPY ({query}) TO STDOUT (FORMAT csv)") as copy:
            stream = io.BufferedReader(_CopyStream(iter(copy)), buffer_size=4 << 20)
            if not stream.peek(1):
                return schema.empty_table()
            return pa_csv.read_csv(
                stream,
                read_options=pa_csv.ReadOptions(column_names=schema.names, block_size=16 << 20),
                convert_options=pa_csv.ConvertOptions(
                    column_types=schema, strings_can_be_null=True, quoted_strings_can_be_null=False
                ),
            )


class _CopyStream(io.RawIOBase):
    """The chunks of a ``COPY ... TO STDOUT`` as a readable file, so pyarrow parses the rows
    as they arrive instead of after the whole table is held as bytes.

    PostgreSQL sends one message per row, so each read fills the caller's whole buffer from
    as many rows as fit (one call per row cost more than the parsing).
    """

    def __init__(self, chunks: Iterator[memoryview]) -> None:
        self._chunks = chunks
        self._pending: memoryview | bytes = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        wanted, filled, pending = len(view), 0, self._pending
        while filled < wanted:
            if not pending:
                pending = next(self._chunks, b"")
                if not pending:
                    break
            size = min(wanted - filled, len(pending))
            view[filled : filled + size] = pending[:size]
            pending = pending[size:]
            filled += size
        self._pending = pending
        return filled


def _read_cursor(
    table: str, names: dict[str, str], schema: pa.Schema, where: str, params: list
) -> pa.Table:
    select = (
        f"SELECT {_select_list(names, schema, vendor=connection.vendor)} "
        f"FROM {connection.ops.quote_name(table)}{where}"
    )
    batches = []
    with connection.cursor() as cursor:
        cursor.execute(select, params)
        while rows := cursor.fetchmany(_BATCH):
            columns = list(zip(*rows, strict=True))
            batches.append(
                pa.record_batch(
                    [
                        _column(values, field.type)
                        for values, field in zip(columns, schema, strict=True)
                    ],
                    schema=schema,
                )
            )
    return pa.Table.from_batches(batches, schema=schema)


def _column(values: tuple, kind: pa.DataType) -> pa.Array:
    if pa.types.is_timestamp(kind):  # SQLite keeps 'YYYY-MM-DD HH:MM:SS[.ffffff]' text
        return pc.cast(pa.array(values, pa.string()), kind)
    return pa.array(values, kind)
