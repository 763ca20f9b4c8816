"""Typed builders for order tables used across the analytics tests."""

from __future__ import annotations

import numpy as np
import pandas as pd


def make_orders(rows: list[tuple[int, str, float]], **extra: list) -> pd.DataFrame:
    """(customer_id, 'YYYY-MM-DD[ HH:MM]', amount) per order; order ids 1, 2, ...; extra columns."""
    return pd.DataFrame(
        {
            "customer_id": pd.Series([r[0] for r in rows], dtype="int64"),
            "order_id": pd.Series(range(1, len(rows) + 1), dtype="int64"),
            "ordered_at": pd.to_datetime([r[1] for r in rows]),
            "amount": pd.Series([r[2] for r in rows], dtype="float64"),
            **extra,
        }
    )


def random_orders(n_orders: int, n_customers: int, seed: int) -> pd.DataFrame:
    """Random orders over 2023-2024 with channels and a few refunds."""
    rng = np.random.default_rng(seed)
    day = rng.integers(0, 731, n_orders)
    return pd.DataFrame(
        {
            "customer_id": rng.integers(0, n_customers, n_orders),
            "order_id": np.arange(n_orders),
            "ordered_at": np.datetime64("2023-01-01") + day.astype("timedelta64[D]"),
            "amount": np.round(rng.gamma(2.0, 20.0, n_orders), 2),
            "channel": rng.choice(["web", "app", "store"], n_orders),
            "status": rng.choice(
                ["completed", "refunded", "Cancelled"], n_orders, p=[0.9, 0.05, 0.05]
            ),
        }
    ).astype({"ordered_at": "datetime64[ns]"})
