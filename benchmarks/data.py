"""Write the benchmark inputs once, so both libraries read the very same numbers.

- cdnow.csv: the CDNOW sample's calibration summary (2,357 customers, weeks);
- bg_1m.csv / pareto_1m.csv: 1,000,000 customers simulated from BG/NBD and Pareto/NBD at
  CDNOW-like parameters, ages spread over 1-78 weeks;
- transactions_10m.parquet: 10,000,000 purchases of 1,000,000 customers over two years;
- small_samples.json: 60 random panels of 30-200 CDNOW customers (row numbers).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from _timing import RESULTS
from retain.analytics import rfm_summary
from retain.datasets import load_cdnow_transactions
from retain.stats.simulate import simulate_beta_geo, simulate_pareto_nbd

N_CUSTOMERS = 1_000_000
N_TRANSACTIONS = 10_000_000


def main() -> None:
    RESULTS.mkdir(exist_ok=True)
    if not (RESULTS / "cdnow.csv").exists():
        summary = rfm_summary(
            load_cdnow_transactions(),
            observation_end="1998-06-30",
            calibration_end="1997-09-30",
        )
        summary[["frequency", "recency", "T"]].to_csv(RESULTS / "cdnow.csv", index=False)
    samples = RESULTS / "small_samples.json"
    if not samples.exists():
        # Small panels, where the likelihood is flat and optimisers give up most often.
        n_cdnow = len(pd.read_csv(RESULTS / "cdnow.csv"))
        rows = [
            np.random.default_rng(seed).choice(n_cdnow, size, replace=False).tolist()
            for size in (30, 60, 100, 200)
            for seed in range(15)
        ]
        samples.write_text(json.dumps(rows))
    ages = np.random.default_rng(7).uniform(1.0, 78.0, N_CUSTOMERS)
    for name, simulate, params in (
        ("bg_1m", simulate_beta_geo, {"r": 0.25, "alpha": 4.4, "a": 0.8, "b": 2.4}),
        ("pareto_1m", simulate_pareto_nbd, {"r": 0.55, "alpha": 10.6, "s": 0.6, "beta": 11.7}),
    ):
        path = RESULTS / f"{name}.csv"
        if not path.exists():
            pd.DataFrame(simulate(N_CUSTOMERS, **params, T=ages, seed=11)).to_csv(
                path, index=False, float_format="%.17g"
            )
    path = RESULTS / "transactions_10m.parquet"
    if not path.exists():
        rng = np.random.default_rng(3)
        start = np.datetime64("2023-01-01")
        table = pa.table(
            {
                "customer_id": rng.integers(0, N_CUSTOMERS, N_TRANSACTIONS),
                "date": start + rng.integers(0, 730, N_TRANSACTIONS).astype("timedelta64[D]"),
                "amount": np.round(rng.gamma(2.0, 20.0, N_TRANSACTIONS), 2),
            }
        )
        pq.write_table(table, path)


if __name__ == "__main__":
    main()
