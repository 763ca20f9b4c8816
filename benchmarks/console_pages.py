"""Server time of the console's pages on a large store: ``/``, the customers list with a
search and a filter, and a customer's 360, on PostgreSQL and on SQLite.

A fresh store (PostgreSQL database ``retain_bench_console``, dropped and recreated; or an
embedded SQLite workspace in a temporary folder) is loaded, untimed, with
``make_business(N, seed=5)``'s customers (given names and emails drawn from short lists) and
orders, a score and (for most) an email consent per customer, written directly as rows
(COPY on PostgreSQL, executemany on SQLite: the loaders of ``benchmarks/rescore.py``). Each
page is then requested through Django's test client in this process, signed in as an admin:
a few warm-up requests, then ``--requests`` timed ones; median and p95 of the whole request
(middleware, view, queries, template), which is the server's time without the network.

    .venv/bin/python benchmarks/console_pages.py [--customers 10000 1000000] [--sqlite]

Goal (issue 11): the list's 50 rows in <= 150 ms at 1,000,000 customers on PostgreSQL.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._timing import save
from benchmarks.rescore import (
    LOADED_AT,
    SERVER,
    copy_tables,
    insert_tables,
    store_rows,
)

DATABASE = "retain_bench_console"
GIVEN = ("Anna", "Somchai", "Nguyen", "Eleni", "Budi", "Maria", "James", "Siti", "Dimitris",
         "Linh", "Kanya", "Peter", "Sofia", "Agus", "Thu", "Olga", "Ahmad", "Chloe", "Niko",
         "Ploy")  # fmt: skip
FAMILY = ("Andersen", "Wongsakul", "Tran", "Papadopoulos", "Santoso", "Garcia", "Smith",
          "Rahman", "Nikolaidis", "Pham", "Srisuk", "Muller", "Rossi", "Wijaya", "Le", "Ivanova",
          "Hassan", "Martin", "Kowalski", "Chaiyaporn", "Okafor", "Haddad", "Silva", "Novak",
          "Lindqvist")  # fmt: skip
STAGES = ("new", "active", "returning", "reactivated", "at risk", "dormant", "churned")
SEGMENTS = ("champions", "loyal", "potential loyalists", "new customers", "promising",
            "needs attention", "about to sleep", "at risk", "cannot lose them", "hibernating",
            "lost")  # fmt: skip
#: The pages timed: a name and the address (``{id}``: a customer who ordered).
PAGES = (
    ("home /", "/"),
    ("list, name search + stage", "/customers/?q=anders&lifecycle_stage=at+risk"),
    ("list, id search + stage", "/customers/?q=1234&lifecycle_stage=active"),
    ("list, no search", "/customers/"),
    ("list, stage + risk, by value",
     "/customers/?lifecycle_stage=at+risk&churn_risk=high&sort=value"),
    ("list, name search, by risk", "/customers/?q=wongsa&sort=risk"),
    ("list, email consent granted, page 7", "/customers/?email_consent=granted&page=7"),
    ("list (htmx), name search + stage", "/customers/?q=anders&lifecycle_stage=at+risk"),
    ("count (htmx), name search + stage", "/customers/count?q=anders&lifecycle_stage=at+risk"),
    ("count (htmx), id search + stage", "/customers/count?q=1234&lifecycle_stage=active"),
    ("count (htmx), no search", "/customers/count"),
    ("360 /customers/<id>/", "/customers/{id}/"),
    ("segments /segments/", "/segments/"),
)  # fmt: skip
#: The rescorings recorded for the segments page: the first, then this many with stage moves.
RESCORINGS = 8


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, nargs="+", default=[10_000, 1_000_000])
    parser.add_argument("--sqlite", action="store_true", help="run on SQLite instead")
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument(
        "--pages", nargs="+", metavar="NAME",
        help="time only the pages whose name starts with one of these (default: all)",
    )  # fmt: skip
    parser.add_argument(
        "--keep", action="store_true",
        help="PostgreSQL: time the store the last run left (one size), without loading it",
    )  # fmt: skip
    args = parser.parse_args()
    os.environ["RETAIN_HOME"] = tempfile.mkdtemp(prefix="retain-bench-console-")
    if args.sqlite:
        os.environ.pop("DATABASE_URL", None)
    else:
        if not args.keep:
            recreate_database()
        os.environ["DATABASE_URL"] = f"{SERVER}/{DATABASE}"
    from retain.server.commands import migrate_store

    migrate_store()
    for size in args.customers:  # the same store, emptied and loaded again for each size
        run(size, requests=args.requests, keep=args.keep, pages=args.pages)


def run(size: int, *, requests: int, keep: bool = False, pages: list[str] | None = None) -> None:
    from django.db import connection

    engine = connection.vendor
    started = time.perf_counter()
    if keep:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM customers_customer")
            size = cursor.fetchone()[0]
            cursor.execute("SELECT customer_id FROM customers_order ORDER BY id "
                           "OFFSET (SELECT count(*) / 2 FROM customers_order) LIMIT 1")  # fmt: skip
            customer_id = str(cursor.fetchone()[0])
    else:
        customer_id = load(size)
    print(f"{engine}, {size:,} customers: loaded in {time.perf_counter() - started:.0f} s "
          "(not timed)", flush=True)  # fmt: skip
    record = {"engine": engine, "customers": size, "requests": requests, "pages": {}}
    client = signed_in_client()
    for name, address in PAGES:
        if pages and not name.startswith(tuple(pages)):
            continue
        headers = {"HX-Request": "true"} if "htmx" in name else {}
        figures = time_page(client, address.format(id=customer_id), requests, headers)
        record["pages"][name] = figures
        print(f"  {name:40} median {figures['median_ms']:7.1f} ms   "
              f"p95 {figures['p95_ms']:7.1f} ms   min {figures['min_ms']:7.1f} ms   "
              f"CPU {figures['cpu_median_ms']:6.1f} ms", flush=True)  # fmt: skip
    record["load_average"] = os.getloadavg()
    save(f"console_pages_{engine}_{size}", record)


def recreate_database() -> None:
    import psycopg

    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {DATABASE}")


def load(size: int) -> str:
    """The store's rows for ``size`` customers; the shop's id of a customer with orders."""
    from django.db import connection

    from retain.datasets import make_business

    for table in ("customers_consent", "customers_score", "customers_order",
                  "customers_customer", "customers_rescoringrun"):  # fmt: skip
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table}")
    customers, orders = store_rows(make_business(size, seed=5))
    ids = customers["id"].to_numpy()
    random = np.random.default_rng(11)
    given = np.array(GIVEN)[random.integers(0, len(GIVEN), len(ids))]
    family = np.array(FAMILY)[random.integers(0, len(FAMILY), len(ids))]
    names = np.char.add(np.char.add(given, " "), family)
    emails = np.char.add(np.char.add(np.char.lower(given), "."),
                         np.char.add(ids.astype(str), "@example.com"))  # fmt: skip
    customers = customers.set_column(
        customers.column_names.index("name"), "name", pa.array(names.tolist())
    ).set_column(customers.column_names.index("email"), "email", pa.array(emails.tolist()))
    tables = {
        "customers_customer": customers,
        "customers_order": orders,
        "customers_score": scores(ids, random),
        "customers_consent": consents(ids, random),
    }
    if connection.vendor == "postgresql":
        with without_trigram_indexes():
            copy_tables(tables)
    else:
        insert_tables(tables)
    rescorings(len(ids), random)
    keep_figures()
    return str(orders["customer_id"][len(orders) // 2])


@contextlib.contextmanager
def without_trigram_indexes() -> Iterator[None]:
    """The trigram indexes dropped while the rows are copied and built again after: building
    one over a million names is minutes faster than growing it row by row; the table is
    analysed again after."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes "
                       "WHERE indexdef LIKE '%gin_trgm_ops%'")  # fmt: skip
        indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f"DROP INDEX {name}")
    yield
    with connection.cursor() as cursor:
        for _, definition in indexes:
            cursor.execute(definition)
        # The statistics of an expression index (``lower(name)``) are gathered with the
        # table's: without them a substring search is planned blind.
        cursor.execute("ANALYZE customers_customer")


def keep_figures() -> None:
    """What a rescoring leaves for the home page: the store's figures, on the last run."""
    from retain.customers.models import RescoringRun
    from retain.customers.queries import store_figures

    last = RescoringRun.objects.order_by("-id").first()
    RescoringRun.objects.filter(pk=last.pk).update(figures=store_figures())


def rescorings(size: int, random: np.random.Generator) -> None:
    """The first rescoring and :data:`RESCORINGS` daily ones after it, each with a stage move
    count for every pair of stages (a few percent of the customers in all)."""
    import datetime as dt

    from retain.customers.models import RescoringRun

    pairs = [(a, b) for a in STAGES for b in STAGES if a != b]
    for day in range(RESCORINGS + 1):
        moves = [] if day == 0 else [
            {"from": a, "to": b, "customers": int(n)}
            for (a, b), n in zip(pairs, random.poisson(size / 1000, len(pairs)), strict=True)
        ]  # fmt: skip
        RescoringRun.objects.create(
            finished_at=LOADED_AT + dt.timedelta(days=day - RESCORINGS), succeeded=True,
            customers_scored=size, as_of=(LOADED_AT + dt.timedelta(days=day - RESCORINGS)).date(),
            model="BG/NBD", stage_moves=moves,
        )  # fmt: skip


def scores(ids: np.ndarray, random: np.random.Generator) -> pa.Table:
    n = len(ids)
    p_alive = random.beta(2, 2, n)
    clv = np.round(random.lognormal(4, 1.2, n), 2)
    decile = np.clip((np.argsort(np.argsort(clv)) * 10) // n + 1, 1, 10)
    risk = np.where(p_alive < 0.3, "high", np.where(p_alive < 0.6, "medium", "low"))
    scored = pa.array([LOADED_AT.replace(tzinfo=None)] * n, pa.timestamp("us"))
    return pa.table({
        "customer_id": pa.array(ids, pa.int64()),
        "p_alive": p_alive,
        "expected_purchases_30d": p_alive * 0.3,
        "expected_purchases_90d": p_alive * 0.8,
        "expected_purchases_365d": p_alive * 2.5,
        "clv_12m": clv,
        "churn_risk": pa.array(risk.tolist()),
        "next_order_date": pa.nulls(n, pa.date32()),
        "value_decile": pa.array(decile, pa.int16()),
        "rfm_segment": pa.array(np.array(SEGMENTS)[random.integers(0, len(SEGMENTS), n)].tolist()),
        "rfm_score": pa.array(["345"] * n),
        "lifecycle_stage": pa.array(np.array(STAGES)[random.integers(0, len(STAGES), n)].tolist()),
        "model": pa.array(["bg_nbd"] * n),
        "scored_at": scored,
    })  # fmt: skip


def consents(ids: np.ndarray, random: np.random.Generator) -> pa.Table:
    """An email consent for 70% of the customers: six in seven granted."""
    said = ids[random.random(len(ids)) < 0.7]
    n = len(said)
    return pa.table({
        "customer_id": pa.array(said, pa.int64()),
        "channel": pa.array(["email"] * n),
        "granted": pa.array(random.random(n) < 6 / 7),
        "source": pa.array(["checkout"] * n),
        "updated_at": pa.array([LOADED_AT.replace(tzinfo=None)] * n, pa.timestamp("us")),
    })  # fmt: skip


def signed_in_client() -> object:
    from django.test import Client

    from retain.accounts.models import User
    from retain.accounts.services import create_user

    user = User.objects.filter(username="bench").first() or create_user(
        "bench", password="a-long-enough-password-7", role="admin"
    )
    client = Client(SERVER_NAME="127.0.0.1")
    client.force_login(user)
    return client


def time_page(client: object, address: str, requests: int, headers: dict) -> dict:
    """Wall time of each request (the server's time: the client is in this process) and
    this process's CPU time (Django and, for SQLite, the queries; PostgreSQL's work is its
    own process's), which a busy machine inflates less."""
    for _ in range(3):
        response = client.get(address, headers=headers)
        assert response.status_code == 200, (address, response.status_code)
    wall, cpu = [], []
    for _ in range(requests):
        started, used = time.perf_counter(), time.process_time()
        response = client.get(address, headers=headers)
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - used) * 1000)
        assert response.status_code == 200
    return {
        "median_ms": statistics.median(wall),
        "p95_ms": _p95(wall),
        "cpu_median_ms": statistics.median(cpu),
        "min_ms": min(wall),
    }


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


if __name__ == "__main__":
    main()
