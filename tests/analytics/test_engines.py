"""The same Ibis expressions on PostgreSQL give what the embedded DuckDB gives, to 1e-9.

PostgreSQL runs on 127.0.0.1:5432 (trust auth, database ``test``) here and in CI; these tests
fail, never skip, when it cannot be reached.
"""

from __future__ import annotations

import os

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from retain.analytics import (
    cohort_retention,
    lifecycle_history,
    lifecycle_stages,
    lifecycle_transitions,
    rfm_segments,
    rfm_summary,
)
from retain.datasets import make_business


@pytest.fixture(scope="module")
def postgres():
    connection = ibis.postgres.connect(
        host="127.0.0.1", port=5432, user="postgres", database="test"
    )
    yield connection
    connection.disconnect()


@pytest.fixture(scope="module")
def shop_orders() -> pd.DataFrame:
    return make_business(1_500, seed=21).orders


@pytest.fixture(scope="module")
def cdnow_orders(cdnow_transactions: pd.DataFrame) -> pd.DataFrame:
    return cdnow_transactions.rename(columns={"date": "ordered_at"}).assign(
        order_id=np.arange(len(cdnow_transactions))
    )


def on_postgres(connection, frame: pd.DataFrame, name: str):
    table = f"{name}_{os.getpid()}"
    arrow = pa.Table.from_pandas(frame, preserve_index=False)
    return connection.create_table(table, arrow, overwrite=True, temp=True)


def assert_same(remote: pd.DataFrame, local: pd.DataFrame) -> None:
    assert list(remote.columns) == list(local.columns)
    assert len(remote) == len(local)
    for column in local.columns:
        ours, theirs = remote[column].to_numpy(), local[column].to_numpy()
        if pd.api.types.is_numeric_dtype(local[column]):
            np.testing.assert_allclose(
                ours.astype(float), theirs.astype(float), rtol=1e-9, equal_nan=True,
                err_msg=column,
            )  # fmt: skip
        else:
            assert [str(v) for v in ours] == [str(v) for v in theirs], column


@pytest.mark.parametrize("data", ["shop_orders", "cdnow_orders"])
@pytest.mark.parametrize(
    ("analysis", "options"),
    [
        (cohort_retention, {}),
        (cohort_retention, {"period": "week"}),
        (rfm_segments, {"observation_end": "1998-06-30"}),
        (lifecycle_stages, {"as_of": "1998-06-30"}),
        (lifecycle_transitions, {"start": "1998-01-31", "end": "1998-06-30"}),
        (lifecycle_history, {"until": "1998-06-30"}),
    ],
    ids=["cohorts-month", "cohorts-week", "rfm-segments", "lifecycle", "transitions", "history"],
)
def test_postgres_matches_duckdb(postgres, request, data, analysis, options) -> None:
    frame = request.getfixturevalue(data)
    if data == "shop_orders":  # the synthetic shop runs 2023-2024
        options = {key: value.replace("1998", "2024") for key, value in options.items()}
    remote = analysis(on_postgres(postgres, frame, "orders"), **options)
    assert not isinstance(remote, pd.DataFrame)  # an ibis expression, run where the data is
    assert_same(remote.to_pyarrow().to_pandas(), analysis(frame, **options))


def test_rfm_summary_on_postgres_matches_duckdb(postgres, cdnow_transactions) -> None:
    options = {"observation_end": "1998-06-30", "calibration_end": "1997-09-30"}
    remote = rfm_summary(on_postgres(postgres, cdnow_transactions, "transactions"), **options)
    assert_same(remote.to_pyarrow().to_pandas(), rfm_summary(cdnow_transactions, **options))


def test_segment_summary_on_postgres_matches_duckdb(postgres, shop_orders) -> None:
    from retain.analytics import segment_summary

    scores = rfm_segments(shop_orders, observation_end="2024-12-31")
    remote = segment_summary(on_postgres(postgres, scores, "scores"))
    assert_same(remote.to_pyarrow().to_pandas(), segment_summary(scores))


def test_subscription_churn_on_postgres_matches_duckdb(postgres) -> None:
    from retain.analytics import subscription_churn

    subscriptions = make_business(1_500, seed=21).subscriptions
    remote = subscription_churn(
        on_postgres(postgres, subscriptions, "subscriptions"), observation_end="2024-12-31"
    )
    local = subscription_churn(subscriptions, observation_end="2024-12-31")
    assert_same(remote.to_pyarrow().to_pandas(), local)
