"""rfm_summary on 10M transactions (DuckDB through Ibis) beside the pandas an analyst would
write: read the Parquet file, summarise per customer, have the result in memory."""

from __future__ import annotations

import ibis
import pandas as pd

from _timing import RESULTS, save, timed
from retain.analytics import rfm_summary

PATH = RESULTS / "transactions_10m.parquet"
END = "2024-12-31"


def with_retain() -> int:
    table = ibis.duckdb.connect().read_parquet(str(PATH))
    summary = rfm_summary(table, observation_end=END).to_pyarrow()
    return summary.num_rows


def with_pandas() -> int:
    orders = pd.read_parquet(PATH)
    orders["date"] = pd.to_datetime(orders["date"])
    days = orders.groupby(["customer_id", "date"], as_index=False)["amount"].sum()
    first = days.groupby("customer_id")["date"].transform("min")
    days["repeat"] = days["date"] > first
    days["repeat_amount"] = days["amount"].where(days["repeat"], 0.0)
    summary = days.groupby("customer_id").agg(
        first=("date", "min"),
        last=("date", "max"),
        frequency=("repeat", "sum"),
        repeat_spend=("repeat_amount", "sum"),
    )
    summary["monetary_value"] = (summary["repeat_spend"] / summary["frequency"]).fillna(0.0)
    week = pd.Timedelta(days=7)
    summary["recency"] = (summary["last"] - summary["first"]) / week
    summary["T"] = (pd.Timestamp(END) - summary["first"]) / week
    return len(summary)


def main() -> None:
    rows, timing = timed(with_retain, runs=5)
    save("retain_rfm_10m", timing | {"customers": rows, "transactions": 10_000_000})
    rows, timing = timed(with_pandas, runs=1, warmup=0)
    save("pandas_rfm_10m", timing | {"customers": rows, "transactions": 10_000_000})


if __name__ == "__main__":
    main()
