"""How fast do journeys act at scale? On a fresh store of ``--customers`` customers (with
emails and scores), a broadcast journey with one email step:

1. the broadcast's audience (``value_decile >= 0``: everybody; and a narrower one, ``p_alive
   < 0.5``) entered in the database: seconds for the ``INSERT ... SELECT``;
2. every enrolment due at the same moment, advanced and its message queued by ``--workers``
   processes running the runner's ``advance_due`` in a loop: seconds until none is left.

    .venv/bin/python benchmarks/journey_scale.py --customers 100000 --stores postgresql,sqlite

Goals (issue 12): an audience of 1,000,000 computed in <= 10 s on PostgreSQL; 1,000,000
enrolments advanced and queued in <= 60 s with 2 workers.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import tracking_load
from tracking_load import fresh_store, retain

BENCH_DATABASE = "retain_bench_journeys"
ROOT = Path(__file__).resolve().parents[1]

JOURNEY = """\
key: bench-news
name: Bench news
trigger: {broadcast: "2020-01-01T10:00:00+00:00"}
audience: {field: %(field)s, %(operator)s: %(value)s}
topic: news
steps:
  - email:
      en: {subject: "News for {{ customer.first_name }}", html: "<p>Hello {{ customer.name }}</p>"}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--stores", default="postgresql,sqlite")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.customers)
        return
    tracking_load.BENCH_DATABASE = BENCH_DATABASE
    for store in args.stores.split(","):
        with fresh_store(store, args.postgres) as environment:
            run(store, environment, args)


def run(store: str, environment: dict[str, str], args: argparse.Namespace) -> None:
    environment = {**environment, "RETAIN_QUIET_HOURS": "0-0", "RETAIN_PRESSURE_MESSAGES": "99"}
    started = time.perf_counter()
    in_child(environment, "seed", args.customers)
    seeded = time.perf_counter() - started
    narrow = apply_and_enter(environment, field="p_alive", operator="lt", value=0.5)
    broad = apply_and_enter(environment, field="value_decile", operator="gte", value=0)
    started = time.perf_counter()
    workers = [
        subprocess.Popen([sys.executable, __file__, "--child", "advance",
                          "--customers", str(args.customers)], env=environment)
        for _ in range(args.workers)
    ]  # fmt: skip
    for worker in workers:
        worker.wait()
    advanced = time.perf_counter() - started
    counts = json.loads(in_child(environment, "count", args.customers))
    print(json.dumps({
        "store": store, "customers": args.customers, "seed_s": round(seeded, 1),
        "audience_p_alive_lt_0_5": narrow, "audience_everybody": broad,
        "workers": args.workers, "advance_and_queue_s": round(advanced, 1),
        "per_s": round(counts["messages"] / advanced), **counts,
    }, indent=2))  # fmt: skip


def apply_and_enter(environment: dict[str, str], **audience: object) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as file:
        file.write(JOURNEY % audience)
    retain(environment, "journeys", "apply", file.name)
    os.unlink(file.name)
    return json.loads(in_child(environment, "enter", 0))


def in_child(environment: dict[str, str], what: str, customers: int) -> str:
    done = subprocess.run(
        [sys.executable, __file__, "--child", what, "--customers", str(customers)],
        env=environment, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout


def child(what: str, customers: int) -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "retain.server.settings")
    django.setup()
    from django.db import connection, transaction
    from django.utils import timezone

    if what == "seed":
        seed(connection, customers)
    elif what == "enter":
        from retain.journeys.models import Enrolment
        from retain.journeys.runner import start_broadcasts

        Enrolment.objects.all().delete()
        started = time.perf_counter()
        with transaction.atomic():
            entered = start_broadcasts(now=timezone.now())
        print(json.dumps({"entered": entered, "seconds": round(time.perf_counter() - started, 2)}))
    elif what == "advance":
        from retain.journeys.runner import advance_due

        while True:
            with transaction.atomic():
                figures = advance_due(now=timezone.now(), limit=1000)
            if figures.advanced == 0 and not figures.more:
                break
    elif what == "count":
        from retain.journeys.models import Enrolment
        from retain.messaging.models import Message

        print(json.dumps({"enrolments": Enrolment.objects.count(),
                          "still_due": Enrolment.objects.filter(active=True).count(),
                          "messages": Message.objects.count()}))  # fmt: skip


def seed(connection, customers: int) -> None:
    """Customers with an email and a score each, inserted by the database itself."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            numbers = f"generate_series(1, {customers}) AS n"
            now = "now()"
            random = "random()"
        else:
            cursor.execute(
                "CREATE TEMP TABLE numbers AS WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL "
                f"SELECT n + 1 FROM s WHERE n < {customers}) SELECT n FROM s"
            )
            numbers = "numbers"
            now = "strftime('%Y-%m-%d %H:%M:%f', 'now')"
            random = "(abs(random()) % 1000000) / 1000000.0"
        cursor.execute(
            "INSERT INTO customers_customer (external_id, email, name, acquisition_channel,"
            " segment, traits, created_at, updated_at) SELECT 'c' || n, 'c' || n ||"
            f" '@example.com', 'Customer ' || n, 'search', '', '{{}}', {now}, {now}"
            f" FROM {numbers}"
        )
        cursor.execute(
            "INSERT INTO customers_score (customer_id, p_alive, expected_purchases_30d,"
            " expected_purchases_90d, expected_purchases_365d, clv_12m, churn_risk,"
            " value_decile, rfm_segment, rfm_score, lifecycle_stage, model, scored_at)"
            f" SELECT id, {random}, 0.1, 0.3, 1.0, 50.0, 'low', 1 + (id % 10), 'loyal', '444',"
            f" 'active', 'BG/NBD', {now} FROM customers_customer"
        )
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE")


if __name__ == "__main__":
    main()
