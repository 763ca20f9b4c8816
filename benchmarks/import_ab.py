"""A/B of `retain import orders` between two source trees, interleaved so that a noisy machine
hurts both alike: the CPU seconds of each importing process (``wait4``: user + system; on
SQLite the store's own work is in the process, on PostgreSQL the server's is not) and wall
time, into an empty store and again (nothing written), on SQLite and PostgreSQL.

Two files: CDNOW as a shop's export (no status column) and ``make_business(25_000, seed=3)``'s
orders (Parquet, with a status column). The base tree is a plain copy of the sources, e.g.
``git archive main | tar -x -C /tmp/base``:

    python import_ab.py --base-src /tmp/base/src [--runs 3] [--postgres postgresql://...]
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

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
RETAIN = str(Path(sys.executable).parent / "retain")


def files(folder: Path) -> dict[str, Path]:
    raw = pd.read_csv(
        ROOT / "src/retain/datasets/data/CDNOW_master.txt", sep=r"\s+", dtype={"customer_id": str}
    )
    cdnow = folder / "cdnow-orders.csv"
    pd.DataFrame(
        {
            "customer_id": raw.customer_id,
            "order_id": [f"{c}-{i}" for i, c in enumerate(raw.customer_id)],
            "ordered_at": pd.to_datetime(raw.date.astype(str)).dt.strftime("%Y-%m-%d"),
            "amount": raw.dollar_value,
        }
    ).to_csv(cdnow, index=False)
    from retain.datasets import make_business

    business = folder / "business-orders.parquet"
    make_business(25_000, seed=3).orders.to_parquet(business)
    return {"cdnow csv (no status)": cdnow, "business parquet (status)": business}


def run(arguments: list[str], environment: dict[str, str]) -> tuple[float, float]:
    """CPU and wall seconds of one ``retain`` process; fails loudly on an error."""
    start = time.perf_counter()
    child = subprocess.Popen(
        [RETAIN, *arguments], env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    output = child.stdout.read().decode() if child.stdout else ""
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"retain {' '.join(arguments)} failed: {output}")
    return usage.ru_utime + usage.ru_stime, wall


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-src", required=True, help="the base tree's src folder")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    import psycopg

    trees = {"base": args.base_src, "this": str(ROOT / "src")}
    figures: dict[tuple[str, ...], list[tuple[float, float]]] = {}
    keep = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "RETAIN_HOME")}
    with tempfile.TemporaryDirectory(prefix="import-ab-") as scratch:
        folder = Path(scratch)
        inputs = files(folder)
        for number in range(args.runs):
            for name, path in inputs.items():
                for store in ("sqlite", "postgres"):
                    for tree, source in trees.items():
                        home = tempfile.mkdtemp(dir=folder)
                        environment = {**keep, "RETAIN_HOME": home, "PYTHONPATH": source}
                        database = f"import_ab_{os.getpid()}_{tree}"
                        if store == "postgres":
                            with psycopg.connect(args.postgres, autocommit=True) as admin:
                                admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
                                admin.execute(f'CREATE DATABASE "{database}"')
                            base_url = args.postgres.rsplit("/", 1)[0]
                            environment["DATABASE_URL"] = f"{base_url}/{database}"
                            run(["migrate"], environment)
                        for attempt in ("first", "again"):
                            seconds = run(["import", "orders", str(path)], environment)
                            figures.setdefault((name, store, attempt, tree), []).append(seconds)
                            print(number, name, store, attempt, tree, seconds, flush=True)
                        if store == "postgres":
                            with psycopg.connect(args.postgres, autocommit=True) as admin:
                                admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    for key in sorted({key[:3] for key in figures}):
        base, this = figures[(*key, "base")], figures[(*key, "this")]
        cpu_base = statistics.median(c for c, _ in base)
        cpu_this = statistics.median(c for c, _ in this)
        print(
            f"{' '.join(key):45s} CPU s base {cpu_base:.2f} this {cpu_this:.2f} "
            f"(ratio {cpu_this / cpu_base:.3f}); wall s base "
            f"{statistics.median(w for _, w in base):.1f} this "
            f"{statistics.median(w for _, w in this):.1f}"
        )


if __name__ == "__main__":
    main()
