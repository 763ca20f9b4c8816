"""Rescoring a store of a million customers: ``rescore_customers`` end to end, by stage.

A fresh PostgreSQL database (``retain_bench_rescore``, dropped and recreated) is loaded with
``make_business(N, seed=5)``'s customers and orders by COPY (not timed), then
``rescore_customers`` runs twice: the first scoring (every score inserted) and a rescoring
a day later (scores updated, stage and segment events recorded). The library's own steps are
then timed apart on the same orders, to show what dominates the scoring. ``--sqlite`` runs
the same on an embedded SQLite store (loaded with executemany) for comparison.

    .venv/bin/python benchmarks/rescore.py [--customers 1000000] [--sqlite]

Goal (issue 5): under 120 s for 1,000,000 customers on PostgreSQL on a 2-core machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._timing import save

SERVER = "postgresql://postgres@127.0.0.1:5432"
DATABASE = "retain_bench_rescore"
AS_OF = dt.date(2024, 12, 31)
LOADED_AT = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--sqlite", action="store_true", help="run on SQLite instead")
    args = parser.parse_args()
    os.environ["RETAIN_HOME"] = tempfile.mkdtemp(prefix="retain-bench-rescore-")
    if args.sqlite:
        os.environ.pop("DATABASE_URL", None)
    else:
        recreate_database()
        os.environ["DATABASE_URL"] = f"{SERVER}/{DATABASE}"
    from retain.server.commands import migrate_store

    migrate_store()
    from django.db import connection

    from retain.datasets import make_business

    started = time.perf_counter()
    business = make_business(args.customers, seed=5)
    generated = time.perf_counter() - started
    started = time.perf_counter()
    customers, orders = store_rows(business)
    if connection.vendor == "postgresql":
        load_postgresql(customers, orders)
    else:
        load_sqlite(customers, orders)
    loaded = time.perf_counter() - started
    print(
        f"{connection.vendor}: {customers.num_rows:,} customers, {orders.num_rows:,} orders "
        f"(generated in {generated:.1f} s, loaded in {loaded:.1f} s, not timed below)",
        flush=True,
    )
    record = {
        "engine": connection.vendor,
        "customers": customers.num_rows,
        "orders": orders.num_rows,
        "cpus": os.cpu_count(),
    }
    record["first_scoring"] = run_rescoring("first scoring (all inserts)", LOADED_AT)
    record["rescoring"] = run_rescoring(
        "rescoring a day later (updates, events)", LOADED_AT + dt.timedelta(days=1), days=1
    )
    record["library_steps"] = time_library_steps()
    save(f"rescore_{connection.vendor}_{customers.num_rows}", record)


def recreate_database() -> None:
    import psycopg

    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
        admin.execute(f"CREATE DATABASE {DATABASE}")


def store_rows(business: object) -> tuple[pa.Table, pa.Table]:
    """The synthetic shop's customers and orders as the store's rows (keys = the shop's)."""
    people = business.customers
    n = len(people)
    created = pa.array([LOADED_AT.replace(tzinfo=None)] * n, pa.timestamp("us"))
    customers = pa.table(
        {
            "id": pa.array(people.customer_id, pa.int64()),
            "external_id": pa.array(people.customer_id.astype(str)),
            "email": pa.array([""] * n),
            "name": pa.array([""] * n),
            "signed_up_at": pa.array(people.signed_up_at, pa.timestamp("us")),
            "acquisition_channel": pa.array(people.acquisition_channel.astype(str)),
            "birthday": pa.array(people.birthday.dt.date, pa.date32()),
            "segment": pa.array(people.segment.astype(str)),
            "traits": pa.array(["{}"] * n),
            "created_at": created,
            "updated_at": created,
        }
    )
    bought = business.orders
    m = len(bought)
    orders = pa.table(
        {
            "id": pa.array(bought.order_id, pa.int64()),
            "customer_id": pa.array(bought.customer_id, pa.int64()),
            "external_id": pa.array(bought.order_id.astype(str)),
            "ordered_at": pa.array(bought.ordered_at, pa.timestamp("us")),
            "amount": pa.array(bought.amount.round(2), pa.float64()),
            "currency": pa.array(bought.currency.astype(str)),
            "channel": pa.array(bought.channel.astype(str)),
            "status": pa.array(bought.status.astype(str)),
            "created_at": pa.array([LOADED_AT.replace(tzinfo=None)] * m, pa.timestamp("us")),
        }
    )
    return customers, orders


def load_postgresql(customers: pa.Table, orders: pa.Table) -> None:
    copy_tables({"customers_customer": customers, "customers_order": orders})


def copy_tables(tables: dict[str, pa.Table]) -> None:
    """Each table's rows into the PostgreSQL table of that name, by COPY; ANALYZE after."""
    from django.db import connection

    with connection.cursor() as cursor:
        for table, rows in tables.items():
            buffer = io.BytesIO()
            options = pa_csv.WriteOptions(include_header=False, quoting_style="all_valid")
            pa_csv.write_csv(rows, buffer, write_options=options)
            columns = ", ".join(rows.column_names)
            cursor.execute("SET TIME ZONE 'UTC'")
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT csv)") as copy:
                data = buffer.getbuffer()
                for start in range(0, len(data), 8 << 20):
                    copy.write(data[start : start + (8 << 20)])
            if "id" in rows.column_names:
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
        cursor.execute("ANALYZE")  # DESIGN: after a bulk load, before the first query


def load_sqlite(customers: pa.Table, orders: pa.Table) -> None:
    insert_tables({"customers_customer": customers, "customers_order": orders})


def insert_tables(tables: dict[str, pa.Table]) -> None:
    """Each table's rows into the SQLite table of that name, by executemany; ANALYZE after."""
    from django.db import connection

    with connection.cursor() as cursor:
        for table, rows in tables.items():
            columns = rows.column_names
            text = {
                name: rows[name].cast(pa.string()).to_pylist()
                if pa.types.is_temporal(rows.schema.field(name).type)
                else rows[name].to_pylist()
                for name in columns
            }
            marks = ", ".join("?" for _ in columns)
            raw: sqlite3.Cursor = cursor.cursor
            raw.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                zip(*(text[name] for name in columns), strict=True),
            )
        cursor.execute("ANALYZE")


def run_rescoring(label: str, now: dt.datetime, *, days: int = 0) -> dict:
    from django.db import transaction

    from retain.customers.rescoring import rescore_customers

    with transaction.atomic():
        summary = rescore_customers(as_of=AS_OF + dt.timedelta(days=days), now=now)
    stages = ", ".join(f"{name} {s:.1f} s" for name, s in summary.stage_seconds.items())
    print(f"{label}: {summary.seconds:.1f} s ({stages})", flush=True)
    for line in summary.lines()[1:]:
        print(f"    {line}", flush=True)
    return {
        "seconds": summary.seconds,
        **{f"{name}_s": s for name, s in summary.stage_seconds.items()},
        "customers_scored": summary.customers_scored,
        "stage_changes": summary.stage_changes,
        "segment_changes": summary.segment_changes,
        "scores_written": summary.scores_written,
        "model": summary.model,
    }


def time_library_steps() -> dict:
    """The scoring stage taken apart: the analytics library's calls, each timed alone."""
    from retain.analytics import lifecycle_stages, rfm_segments
    from retain.customers.rescoring import count_orders
    from retain.customers.store_tables import read_orders_table
    from retain.scoring import score_customers

    steps = {}
    orders = read_orders_table()

    def timed(name: str, step: object) -> object:
        started = time.perf_counter()
        result = step()
        steps[name] = time.perf_counter() - started
        return result

    counted = timed("completed_orders (checks)", lambda: count_orders(orders))
    timed("score_customers", lambda: score_customers(counted, observation_end=AS_OF))
    timed("rfm_segments", lambda: rfm_segments(counted, observation_end=AS_OF))
    timed("lifecycle_stages", lambda: lifecycle_stages(counted, as_of=AS_OF))
    print("library steps: " + ", ".join(f"{k} {v:.1f} s" for k, v in steps.items()), flush=True)
    return steps


if __name__ == "__main__":
    main()
