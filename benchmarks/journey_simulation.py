"""Simulating the built-in journeys over the demo's shop: ``retain journeys simulate`` over
two years of ``make_business(10_000, seed=0)`` (the shop ``retain demo`` loads), timed.

A fresh embedded store (a temporary ``RETAIN_HOME``) is loaded as the demo loads it: the
customers (with the demo's addresses, names, languages and zones), orders, subscriptions,
complaints and survey answers imported from Parquet, scored as of the shop's last day, the
11 built-in journeys applied (none of it timed). Then the simulation runs over
2023-01-01 to 2024-12-31 once per clock step asked for (``--tick-hours 1 6``: an hour is the
default and the most faithful; more is faster and rougher), each in its own rolled-back
transaction, and prints wall and CPU seconds (the machine is shared: CPU seconds of this
process, which runs SQLite in-process, say more than wall time) with the figures.

    .venv/bin/python benchmarks/journey_simulation.py [--customers 10000] [--days 730]
        [--tick-hours 1 6] [--postgres]

Goal (issue 12): at most 30 s for the 10,000 customers, two years, all built-in journeys.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._timing import save

SERVER = "postgresql://postgres@127.0.0.1:5432"
DATABASE = "retain_bench_simulation"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=730, help="days simulated, to the end")
    parser.add_argument("--tick-hours", type=int, nargs="+", default=[1, 6])
    parser.add_argument("--postgres", action="store_true", help=f"a database on {SERVER}")
    args = parser.parse_args()
    home = tempfile.mkdtemp(prefix="retain-bench-simulation-")
    os.environ["RETAIN_HOME"] = home
    if args.postgres:
        for statement in (f"DROP DATABASE IF EXISTS {DATABASE}", f"CREATE DATABASE {DATABASE}"):
            subprocess.run(["psql", f"{SERVER}/postgres", "-qc", statement], check=True)
        os.environ["DATABASE_URL"] = f"{SERVER}/{DATABASE}"
    else:
        os.environ.pop("DATABASE_URL", None)
    from retain.server.commands import migrate_store

    migrate_store()
    started = time.perf_counter()
    business = load_shop(args.customers, Path(home))
    print(f"loaded and scored the shop in {time.perf_counter() - started:.0f} s (not timed)")
    from django.db import connection

    from retain.server.commands import simulate_journeys

    last = business.end.date()
    first = last - dt.timedelta(days=args.days - 1)
    record: dict = {"engine": connection.vendor, "customers": args.customers,
                    "from": str(first), "to": str(last), "cpus": os.cpu_count()}  # fmt: skip
    for hours in args.tick_hours:
        wall, cpu = time.perf_counter(), time.process_time()
        result = simulate_journeys(start=first, end=last, tick_hours=hours)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        print(f"\n{connection.vendor}, clock steps of {hours} h: {wall:.1f} s wall, "
              f"{cpu:.1f} s CPU, {result.ticks:,} steps (goal: 30 s)")  # fmt: skip
        for line in result.table():
            print(f"  {line}")
        record[f"tick_{hours}h"] = {
            "wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "ticks": result.ticks,
            "entered": sum(j.entered for j in result.journeys),
            "messages": sum(j.messages for j in result.journeys),
        }  # fmt: skip
    save("journey_simulation", record)


def load_shop(customers: int, home: Path) -> object:
    """The demo's shop in the store, as ``retain demo`` loads and scores it."""
    from django.db import transaction

    from retain.customers.rescoring import rescore_customers
    from retain.datasets import make_business
    from retain.demo_store import IMPORTS, with_contacts
    from retain.server.commands import apply_journey_files, import_into_store

    business = make_business(customers, seed=0)
    for kind, attribute in IMPORTS.items():
        table = getattr(business, attribute)
        if attribute == "customers":
            table = with_contacts(table)
        path = home / f"{attribute}.parquet"
        table.to_parquet(path, index=False)
        import_into_store(kind, str(path))
    with transaction.atomic():
        rescore_customers(as_of=business.end.date())
    apply_journey_files([], builtin=True)
    return business


if __name__ == "__main__":
    main()
