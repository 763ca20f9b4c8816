"""`retain analyze` end to end on synthetic orders (1M, and 10M with --large), beside the
cohort + RFM steps written the way an analyst would in pandas, in one run.

Each whole command runs in its own process under /usr/bin/time for the peak memory.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

from _timing import RESULTS, save
from retain.datasets import make_business

SIZES = {"1m": 250_000, "10m": 2_500_000}  # customers for about 1M and 10M orders


def data(size: str) -> Path:
    orders = RESULTS / f"shop_{size}_orders.parquet"
    if not orders.exists():
        shop = make_business(SIZES[size], seed=1)
        shop.orders.to_parquet(orders, index=False)
        shop.customers.to_parquet(RESULTS / f"shop_{size}_customers.parquet", index=False)
    return orders


def timed_process(command: list[str]) -> dict:
    start = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-v", *command], capture_output=True, text=True, check=True
    )
    seconds = time.perf_counter() - start
    peak_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)[1])
    return {"seconds": seconds, "peak_mb": peak_kb / 1024}


PANDAS_STEPS = """
import sys, pandas as pd
orders = pd.read_parquet(sys.argv[1])
orders = orders[~orders.status.str.lower().isin(["refunded", "cancelled"])]
orders["month"] = orders.ordered_at.dt.to_period("M")
first = orders.groupby("customer_id").month.transform("min")
orders["period_number"] = (orders.month - first).apply(lambda offset: offset.n)
cohorts = orders.assign(cohort=first).groupby(["cohort", "period_number"]).agg(
    active=("customer_id", "nunique"), revenue=("amount", "sum"))
end = orders.ordered_at.max()
rfm = orders.groupby("customer_id").agg(
    recency=("ordered_at", lambda s: (end - s.max()).days),
    frequency=("order_id", "count"), monetary=("amount", "sum"))
for column in ("recency", "frequency", "monetary"):
    rfm[column + "_score"] = pd.qcut(rfm[column].rank(method="first"), 5, labels=False) + 1
print(len(cohorts), len(rfm))
"""

RETAIN_STEPS = """
import sys, pyarrow.parquet as pq
from retain.analytics import cohort_retention, rfm_segments
orders = pq.read_table(sys.argv[1])
cohorts = cohort_retention(orders)
rfm = rfm_segments(orders, observation_end="2024-12-31")
print(len(cohorts), len(rfm))
"""


def main() -> None:
    sizes = ["1m", "10m"] if "--large" in sys.argv else ["1m"]
    retain = str(Path(sys.executable).parent / "retain")
    for size in sizes:
        orders = data(size)
        customers = RESULTS / f"shop_{size}_customers.parquet"
        runs = [
            timed_process(
                [retain, "analyze", str(orders), "--customers", str(customers),
                 "--out", str(RESULTS / f"analyze_{size}")]
            )
            for _ in range(3)
        ]  # fmt: skip
        pandas = timed_process([sys.executable, "-c", PANDAS_STEPS, str(orders)])
        steps = timed_process([sys.executable, "-c", RETAIN_STEPS, str(orders)])
        best = sorted(runs, key=lambda r: r["seconds"])[len(runs) // 2]
        save(
            f"analyze_{size}",
            {
                "median_s": best["seconds"],
                "peak_mb": max(r["peak_mb"] for r in runs),
                "runs_s": [r["seconds"] for r in runs],
                "retain_cohort_rfm_s": steps["seconds"],
                "retain_cohort_rfm_peak_mb": steps["peak_mb"],
                "pandas_cohort_rfm_s": pandas["seconds"],
                "pandas_peak_mb": pandas["peak_mb"],
            },
        )


if __name__ == "__main__":
    main()
