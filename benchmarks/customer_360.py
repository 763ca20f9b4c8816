"""Server time of the customer 360: the page ``/customers/<id>/`` (and its orders page through
htmx) and the API's ``/api/v1/customers/<id>``, on a store of N customers.

The store (``make_business(N, seed=5)`` loaded as ``benchmarks/rescore.py`` loads it, in a
fresh PostgreSQL database ``retain_bench_360`` or an embedded SQLite) gets one heavy customer
on top (2,000 orders, 1,000 events, 20 stage changes) and is rescored once, so every score,
reading and the P(alive) chart are drawn. Each request is handled in-process by Django's test
client with a signed-in analyst (the whole middleware stack, no network): one warm-up, then
``--runs`` timed calls; median and 95th percentile.

    .venv/bin/python benchmarks/customer_360.py [--customers 10000] [--sqlite] [--runs 30]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._timing import save
from benchmarks.rescore import LOADED_AT, SERVER, load_postgresql, load_sqlite, store_rows

DATABASE = "retain_bench_360"
AS_OF = dt.date(2024, 12, 31)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--sqlite", action="store_true", help="run on SQLite instead")
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    os.environ["RETAIN_HOME"] = tempfile.mkdtemp(prefix="retain-bench-360-")
    if args.sqlite:
        os.environ.pop("DATABASE_URL", None)
    else:
        recreate_database()
        os.environ["DATABASE_URL"] = f"{SERVER}/{DATABASE}"
    from retain.server.commands import migrate_store

    migrate_store()
    from django.db import connection

    from retain.datasets import make_business

    business = make_business(args.customers, seed=5)
    customers, orders = store_rows(business)
    if connection.vendor == "postgresql":
        load_postgresql(customers, orders)
    else:
        load_sqlite(customers, orders)
    heavy = add_heavy_customer()
    from retain.customers.rescoring import rescore_customers

    summary = rescore_customers(as_of=AS_OF, now=LOADED_AT)
    print(f"{connection.vendor}: {customers.num_rows:,} customers, {orders.num_rows:,} orders, "
          f"rescored with {summary.model}", flush=True)  # fmt: skip
    typical = typical_customer()
    client = analyst_client()
    key = api_key()
    requests = {
        "page, heavy customer (2,000 orders)": (f"/customers/{heavy}/", {}),
        "page, typical customer": (f"/customers/{typical}/", {}),
        "orders page 40 via htmx, heavy": (
            f"/customers/{heavy}/?orders_page=40",
            {"HX-Request": "true", "HX-Target": "orders"},
        ),
        "API 360, heavy": (f"/api/v1/customers/{heavy}", {"Authorization": f"Bearer {key}"}),
    }
    record = {"engine": connection.vendor, "customers": customers.num_rows, "runs": args.runs}
    for name, (path, headers) in requests.items():
        record[name] = time_request(client, path, headers, runs=args.runs)
        figures = record[name]
        print(f"{name}: median {figures['median_ms']:.1f} ms, p95 {figures['p95_ms']:.1f} ms",
              flush=True)  # fmt: skip
    save(f"customer_360_{connection.vendor}_{customers.num_rows}", record)


def recreate_database() -> None:
    import psycopg

    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
        admin.execute(f"CREATE DATABASE {DATABASE}")


def add_heavy_customer() -> str:
    from decimal import Decimal

    from retain.customers.models import Customer, DomainEvent, Event, Order

    customer = Customer.objects.create(external_id="heavy/ลูกค้า-1", name="Heavy Buyer")
    start = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    Order.objects.bulk_create(
        Order(customer=customer, external_id=f"heavy-{n}", amount=Decimal("25.00"),
              ordered_at=start + dt.timedelta(hours=12 * n), status="completed")
        for n in range(2000)
    )  # fmt: skip
    Event.objects.bulk_create(
        Event(customer=customer, kind="track", name="Viewed", message_id=f"heavy-event-{n}",
              occurred_at=start + dt.timedelta(hours=n))
        for n in range(1000)
    )  # fmt: skip
    DomainEvent.objects.bulk_create(
        DomainEvent(name="lifecycle.changed", customer=customer, data={"from": "a", "to": "b"},
                    occurred_at=start + dt.timedelta(days=n))
        for n in range(20)
    )  # fmt: skip
    return "heavy/%E0%B8%A5%E0%B8%B9%E0%B8%81%E0%B8%84%E0%B9%89%E0%B8%B2-1"


def typical_customer() -> str:
    """A scored customer with the median number of orders among the scored ones."""
    from django.db.models import Count

    from retain.customers.models import Customer

    scored = Customer.objects.filter(score__isnull=False).annotate(n=Count("orders"))
    counts = sorted(scored.values_list("n", flat=True)[:5000])
    median = counts[len(counts) // 2]
    return scored.filter(n=median).values_list("external_id", flat=True).first()


def analyst_client() -> Any:
    from django.test import Client

    from retain.accounts.services import create_user

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(create_user("bench", password="a-long-enough-password-7", role="analyst"))
    return client


def api_key() -> str:
    from retain.accounts.services import create_api_key

    return create_api_key("bench", scopes=["read"])[1]


def time_request(client: Any, path: str, headers: dict, *, runs: int) -> dict:
    response = client.get(path, headers=headers)
    assert response.status_code == 200, (path, response.status_code)
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(path, headers=headers)
        seconds.append(time.perf_counter() - started)
        assert response.status_code == 200
    ordered = sorted(seconds)
    return {
        "median_ms": statistics.median(seconds) * 1000,
        "p95_ms": ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))] * 1000,
        "bytes": len(response.content),
    }


if __name__ == "__main__":
    main()
