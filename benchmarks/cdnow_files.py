"""Issue 9's figures: the full CDNOW cohort as a shop's export, through `retain analyze` and
through `retain import` into the embedded store and into PostgreSQL.

Each figure is a whole `retain` process (start-up included), as a user runs it: wall time and
the process's own peak resident memory (``wait4``), median of ``--runs`` runs. An import is
timed twice per run: into an empty store, then the same file again (it must change nothing).

    python cdnow_files.py [--runs 3] [--postgres postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pandas as pd

from _timing import save

ROOT = Path(__file__).resolve().parents[1]
MASTER = ROOT / "src/retain/datasets/data/CDNOW_master.txt"
RETAIN = str(Path(sys.executable).parent / "retain")


def export(folder: Path) -> tuple[Path, Path]:
    """CDNOW as a shop exports it: text ids with leading zeros, ISO days, one row per order."""
    raw = pd.read_csv(MASTER, sep=r"\s+", dtype={"customer_id": str})
    orders = folder / "cdnow-orders.csv"
    pd.DataFrame(
        {
            "customer_id": raw.customer_id,
            "order_id": [f"{customer}-{line}" for line, customer in enumerate(raw.customer_id)],
            "ordered_at": pd.to_datetime(raw.date.astype(str)).dt.strftime("%Y-%m-%d"),
            "amount": raw.dollar_value,
        }
    ).to_csv(orders, index=False)
    customers = folder / "cdnow-customers.csv"
    pd.DataFrame({"customer_id": raw.customer_id.unique()}).to_csv(customers, index=False)
    return orders, customers


def run(arguments: list[str], environment: dict[str, str]) -> tuple[float, float, str]:
    """Seconds, peak MB and output of one ``retain`` process; fails loudly on an error."""
    with tempfile.TemporaryFile() as output:
        start = time.perf_counter()
        child = subprocess.Popen(
            [RETAIN, *arguments], env=environment, stdout=output, stderr=subprocess.STDOUT
        )
        _, status, usage = os.wait4(child.pid, 0)  # the child's own peak, not the largest yet
        seconds = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        output.seek(0)
        text = output.read().decode()
    if child.returncode:
        raise SystemExit(f"retain {' '.join(arguments)} failed: {text}")
    return seconds, usage.ru_maxrss / 1024, text


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "RETAIN_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"
        ),
    )
    args = parser.parse_args()
    import psycopg

    figures: dict[str, list[tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="cdnow-files-") as scratch:
        folder = Path(scratch)
        orders, customers = export(folder)
        base = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "RETAIN_HOME")}
        for number in range(args.runs):
            home = folder / f"home-{number}"
            environment = {**base, "RETAIN_HOME": str(home)}
            seconds, peak, _ = run(
                ["analyze", str(orders), "--out", str(folder / f"out-{number}")], environment
            )
            figures.setdefault("analyze", []).append((seconds, peak))
            name = f"bench_cdnow_{os.getpid()}_{number}"
            with psycopg.connect(args.postgres, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
                admin.execute(f'CREATE DATABASE "{name}"')
            stores = {
                "sqlite": environment,
                "postgres": {**environment, "DATABASE_URL": with_database(args.postgres, name)},
            }
            try:
                for store, env in stores.items():
                    if store == "postgres":
                        run(["migrate"], env)
                    for attempt in ("first", "again"):
                        for kind, path in (("customers", customers), ("orders", orders)):
                            seconds, peak, out = run(["import", kind, str(path)], env)
                            if attempt == "again" and "0 created, 0 updated" not in out:
                                raise SystemExit(f"re-import changed the store: {out}")
                            key = f"import {kind} {store} {attempt}"
                            figures.setdefault(key, []).append((seconds, peak))
            finally:
                with psycopg.connect(args.postgres, autocommit=True) as admin:
                    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    record = {}
    for key, values in figures.items():
        seconds = [s for s, _ in values]
        record[key] = {
            "median_s": round(statistics.median(seconds), 2),
            "min_s": round(min(seconds), 2),
            "max_s": round(max(seconds), 2),
            "peak_mb": round(statistics.median(p for _, p in values)),
        }
        print(f"{key:40s} {record[key]}")
    save("cdnow_files", {"runs": args.runs, "figures": record})


if __name__ == "__main__":
    main()
